package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.error.CorruptionException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.inode.Inode;
import org.ext4j.journal.JournalLog;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j info IMAGE}: the superblock with dumpe2fs -h's labels, then, with an internal
 * journal, its superblock as dumpe2fs -h lists it (e2p's {@code e2p_list_journal_super}) and the
 * number of committed transactions a recovery would replay; then one line group per group. The
 * image is read as it is, without replaying its journal into memory (as dumpe2fs reads it).
 */
@Command(name = "info", description = "Show the superblock and block groups (like dumpe2fs -h).")
final class InfoCommand implements Callable<Integer> {
    private static final DateTimeFormatter CTIME =
            DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.ROOT).withZone(ZoneId.systemDefault());

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Option(names = {"-h", "--header-only"}, description = "Print only the superblock, not the groups.")
    boolean headerOnly;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Ext4FileSystem fs = ImageOpener.open(image, spec.commandLine().getErr(),
                OpenOptions.readOnlyDefaults().withoutRecovery())) {
            printSuperblock(fs.superblock(), out);
            printJournal(fs, out);
            if (!headerOnly) {
                out.println();
                for (GroupDescriptor g : fs.groups()) {
                    printGroup(fs.superblock(), g, out);
                }
            }
        }
        out.flush();
        return 0;
    }

    /** A label padded to dumpe2fs's column 26 (one space after a longer one) and its value. */
    private static void line(PrintWriter out, String label, Object value) {
        String l = label + ":";
        out.printf("%-26s%s%n", l.length() >= 26 ? l + " " : l, value);
    }

    private static String time(long t) {
        return t == 0 ? "n/a" : CTIME.format(Instant.ofEpochSecond(t));
    }

    static void printSuperblock(Superblock sb, PrintWriter out) {
        line(out, "Filesystem volume name", sb.volumeName.isEmpty() ? "<none>" : sb.volumeName);
        line(out, "Last mounted on", sb.lastMounted.isEmpty() ? "<not available>" : sb.lastMounted);
        line(out, "Filesystem UUID", sb.uuidValue());
        line(out, "Filesystem magic number", String.format("0x%04X", sb.magic));
        line(out, "Filesystem revision #", sb.revLevel + (sb.revLevel == 1 ? " (dynamic)" : " (original)"));
        List<String> features = new ArrayList<>(Features.compatNames(sb.featureCompat));
        features.addAll(Features.incompatNames(sb.featureIncompat));
        features.addAll(Features.roCompatNames(sb.featureRoCompat));
        line(out, "Filesystem features", String.join(" ", features));
        List<String> flags = new ArrayList<>();
        if ((sb.flags & Superblock.FLAGS_SIGNED_HASH) != 0) {
            flags.add("signed_directory_hash");
        }
        if ((sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
            flags.add("unsigned_directory_hash");
        }
        if ((sb.flags & 0x4) != 0) {
            flags.add("test_filesystem");
        }
        line(out, "Filesystem flags", String.join(" ", flags) + " ");
        line(out, "Filesystem state", ((sb.state & Superblock.STATE_VALID) != 0 ? "clean" : "not clean")
                + ((sb.state & Superblock.STATE_ERROR) != 0 ? " with errors" : ""));
        line(out, "Errors behavior", switch (sb.errors) {
            case 1 -> "Continue";
            case 2 -> "Remount read-only";
            case 3 -> "Panic";
            default -> "Unknown (continue)";
        });
        line(out, "Filesystem OS type", switch ((int) sb.creatorOs) {
            case 0 -> "Linux";
            case 1 -> "Hurd";
            case 3 -> "FreeBSD";
            default -> "(unknown os)";
        });
        line(out, "Inode count", sb.inodesCount);
        line(out, "Block count", sb.blocksCount);
        line(out, "Reserved block count", sb.reservedBlocksCount);
        if (sb.overheadClusters != 0) {
            line(out, "Overhead clusters", sb.overheadClusters);
        }
        line(out, "Free blocks", sb.freeBlocksCount);
        line(out, "Free inodes", sb.freeInodesCount);
        line(out, "First block", sb.firstDataBlock);
        line(out, "Block size", sb.blockSize);
        line(out, sb.hasRoCompat(Features.RO_COMPAT_BIGALLOC) ? "Cluster size" : "Fragment size",
                1024L << sb.logClusterSize);
        if (sb.is64bit()) {
            line(out, "Group descriptor size", sb.descSize);
        }
        if (sb.reservedGdtBlocks != 0) {
            line(out, "Reserved GDT blocks", sb.reservedGdtBlocks);
        }
        line(out, "Blocks per group", sb.blocksPerGroup);
        line(out, sb.hasRoCompat(Features.RO_COMPAT_BIGALLOC) ? "Clusters per group" : "Fragments per group",
                sb.clustersPerGroup);
        line(out, "Inodes per group", sb.inodesPerGroup);
        line(out, "Inode blocks per group", (sb.inodesPerGroup * sb.inodeSize + sb.blockSize - 1) / sb.blockSize);
        if (sb.hasIncompat(Features.INCOMPAT_FLEX_BG)) {
            line(out, "Flex block group size", 1L << sb.logGroupsPerFlex);
        }
        line(out, "Filesystem created", time(sb.mkfsTime));
        line(out, "Last mount time", time(sb.mtime));
        line(out, "Last write time", time(sb.wtime));
        line(out, "Mount count", sb.mntCount);
        line(out, "Maximum mount count", sb.maxMntCount);
        line(out, "Last checked", time(sb.lastCheck));
        line(out, "Check interval", sb.checkInterval);
        if (sb.kbytesWritten != 0) {
            line(out, "Lifetime writes", sb.kbytesWritten + " kB");
        }
        line(out, "Reserved blocks uid", sb.defResuid);
        line(out, "Reserved blocks gid", sb.defResgid);
        if (sb.revLevel >= 1) {
            line(out, "First inode", sb.firstIno);
            line(out, "Inode size", sb.inodeSize);
            if (sb.minExtraIsize != 0) {
                line(out, "Required extra isize", sb.minExtraIsize);
            }
            if (sb.wantExtraIsize != 0) {
                line(out, "Desired extra isize", sb.wantExtraIsize);
            }
        }
        if (sb.journalInum != 0) {
            line(out, "Journal inode", sb.journalInum);
        }
        line(out, "Default directory hash", switch (sb.defHashVersion) {
            case 0 -> "legacy";
            case 1 -> "half_md4";
            case 2 -> "tea";
            case 3 -> "legacy_unsigned";
            case 4 -> "half_md4_unsigned";
            case 5 -> "tea_unsigned";
            case 6 -> "siphash";
            default -> "unknown (" + sb.defHashVersion + ")";
        });
        byte[] seed = new byte[16];
        for (int i = 0; i < 4; i++) {
            org.ext4j.format.Le.put32(seed, 4 * i, sb.hashSeed[i]);
        }
        line(out, "Directory Hash Seed", uuid(seed));
        if (sb.hasMetadataCsum()) {
            line(out, "Checksum type", sb.checksumType == 1 ? "crc32c" : "unknown (" + sb.checksumType + ")");
            line(out, "Checksum", String.format("0x%08x", sb.checksum));
        }
        if (sb.hasIncompat(Features.INCOMPAT_CSUM_SEED)) {
            line(out, "Checksum seed", String.format("0x%08x", sb.checksumSeed));
        }
        if (sb.errorCount != 0) {
            line(out, "FS Error count", sb.errorCount);
        }
        printError(out, "First", sb.firstErrorTime, sb.firstErrorFunc, sb.firstErrorLine, sb.firstErrorIno,
                sb.firstErrorBlock, sb.firstErrorCode);
        printError(out, "Last", sb.lastErrorTime, sb.lastErrorFunc, sb.lastErrorLine, sb.lastErrorIno,
                sb.lastErrorBlock, sb.lastErrorCode);
    }

    /**
     * The internal journal's superblock with {@code dumpe2fs -h}'s labels and rules (e2p's {@code
     * e2p_list_journal_super}: the fast-commit area counted when the file system has fast_commit,
     * the first block, user count and block size only where they are not the usual ones), then
     * "Journal transactions waiting": the committed transactions recovery's scan finds (0 when
     * {@code s_start} is 0), or why the log cannot be read. Nothing without an internal journal.
     */
    static void printJournal(Ext4FileSystem fs, PrintWriter out) throws java.io.IOException {
        Superblock sb = fs.superblock();
        if (!sb.hasCompat(Features.COMPAT_HAS_JOURNAL) || sb.journalInum == 0) {
            return;
        }
        Inode inode = Inode.load(fs.volume(), sb.journalInum);
        JournalLog log = null;
        String unreadable = null;
        JournalLog.Header h;
        try {
            log = JournalLog.read(inode, sb.journalInum, sb.blockSize);
            h = log.header();
        } catch (CorruptionException e) {
            // the scan refused the log; the superblock itself is still listed, as dumpe2fs lists it
            byte[] raw = new byte[1024];
            inode.read(0, raw, 0, raw.length);
            h = JournalLog.Header.decode(raw);
            unreadable = e.getMessage();
        }
        List<String> features = new ArrayList<>();
        int[] words = {h.compat(), h.incompat(), h.roCompat()};
        for (int i = 0; i < 3; i++) {
            for (int bit = 0; bit < 32; bit++) {
                if ((words[i] & (1 << bit)) != 0) {
                    features.add(journalFeature(i, bit));
                }
            }
        }
        line(out, "Journal features", features.isEmpty() ? "(none)" : String.join(" ", features));
        long maxLen = h.maxLen() & 0xFFFFFFFFL;
        long fc = sb.hasCompat(Features.COMPAT_FAST_COMMIT)
                ? (h.numFcBlocks() != 0 ? h.numFcBlocks() : JournalLog.DEFAULT_FAST_COMMIT_BLOCKS) : 0;
        long size = ((Integer.toUnsignedLong(h.blockSize()) / 1024) * maxLen) & 0xFFFFFFFFL;
        line(out, "Total journal size", size < 8192 ? size + "k" : (size >> 10) + "M");
        if (h.blockSize() != sb.blockSize) {
            line(out, "Journal block size", Integer.toUnsignedString(h.blockSize()));
        }
        line(out, "Total journal blocks", maxLen);
        line(out, "Max transaction length", (maxLen - fc) & 0xFFFFFFFFL);
        line(out, "Fast commit length", fc);
        if (h.first() != 1) {
            line(out, "Journal first block", h.first());
        }
        line(out, "Journal sequence", String.format("0x%08x", h.sequence()));
        line(out, "Journal start", h.start());
        if (h.nrUsers() != 1) {
            line(out, "Journal number of users", h.nrUsers());
        }
        if ((h.compat() & JournalLog.COMPAT_CHECKSUM) != 0) {
            line(out, "Journal checksum type", "crc32");
        }
        if (h.csumV2or3()) {
            line(out, "Journal checksum type", h.checksumType() == 4 ? "crc32c" : "unknown");
            line(out, "Journal checksum", String.format("0x%08x", h.checksum()));
        }
        byte[] first = java.util.Arrays.copyOfRange(h.users(), 0, 16);
        if (h.nrUsers() > 1 || !java.util.Arrays.equals(first, new byte[16])) {
            for (int i = 0; i < h.nrUsers() && i < JournalLog.Header.USERS_MAX; i++) {
                out.printf("%-26s%s%n", i == 0 ? "Journal users:" : "",
                        uuid(java.util.Arrays.copyOfRange(h.users(), 16 * i, 16 * i + 16)));
            }
        }
        if (h.errno() != 0) {
            line(out, "Journal errno", h.errno());
        }
        line(out, "Journal transactions waiting", unreadable != null ? "unknown: " + unreadable
                : Integer.toString(log.transactions().size()));
    }

    /** jbd2 feature names as e2p's {@code e2p_jrnl_feature2string}, FEATURE_C/I/R and the bit where it has none. */
    private static String journalFeature(int word, int bit) {
        int mask = 1 << bit;
        if (word == 0 && mask == JournalLog.COMPAT_CHECKSUM) {
            return "journal_checksum";
        }
        if (word == 1) {
            switch (mask) {
                case JournalLog.INCOMPAT_REVOKE:
                    return "journal_incompat_revoke";
                case JournalLog.INCOMPAT_64BIT:
                    return "journal_64bit";
                case JournalLog.INCOMPAT_ASYNC_COMMIT:
                    return "journal_async_commit";
                case JournalLog.INCOMPAT_CSUM_V2:
                    return "journal_checksum_v2";
                case JournalLog.INCOMPAT_CSUM_V3:
                    return "journal_checksum_v3";
                default:
                    break;
            }
        }
        return "FEATURE_" + "CIR".charAt(word) + bit;
    }

    /** The error an ext4 implementation recorded in the superblock, with dumpe2fs's labels (e2p's {@code list_super2}). */
    private static void printError(PrintWriter out, String which, long time, String function, long lineNo, long ino,
            long block, int code) {
        if (time == 0) {
            return;
        }
        line(out, which + " error time", time(time));
        line(out, which + " error function", function);
        line(out, which + " error line #", lineNo);
        if (ino != 0) {
            line(out, which + " error inode #", ino);
        }
        if (block != 0) {
            line(out, which + " error block #", Long.toUnsignedString(block));
        }
        if (code != 0) {
            line(out, which + " error err", code < ERRCODES.length ? ERRCODES[code] : "UNKNOWN_ERRCODE_" + code);
        }
    }

    /** {@code EXT4_ERR_*} names by code, as e2p's {@code e2p_errcode2str}. */
    private static final String[] ERRCODES = {"", "UNKNOWN", "EIO", "ENOMEM", "EFSBADCRC", "EFSCORRUPTED", "ENOSPC",
        "ENOKEY", "EROFS", "EFBIG", "EEXIST", "ERANGE", "EOVERFLOW", "EBUSY", "ENOTDIR", "ENOTEMPTY", "ESHUTDOWN",
        "EFAULT"};

    private static String uuid(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                s.append('-');
            }
            s.append(String.format("%02x", b[i]));
        }
        return s.toString();
    }

    private static void printGroup(Superblock sb, GroupDescriptor g, PrintWriter out) {
        long first = sb.groupFirstBlock(g.group());
        long last = first + sb.blocksInGroup(g.group()) - 1;
        List<String> flags = new ArrayList<>();
        if ((g.flags() & GroupDescriptor.BG_INODE_UNINIT) != 0) {
            flags.add("INODE_UNINIT");
        }
        if ((g.flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0) {
            flags.add("BLOCK_UNINIT");
        }
        if ((g.flags() & GroupDescriptor.BG_INODE_ZEROED) != 0) {
            flags.add("ITABLE_ZEROED");
        }
        String csum = sb.hasMetadataCsum() || sb.hasGdtCsum() ? String.format(" csum 0x%04x", g.checksum()) : "";
        out.printf("Group %d: (Blocks %d-%d)%s%s%n", g.group(), first, last, csum,
                flags.isEmpty() ? "" : " [" + String.join(", ", flags) + "]");
        out.printf("  Block bitmap at %d, Inode bitmap at %d, Inode table at %d%n",
                g.blockBitmap(), g.inodeBitmap(), g.inodeTable());
        out.printf("  %d free blocks, %d free inodes, %d directories%s%n", g.freeBlocksCount(), g.freeInodesCount(),
                g.usedDirsCount(), sb.hasMetadataCsum() || sb.hasGdtCsum() ? ", " + g.itableUnused() + " unused inodes" : "");
    }
}
