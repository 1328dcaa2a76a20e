package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link GroupDescriptor} against {@code dumpe2fs}: 32- and 64-byte descriptors, crc32c
 * (metadata_csum) and crc16 (uninit_bg) checksums, no checksum (ext3), over 1, 2 and 4 KiB blocks;
 * then every field flipped in turn must be caught by the checksum, reported at the descriptor.
 */
class GroupDescriptorTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    /** name, then mkfs options; each image has at least 3 groups. */
    static Stream<String> configs() {
        return Stream.of("64-crc32c-1k", "32-crc32c-1k", "64-crc16-1k", "32-crc16-1k", "none-ext3-1k",
                "64-crc32c-2k", "32-crc16-4k", "64-crc32c-4k");
    }

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p == null) {
            String n = config + ".img";
            p = switch (config) {
                case "64-crc32c-1k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "1024");
                case "32-crc32c-1k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "1024", "-O", "^64bit");
                case "64-crc16-1k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "1024", "-O", "^metadata_csum,uninit_bg");
                case "32-crc16-1k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "1024",
                        "-O", "^metadata_csum,uninit_bg,^64bit");
                case "none-ext3-1k" -> GoldenImage.mkfs(dir, n, "20M", "-t", "ext3", "-b", "1024");
                case "64-crc32c-2k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "2048", "-g", "4096");
                case "32-crc16-4k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "4096", "-g", "2048",
                        "-O", "^metadata_csum,uninit_bg,^64bit");
                case "64-crc32c-4k" -> GoldenImage.mkfs(dir, n, "20M", "-b", "4096", "-g", "2048");
                default -> throw new IllegalArgumentException(config);
            };
            IMAGES.put(config, p);
        }
        return p;
    }

    /** The descriptor table as it lies after the primary superblock (no meta_bg in these images). */
    private static byte[] table(Path img, Superblock sb) throws IOException {
        long blocks = (sb.groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock;
        return GoldenImage.read(img, (sb.firstDataBlock + 1) * sb.blockSize, (int) (blocks * sb.blockSize));
    }

    private static final List<String> FLAG_NAMES = List.of("INODE_UNINIT", "BLOCK_UNINIT", "ITABLE_ZEROED");

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void everyGroupMatchesDumpe2fs(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        byte[] table = table(img, sb);
        List<GoldenImage.Group> dump = GoldenImage.dumpe2fsGroups(img);
        assertEquals(dump.size(), sb.groupCount, "group count");
        assertTrue(sb.groupCount >= 3, "fixture should have several groups");
        int size = sb.descriptorSize;
        assertEquals(config.startsWith("64") ? 64 : 32, size);
        for (GoldenImage.Group g : dump) {
            int off = g.number() * size;
            GroupDescriptor d = GroupDescriptor.decode(table, off, size, g.number());
            String at = config + " group " + g.number();
            assertEquals(g.number(), d.group(), at);
            assertEquals(g.blockBitmap(), d.blockBitmap(), at);
            assertEquals(g.inodeBitmap(), d.inodeBitmap(), at);
            assertEquals(g.inodeTable(), d.inodeTable(), at);
            assertEquals(g.freeBlocks(), d.freeBlocksCount(), at);
            assertEquals(g.freeInodes(), d.freeInodesCount(), at);
            assertEquals(g.directories(), d.usedDirsCount(), at);
            if (g.unusedInodes() >= 0) {
                assertEquals(g.unusedInodes(), d.itableUnused(), at);
            }
            List<String> flags = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if ((d.flags() & (1 << i)) != 0) {
                    flags.add(FLAG_NAMES.get(i));
                }
            }
            assertEquals(g.flags(), flags, at);
            if (g.blockBitmapCsum() >= 0) {
                assertEquals(g.blockBitmapCsum(), d.blockBitmapCsum(), at);
                assertEquals(g.inodeBitmapCsum(), d.inodeBitmapCsum(), at);
            }
            if (config.startsWith("none")) {
                assertEquals(-1, g.checksum(), at);
            } else {
                assertEquals(g.checksum(), d.checksum(), at);
                assertEquals(d.checksum(), GroupDescriptor.computeChecksum(sb, table, off, size, g.number()), at);
            }
            GroupDescriptor.verify(sb, table, off, size, g.number(), sb.firstDataBlock + 1 + off / sb.blockSize);
        }
    }

    /** The high halves of a 64-byte descriptor, set with debugfs set_bg, reach the joined fields. */
    @Test
    void highHalvesOf64ByteDescriptors() throws IOException {
        Path img = GoldenImage.mkfs(dir, "hi.img", "20M", "-b", "1024");
        GoldenImage.debugfsWrite(img,
                "set_bg 1 free_blocks_count 0x12345", "set_bg 1 free_inodes_count 0x23456",
                "set_bg 1 used_dirs_count 0x34567", "set_bg 1 itable_unused 0x45678",
                "set_bg 1 exclude_bitmap 0x123456789", "set_bg 1 checksum calc");
        Superblock sb = GoldenImage.superblock(img);
        byte[] table = table(img, sb);
        GroupDescriptor d = GroupDescriptor.decode(table, 64, 64, 1);
        assertEquals(0x12345, d.freeBlocksCount());
        assertEquals(0x23456, d.freeInodesCount());
        assertEquals(0x34567, d.usedDirsCount());
        assertEquals(0x45678, d.itableUnused());
        assertEquals(0x123456789L, d.excludeBitmap());
        GroupDescriptor.verify(sb, table, 64, 64, 1, 2);
        // the same bytes read as a 32-byte descriptor keep only the low halves
        GroupDescriptor lo = GroupDescriptor.decode(table, 64, 32, 1);
        assertEquals(0x2345, lo.freeBlocksCount());
        assertEquals(0x3456, lo.freeInodesCount());
        assertEquals(0x23456789L, lo.excludeBitmap());
    }

    // ---- mutations ---------------------------------------------------------------------------

    /** Field offsets of struct ext4_group_desc, each flipped in turn. */
    private static final int[] FIELDS_32 = {0x00, 0x04, 0x08, 0x0C, 0x0E, 0x10, 0x12, 0x14, 0x18, 0x1A, 0x1C, 0x1E};
    private static final int[] FIELDS_64 = {0x20, 0x24, 0x28, 0x2C, 0x2E, 0x30, 0x32, 0x34, 0x38, 0x3A, 0x3C};

    static Stream<Arguments> flips() {
        List<Arguments> out = new ArrayList<>();
        for (String c : List.of("64-crc32c-1k", "32-crc32c-1k", "64-crc16-1k", "32-crc16-1k", "64-crc32c-4k")) {
            for (int f : FIELDS_32) {
                out.add(Arguments.of(c, f));
            }
            if (c.startsWith("64")) {
                for (int f : FIELDS_64) {
                    out.add(Arguments.of(c, f));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} field 0x{1}")
    @MethodSource("flips")
    void flippedFieldFailsTheChecksum(String config, int field) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        byte[] table = table(img, sb);
        int size = sb.descriptorSize;
        long group = 2;
        int off = (int) (group * size) % sb.blockSize;
        long block = sb.firstDataBlock + 1 + group * size / sb.blockSize;
        table[(int) (group * size) + field] ^= 0x04;
        byte[] b = table;
        int at = (int) (group * size);
        expectCorruption(Kind.CHECKSUM, -1, block, off, () -> GroupDescriptor.verify(sb, b, at, size, group, block));
    }

    /** The checksum covers the group number: a correct descriptor checked as another group fails. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void checksumIsBoundToTheGroupNumber(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        byte[] table = table(img, sb);
        int size = sb.descriptorSize;
        if (config.startsWith("none")) {
            GroupDescriptor.verify(sb, table, size, size, 2, 2); // nothing to check without a checksum
            return;
        }
        expectCorruption(Kind.CHECKSUM, () -> GroupDescriptor.verify(sb, table, size, size, 2, 2));
    }

    /** Without metadata_csum or uninit_bg there is no checksum: a changed descriptor is not detected here. */
    @Test
    void noChecksumFeatureMeansNothingToVerify() throws IOException {
        Path img = image("none-ext3-1k");
        Superblock sb = GoldenImage.superblock(img);
        byte[] table = table(img, sb);
        table[0x0C] ^= 1;
        GroupDescriptor.verify(sb, table, 0, 32, 0, 2);
    }
}
