package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ExtentNode} against {@code debugfs dump_extents}: roots in i_block and tree blocks of
 * depth 1 and 2 trees (sparse files copied by {@code mkfs.ext4 -d}), unwritten extents made by
 * {@code debugfs fallocate}, tails verified with the inode seed; then every check of the kernel's
 * {@code __ext4_ext_check} provoked on its own.
 */
class ExtentNodeTest {

    @TempDir
    static Path dir;

    static Path image;
    static Superblock sb;

    /** Sparse file of {@code pieces} one-block runs, each followed by a hole of {@code gap} blocks. */
    static void sparse(Path file, int pieces, int gap, int blockSize) throws IOException {
        byte[] data = new byte[blockSize];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            for (int i = 0; i < pieces; i++) {
                Arrays.fill(data, (byte) (i + 1));
                f.seek((long) i * (gap + 1) * blockSize);
                f.write(data);
            }
        }
    }

    @BeforeAll
    static void makeImage() throws IOException {
        GoldenImage.requireTools();
        Path src = Files.createDirectories(dir.resolve("src"));
        sparse(src.resolve("sparse12"), 12, 2, 1024);
        sparse(src.resolve("frag400"), 400, 1, 1024);
        try (OutputStream o = Files.newOutputStream(src.resolve("small"))) {
            byte[] b = new byte[3000];
            Arrays.fill(b, (byte) 7);
            o.write(b);
        }
        image = GoldenImage.mkfs(dir, "extents.img", "16M", List.of("-b", "1024"), null, src);
        GoldenImage.debugfsWrite(image, "write /dev/null prealloc", "fallocate prealloc 0 99",
                "punch prealloc 10 19", "write /dev/null empty");
        sb = GoldenImage.superblock(image);
    }

    private static InodeRecord inode(String name) throws IOException {
        return GoldenImage.inode(image, sb, GoldenImage.inodeNumber(image, name));
    }

    /** Our decode of the whole tree in debugfs's depth-first print order. */
    private static void walk(InodeRecord r, ExtentNode node, int level, int maxLevel, long nextLogical,
            List<GoldenImage.ExtentLine> out) throws IOException {
        for (int i = 0; i < node.entries(); i++) {
            if (node.isLeaf()) {
                ExtentNode.Extent e = node.extent(i);
                out.add(new GoldenImage.ExtentLine(level, maxLevel, i + 1, node.entries(), e.logical(),
                        e.logicalEnd() - 1, e.physical(), e.length(), e.unwritten()));
                continue;
            }
            ExtentNode.Index ix = node.index(i);
            long end = i + 1 < node.entries() ? node.index(i + 1).logical() : nextLogical;
            out.add(new GoldenImage.ExtentLine(level, maxLevel, i + 1, node.entries(), ix.logical(), end - 1,
                    ix.child(), end - ix.logical(), false));
            byte[] block = GoldenImage.readBlock(image, sb.blockSize, ix.child());
            ExtentNode child = ExtentNode.decode(block, 0, block.length, r.number, ix.child(), node.depth() - 1);
            ExtentNode.verifyTail(block, r.checksumSeed(sb), r.number, ix.child());
            assertEquals((sb.blockSize - 12) / 12, child.max(), "tree blocks use their whole capacity");
            walk(r, child, level + 1, maxLevel, end, out);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"small", "sparse12", "frag400", "prealloc", "empty"})
    void wholeTreeMatchesDumpExtents(String name) throws IOException {
        InodeRecord r = inode(name);
        assertTrue(r.hasFlag(InodeRecord.FL_EXTENTS));
        byte[] iblock = r.iBlock();
        ExtentNode root = ExtentNode.decode(iblock, 0, iblock.length, r.number, -1, -1);
        assertEquals(4, root.max(), "a root in i_block holds 4 entries");
        List<GoldenImage.ExtentLine> expected = GoldenImage.dumpExtents(image, name);
        List<GoldenImage.ExtentLine> actual = new ArrayList<>();
        // debugfs ends the last index range at the end of the file's logical span; take it from its output
        long rootEnd = expected.isEmpty() ? 0 : expected.get(0).logicalEnd() + 1;
        for (GoldenImage.ExtentLine l : expected) {
            if (l.level() == 0) {
                rootEnd = l.logicalEnd() + 1;
            }
        }
        walk(r, root, 0, root.depth(), rootEnd, actual);
        if (!root.isLeaf()) {
            // compare index lines on start and child only: their "end" is debugfs's presentation
            for (int i = 0; i < expected.size(); i++) {
                GoldenImage.ExtentLine e = expected.get(i);
                GoldenImage.ExtentLine a = actual.get(i);
                if (e.level() < e.maxLevel()) {
                    assertEquals(e.logicalStart(), a.logicalStart(), "line " + i);
                    assertEquals(e.physical(), a.physical(), "line " + i);
                    assertEquals(e.entry(), a.entry(), "line " + i);
                    assertEquals(e.entries(), a.entries(), "line " + i);
                    actual.set(i, e);
                }
            }
        }
        assertEquals(expected, actual);
    }

    @Test
    void fixtureShapes() throws IOException {
        assertEquals(0, depthOf("small"));
        assertEquals(1, depthOf("sparse12"));
        assertEquals(2, depthOf("frag400"));
        InodeRecord pre = inode("prealloc");
        ExtentNode root = ExtentNode.decode(pre.iBlock(), 0, 60, pre.number, -1, -1);
        assertEquals(2, root.entries());
        assertTrue(root.extent(0).unwritten());
        assertEquals(new ExtentNode.Extent(0, 10, root.extent(0).physical(), true), root.extent(0));
        assertEquals(20, root.extent(1).logical());
        assertEquals(80, root.extent(1).length());
        assertEquals(0, depthOf("empty"));
    }

    private static int depthOf(String name) throws IOException {
        InodeRecord r = inode(name);
        return ExtentNode.decode(r.iBlock(), 0, 60, r.number, -1, -1).depth();
    }

    // ---- mutations of a real leaf block ------------------------------------------------------

    private record Leaf(long inode, long block, int seed, byte[] bytes) {
    }

    private static Leaf leaf() throws IOException {
        InodeRecord r = inode("sparse12");
        ExtentNode root = ExtentNode.decode(r.iBlock(), 0, 60, r.number, -1, -1);
        long block = root.index(0).child();
        byte[] b = GoldenImage.readBlock(image, sb.blockSize, block);
        ExtentNode n = ExtentNode.decode(b, 0, b.length, r.number, block, 0);
        assertEquals(12, n.entries());
        assertEquals(84, n.max());
        return new Leaf(r.number, block, r.checksumSeed(sb), b);
    }

    private static Arguments bad(String name, Consumer<byte[]> edit, Kind kind, int offset) {
        return Arguments.of(name, edit, kind, offset);
    }

    private static final int E3 = 12 + 3 * 12;

    static Stream<Arguments> leafCorruptions() {
        return Stream.of(
                bad("eh_magic", b -> Le.put16(b, 0, 0xF30B), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_max 0", b -> Le.put16(b, 4, 0), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_max 85 > capacity 84", b -> Le.put16(b, 4, 85), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_max 0xFFFF", b -> Le.put16(b, 4, 0xFFFF), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_entries 13 > eh_max 12", b -> {
                    Le.put16(b, 4, 12);
                    Le.put16(b, 2, 13);
                }, Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_entries 85 > eh_max 84", b -> Le.put16(b, 2, 85), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_depth 6", b -> Le.put16(b, 6, 6), Kind.EXTENT_TREE_TOO_DEEP, -1),
                bad("eh_depth 0xFFFF", b -> Le.put16(b, 6, 0xFFFF), Kind.EXTENT_TREE_TOO_DEEP, -1),
                bad("eh_depth 1 below a depth-1 root", b -> Le.put16(b, 6, 1), Kind.BAD_EXTENT_HEADER, -1),
                bad("extent 3 ee_len 0", b -> Le.put16(b, E3 + 4, 0), Kind.BAD_EXTENT, E3),
                bad("extent 3 starts where extent 2 starts", b -> Le.put32(b, E3, Le.u32(b, E3 - 12)),
                        Kind.BAD_EXTENT, E3),
                bad("extent 3 overlaps extent 2's last block", b -> {
                    Le.put16(b, E3 - 12 + 4, 5);
                    Le.put32(b, E3, Le.u32(b, E3 - 12) + 4);
                }, Kind.BAD_EXTENT, E3),
                bad("extent 3 before extent 2", b -> Le.put32(b, E3, 0), Kind.BAD_EXTENT, E3),
                bad("last extent runs to logical block 2^32", b -> {
                    int last = 12 + 11 * 12;
                    Le.put32(b, last, 0xFFFFFFFFL);
                    Le.put16(b, last + 4, 2);
                }, Kind.BAD_EXTENT, 12 + 11 * 12));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("leafCorruptions")
    void corruptLeafIsNamed(String name, Consumer<byte[]> edit, Kind kind, int offset) throws IOException {
        Leaf l = leaf();
        edit.accept(l.bytes);
        expectCorruption(kind, l.inode, l.block, offset,
                () -> ExtentNode.decode(l.bytes, 0, l.bytes.length, l.inode, l.block, 0));
    }

    @ParameterizedTest(name = "byte {0}")
    @ValueSource(ints = {0, 2, 4, 6, 8, 12, 16, 18, 20, 143, 144, 500, 1019, 1020, 1021, 1023})
    void tailCoversHeaderEntriesAndUnusedSlots(int offset) throws IOException {
        Leaf l = leaf();
        ExtentNode.verifyTail(l.bytes, l.seed, l.inode, l.block);
        l.bytes[offset] ^= 0x40;
        if (offset == 4 || offset == 5) {
            // eh_max moves the tail itself; still a mismatch
            expectCorruption(Kind.CHECKSUM, () -> ExtentNode.verifyTail(l.bytes, l.seed, l.inode, l.block));
            return;
        }
        expectCorruption(Kind.CHECKSUM, l.inode, l.block, 1020,
                () -> ExtentNode.verifyTail(l.bytes, l.seed, l.inode, l.block));
    }

    @Test
    void tailIsBoundToTheInode() throws IOException {
        Leaf l = leaf();
        int otherSeed = InodeRecord.checksumSeed(sb, l.inode + 1, 0);
        expectCorruption(Kind.CHECKSUM, () -> ExtentNode.verifyTail(l.bytes, otherSeed, l.inode, l.block));
    }

    // ---- index nodes and roots ---------------------------------------------------------------

    @Test
    void indexesMustIncrease() throws IOException {
        InodeRecord r = inode("frag400");
        byte[] root = r.iBlock();
        long interior = ExtentNode.decode(root, 0, 60, r.number, -1, -1).index(0).child();
        byte[] b = GoldenImage.readBlock(image, sb.blockSize, interior);
        ExtentNode n = ExtentNode.decode(b, 0, b.length, r.number, interior, 1);
        assertEquals(5, n.entries());
        Le.put32(b, 12 + 2 * 12, Le.u32(b, 12 + 12)); // index 2 starts where index 1 does
        expectCorruption(Kind.BAD_EXTENT, r.number, interior, 12 + 2 * 12,
                () -> ExtentNode.decode(b, 0, b.length, r.number, interior, 1));
    }

    /** __ext4_ext_check: "eh_entries is 0 but eh_depth is > 0". */
    @Test
    void emptyIndexNodeIsRefused() throws IOException {
        InodeRecord r = inode("sparse12");
        byte[] root = r.iBlock();
        Le.put16(root, 2, 0);
        expectCorruption(Kind.BAD_EXTENT_HEADER, r.number, -1, -1, () -> ExtentNode.decode(root, 0, 60, r.number, -1, -1));
    }

    @Test
    void emptyLeafRootIsFine() throws IOException {
        InodeRecord r = inode("empty");
        ExtentNode n = ExtentNode.decode(r.iBlock(), 0, 60, r.number, -1, -1);
        assertEquals(0, n.entries());
        assertEquals(-1, n.find(0));
    }

    static Stream<Arguments> rootCorruptions() {
        return Stream.of(
                bad("eh_max 5 > 4 in i_block", b -> Le.put16(b, 4, 5), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_magic", b -> Le.put16(b, 0, 0), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_entries 5 > eh_max 4", b -> Le.put16(b, 2, 5), Kind.BAD_EXTENT_HEADER, -1),
                bad("eh_depth 6", b -> Le.put16(b, 6, 6), Kind.EXTENT_TREE_TOO_DEEP, -1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rootCorruptions")
    void corruptRootIsNamed(String name, Consumer<byte[]> edit, Kind kind, int offset) throws IOException {
        InodeRecord r = inode("sparse12");
        byte[] root = r.iBlock();
        edit.accept(root);
        expectCorruption(kind, r.number, -1, offset, () -> ExtentNode.decode(root, 0, 60, r.number, -1, -1));
    }

    // ---- table-driven boundaries on hand-built nodes -----------------------------------------

    /** A node of {@code size} bytes: header, then 12-byte entries given as (a, b, c) words per kind. */
    static byte[] node(int size, int max, int depth, long[]... entries) {
        byte[] b = new byte[size];
        Le.put16(b, 0, ExtentNode.MAGIC);
        Le.put16(b, 2, entries.length);
        Le.put16(b, 4, max);
        Le.put16(b, 6, depth);
        for (int i = 0; i < entries.length; i++) {
            int p = 12 + 12 * i;
            long[] e = entries[i];
            if (depth == 0) { // logical, len, physical
                Le.put32(b, p, e[0]);
                Le.put16(b, p + 4, (int) e[1]);
                Le.put16(b, p + 6, (int) (e[2] >>> 32));
                Le.put32(b, p + 8, e[2]);
            } else { // logical, child
                Le.put32(b, p, e[0]);
                Le.put32(b, p + 4, e[1]);
                Le.put16(b, p + 8, (int) (e[1] >>> 32));
            }
        }
        return b;
    }

    @ParameterizedTest(name = "ee_len {0}")
    @CsvSource({
        "1, 1, false",
        "32767, 32767, false",
        "32768, 32768, false",
        "32769, 1, true",
        "40000, 7232, true",
        "65535, 32767, true",
    })
    void extentLengthEncoding(int eeLen, int length, boolean unwritten) throws IOException {
        byte[] b = node(60, 4, 0, new long[] {100, eeLen, 5000});
        ExtentNode.Extent e = ExtentNode.decode(b, 0, 60, 1, -1, -1).extent(0);
        assertEquals(length, e.length());
        assertEquals(unwritten, e.unwritten());
    }

    @Test
    void fortyEightBitBlockNumbers() throws IOException {
        ExtentNode leaf = ExtentNode.decode(node(60, 4, 0, new long[] {0, 1, 0x123456789ABCL}), 0, 60, 1, -1, -1);
        assertEquals(0x123456789ABCL, leaf.extent(0).physical());
        ExtentNode index = ExtentNode.decode(node(60, 4, 1, new long[] {0, 0xBA9876543210L}), 0, 60, 1, -1, -1);
        assertEquals(0xBA9876543210L, index.index(0).child());
    }

    /**
     * {@code ext4_valid_extent}: {@code lblock + len <= lblock} in 32 bits, so an extent may end at
     * logical block 2^32 - 2 but not reach 2^32 (the end wraps to 0). Found by the random-damage
     * harness: ee_block 0xFFFFFFFF was read where the kernel says EUCLEAN.
     */
    @ParameterizedTest(name = "logical {0} + {1}")
    @CsvSource({"4294967294, 1", "4294934527, 32768", "0, 32768"})
    void extentEndingAtTheLastLogicalBlockIsFine(long logical, int len) throws IOException {
        ExtentNode.decode(node(60, 4, 0, new long[] {logical, len, 100}), 0, 60, 1, -1, -1);
    }

    @ParameterizedTest(name = "logical {0} + {1}")
    @CsvSource({"4294967295, 1", "4294934528, 32768", "4294967295, 32768"})
    void extentWhose32BitEndWrapsIsCorrupt(long logical, int len) throws IOException {
        expectCorruption(Kind.BAD_EXTENT,
                () -> ExtentNode.decode(node(60, 4, 0, new long[] {logical, len, 100}), 0, 60, 1, -1, -1));
    }

    @Test
    void capacityLimitsAreInclusive() throws IOException {
        long[][] four = {{0, 1, 10}, {1, 1, 20}, {2, 1, 30}, {3, 1, 40}};
        assertEquals(4, ExtentNode.decode(node(60, 4, 0, four), 0, 60, 1, -1, -1).entries());
        ExtentNode.decode(node(60, 4, 5, new long[] {0, 99}), 0, 60, 1, -1, -1); // depth 5 is the kernel's maximum
        ExtentNode.decode(node(4096, 340, 0), 0, 4096, 1, 9, 0);
        expectCorruption(Kind.BAD_EXTENT_HEADER, () -> ExtentNode.decode(node(4096, 341, 0), 0, 4096, 1, 9, 0));
        ExtentNode.decode(node(1024, 84, 0), 0, 1024, 1, 9, 0);
        expectCorruption(Kind.BAD_EXTENT_HEADER, () -> ExtentNode.decode(node(1024, 85, 0), 0, 1024, 1, 9, 0));
    }

    @Test
    void adjacentExtentsAreNotOverlapping() throws IOException {
        ExtentNode.decode(node(60, 4, 0, new long[] {0, 5, 10}, new long[] {5, 5, 100}), 0, 60, 1, -1, -1);
        expectCorruption(Kind.BAD_EXTENT, 1, -1, 24,
                () -> ExtentNode.decode(node(60, 4, 0, new long[] {0, 5, 10}, new long[] {4, 5, 100}), 0, 60, 1, -1, -1));
    }

    /** The kernel's CHECK_BINSEARCH: binary search agrees with a linear scan. */
    @Test
    void findAgreesWithLinearScan() throws IOException {
        Random rnd = new Random(11);
        for (int round = 0; round < 300; round++) {
            int n = rnd.nextInt(85);
            boolean leaf = rnd.nextBoolean();
            long[][] entries = new long[n][];
            long next = rnd.nextInt(5);
            for (int i = 0; i < n; i++) {
                int len = 1 + rnd.nextInt(4);
                entries[i] = leaf ? new long[] {next, len, 1000 + i} : new long[] {next, 1000 + i};
                next += len + rnd.nextInt(3);
            }
            ExtentNode node = ExtentNode.decode(node(1024, 84, leaf ? 0 : 1, entries), 0, 1024, 1, 9, leaf ? 0 : 1);
            for (long q = 0; q <= next + 1; q++) {
                int linear = -1;
                for (int i = 0; i < n; i++) {
                    if (entries[i][0] <= q) {
                        linear = i;
                    }
                }
                assertEquals(linear, node.find(q), "round " + round + " lblk " + q);
            }
        }
    }
}
