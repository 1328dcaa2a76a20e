package org.ext4j.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Crc32c;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.volume.Volume;

/**
 * The checks {@code __ext4_fill_super} makes after the group descriptors, on the inodes a mount
 * needs: the journal ({@code ext4_load_journal}, {@code ext4_get_journal_inode} and jbd2's
 * {@code journal_check_superblock}), the root directory, and the orphan file
 * ({@code ext4_init_orphan_info}). ext4j neither replays nor writes
 * the journal yet, but a file system whose journal the kernel cannot load is one the kernel
 * refuses to mount, read-only included, so ext4j refuses it too, naming the rule.
 *
 * <p>An external journal ({@code s_journal_dev}) is not looked for: the kernel refuses the mount
 * when the device is missing, ext4j reads the file system without it (it never replays).
 */
final class MountChecks {
    /** {@code JBD2_MAGIC_NUMBER}. */
    static final int JBD2_MAGIC = org.ext4j.journal.JournalLog.MAGIC;
    static final int JBD2_SUPERBLOCK_V1 = org.ext4j.journal.JournalLog.SUPERBLOCK_V1;
    static final int JBD2_SUPERBLOCK_V2 = org.ext4j.journal.JournalLog.SUPERBLOCK_V2;
    static final int JBD2_COMPAT_CHECKSUM = org.ext4j.journal.JournalLog.COMPAT_CHECKSUM;
    static final int JBD2_INCOMPAT_CSUM_V2 = org.ext4j.journal.JournalLog.INCOMPAT_CSUM_V2;
    static final int JBD2_INCOMPAT_CSUM_V3 = org.ext4j.journal.JournalLog.INCOMPAT_CSUM_V3;
    static final int JBD2_INCOMPAT_FAST_COMMIT = org.ext4j.journal.JournalLog.INCOMPAT_FAST_COMMIT;
    /** {@code JBD2_KNOWN_INCOMPAT_FEATURES}: revoke, 64bit, async commit, csum v2, v3, fast commit. */
    static final int JBD2_KNOWN_INCOMPAT = 0x3F;
    static final int JBD2_MIN_JOURNAL_BLOCKS = 1024;
    static final int JBD2_DEFAULT_FAST_COMMIT_BLOCKS = 256;
    static final int JBD2_CRC32C = 4;
    static final int JBD2_SUPERBLOCK_SIZE = 1024;
    static final int JBD2_CHECKSUM_OFFSET = 0xFC;

    private MountChecks() {
    }

    /** Runs every check, journal first (the kernel loads it before the root: the root may be in it). */
    static void check(Volume volume) throws IOException {
        Superblock sb = volume.superblock();
        if (sb.hasCompat(Features.COMPAT_HAS_JOURNAL)) {
            checkJournal(volume, sb);
        }
        checkRoot(volume);
        if (sb.hasCompat(Features.COMPAT_ORPHAN_FILE)) {
            checkOrphanFile(volume, sb);
        }
    }

    private static CorruptionException journalError(long ino, String what) {
        return CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build(what);
    }

    /** {@code ext4_load_journal} with an internal journal: its inode, then its superblock. */
    static void checkJournal(Volume volume, Superblock sb) throws IOException {
        long ino = sb.journalInum; // its number, and the device field, were checked by Volume.open
        if (ino == 0) {
            return; // external journal: see the class comment
        }
        Inode journal = Inode.load(volume, ino);
        InodeRecord rec = journal.record();
        if (rec.linksCount == 0) {
            throw journalError(ino, "ext4_get_journal_inode: journal inode is unallocated (i_links_count 0)");
        }
        if (!rec.isRegular() || rec.hasFlag(InodeRecord.FL_ENCRYPT)) {
            throw journalError(ino, String.format("ext4_get_journal_inode: journal inode is not a plain regular file"
                    + " (mode 0%o, flags 0x%x)", rec.mode, rec.flags));
        }
        checkJournalSuperblock(journal, volume.blockSize(), ino);
    }

    /** jbd2's {@code journal_check_superblock} on the journal's first block (big-endian fields). */
    static void checkJournalSuperblock(Inode journal, int blockSize, long ino) throws IOException {
        String rule = "journal_check_superblock: ";
        long totalLen = journal.size() / blockSize; // j_total_len: i_size in blocks
        if (totalLen == 0) {
            throw journalError(ino, "jbd2_journal_init_inode: journal inode holds no block (i_size "
                    + journal.size() + ")");
        }
        byte[] raw = new byte[JBD2_SUPERBLOCK_SIZE];
        int n = journal.read(0, raw, 0, raw.length);
        if (n != raw.length) {
            throw journalError(ino, rule + "journal superblock is cut short (" + n + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN);
        int magic = b.getInt(0x0);
        long jBlockSize = Integer.toUnsignedLong(b.getInt(0xC));
        if (magic != JBD2_MAGIC || jBlockSize != blockSize) {
            throw journalError(ino, rule + String.format("no valid journal superblock (h_magic 0x%08x, s_blocksize %d;"
                    + " want 0x%08x, %d)", magic, jBlockSize, JBD2_MAGIC, blockSize));
        }
        int blockType = b.getInt(0x4);
        if (blockType != JBD2_SUPERBLOCK_V1 && blockType != JBD2_SUPERBLOCK_V2) {
            throw journalError(ino, rule + "h_blocktype " + blockType + " is not a journal superblock (3 or 4)");
        }
        long maxLen = Integer.toUnsignedLong(b.getInt(0x10));
        if (maxLen > totalLen) {
            throw journalError(ino, rule + "s_maxlen " + maxLen + " is more than the journal inode's " + totalLen
                    + " blocks");
        }
        long first = Integer.toUnsignedLong(b.getInt(0x14));
        if (first == 0 || first >= totalLen) {
            throw journalError(ino, rule + "s_first " + first + " is not a block of the journal (1.." + (totalLen - 1) + ")");
        }
        if (blockType != JBD2_SUPERBLOCK_V2) {
            checkJournalLength(first, maxLen, ino); // version 1 has no feature fields
            return;
        }
        int compat = b.getInt(0x24);
        int incompat = b.getInt(0x28);
        int roCompat = b.getInt(0x2C);
        if (roCompat != 0 || (incompat & ~JBD2_KNOWN_INCOMPAT) != 0) {
            throw journalError(ino, rule + String.format("unknown journal features (incompat 0x%x, ro_compat 0x%x)",
                    incompat & ~JBD2_KNOWN_INCOMPAT, roCompat));
        }
        long fcBlocks = 0;
        if ((incompat & JBD2_INCOMPAT_FAST_COMMIT) != 0) {
            long v = Integer.toUnsignedLong(b.getInt(0x54));
            fcBlocks = v == 0 ? JBD2_DEFAULT_FAST_COMMIT_BLOCKS : v;
        }
        if (maxLen < JBD2_MIN_JOURNAL_BLOCKS || maxLen - JBD2_MIN_JOURNAL_BLOCKS < fcBlocks) {
            throw journalError(ino, rule + "journal file too short: s_maxlen " + maxLen + " blocks, below jbd2's"
                    + " minimum of " + JBD2_MIN_JOURNAL_BLOCKS + " (JBD2_MIN_JOURNAL_BLOCKS) plus " + fcBlocks
                    + " fast commit blocks");
        }
        boolean v2 = (incompat & JBD2_INCOMPAT_CSUM_V2) != 0;
        boolean v3 = (incompat & JBD2_INCOMPAT_CSUM_V3) != 0;
        if (v2 && v3) {
            throw journalError(ino, rule + "checksum v2 and v3 both set");
        }
        if ((v2 || v3) && (compat & JBD2_COMPAT_CHECKSUM) != 0) {
            throw journalError(ino, rule + "checksum v1 and v2/v3 both set");
        }
        if (v2 || v3) {
            int type = raw[0x50] & 0xFF;
            if (type != JBD2_CRC32C) {
                throw journalError(ino, rule + "s_checksum_type " + type + " is not crc32c (4)");
            }
            long stored = Integer.toUnsignedLong(b.getInt(JBD2_CHECKSUM_OFFSET));
            byte[] copy = raw.clone();
            java.util.Arrays.fill(copy, JBD2_CHECKSUM_OFFSET, JBD2_CHECKSUM_OFFSET + 4, (byte) 0);
            long computed = Crc32c.update(~0, copy, 0, copy.length) & 0xFFFFFFFFL;
            if (stored != computed) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(ino).offset(JBD2_CHECKSUM_OFFSET)
                        .checksum("journal_check_superblock: journal superblock", stored, computed);
            }
        }
        checkJournalLength(first, maxLen, ino);
    }

    /**
     * {@code journal_reset}, which {@code jbd2_journal_load} runs on every mount, read-only
     * included, whatever the superblock's version: the log from {@code s_first} to {@code s_maxlen}
     * must hold {@code JBD2_MIN_JOURNAL_BLOCKS} blocks ("JBD2: Journal too short").
     */
    private static void checkJournalLength(long first, long maxLen, long ino) throws CorruptionException {
        if (first + JBD2_MIN_JOURNAL_BLOCKS > maxLen + 1) {
            throw journalError(ino, "journal_reset: journal too short: blocks " + first + "-" + maxLen + " hold "
                    + (maxLen + 1 - first) + " blocks, below jbd2's minimum of " + JBD2_MIN_JOURNAL_BLOCKS
                    + " (JBD2_MIN_JOURNAL_BLOCKS)");
        }
    }

    /** {@code EXT4_ORPHAN_BLOCK_MAGIC}, in the tail of every orphan file block. */
    static final int ORPHAN_BLOCK_MAGIC = 0x0b10ca04;
    /** {@code EXT4_MAX_ORPHAN_FILE_BLOCKS}. */
    static final int MAX_ORPHAN_FILE_BLOCKS = 512;

    /**
     * {@code ext4_init_orphan_info}: with orphan_file, the orphan file's inode loads, holds at most
     * 512 blocks, and each block ends in the orphan block magic and (with metadata_csum) a checksum
     * seeded with the inode's seed and the block's physical number.
     */
    static void checkOrphanFile(Volume volume, Superblock sb) throws IOException {
        long ino = sb.orphanFileInum;
        String rule = "ext4_init_orphan_info: ";
        if (ino < 1 || ino > sb.inodesCount) {
            throw CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(Superblock.OFFSET + 0x280)
                    .build(rule + "s_orphan_file_inum " + ino + " is not in 1.." + sb.inodesCount);
        }
        Inode orphan = Inode.load(volume, ino);
        int bs = volume.blockSize();
        if (orphan.size() > (long) MAX_ORPHAN_FILE_BLOCKS * bs) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build(rule + "orphan file of " + orphan.size() + " bytes is over " + MAX_ORPHAN_FILE_BLOCKS + " blocks");
        }
        if (orphan.isInline() || orphan.blockMap() == null) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino).build(rule + "orphan file has no block map");
        }
        int seed = orphan.record().checksumSeed(sb);
        byte[] block = new byte[bs];
        for (long i = 0; i < orphan.size() / bs; i++) {
            org.ext4j.extents.BlockMap.Mapping m = orphan.map(i, 1);
            if (m.state() != org.ext4j.extents.BlockMap.State.WRITTEN) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                        .build(rule + "orphan file block " + i + " is not written (" + m.state() + ")");
            }
            orphan.read(i * bs, block, 0, bs);
            int magic = org.ext4j.format.Le.i32(block, bs - 8);
            if (magic != ORPHAN_BLOCK_MAGIC) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(ino).block(m.physical()).offset(bs - 8)
                        .build(rule + String.format("orphan file block %d: bad magic 0x%08x", i, magic));
            }
            if (sb.hasMetadataCsum()) {
                long stored = org.ext4j.format.Le.u32(block, bs - 4);
                int crc = Crc32c.updateLe64(seed, m.physical());
                long computed = Crc32c.update(crc, block, 0, bs - 8) & 0xFFFFFFFFL;
                if (stored != computed) {
                    throw CorruptionException.of(Kind.CHECKSUM).inode(ino).block(m.physical()).offset(bs - 4)
                            .checksum(rule + "orphan file block " + i, stored, computed);
                }
            }
        }
    }

    /**
     * The root directory as {@code __ext4_fill_super} wants it after {@code ext4_iget}: in use
     * (a special inode with no link is "unallocated"), a directory, with blocks and a size.
     */
    static void checkRoot(Volume volume) throws IOException {
        long ino = Ext4FileSystem.ROOT_INO;
        InodeRecord rec = volume.readInode(ino);
        if (rec.linksCount == 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("__ext4_iget: root inode is unallocated (i_links_count 0)");
        }
        if (!rec.isDirectory()) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build(String.format("__ext4_fill_super: root inode is not a directory (mode 0%o)", rec.mode));
        }
        if (rec.blocks512(volume.superblock()) == 0 || rec.size == 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("__ext4_fill_super: corrupt root inode (i_blocks " + rec.blocks512(volume.superblock())
                            + ", i_size " + rec.size + ")");
        }
    }
}
