package org.ext4j.volume;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.GoldenImage;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Volume} on images made by mkfs: superblock checksum, descriptor table location (meta_bg
 * included) and per-group checks against {@code dumpe2fs}, inode location against
 * {@code debugfs imap}, and range checks at their edges, over 1, 2 and 4 KiB blocks.
 */
class VolumeTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    static Stream<String> configs() {
        return Stream.of("1k", "2k", "4k", "1k-meta_bg", "4k-32bit-crc16", "1k-ext3", "4k-csum_seed");
    }

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p == null) {
            String n = config + ".img";
            p = switch (config) {
                case "1k" -> GoldenImage.mkfs(dir, n, "24M", "-b", "1024");
                case "2k" -> GoldenImage.mkfs(dir, n, "24M", "-b", "2048", "-g", "4096");
                case "4k" -> GoldenImage.mkfs(dir, n, "24M", "-b", "4096", "-g", "2048");
                case "1k-meta_bg" -> GoldenImage.mkfs(dir, n, "40M", "-b", "1024", "-g", "1024",
                        "-O", "meta_bg,^resize_inode,^has_journal");
                case "4k-32bit-crc16" -> GoldenImage.mkfs(dir, n, "24M", "-b", "4096", "-g", "1024",
                        "-O", "^64bit,^metadata_csum,uninit_bg");
                case "1k-ext3" -> GoldenImage.mkfs(dir, n, "24M", "-t", "ext3", "-b", "1024");
                case "4k-csum_seed" -> GoldenImage.mkfs(dir, n, "24M", "-b", "4096", "-g", "2048",
                        "-O", "metadata_csum_seed");
                default -> throw new IllegalArgumentException(config);
            };
            IMAGES.put(config, p);
        }
        return p;
    }

    private static Volume open(Path img) throws IOException {
        FileBlockDevice dev = FileBlockDevice.openReadOnly(img);
        return Volume.open(dev, Volume.readSuperblock(dev));
    }

    private static MemoryBlockDevice memory(Path img) throws IOException {
        return new MemoryBlockDevice(Files.readAllBytes(img), true);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void groupsMatchDumpe2fs(String config) throws IOException {
        Path img = image(config);
        Volume v = open(img);
        List<GoldenImage.Group> dump = GoldenImage.dumpe2fsGroups(img);
        assertEquals(dump.size(), v.groupCount());
        assertTrue(v.groupCount() >= 3, "several groups");
        for (GoldenImage.Group g : dump) {
            GroupDescriptor d = v.group(g.number());
            assertEquals(g.blockBitmap(), d.blockBitmap(), config + " group " + g.number());
            assertEquals(g.inodeBitmap(), d.inodeBitmap(), config + " group " + g.number());
            assertEquals(g.inodeTable(), d.inodeTable(), config + " group " + g.number());
            assertEquals(g.freeBlocks(), d.freeBlocksCount(), config + " group " + g.number());
            assertEquals(g.freeInodes(), d.freeInodesCount(), config + " group " + g.number());
        }
        assertEquals(v.superblock().blockSize, v.blockSize());
        assertEquals(Files.size(img) / v.blockSize(), v.deviceBlocks());
    }

    /** meta_bg puts each descriptor block in the first group of its meta group (and its backups). */
    @Test
    void metaBgDescriptorsAreWhereDumpe2fsSays() throws IOException {
        Path img = image("1k-meta_bg");
        Superblock sb = Volume.readSuperblock(FileBlockDevice.openReadOnly(img));
        assertTrue(sb.hasIncompat(org.ext4j.format.Features.INCOMPAT_META_BG));
        assertEquals(40, sb.groupCount);
        assertTrue(sb.groupCount > sb.descriptorsPerBlock * 2L, "three meta groups");
        String dump = GoldenImage.run(List.of("dumpe2fs", img.toString()));
        // groups 0, 16 and 32 start meta groups of 16 descriptors: each block lies in its meta group
        for (int g : new int[] {0, 16, 32}) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("Group " + g
                    + ": [^\\n]*\\n\\s+(?:\\S+ superblock at \\d+, )?Group descriptors? at (\\d+)").matcher(dump);
            assertTrue(m.find(), "dumpe2fs shows the descriptor block of group " + g);
            long descBlock = Long.parseLong(m.group(1));
            assertTrue(descBlock >= sb.groupFirstBlock(g) && descBlock < sb.groupFirstBlock(g + 1), "block " + descBlock);
            byte[] b = GoldenImage.read(img, descBlock * 1024, 1024);
            for (int i = 0; i < 16 && g + i < sb.groupCount; i++) {
                GroupDescriptor.verify(sb, b, i * sb.descriptorSize, sb.descriptorSize, g + i, descBlock);
            }
        }
        Volume v = open(img);
        assertEquals(40, v.groupCount());
    }

    // ---- superblock through the device ------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @CsvSource({"1k, 1", "4k, 0"})
    void superblockChecksumMismatch(String config, long block) throws IOException {
        byte[] bytes = Files.readAllBytes(image(config));
        bytes[1024 + 0x78] ^= 1; // s_volume_name
        MemoryBlockDevice dev = new MemoryBlockDevice(bytes, true);
        expectCorruption(Kind.CHECKSUM, -1, block, 1024 + 0x3FC, () -> Volume.readSuperblock(dev));
    }

    @Test
    void superblockChecksumFieldItself() throws IOException {
        byte[] bytes = Files.readAllBytes(image("1k"));
        bytes[1024 + 0x3FF] ^= (byte) 0x80;
        expectCorruption(Kind.CHECKSUM, () -> Volume.readSuperblock(new MemoryBlockDevice(bytes, true)));
    }

    @Test
    void unknownChecksumType() throws IOException {
        byte[] bytes = Files.readAllBytes(image("1k"));
        bytes[1024 + 0x175] = 2;
        expectCorruption(Kind.BAD_SUPERBLOCK, -1, -1, 1024 + 0x175,
                () -> Volume.readSuperblock(new MemoryBlockDevice(bytes, true)));
    }

    /** Without metadata_csum there is no superblock checksum to verify. */
    @Test
    void noChecksumWithoutMetadataCsum() throws IOException {
        byte[] bytes = Files.readAllBytes(image("1k-ext3"));
        bytes[1024 + 0x78] ^= 1;
        Volume.readSuperblock(new MemoryBlockDevice(bytes, true));
    }

    @ParameterizedTest(name = "{0} bytes")
    @CsvSource({"0", "1024", "2047"})
    void deviceTooSmallForASuperblock(int size) throws IOException {
        byte[] bytes = java.util.Arrays.copyOf(Files.readAllBytes(image("1k")), size);
        expectCorruption(Kind.TRUNCATED_IMAGE, -1, -1, 1024,
                () -> Volume.readSuperblock(new MemoryBlockDevice(bytes, true)));
    }

    @Test
    void deviceShorterThanTheFileSystem() throws IOException {
        byte[] full = Files.readAllBytes(image("1k"));
        MemoryBlockDevice dev = new MemoryBlockDevice(java.util.Arrays.copyOf(full, full.length - 1024), true);
        Superblock sb = Volume.readSuperblock(dev);
        expectCorruption(Kind.TRUNCATED_IMAGE, () -> Volume.open(dev, sb));
    }

    // ---- descriptors -------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @CsvSource({"1k, 2, 64", "4k, 1, 64", "4k-32bit-crc16, 1, 32"})
    void descriptorChecksumMismatchNamesTheBlock(String config, long descBlock, int descSize) throws IOException {
        Path img = image(config);
        byte[] bytes = Files.readAllBytes(img);
        int bs = GoldenImage.superblock(img).blockSize;
        int group = 2;
        bytes[(int) (descBlock * bs) + group * descSize + 0xC] ^= 1; // bg_free_blocks_count_lo
        MemoryBlockDevice dev = new MemoryBlockDevice(bytes, true);
        Superblock sb = Volume.readSuperblock(dev);
        expectCorruption(Kind.CHECKSUM, -1, descBlock, group * descSize, () -> Volume.open(dev, sb));
    }

    /** Descriptors changed with debugfs set_bg (which recomputes the checksum) so only the range check fails. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "block_bitmap, 99999999",
        "inode_bitmap, 99999999",
        "inode_table, 99999999",
        "block_bitmap, 0",
        "inode_table, 24575",
    })
    void descriptorPointingOutsideTheFileSystem(String field, long value) throws IOException {
        Path img = dir.resolve("bg-" + field + "-" + value + ".img");
        Files.copy(image("1k"), img);
        GoldenImage.debugfsWrite(img, "set_bg 1 " + field + " " + value, "set_bg 1 checksum calc");
        MemoryBlockDevice dev = memory(img);
        Superblock sb = Volume.readSuperblock(dev);
        var ex = expectCorruption(Kind.BAD_GROUP_DESCRIPTOR, () -> Volume.open(dev, sb));
        assertEquals(2, ex.block(), ex.getMessage());
        assertTrue(ex.getMessage().contains("group 1"), ex.getMessage());
    }

    // ---- inodes ------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void readInodeMatchesTheBytesDebugfsLocates(String config) throws IOException {
        Path img = image(config);
        Volume v = open(img);
        Superblock sb = v.superblock();
        for (long ino : new long[] {1, 2, 7, 8, 11, sb.inodesPerGroup, sb.inodesPerGroup + 1, sb.inodesCount}) {
            long[] loc = GoldenImage.inodeLocation(img, ino);
            InodeRecord r = v.readInode(ino);
            assertEquals(ino, r.number);
            assertArrayEquals(GoldenImage.read(img, loc[0] * sb.blockSize + loc[1], sb.inodeSize), r.raw(),
                    config + " inode " + ino);
        }
    }

    @Test
    void inodeNumbersOutOfRange() throws IOException {
        Volume v = open(image("1k"));
        long max = v.superblock().inodesCount;
        for (long ino : new long[] {0, -1, max + 1, Long.MAX_VALUE}) {
            expectCorruption(Kind.BAD_INODE_NUMBER, ino, -1, -1, () -> v.readInode(ino));
        }
        v.readInode(max);
    }

    @Test
    void inodeChecksumMismatchNamesInodeBlockAndOffset() throws IOException {
        Path img = image("1k");
        long[] loc = GoldenImage.inodeLocation(img, 2);
        byte[] bytes = Files.readAllBytes(img);
        bytes[(int) (loc[0] * 1024 + loc[1]) + 0x1A] ^= 1; // i_links_count
        MemoryBlockDevice dev = new MemoryBlockDevice(bytes, true);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        expectCorruption(Kind.CHECKSUM, 2, loc[0], loc[1], () -> v.readInode(2));
    }

    // ---- range checks ------------------------------------------------------------------------

    /** ext4_sb_block_valid: nothing at or below s_first_data_block, nothing at or past s_blocks_count. */
    @ParameterizedTest(name = "{0}: {1}+{2}")
    @CsvSource({
        "1k, FIRST, 1, false",
        "1k, FIRST+1, 1, true",
        "1k, LAST, 1, true",
        "1k, LAST, 2, false",
        "1k, END, 1, false",
        "1k, FIRST+1, ALL, true",
        "1k, FIRST+1, ALL+1, false",
        "1k, FIRST+1, -1, false",
        "4k, FIRST, 1, false",
        "4k, FIRST+1, 1, true",
        "4k, LAST, 1, true",
        "4k, END, 1, false",
        "4k, 281474976710655, 1, false",
    })
    void checkRange(String config, String start, String count, boolean ok) throws IOException {
        Volume v = open(image(config));
        Superblock sb = v.superblock();
        long first = sb.firstDataBlock;
        long end = sb.blocksCount;
        Map<String, Long> names = Map.of("FIRST", first, "FIRST+1", first + 1, "LAST", end - 1, "END", end,
                "ALL", end - first - 1, "ALL+1", end - first);
        long pblk = names.containsKey(start) ? names.get(start) : Long.parseLong(start);
        long n = names.containsKey(count) ? names.get(count) : Long.parseLong(count);
        if (ok) {
            v.checkRange(pblk, n, 9);
        } else {
            expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 9, pblk, -1, () -> v.checkRange(pblk, n, 9));
        }
    }

    @Test
    void readBlockIsRangeChecked() throws IOException {
        Volume v = open(image("1k"));
        long end = v.superblock().blocksCount;
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 12, end, -1, () -> v.readBlock(end, 12));
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 12, 1, -1, () -> v.readBlock(1, 12));
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 12, end - 1, -1,
                () -> v.readData(end - 1, ByteBuffer.allocate(2048), 12));
        assertArrayEquals(GoldenImage.read(image("1k"), (end - 1) * 1024, 1024), v.readBlock(end - 1, 12));
    }

    /** The metadata cache hands out copies: a caller scribbling on a block cannot change what others read. */
    @Test
    void cachedBlocksAreCopies() throws IOException {
        Volume v = open(image("1k"));
        byte[] a = v.readBlock(2, -1);
        byte[] before = a.clone();
        a[0] ^= 1;
        assertArrayEquals(before, v.readBlock(2, -1));
    }

    /** The descriptor table of a 4 KiB file system starts in block 1 even though the superblock is in block 0. */
    @Test
    void descriptorTableOf4kFileSystems() throws IOException {
        Path img = image("4k");
        Volume v = open(img);
        byte[] table = GoldenImage.read(img, 4096, 4096);
        GroupDescriptor d0 = GroupDescriptor.decode(table, 0, 64, 0);
        assertEquals(d0, v.group(0));
        assertEquals(Le.u32(table, 64 + 8), v.group(1).inodeTable() & 0xFFFFFFFFL);
    }
}
