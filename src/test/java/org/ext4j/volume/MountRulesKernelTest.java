package org.ext4j.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.GoldenImage;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The rules of the kernel's mount path ({@code __ext4_fill_super} and what it calls), one damaged
 * image per rule, judged by the kernel: each image is a real {@code mkfs.ext4 -d} image with one
 * field changed (a superblock field edited in place and its checksum recomputed, as
 * {@code debugfs ssv} does; a descriptor or inode changed with {@code debugfs set_bg} /
 * {@code sif}). For each: the kernel refuses a read-only loop mount, {@code ext4j ls} exits 1
 * with one line naming the kernel function whose rule it is and the field, and the image's bytes
 * are unchanged. The boundaries and the damage the kernel still mounts read-only are checked the
 * other way round: the kernel mounts, ext4j lists. Where the two still differ on purpose
 * ({@link #differences}), both answers are asserted and the reason given.
 *
 * <p>Without root or a loop device the kernel's half is skipped with a printed reason; ext4j's
 * half always runs.
 */
class MountRulesKernelTest {

    @TempDir
    static Path dir;

    private static Path tree;
    private static final Map<String, Path> BASES = new HashMap<>();

    /** How a case damages its copy of a base image. */
    interface Mutation {
        void apply(Path image) throws IOException;
    }

    @BeforeAll
    static void makeTree() throws IOException {
        tree = Files.createDirectories(dir.resolve("tree"));
        Files.writeString(tree.resolve("a"), "hello\n");
        Files.createDirectories(tree.resolve("d"));
        Files.writeString(tree.resolve("d").resolve("b"), "x".repeat(5000));
    }

    static synchronized Path base(String config) throws IOException {
        Path p = BASES.get(config);
        if (p == null) {
            String n = "base-" + config + ".img";
            p = switch (config) {
                case "4k" -> GoldenImage.mkfs(dir, n, "64M", List.of("-b", "4096", "-g", "4096"), null, tree);
                case "1k" -> GoldenImage.mkfs(dir, n, "32M", List.of("-b", "1024"), null, tree);
                case "1k-nocsum32" -> GoldenImage.mkfs(dir, n, "32M", List.of("-b", "1024", "-O", "^metadata_csum,^64bit"),
                        null, tree);
                case "1k-noflex" -> GoldenImage.mkfs(dir, n, "32M", List.of("-b", "1024", "-O", "^flex_bg"), null, tree);
                case "2k" -> GoldenImage.mkfs(dir, n, "32M", List.of("-b", "2048"), null, tree);
                case "bigalloc" -> GoldenImage.mkfs(dir, n, "128M", List.of("-b", "4096", "-O", "bigalloc", "-C", "65536"),
                        null, tree);
                case "bigalloc-1k" -> GoldenImage.mkfs(dir, n, "64M", List.of("-b", "1024", "-O", "bigalloc", "-C", "16384"),
                        null, tree);
                case "orphan_file" -> GoldenImage.mkfs(dir, n, "32M", List.of("-b", "1024", "-O", "orphan_file"), null, tree);
                case "meta_bg" -> GoldenImage.mkfs(dir, n, "64M",
                        List.of("-b", "4096", "-g", "1024", "-O", "meta_bg,^resize_inode"), null, tree);
                case "rev0" -> GoldenImage.mkfs(dir, n, "16M", List.of("-t", "ext2", "-r", "0", "-b", "1024"), null, null);
                default -> throw new IllegalArgumentException(config);
            };
            BASES.put(config, p);
        }
        return p;
    }

    /** A superblock edit: the 1024 bytes at offset 1024 changed, then s_checksum set anew. */
    static Mutation sb(Consumer<byte[]> edit) {
        return img -> {
            byte[] b = GoldenImage.read(img, Superblock.OFFSET, Superblock.SIZE);
            edit.accept(b);
            Superblock.setChecksum(b);
            GoldenImage.write(img, Superblock.OFFSET, b);
        };
    }

    static Mutation sb32(int offset, long value) {
        return sb(b -> Le.put32(b, offset, value));
    }

    static Mutation sb16(int offset, int value) {
        return sb(b -> Le.put16(b, offset, value));
    }

    static Mutation sb8(int offset, int value) {
        return sb(b -> b[offset] = (byte) value);
    }

    static Mutation debugfs(String... commands) {
        return img -> GoldenImage.debugfsWrite(img, commands);
    }

    static Mutation setBg(int group, String field, long value) {
        return debugfs("set_bg " + group + " " + field + " " + value, "set_bg " + group + " checksum calc");
    }

    private static Arguments refused(String config, String name, Mutation m, String rule, String field) {
        Kind kind = switch (rule) {
            case "ext4_check_descriptors" -> Kind.BAD_GROUP_DESCRIPTOR;
            case "ext4_get_journal_inode", "journal_check_superblock", "journal_reset" -> Kind.BAD_JOURNAL;
            case "__ext4_iget", "__ext4_fill_super" -> Kind.BAD_INODE;
            default -> field.startsWith("s_blocks_count") && field.contains("17408") ? Kind.TRUNCATED_IMAGE
                    : Kind.BAD_SUPERBLOCK;
        };
        return Arguments.of(config, name, m, rule, field, kind);
    }

    private static Arguments refusedAs(String config, String name, Mutation m, String rule, String field, Kind kind) {
        return Arguments.of(config, name, m, rule, field, kind);
    }

    /** Byte {@code offset} of logical block 0 of inode {@code ino} set to {@code bytes} (1 KiB blocks). */
    static Mutation inodeBlockBytes(long ino, int offset, byte[] bytes) {
        return img -> {
            long pblk = Long.parseLong(GoldenImage.debugfs(img, "bmap <" + ino + "> 0").trim());
            GoldenImage.write(img, pblk * 1024 + offset, bytes);
        };
    }

    /** Cases also run through the command line in a child JVM (exit status, one line on stderr). */
    private static final Set<String> THROUGH_CLI = Set.of("s_clusters_per_group 16384 without bigalloc",
            "s_checksum_type 2", "s_blocks_count past the device", "block bitmap on the superblock",
            "journal inode unallocated", "journal superblock magic", "root inode of size 0", "journal of 512 blocks",
            "v1 journal of 512 blocks");

    /** The journal superblock's s_maxlen (big-endian, at 0x10) set to {@code blocks}. */
    static Mutation journalMaxLen(int blocks) {
        return inodeBlockBytes(8, 0x10, java.nio.ByteBuffer.allocate(4).putInt(blocks).array());
    }

    /** The journal superblock made a version 1 one (h_blocktype 3), then {@code more}. */
    static Mutation journalV1(Mutation more) {
        return img -> {
            inodeBlockBytes(8, 0x4, new byte[] {0, 0, 0, 3}).apply(img);
            more.apply(img);
        };
    }

    /** Damage the kernel refuses to mount read-only: ext4j refuses it naming the same rule. */
    static Stream<Arguments> refusals() {
        return Stream.of(
                // issue 8 defect 5
                refused("4k", "s_clusters_per_group 16384 without bigalloc", sb32(0x24, 16384),
                        "ext4_handle_clustersize", "s_clusters_per_group 16384 differs from s_blocks_per_group 4096"),
                refused("1k", "s_clusters_per_group 4096 without bigalloc", sb32(0x24, 4096),
                        "ext4_handle_clustersize", "s_clusters_per_group"),
                refused("4k", "s_log_cluster_size 3 without bigalloc", sb32(0x1C, 3),
                        "ext4_handle_clustersize", "s_log_cluster_size 3 differs from s_log_block_size 2"),
                refused("4k", "s_log_block_size 0 under 4 KiB clusters", sb32(0x18, 0),
                        "ext4_handle_clustersize", "s_log_cluster_size"),
                refused("bigalloc", "bigalloc: s_clusters_per_group inconsistent", sb32(0x24, 4096),
                        "ext4_handle_clustersize", "s_blocks_per_group"),
                refused("bigalloc", "bigalloc: clusters smaller than blocks", sb32(0x1C, 1),
                        "ext4_handle_clustersize", "s_log_cluster_size 1"),
                refused("4k", "s_blocks_per_group over 8 * block size", sb(b -> {
                    Le.put32(b, 0x20, 32776);
                    Le.put32(b, 0x24, 32776);
                }), "ext4_handle_clustersize", "s_blocks_per_group 32776"),
                refused("4k", "s_log_cluster_size 21", sb32(0x1C, 21), "ext4_load_super", "s_log_cluster_size 21"),
                refused("4k", "s_log_block_size 7", sb32(0x18, 7), "ext4_load_super", "s_log_block_size 7"),
                refused("4k", "s_checksum_type 2", sb8(0x175, 2), "ext4_init_metadata_csum", "s_checksum_type 2"),
                refused("4k", "s_first_ino 10", sb32(0x54, 10), "ext4_inode_info_init", "s_first_ino 10"),
                refused("4k", "s_inode_size 384", sb16(0x58, 384), "ext4_inode_info_init", "s_inode_size 384"),
                refused("4k", "s_want_extra_isize 200", sb16(0x15E, 200), "ext4_inode_info_init", "s_want_extra_isize 200"),
                refused("4k", "s_min_extra_isize 200", sb16(0x15C, 200), "ext4_inode_info_init", "s_min_extra_isize 200"),
                refused("4k", "Hurd with 64bit", sb32(0x48, Superblock.OS_HURD),
                        "ext4_check_feature_compatibility", "s_creator_os 1"),
                refused("4k", "s_desc_size 96", sb16(0xFE, 96), "ext4_block_group_meta_init", "s_desc_size 96"),
                refused("4k", "s_blocks_per_group 0", sb(b -> {
                    Le.put32(b, 0x20, 0);
                    Le.put32(b, 0x24, 0);
                }), "ext4_block_group_meta_init", "s_blocks_per_group is 0"),
                refused("4k", "s_inodes_per_group below one block of inodes", sb(b -> {
                    Le.put32(b, 0x28, 8);
                    Le.put32(b, 0x0, 32);
                }), "ext4_block_group_meta_init", "s_inodes_per_group 8"),
                refused("4k", "s_inodes_per_group over 8 * block size", sb(b -> {
                    Le.put32(b, 0x28, 32776);
                    Le.put32(b, 0x0, 4 * 32776);
                }), "ext4_block_group_meta_init", "s_inodes_per_group 32776"),
                refused("4k", "s_def_hash_version 7", sb8(0xFC, 7), "ext4_hash_info_init", "s_def_hash_version 7"),
                refused("4k", "s_def_hash_version siphash", sb8(0xFC, 6), "ext4_hash_info_init", "s_def_hash_version 6"),
                refused("4k", "s_reserved_gdt_blocks 1025", sb16(0xCE, 1025),
                        "ext4_check_geometry", "s_reserved_gdt_blocks 1025"),
                refused("4k", "s_first_data_block past the end", sb32(0x14, 16384),
                        "ext4_check_geometry", "s_first_data_block 16384"),
                refused("1k", "s_first_data_block 0 with 1 KiB blocks", sb32(0x14, 0),
                        "ext4_check_geometry", "s_first_data_block is 0"),
                refused("2k", "s_first_data_block 1 with 2 KiB blocks", sb32(0x14, 1),
                        "ext4_setup_system_zone", "s_first_data_block 1"),
                refused("1k", "s_first_data_block 2 with 1 KiB blocks", sb32(0x14, 2),
                        "ext4_setup_system_zone", "s_first_data_block 2"),
                refused("4k", "s_inodes_count + 1", sb32(0x0, 16385), "ext4_check_geometry", "s_inodes_count 16385"),
                refused("4k", "s_blocks_count drops a group", sb32(0x4, 12288), "ext4_check_geometry", "s_inodes_count 16384"),
                refused("4k", "s_blocks_count past the device", sb32(0x4, 16384 + 1024),
                        "ext4_check_geometry", "s_blocks_count 17408"),
                refused("meta_bg", "s_first_meta_bg past the descriptor blocks", sb32(0x104, 9),
                        "ext4_group_desc_init", "s_first_meta_bg 9"),
                refused("4k", "s_log_groups_per_flex 40 with flex_bg", sb8(0x174, 40), "ext4_mb_init", "s_log_groups_per_flex 40"),
                // ext4_check_descriptors
                refused("1k-noflex", "block bitmap on the superblock", setBg(1, "block_bitmap", 1),
                        "ext4_check_descriptors", "group 1 block bitmap at block 1 overlaps the superblock"),
                refused("1k-noflex", "block bitmap in the descriptor table", setBg(1, "block_bitmap", 2),
                        "ext4_check_descriptors", "group 1 block bitmap at block 2 overlaps the group descriptors"),
                refused("1k-noflex", "inode bitmap in the descriptor table", setBg(1, "inode_bitmap", 2),
                        "ext4_check_descriptors", "group 1 inode bitmap at block 2 overlaps the group descriptors"),
                refused("1k-noflex", "inode table on the superblock", setBg(1, "inode_table", 1),
                        "ext4_check_descriptors", "group 1 inode table at block 1 overlaps the superblock"),
                refused("1k-noflex", "block bitmap in group 0", setBg(1, "block_bitmap", 5000),
                        "ext4_check_descriptors", "group 1 block bitmap at block 5000 is not in its group"),
                refused("1k-noflex", "inode bitmap in group 2", setBg(1, "inode_bitmap", 17000),
                        "ext4_check_descriptors", "group 1 inode bitmap at block 17000 is not in its group"),
                refused("1k-noflex", "inode table running out of its group", setBg(1, "inode_table", 16000),
                        "ext4_check_descriptors", "group 1 inode table at block 16000"),
                refused("4k", "flex_bg: block bitmap on the superblock", setBg(2, "block_bitmap", 0),
                        "ext4_check_descriptors", "group 2 block bitmap at block 0 overlaps the superblock"),
                refused("4k", "flex_bg: block bitmap in the descriptor table", setBg(2, "block_bitmap", 1),
                        "ext4_check_descriptors", "group 2 block bitmap at block 1 overlaps the group descriptors"),
                refused("4k", "flex_bg: inode table past the end", setBg(2, "inode_table", 16200),
                        "ext4_check_descriptors", "group 2 inode table at block 16200"),
                // ext4_load_journal, ext4_get_journal_inode, journal_check_superblock
                refused("1k", "journal inode and journal device", sb32(0xE4, 0x0801),
                        "ext4_load_journal", "both a journal inode"),
                refused("1k", "has_journal with no journal at all", sb32(0xE0, 0),
                        "ext4_load_journal", "neither s_journal_inum nor s_journal_dev"),
                refused("1k", "s_journal_inum past s_inodes_count", sb32(0xE0, 99999),
                        "ext4_get_journal_inode", "s_journal_inum 99999"),
                refused("1k", "journal inode unallocated", debugfs("sif <8> links_count 0"),
                        "ext4_get_journal_inode", "journal inode is unallocated"),
                refused("1k", "journal inode a directory", debugfs("sif <8> mode 040600"),
                        "ext4_get_journal_inode", "not a plain regular file"),
                refused("1k", "journal inode encrypted", debugfs("sif <8> flags 0x80800"),
                        "ext4_get_journal_inode", "not a plain regular file"),
                refused("1k", "journal shorter than its superblock says", debugfs("sif <8> size 1024"),
                        "journal_check_superblock", "s_maxlen"),
                refused("1k", "journal superblock magic", inodeBlockBytes(8, 0, new byte[4]),
                        "journal_check_superblock", "h_magic 0x00000000"),
                // JBD2_MIN_JOURNAL_BLOCKS: "JBD2: journal file too short" (v2), "journal reset failed" (v1)
                refused("1k", "journal of 512 blocks", journalMaxLen(512), "journal_check_superblock",
                        "journal file too short: s_maxlen 512 blocks, below jbd2's minimum of 1024"),
                refused("1k-nocsum32", "v1 journal of 512 blocks", journalV1(journalMaxLen(512)), "journal_reset",
                        "blocks 1-512 hold 512 blocks, below jbd2's minimum of 1024"),
                // ext4_init_orphan_info
                refusedAs("orphan_file", "orphan file block magic", inodeBlockBytes(12, 1024 - 8, new byte[4]),
                        "ext4_init_orphan_info", "orphan file block 0: bad magic", Kind.BAD_INODE),
                refusedAs("orphan_file", "orphan file block checksum", inodeBlockBytes(12, 100, new byte[] {1}),
                        "ext4_init_orphan_info", "orphan file block 0", Kind.CHECKSUM),
                refusedAs("orphan_file", "orphan file over 512 blocks", debugfs("sif <12> size 4194304"),
                        "ext4_init_orphan_info", "orphan file of 4194304 bytes", Kind.BAD_INODE),
                // __ext4_fill_super: the root inode
                refused("1k", "root inode unallocated", debugfs("sif <2> links_count 0"),
                        "__ext4_iget", "root inode is unallocated"),
                refused("1k", "root inode a regular file", debugfs("sif <2> mode 0100644"),
                        "__ext4_fill_super", "root inode is not a directory"),
                refused("1k", "root inode without blocks", debugfs("sif <2> blocks 0"),
                        "__ext4_fill_super", "corrupt root inode (i_blocks 0"),
                refused("1k", "root inode of size 0", debugfs("sif <2> size 0"),
                        "__ext4_fill_super", "corrupt root inode"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("refusals")
    void kernelAndExt4jRefuse(String config, String name, Mutation m, String rule, String field, Kind kind)
            throws IOException {
        Path img = damaged(config, name, m);
        byte[] before = sha256(img);
        CorruptionException ex = GoldenImage.expectCorruption(kind, () -> Ext4FileSystem.open(img).close());
        assertTrue(ex.getMessage().contains(rule + ": "), "names the rule " + rule + ": " + ex.getMessage());
        assertTrue(ex.getMessage().contains(field), "names the field and value \"" + field + "\": " + ex.getMessage());
        if (THROUGH_CLI.contains(name)) {
            Tools.Result r = Tools.ext4j("ls", img.toString(), "/");
            assertEquals(1, r.exit(), name + ": ext4j ls exit (stderr: " + r.stderr() + ")");
            List<String> lines = r.stderr().lines().filter(l -> !l.contains("warning:")).toList();
            assertEquals(List.of("ext4j ls: corrupt image: " + ex.getMessage()), lines, "one line naming the rule");
            // a write verb refuses the same image at open, before it writes anything
            Tools.Result rm = Tools.ext4j("rm", img.toString(), "/a");
            assertEquals(1, rm.exit(), rm.stderr());
            assertEquals(List.of("ext4j rm: corrupt image: " + ex.getMessage()),
                    rm.stderr().lines().filter(l -> !l.contains("warning:")).toList());
        }
        assertArrayEquals(before, sha256(img), "ext4j changed the image");
        kernel(img, false, name);
    }

    /** Edges of the rules: the kernel mounts these read-only, and ext4j lists them. */
    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("4k", "untouched", (Mutation) img -> { }),
                Arguments.of("1k", "untouched", (Mutation) img -> { }),
                Arguments.of("2k", "untouched", (Mutation) img -> { }),
                Arguments.of("bigalloc", "untouched", (Mutation) img -> { }),
                Arguments.of("bigalloc-1k", "untouched", (Mutation) img -> { }),
                Arguments.of("meta_bg", "untouched", (Mutation) img -> { }),
                Arguments.of("orphan_file", "untouched", (Mutation) img -> { }),
                Arguments.of("rev0", "untouched", (Mutation) img -> { }),
                Arguments.of("1k-nocsum32", "journal of exactly 1024 blocks", journalMaxLen(1024)),
                Arguments.of("1k-nocsum32", "v1 journal of exactly 1024 blocks", journalV1(journalMaxLen(1024))),
                Arguments.of("meta_bg", "s_first_meta_bg = the descriptor blocks", sb32(0x104, 1)),
                Arguments.of("4k", "s_rev_level 2 (mounted read-only: ext4_setup_super)", sb32(0x4C, 2)),
                Arguments.of("4k", "s_first_ino past s_inodes_count", sb32(0x54, 20000)),
                Arguments.of("4k", "s_def_hash_version 5", sb8(0xFC, 5)),
                Arguments.of("4k", "s_want_extra_isize 128 (= 256 - 128)", sb16(0x15E, 128)),
                Arguments.of("4k", "s_log_groups_per_flex 0", sb8(0x174, 0)),
                Arguments.of("4k", "s_blocks_count one block short of the device", sb32(0x4, 16383)),
                Arguments.of("4k", "s_blocks_count one block into the last group", sb32(0x4, 12289)),
                Arguments.of("4k", "unknown ro_compat feature (read-only is fine)",
                        sb(b -> Le.put32(b, 0x64, Le.u32(b, 0x64) | 0x20000))),
                Arguments.of("4k", "s_inodes_per_group not a multiple of 8", sb(b -> {
                    Le.put32(b, 0x28, 4092);
                    Le.put32(b, 0x0, 4 * 4092);
                })),
                Arguments.of("1k-noflex", "inode table ending on its group's last block", setBg(1, "inode_table", 16384 - 512 + 1)),
                Arguments.of("4k", "flex_bg: inode table ending on the last block", setBg(2, "inode_table", 16384 - 256)),
                Arguments.of("bigalloc-1k", "bigalloc with s_first_data_block 1 (read-write only refuses it)",
                        sb32(0x14, 1)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("accepted")
    void kernelMountsAndExt4jReads(String config, String name, Mutation m) throws IOException {
        Path img = damaged(config, name, m);
        byte[] before = sha256(img);
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertTrue(fs.readdir("/").size() >= 2, name);
        }
        assertArrayEquals(before, sha256(img), "ext4j changed the image");
        kernel(img, true, name);
    }

    /**
     * The rules the kernel applies to a read-write mount only: it mounts read-only (checked
     * above) and refuses to write; ext4j's write verbs refuse before writing a byte.
     */
    static Stream<Arguments> readWriteOnly() {
        return Stream.of(
                Arguments.of("4k", "s_rev_level 2", sb32(0x4C, 2), 3, "ext4_setup_super"),
                Arguments.of("bigalloc-1k", "bigalloc with s_first_data_block 1", sb32(0x14, 1), 1, "ext4_feature_set_ok"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("readWriteOnly")
    void writeRefusedBeforeAnyByteChanges(String config, String name, Mutation m, int exit, String rule) throws IOException {
        Path img = damaged(config, name, m);
        byte[] before = sha256(img);
        Tools.Result r = Tools.ext4j("rm", img.toString(), "/a");
        assertEquals(exit, r.exit(), r.stderr());
        assertTrue(r.stderr().contains(rule), r.stderr());
        assertArrayEquals(before, sha256(img), "a refused write changed the image");
        if (kernelAvailable(name)) {
            Path mnt = Files.createTempDirectory(dir, "mnt");
            Tools.Result mount = Tools.run("mount", "-t", "ext4", "-o", "loop", img.toString(), mnt.toString());
            boolean wrote = false;
            if (mount.exit() == 0) {
                wrote = Tools.run("touch", mnt.resolve("new").toString()).exit() == 0;
                Tools.run("umount", mnt.toString());
            }
            assertTrue(!wrote, name + ": the kernel wrote to it read-write");
        }
    }

    /**
     * Where ext4j and the kernel answer differently on purpose. A descriptor whose checksum is
     * wrong: the kernel logs it and mounts read-only anyway (ext4_check_descriptors refuses it
     * only read-write), ext4j refuses to read through a descriptor it cannot trust. An external
     * journal: the kernel refuses without the journal device, ext4j never replays and reads on.
     */
    static Stream<Arguments> differences() {
        return Stream.of(
                Arguments.of("1k-noflex", "descriptor checksum wrong", debugfs("set_bg 1 checksum 0x1234"), true, 1),
                Arguments.of("4k", "external journal that is not there", sb(b -> {
                    Le.put32(b, 0xE0, 0);
                    Le.put32(b, 0xE4, 0x0801);
                }), false, 0));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("differences")
    void knownDifferences(String config, String name, Mutation m, boolean kernelMounts, int ext4jExit) throws IOException {
        Path img = damaged(config, name, m);
        byte[] before = sha256(img);
        Tools.Result r = Tools.ext4j("ls", img.toString(), "/");
        assertEquals(ext4jExit, r.exit(), r.stderr());
        assertArrayEquals(before, sha256(img));
        kernel(img, kernelMounts, name);
    }

    private static Path damaged(String config, String name, Mutation m) throws IOException {
        Path img = Files.createTempFile(dir, config, ".img");
        Files.copy(base(config), img, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        m.apply(img);
        return img;
    }

    private static boolean kernelAvailable(String name) throws IOException {
        if (!Tools.isRoot()) {
            System.out.println("SKIP: kernel half of \"" + name + "\": not root, loop mounts need root");
            return false;
        }
        if (!Tools.onPath("mount") || Tools.run("losetup", "-f").exit() != 0) {
            System.out.println("SKIP: kernel half of \"" + name + "\": no mount or no free loop device");
            return false;
        }
        return true;
    }

    /** A read-only loop mount: asserts whether it succeeds, and prints what the kernel said. */
    private static void kernel(Path img, boolean mounts, String name) throws IOException {
        if (!kernelAvailable(name)) {
            return;
        }
        List<String> dmesgBefore = dmesg();
        Path mnt = Files.createTempDirectory(dir, "mnt");
        Tools.Result mount = Tools.run("mount", "-t", "ext4", "-o", "loop,ro", img.toString(), mnt.toString());
        if (mount.exit() == 0) {
            Tools.Result ls = Tools.run("ls", mnt.toString());
            Tools.run("umount", mnt.toString());
            assertTrue(mounts, name + ": the kernel mounted it (ls exit " + ls.exit() + ")");
        } else {
            List<String> said = new ArrayList<>(dmesg());
            said.removeAll(dmesgBefore);
            System.out.println("kernel on \"" + name + "\": " + said.stream()
                    .filter(l -> l.contains("EXT4-fs") || l.contains("JBD2")).toList());
            assertTrue(!mounts, name + ": the kernel refused it: " + mount.stderr());
        }
    }

    private static List<String> dmesg() throws IOException {
        Tools.Result r = Tools.run("dmesg");
        return r.exit() == 0 ? r.stdout().lines().toList() : List.of();
    }

    private static byte[] sha256(Path p) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
