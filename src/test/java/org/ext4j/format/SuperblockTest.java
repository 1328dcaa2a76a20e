package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Superblock} against {@code dumpe2fs -h}: every field dumpe2fs prints, on images of every
 * layout mkfs makes (1/2/4 KiB blocks, 32- and 64-bit, rev 0, ext3, bigalloc, meta_bg, sparse_super2,
 * quota/project/mmp/orphan file, and superblock fields set with {@code debugfs ssv}), then one test per
 * corrupted field asserting the exact kind and offset.
 */
class SuperblockTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    /** Superblock fields set with debugfs: times past 2038 and before 1970, errors, mount data. */
    private static final String[] TUNE = {
        "ssv mtime 20400102030405",
        "ssv lastcheck 20450101000000",
        "ssv checkinterval 86400",
        "ssv mnt_count 7",
        "ssv max_mnt_count 20",
        "ssv kbytes_written 123456789",
        "ssv mount_opts nodelalloc",
        "ssv error_count 3",
        "ssv first_error_time 20300101000000",
        "ssv first_error_ino 12",
        "ssv first_error_block 1234",
        "ssv first_error_func ext4_lookup",
        "ssv last_error_time 20410101000000",
        "ssv last_error_ino 13",
        "ssv last_error_block 4321",
        "ssv last_error_func ext4_iget",
        "ssv def_hash_version tea",
        "ssv last_orphan 12",
        "ssv state 3",
        "ssv errors 3",
        "ssv def_resuid 1000",
        "ssv def_resgid 1001",
        "ssv flags 4",
        "ssv default_mount_opts 0x60c",
        "ssv creator_os 3", // FreeBSD: the Hurd (1) with 64bit is refused (ext4_check_feature_compatibility)
        "ssv mkfs_time 19690101000000",
        "ssv journal_uuid 11111111-2222-3333-4444-555555555555",
        "ssv journal_dev 0x0801",
    };

    static Stream<String> configs() {
        return Stream.of("ext4-1k", "ext4-2k-tuned", "ext4-4k-32bit", "uninit_bg", "ext3", "rev0", "bigalloc",
                "features", "meta_bg", "sparse_super2", "inode128", "inode1024-lazy-kbytes");
    }

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p != null) {
            return p;
        }
        String n = config + ".img";
        switch (config) {
            case "ext4-1k" -> p = GoldenImage.mkfs(dir, n, "8M", "-b", "1024", "-L", "golden-label", "-M", "/mnt/golden");
            case "ext4-2k-tuned" -> {
                p = GoldenImage.mkfs(dir, n, "16M", "-b", "2048");
                GoldenImage.debugfsWrite(p, TUNE);
            }
            case "ext4-4k-32bit" -> p = GoldenImage.mkfs(dir, n, "16M", "-b", "4096", "-O", "^64bit");
            case "uninit_bg" -> p = GoldenImage.mkfs(dir, n, "16M", "-b", "4096", "-O", "^metadata_csum,uninit_bg");
            case "ext3" -> p = GoldenImage.mkfs(dir, n, "16M", "-t", "ext3", "-b", "1024");
            case "rev0" -> p = GoldenImage.mkfs(dir, n, "8M", "-t", "ext2", "-r", "0", "-b", "1024");
            case "bigalloc" -> p = GoldenImage.mkfs(dir, n, "32M", "-b", "1024", "-O", "bigalloc", "-C", "16384");
            case "features" -> p = GoldenImage.mkfs(dir, n, "32M",
                    List.of("-b", "4096", "-I", "512", "-i", "8192", "-e", "remount-ro",
                            "-O", "quota,project,metadata_csum_seed,orphan_file,mmp"),
                    "stride=4,stripe_width=8,mmp_update_interval=7", null);
            case "meta_bg" -> p = GoldenImage.mkfs(dir, n, "32M", "-b", "1024", "-g", "1024",
                    "-O", "meta_bg,^resize_inode,^has_journal");
            case "sparse_super2" -> p = GoldenImage.mkfs(dir, n, "32M", "-b", "1024", "-O", "sparse_super2");
            case "inode128" -> p = GoldenImage.mkfs(dir, n, "16M", "-b", "4096", "-I", "128");
            case "inode1024-lazy-kbytes" -> {
                p = GoldenImage.mkfs(dir, n, "16M", "-b", "4096", "-I", "1024", "-O", "^has_journal");
                GoldenImage.debugfsWrite(p, "ssv kbytes_written 9000", "ssv wtime 21060207062816",
                        "ssv def_hash_version legacy", "ssv flags 2");
            }
            default -> throw new IllegalArgumentException(config);
        }
        IMAGES.put(config, p);
        return p;
    }

    private static Superblock decode(String config) throws IOException {
        return GoldenImage.superblock(image(config));
    }

    // ---- golden bytes ------------------------------------------------------------------------

    private static final DateTimeFormatter CTIME =
            DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.US).withZone(ZoneOffset.UTC);

    private static String time(long seconds) {
        return seconds == 0 ? "n/a" : CTIME.format(Instant.ofEpochSecond(seconds));
    }

    private static String uuid(byte[] b) {
        String h = java.util.HexFormat.of().formatHex(b);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20)
                + "-" + h.substring(20);
    }

    private static String leading(String v) {
        return v.split("[ (]")[0];
    }

    private static String defaultMountOptions(long bits) {
        List<String> out = new ArrayList<>();
        String[] low = {"debug", "bsdgroups", "user_xattr", "acl", "uid16"};
        for (int i = 0; i < low.length; i++) {
            if ((bits & (1L << i)) != 0) {
                out.add(low[i]);
            }
        }
        long jmode = bits & 0x60;
        if (jmode == 0x20) {
            out.add("journal_data");
        } else if (jmode == 0x40) {
            out.add("journal_data_ordered");
        } else if (jmode == 0x60) {
            out.add("journal_data_writeback");
        }
        String[] high = {"nobarrier", "block_validity", "discard", "nodelalloc"};
        for (int i = 0; i < high.length; i++) {
            if ((bits & (0x100L << i)) != 0) {
                out.add(high[i]);
            }
        }
        return out.isEmpty() ? "(none)" : String.join(" ", out);
    }

    private static String lifetimeWrites(long kb) {
        if (kb < 1L << 13) {
            return kb + " kB";
        } else if (kb < 1L << 23) {
            return ((kb + (1L << 9)) >> 10) + " MB";
        } else if (kb < 1L << 33) {
            return ((kb + (1L << 19)) >> 20) + " GB";
        } else if (kb < 1L << 43) {
            return ((kb + (1L << 29)) >> 30) + " TB";
        }
        return ((kb + (1L << 39)) >> 40) + " PB";
    }

    /** dumpe2fs fields that {@link Superblock} does not decode; listed so that new ones are noticed. */
    private static final Set<String> NOT_DECODED = Set.of("First error line #", "Last error line #");

    /** What {@code dumpe2fs -h} should print for {@code key}, computed from the decoded superblock. */
    private static String expected(Superblock sb, String key) {
        return switch (key) {
            case "Filesystem volume name" -> sb.volumeName.isEmpty() ? "<none>" : sb.volumeName;
            case "Last mounted on" -> sb.lastMounted.isEmpty() ? "<not available>" : sb.lastMounted;
            case "Filesystem UUID" -> sb.uuidValue().toString();
            case "Filesystem magic number" -> String.format("0x%04X", sb.magic);
            case "Filesystem revision #" -> sb.revLevel + (sb.revLevel == 0 ? " (original)" : " (dynamic)");
            case "Filesystem features" -> {
                List<String> f = new ArrayList<>(Features.compatNames(sb.featureCompat));
                f.addAll(Features.incompatNames(sb.featureIncompat));
                f.addAll(Features.roCompatNames(sb.featureRoCompat));
                yield f.isEmpty() ? "(none)" : String.join(" ", f);
            }
            case "Filesystem flags" -> {
                List<String> f = new ArrayList<>();
                if ((sb.flags & Superblock.FLAGS_SIGNED_HASH) != 0) {
                    f.add("signed_directory_hash");
                }
                if ((sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
                    f.add("unsigned_directory_hash");
                }
                if ((sb.flags & 4) != 0) {
                    f.add("test_filesystem");
                }
                yield f.isEmpty() ? "(none)" : String.join(" ", f);
            }
            case "Default mount options" -> defaultMountOptions(sb.defaultMountOpts);
            case "Mount options" -> sb.mountOpts;
            case "Filesystem state" -> ((sb.state & Superblock.STATE_VALID) != 0 ? "clean" : "not clean")
                    + ((sb.state & Superblock.STATE_ERROR) != 0 ? " with errors" : "");
            case "Errors behavior" -> switch (sb.errors) {
                case 1 -> "Continue";
                case 2 -> "Remount read-only";
                case 3 -> "Panic";
                default -> "Unknown (continue)";
            };
            case "Filesystem OS type" -> List.of("Linux", "Hurd", "Masix", "FreeBSD", "Lites").get((int) sb.creatorOs);
            case "Inode count" -> Long.toString(sb.inodesCount);
            case "Block count" -> Long.toString(sb.blocksCount);
            case "Reserved block count" -> Long.toString(sb.reservedBlocksCount);
            case "Overhead clusters" -> Long.toString(sb.overheadClusters);
            case "Free blocks" -> Long.toString(sb.freeBlocksCount);
            case "Free inodes" -> Long.toString(sb.freeInodesCount);
            case "First block" -> Long.toString(sb.firstDataBlock);
            case "Block size" -> Integer.toString(sb.blockSize);
            case "Fragment size", "Cluster size" -> Integer.toString(1024 << sb.logClusterSize);
            case "Group descriptor size" -> Integer.toString(sb.descSize);
            case "Reserved GDT blocks" -> Integer.toString(sb.reservedGdtBlocks);
            case "Blocks per group" -> Long.toString(sb.blocksPerGroup);
            case "Fragments per group", "Clusters per group" -> Long.toString(sb.clustersPerGroup);
            case "Inodes per group" -> Long.toString(sb.inodesPerGroup);
            case "Inode blocks per group" ->
                Long.toString((sb.inodesPerGroup * sb.inodeSize + sb.blockSize - 1) / sb.blockSize);
            case "RAID stride" -> Integer.toString(sb.raidStride);
            case "RAID stripe width" -> Long.toString(sb.raidStripeWidth);
            case "First meta block group" -> Long.toString(sb.firstMetaBg);
            case "Flex block group size" -> Long.toString(1L << sb.logGroupsPerFlex);
            case "Filesystem created" -> time(sb.mkfsTime);
            case "Last mount time" -> time(sb.mtime);
            case "Last write time" -> time(sb.wtime);
            case "Mount count" -> Integer.toString(sb.mntCount);
            case "Maximum mount count" -> Integer.toString(sb.maxMntCount);
            case "Last checked" -> time(sb.lastCheck);
            case "Check interval" -> Long.toString(sb.checkInterval);
            case "Next check after" -> time(sb.lastCheck + sb.checkInterval);
            case "Lifetime writes" -> lifetimeWrites(sb.kbytesWritten);
            case "Reserved blocks uid" -> Integer.toString(sb.defResuid);
            case "Reserved blocks gid" -> Integer.toString(sb.defResgid);
            case "First inode" -> Long.toString(sb.firstIno);
            case "Inode size" -> Integer.toString(sb.inodeSize);
            case "Required extra isize" -> Integer.toString(sb.minExtraIsize);
            case "Desired extra isize" -> Integer.toString(sb.wantExtraIsize);
            case "Journal UUID" -> uuid(sb.journalUuid);
            case "Journal inode" -> Long.toString(sb.journalInum);
            case "Journal device" -> String.format("0x%04x", sb.journalDev);
            case "First orphan inode" -> Long.toString(sb.lastOrphan);
            case "Default directory hash" -> List.of("legacy", "half_md4", "tea").get(sb.defHashVersion);
            case "Directory Hash Seed" -> {
                byte[] b = new byte[16];
                for (int i = 0; i < 4; i++) {
                    Le.put32(b, 4 * i, sb.hashSeed[i]);
                }
                yield uuid(b);
            }
            case "Journal backup" -> sb.jnlBackupType == 1 ? "inode blocks" : "type " + sb.jnlBackupType;
            case "Backup block groups" -> {
                long[] bgs = sb.backupBgs();
                yield bgs[1] != 0 ? bgs[0] + " " + bgs[1] : Long.toString(bgs[0]);
            }
            case "FS Error count" -> Long.toString(sb.errorCount);
            case "First error time" -> time(sb.firstErrorTime);
            case "First error function" -> sb.firstErrorFunc;
            case "First error inode #" -> Long.toString(sb.firstErrorIno);
            case "First error block #" -> Long.toString(sb.firstErrorBlock);
            case "Last error time" -> time(sb.lastErrorTime);
            case "Last error function" -> sb.lastErrorFunc;
            case "Last error inode #" -> Long.toString(sb.lastErrorIno);
            case "Last error block #" -> Long.toString(sb.lastErrorBlock);
            case "MMP block number" -> Long.toString(sb.mmpBlock);
            case "MMP update interval" -> Integer.toString(sb.mmpInterval);
            case "User quota inode" -> Long.toString(sb.usrQuotaInum);
            case "Group quota inode" -> Long.toString(sb.grpQuotaInum);
            case "Project quota inode" -> Long.toString(sb.prjQuotaInum);
            case "Checksum type" -> sb.checksumType == 1 ? "crc32c" : "unknown";
            case "Checksum" -> String.format("0x%08x", sb.checksum);
            case "Checksum seed" -> String.format("0x%08x", sb.checksumSeed);
            case "Orphan file inode" -> Long.toString(sb.orphanFileInum);
            default -> null;
        };
    }

    /** Keys whose dumpe2fs value carries a parenthesised note (user name, "1 day") after the number. */
    private static final Set<String> NUMBER_THEN_NOTE = Set.of("Reserved blocks uid", "Reserved blocks gid",
            "Check interval");

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void everyFieldDumpe2fsPrints(String config) throws IOException {
        Path img = image(config);
        Superblock sb = decode(config);
        Map<String, String> dump = GoldenImage.dumpe2fsHeader(img);
        assertTrue(dump.size() > 25, "dumpe2fs printed " + dump.keySet());
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, String> e : dump.entrySet()) {
            String key = e.getKey();
            if (NOT_DECODED.contains(key)) {
                continue;
            }
            String want = e.getValue();
            String got = expected(sb, key);
            if (got == null) {
                fail("dumpe2fs prints \"" + key + "\" which this test does not know: extend expected()");
            }
            if (NUMBER_THEN_NOTE.contains(key)) {
                want = leading(want);
            }
            if (!want.equals(got)) {
                mismatches.add(key + ": dumpe2fs \"" + want + "\", decoded \"" + got + "\"");
            }
        }
        assertEquals(List.of(), mismatches, config);
    }

    /** The tuned image's debugfs-set values, stated outright rather than only through dumpe2fs. */
    @Test
    void timesBeyond2038UseTheHighBytes() throws IOException {
        Superblock sb = decode("ext4-2k-tuned");
        assertEquals(Instant.parse("2040-01-02T03:04:05Z").getEpochSecond(), sb.mtime);
        assertEquals(Instant.parse("2045-01-01T00:00:00Z").getEpochSecond(), sb.lastCheck);
        assertEquals(Instant.parse("2030-01-01T00:00:00Z").getEpochSecond(), sb.firstErrorTime);
        assertEquals(Instant.parse("2041-01-01T00:00:00Z").getEpochSecond(), sb.lastErrorTime);
        // superblock times are unsigned 40-bit: e2fsprogs stores 1969 as 2^32 - 31536000 with a zero high byte
        assertEquals((1L << 32) - 31_536_000L, sb.mkfsTime);
        assertEquals(0, sb.raw()[0x276], "s_mkfs_time_hi");
        assertEquals(123456789L, sb.kbytesWritten);
        assertEquals(3, sb.errors);
        assertEquals(GoldenImage.FAKE_TIME, decode("ext4-1k").mkfsTime);
    }

    /**
     * The i_extra_isize of new inodes: the kernel's clamp, and 32 where s_want_extra_isize or
     * s_min_extra_isize is not a multiple of 4 (random damage: want 33 made ext4j write an inode its
     * own reader refused, exit 70; the kernel would write one its ext4_iget refuses).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"32,0,32", "0,0,32", "64,0,64", "0,48,48", "64,96,96",
        "33,0,32", "0,34,32", "60,62,32", "384,0,384"})
    void newInodesGetTheKernelsExtraIsizeButNeverAMisalignedOne(int want, int min, int expected) throws IOException {
        byte[] b = base(); // 512-byte inodes: 384 bytes past 128
        Le.put16(b, 0x15E, want);
        Le.put16(b, 0x15C, min);
        Superblock.setChecksum(b);
        assertEquals(expected, Superblock.decode(b).newInodeExtraIsize());
        Le.put32(b, 0x64, Le.u32(b, 0x64) & ~Features.RO_COMPAT_EXTRA_ISIZE);
        Superblock.setChecksum(b);
        assertEquals(32, Superblock.decode(b).newInodeExtraIsize(), "without extra_isize the fields are ignored");
    }

    @Test
    void geometryOfEachBlockSize() throws IOException {
        for (String c : List.of("ext4-1k", "ext4-2k-tuned", "ext4-4k-32bit")) {
            Superblock sb = decode(c);
            assertEquals(1024 << sb.logBlockSize, sb.blockSize, c);
            assertEquals(sb.is64bit() ? 64 : 32, sb.descriptorSize, c);
            assertEquals(sb.blockSize / sb.descriptorSize, sb.descriptorsPerBlock, c);
            assertEquals((sb.blocksCount - sb.firstDataBlock + sb.blocksPerGroup - 1) / sb.blocksPerGroup,
                    sb.groupCount, c);
            assertEquals(sb.blockSize == 1024 ? 1 : 0, sb.firstDataBlock, c);
        }
        assertEquals(1024, decode("ext4-1k").blockSize);
        assertEquals(2048, decode("ext4-2k-tuned").blockSize);
        assertEquals(4096, decode("ext4-4k-32bit").blockSize);
        assertFalse(decode("ext4-4k-32bit").is64bit());
    }

    @Test
    void revisionZeroUsesTheGoodOldConstants() throws IOException {
        Superblock sb = decode("rev0");
        assertEquals(0, sb.revLevel);
        assertEquals(128, sb.inodeSize);
        assertEquals(11, sb.firstIno);
        assertEquals(0, sb.featureCompat | sb.featureIncompat | sb.featureRoCompat);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext4-1k", "ext4-2k-tuned", "ext4-4k-32bit", "features", "meta_bg", "bigalloc"})
    void checksumMatchesTheStoredOne(String config) throws IOException {
        Superblock sb = decode(config);
        assertTrue(sb.hasMetadataCsum());
        assertEquals(sb.checksum, sb.computeChecksum() & 0xFFFFFFFFL);
    }

    /** With metadata_csum_seed the seed is s_checksum_seed; without, crc32c(~0, uuid), which mkfs stores there too. */
    @Test
    void checksumSeed() throws IOException {
        Superblock withSeed = decode("features");
        assertTrue(withSeed.hasIncompat(Features.INCOMPAT_CSUM_SEED));
        assertEquals((int) withSeed.checksumSeed, withSeed.checksumSeedValue());
        // the stored seed is crc32c(~0, uuid) of the uuid mkfs was given
        byte[] uuid = java.util.HexFormat.of().parseHex(GoldenImage.UUID.replace("-", ""));
        assertEquals(Crc32c.update(~0, uuid, 0, 16), withSeed.checksumSeedValue());
        Superblock plain = decode("ext4-1k");
        assertArrayEquals(uuid, plain.uuid);
        assertEquals(Crc32c.update(~0, uuid, 0, 16), plain.checksumSeedValue());
    }

    @Test
    void backupGroups() throws IOException {
        Superblock sparse = decode("meta_bg");
        List<Long> expected = new ArrayList<>();
        for (long g = 0; g < sparse.groupCount; g++) {
            if (sparse.groupHasSuper(g)) {
                expected.add(g);
            }
        }
        // sparse_super: 0, 1 and powers of 3, 5, 7 among 32 groups
        assertEquals(List.of(0L, 1L, 3L, 5L, 7L, 9L, 25L, 27L), expected);
        Superblock two = decode("sparse_super2");
        assertArrayEquals(new long[] {1, 3}, two.backupBgs());
        assertTrue(two.groupHasSuper(0));
        assertTrue(two.groupHasSuper(1));
        assertFalse(two.groupHasSuper(2));
        assertTrue(two.groupHasSuper(3));
    }

    // ---- mutations ---------------------------------------------------------------------------
    // Each edit is followed by a new checksum (Superblock.setChecksum), as debugfs ssv does, so that
    // only the rule under test can fail. Rules named after the kernel function that holds them; the
    // kernel's own answer to each is checked on real images by volume.MountRulesKernelTest.

    private static byte[] base() throws IOException {
        // 4 KiB blocks, 64bit, metadata_csum, flex_bg: the layout with every field in use
        return GoldenImage.read(image("features"), Superblock.OFFSET, Superblock.SIZE);
    }

    private static Arguments bad(String name, Consumer<byte[]> edit, Kind kind, int fieldOffset) {
        return Arguments.of(name, edit, kind, fieldOffset);
    }

    private static Consumer<byte[]> bigalloc(int logCluster, long clustersPerGroup, long blocksPerGroup) {
        return b -> {
            Le.put32(b, 0x64, Le.u32(b, 0x64) | Features.RO_COMPAT_BIGALLOC);
            Le.put32(b, 0x1C, logCluster);
            Le.put32(b, 0x24, clustersPerGroup);
            Le.put32(b, 0x20, blocksPerGroup);
        };
    }

    static Stream<Arguments> corruptions() {
        return Stream.of(
                // ext4_load_super
                bad("s_magic 0xEF54", b -> Le.put16(b, 0x38, 0xEF54), Kind.BAD_MAGIC, 0x38),
                bad("s_magic 0", b -> Le.put16(b, 0x38, 0), Kind.BAD_MAGIC, 0x38),
                bad("s_magic byte-swapped", b -> Le.put16(b, 0x38, 0x53EF), Kind.BAD_MAGIC, 0x38),
                bad("s_log_block_size 7 (128 KiB)", b -> Le.put32(b, 0x18, 7), Kind.BAD_SUPERBLOCK, 0x18),
                bad("s_log_block_size 0xFFFFFFFF", b -> Le.put32(b, 0x18, 0xFFFFFFFFL), Kind.BAD_SUPERBLOCK, 0x18),
                bad("s_log_block_size 31", b -> Le.put32(b, 0x18, 31), Kind.BAD_SUPERBLOCK, 0x18),
                bad("s_log_cluster_size 21", b -> Le.put32(b, 0x1C, 21), Kind.BAD_SUPERBLOCK, 0x1C),
                bad("bigalloc with s_log_cluster_size 21", bigalloc(21, 8, 8L << 19), Kind.BAD_SUPERBLOCK, 0x1C),
                // ext4_init_metadata_csum
                bad("s_checksum_type 2", b -> b[0x175] = 2, Kind.BAD_SUPERBLOCK, 0x175),
                // ext4_inode_info_init
                bad("s_inode_size 0", b -> Le.put16(b, 0x58, 0), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_inode_size 64", b -> Le.put16(b, 0x58, 64), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_inode_size 127", b -> Le.put16(b, 0x58, 127), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_inode_size 129", b -> Le.put16(b, 0x58, 129), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_inode_size 384 (not a power of 2)", b -> Le.put16(b, 0x58, 384), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_inode_size 8192 (over the block size)", b -> Le.put16(b, 0x58, 8192), Kind.BAD_SUPERBLOCK, 0x58),
                bad("s_first_ino 10", b -> Le.put32(b, 0x54, 10), Kind.BAD_SUPERBLOCK, 0x54),
                bad("s_first_ino 0", b -> Le.put32(b, 0x54, 0), Kind.BAD_SUPERBLOCK, 0x54),
                bad("s_want_extra_isize past the inode", b -> Le.put16(b, 0x15E, 512 - 128 + 4), Kind.BAD_SUPERBLOCK, 0x15E),
                bad("s_min_extra_isize past the inode", b -> Le.put16(b, 0x15C, 512 - 128 + 4), Kind.BAD_SUPERBLOCK, 0x15C),
                // ext4_check_feature_compatibility
                bad("s_creator_os Hurd with 64bit", b -> Le.put32(b, 0x48, Superblock.OS_HURD), Kind.BAD_SUPERBLOCK, 0x48),
                bad("s_creator_os Hurd with ea_inode", b -> {
                    Le.put32(b, 0x48, Superblock.OS_HURD);
                    Le.put32(b, 0x60, (Le.u32(b, 0x60) & ~Features.INCOMPAT_64BIT) | Features.INCOMPAT_EA_INODE);
                }, Kind.BAD_SUPERBLOCK, 0x48),
                // ext4_block_group_meta_init
                bad("s_desc_size 48", b -> Le.put16(b, 0xFE, 48), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_desc_size 96", b -> Le.put16(b, 0xFE, 96), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_desc_size 32 with 64bit", b -> Le.put16(b, 0xFE, 32), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_desc_size 16", b -> Le.put16(b, 0xFE, 16), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_desc_size 0", b -> Le.put16(b, 0xFE, 0), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_desc_size 2048", b -> Le.put16(b, 0xFE, 2048), Kind.BAD_SUPERBLOCK, 0xFE),
                bad("s_blocks_per_group 0", b -> Le.put32(b, 0x20, 0), Kind.BAD_SUPERBLOCK, 0x20),
                bad("s_inodes_per_group 0", b -> Le.put32(b, 0x28, 0), Kind.BAD_SUPERBLOCK, 0x28),
                bad("s_inodes_per_group below the inodes of one block", b -> Le.put32(b, 0x28, 4096 / 512 - 1),
                        Kind.BAD_SUPERBLOCK, 0x28),
                bad("s_inodes_per_group 8 * block size + 1", b -> Le.put32(b, 0x28, 8 * 4096 + 1),
                        Kind.BAD_SUPERBLOCK, 0x28),
                // ext4_hash_info_init
                bad("s_def_hash_version 7", b -> b[0xFC] = 7, Kind.BAD_SUPERBLOCK, 0xFC),
                bad("s_def_hash_version 6 (siphash)", b -> b[0xFC] = 6, Kind.BAD_SUPERBLOCK, 0xFC),
                // ext4_handle_clustersize
                bad("s_log_cluster_size 3 without bigalloc", b -> Le.put32(b, 0x1C, 3), Kind.BAD_SUPERBLOCK, 0x1C),
                bad("s_log_cluster_size 1 without bigalloc", b -> Le.put32(b, 0x1C, 1), Kind.BAD_SUPERBLOCK, 0x1C),
                bad("s_blocks_per_group 8 * block size + 8", b -> {
                    Le.put32(b, 0x20, 8 * 4096 + 8);
                    Le.put32(b, 0x24, 8 * 4096 + 8);
                }, Kind.BAD_SUPERBLOCK, 0x20),
                bad("s_clusters_per_group 16384 without bigalloc (issue 8 defect 5)", b -> Le.put32(b, 0x24, 16384),
                        Kind.BAD_SUPERBLOCK, 0x24),
                bad("s_clusters_per_group 32776 without bigalloc", b -> Le.put32(b, 0x24, 32776),
                        Kind.BAD_SUPERBLOCK, 0x24),
                bad("bigalloc with clusters smaller than blocks", bigalloc(1, 32768, 32768), Kind.BAD_SUPERBLOCK, 0x1C),
                bad("bigalloc with s_clusters_per_group 0", bigalloc(2 + 4, 0, 32768), Kind.BAD_SUPERBLOCK, 0x20),
                bad("bigalloc with s_clusters_per_group over 8 * block size", bigalloc(2 + 4, 32776, 32776L * 16),
                        Kind.BAD_SUPERBLOCK, 0x24),
                bad("bigalloc with s_blocks_per_group not s_clusters_per_group times the ratio",
                        bigalloc(2 + 4, 2048, 2048 * 16 + 16), Kind.BAD_SUPERBLOCK, 0x20),
                // ext4_check_geometry
                bad("s_reserved_gdt_blocks block size / 4 + 1", b -> Le.put16(b, 0xCE, 4096 / 4 + 1),
                        Kind.BAD_SUPERBLOCK, 0xCE),
                bad("s_blocks_count 0", b -> {
                    Le.put32(b, 0x4, 0);
                    Le.put32(b, 0x150, 0);
                }, Kind.BAD_SUPERBLOCK, 0x14),
                bad("s_first_data_block = s_blocks_count", b -> Le.put32(b, 0x14, Le.u32(b, 0x4)), Kind.BAD_SUPERBLOCK, 0x14),
                bad("s_first_data_block 1 with 4 KiB blocks", b -> Le.put32(b, 0x14, 1), Kind.BAD_SUPERBLOCK, 0x14),
                bad("s_first_data_block 2", b -> Le.put32(b, 0x14, 2), Kind.BAD_SUPERBLOCK, 0x14),
                bad("s_inodes_count past groups * inodes per group", b -> Le.put32(b, 0x0, Le.u32(b, 0x28) + 1),
                        Kind.BAD_SUPERBLOCK, 0x0),
                bad("s_inodes_count below groups * inodes per group", b -> Le.put32(b, 0x0, Le.u32(b, 0x28) - 1),
                        Kind.BAD_SUPERBLOCK, 0x0),
                // ext4_group_desc_init
                bad("meta_bg with s_first_meta_bg past the descriptor blocks", b -> {
                    Le.put32(b, 0x60, Le.u32(b, 0x60) | Features.INCOMPAT_META_BG);
                    Le.put32(b, 0x104, 2);
                }, Kind.BAD_SUPERBLOCK, 0x104),
                // ext4_mb_init
                bad("s_log_groups_per_flex 32 with flex_bg", b -> b[0x174] = 32, Kind.BAD_SUPERBLOCK, 0x174));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void corruptFieldIsNamed(String name, Consumer<byte[]> edit, Kind kind, int fieldOffset) throws IOException {
        byte[] b = base();
        Superblock.decode(b); // the untouched bytes are fine
        edit.accept(b);
        Superblock.setChecksum(b);
        var ex = expectCorruption(kind, -1, -1, Superblock.OFFSET + fieldOffset, () -> Superblock.decode(b));
        if (kind == Kind.BAD_SUPERBLOCK) {
            assertTrue(ex.getMessage().matches(".*: (ext4|__ext4)_[a-z_]+: s_[a-z_]+ .*")
                    || ex.getMessage().contains(": ext4_"), "names the kernel rule and the field: " + ex.getMessage());
        }
    }

    /** The edges the checks must still accept: what the kernel mounts (ro) at each rule's boundary. */
    static Stream<Arguments> acceptedBoundaries() {
        return Stream.of(
                Arguments.of("s_log_block_size 6 (64 KiB)", (Consumer<byte[]>) b -> {
                    Le.put32(b, 0x18, 6);
                    Le.put32(b, 0x1C, 6);
                }),
                Arguments.of("s_inode_size 128", (Consumer<byte[]>) b -> {
                    Le.put16(b, 0x58, 128);
                    Le.put32(b, 0x64, Le.u32(b, 0x64) & ~Features.RO_COMPAT_EXTRA_ISIZE);
                }),
                Arguments.of("s_inode_size = block size", (Consumer<byte[]>) b -> Le.put16(b, 0x58, 4096)),
                Arguments.of("s_want_extra_isize = inode size - 128", (Consumer<byte[]>) b -> Le.put16(b, 0x15E, 384)),
                Arguments.of("s_min_extra_isize = inode size - 128", (Consumer<byte[]>) b -> Le.put16(b, 0x15C, 384)),
                Arguments.of("s_rev_level 2 (the kernel mounts it read-only)", (Consumer<byte[]>) b -> Le.put32(b, 0x4C, 2)),
                Arguments.of("s_first_ino past s_inodes_count", (Consumer<byte[]>) b -> Le.put32(b, 0x54, Le.u32(b, 0x0) + 1)),
                Arguments.of("s_first_ino = s_inodes_count", (Consumer<byte[]>) b -> Le.put32(b, 0x54, Le.u32(b, 0x0))),
                Arguments.of("s_blocks_per_group = 8 * block size", (Consumer<byte[]>) b -> Le.put32(b, 0x20, 32768)),
                Arguments.of("s_inodes_per_group = 8 * block size", (Consumer<byte[]>) b -> {
                    long groups = Le.u32(b, 0x0) / Le.u32(b, 0x28);
                    Le.put32(b, 0x28, 32768);
                    Le.put32(b, 0x0, groups * 32768); // kernel: s_inodes_count == groups * per group
                }),
                Arguments.of("s_inodes_per_group = inodes of one block, not a multiple of 8 apart",
                        (Consumer<byte[]>) b -> {
                            long groups = Le.u32(b, 0x0) / Le.u32(b, 0x28);
                            Le.put32(b, 0x28, 4096 / 512);
                            Le.put32(b, 0x0, groups * 8);
                        }),
                Arguments.of("s_def_hash_version 5 (half_md4 unsigned)", (Consumer<byte[]>) b -> b[0xFC] = 5),
                Arguments.of("s_reserved_gdt_blocks = block size / 4", (Consumer<byte[]>) b -> Le.put16(b, 0xCE, 1024)),
                Arguments.of("s_desc_size 64", (Consumer<byte[]>) b -> Le.put16(b, 0xFE, 64)),
                Arguments.of("s_desc_size 1024", (Consumer<byte[]>) b -> Le.put16(b, 0xFE, 1024)),
                Arguments.of("s_inodes_count = groups * inodes per group",
                        (Consumer<byte[]>) b -> Le.put32(b, 0x0, Le.u32(b, 0x28))),
                Arguments.of("s_log_groups_per_flex 31", (Consumer<byte[]>) b -> b[0x174] = 31),
                Arguments.of("s_log_groups_per_flex 40 without flex_bg", (Consumer<byte[]>) b -> {
                    b[0x174] = 40;
                    Le.put32(b, 0x60, Le.u32(b, 0x60) & ~Features.INCOMPAT_FLEX_BG);
                }),
                Arguments.of("s_creator_os Hurd without 64bit or ea_inode", (Consumer<byte[]>) b -> {
                    Le.put32(b, 0x48, Superblock.OS_HURD);
                    Le.put32(b, 0x60, Le.u32(b, 0x60) & ~Features.INCOMPAT_64BIT);
                }),
                Arguments.of("bigalloc cluster = 2^16 blocks", bigalloc(2 + 16, 8, 8L << 16)),
                Arguments.of("bigalloc cluster of 1 GiB (s_log_cluster_size 20)", bigalloc(20, 8, 8L << 18)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("acceptedBoundaries")
    void boundaryIsAccepted(String name, Consumer<byte[]> edit) throws IOException {
        byte[] b = base();
        edit.accept(b);
        Superblock.setChecksum(b);
        Superblock.decode(b);
    }

    @Test
    void shortBufferIsTruncatedImage() {
        expectCorruption(Kind.TRUNCATED_IMAGE, -1, -1, Superblock.OFFSET, () -> Superblock.decode(new byte[1023]));
    }

    /**
     * Any byte before s_checksum changed without a new checksum is refused as a checksum mismatch
     * (ext4_init_metadata_csum), except where ext4_load_super refuses it first: the magic and the
     * block and cluster size logarithms, checked before the checksum; and the checksum type itself.
     */
    @Test
    void everyByteIsCoveredByTheChecksum() throws IOException {
        byte[] b = base();
        Superblock.decode(b);
        Set<Integer> checkedFirst = Set.of(0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x175);
        for (int off = 0; off < Superblock.CHECKSUM_OFFSET; off++) {
            byte[] m = b.clone();
            m[off] ^= 0x10;
            int at = off;
            var ex = org.junit.jupiter.api.Assertions.assertThrows(org.ext4j.error.CorruptionException.class,
                    () -> Superblock.decode(m), "byte " + off);
            Kind want = off == 0x38 || off == 0x39 ? Kind.BAD_MAGIC : Kind.CHECKSUM;
            if (checkedFirst.contains(at) && ex.kind() == Kind.BAD_SUPERBLOCK) {
                continue;
            }
            if ((off == 0x65) && ex.kind() == Kind.CHECKSUM) {
                continue; // ro_compat byte: metadata_csum itself stays set by this flip
            }
            assertEquals(want, ex.kind(), "byte " + off + ": " + ex.getMessage());
        }
    }

    /** Without metadata_csum there is no checksum: the geometry rules are all there is. */
    @Test
    void noChecksumToVerifyWithoutMetadataCsum() throws IOException {
        byte[] b = GoldenImage.read(image("uninit_bg"), Superblock.OFFSET, Superblock.SIZE);
        b[0x78] ^= 1; // s_volume_name
        Superblock.decode(b);
    }

    /** Old kernels set feature flags without raising the revision: the kernel honours them on rev 0. */
    @Test
    void featureFlagsAreReadOnRevisionZero() throws IOException {
        byte[] b = GoldenImage.read(image("rev0"), Superblock.OFFSET, Superblock.SIZE);
        Le.put32(b, 0x64, Features.RO_COMPAT_SPARSE_SUPER);
        Le.put32(b, 0x60, Features.INCOMPAT_FILETYPE);
        Superblock sb = Superblock.decode(b);
        assertEquals(0, sb.revLevel);
        assertTrue(sb.hasRoCompat(Features.RO_COMPAT_SPARSE_SUPER));
        assertTrue(sb.hasIncompat(Features.INCOMPAT_FILETYPE));
        assertEquals(128, sb.inodeSize);
        assertEquals(11, sb.firstIno);
    }

    /** Rules the kernel applies only to read-write mounts: decode accepts, checkWritable refuses. */
    @Test
    void readWriteOnlyRules() throws IOException {
        byte[] rev2 = base();
        Le.put32(rev2, 0x4C, 2);
        Superblock.setChecksum(rev2);
        var unsupported = org.junit.jupiter.api.Assertions.assertThrows(
                org.ext4j.error.UnsupportedFeatureException.class, () -> Superblock.decode(rev2).checkWritable());
        assertTrue(unsupported.getMessage().contains("ext4_setup_super"), unsupported.getMessage());

        byte[] big = GoldenImage.read(image("bigalloc"), Superblock.OFFSET, Superblock.SIZE);
        Superblock.decode(big).checkWritable();
        Le.put32(big, 0x14, 1); // 1 KiB blocks, 16 KiB clusters: the kernel mounts this read-only only
        Superblock.setChecksum(big);
        Superblock sb = Superblock.decode(big);
        expectCorruption(Kind.BAD_SUPERBLOCK, -1, -1, Superblock.OFFSET + 0x14, sb::checkWritable);

        byte[] noExtents = GoldenImage.read(image("bigalloc"), Superblock.OFFSET, Superblock.SIZE);
        Le.put32(noExtents, 0x60, Le.u32(noExtents, 0x60) & ~Features.INCOMPAT_EXTENTS);
        Superblock.setChecksum(noExtents);
        expectCorruption(Kind.BAD_SUPERBLOCK, -1, -1, Superblock.OFFSET + 0x64, Superblock.decode(noExtents)::checkWritable);
    }

    @Test
    void rawIsACopy() throws IOException {
        Superblock sb = decode("ext4-1k");
        byte[] r = sb.raw();
        r[0] ^= 1;
        assertFalse(Arrays.equals(r, sb.raw()));
    }
}
