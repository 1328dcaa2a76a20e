package org.ext4j.extents;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.BlockMap.Mapping;
import org.ext4j.extents.BlockMap.State;
import org.ext4j.format.Crc32c;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.GoldenImage;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ExtentTreeReader} against {@code debugfs dump_extents}: trees of depth 0, 1 and 2 (sparse
 * files copied by {@code mkfs.ext4 -d}), unwritten extents from {@code debugfs fallocate}, holes
 * punched by {@code debugfs punch}; every block of every file is mapped and every answer, holes and
 * their lengths included, is checked. Then damaged trees built on a memory device: a child that
 * points back at its ancestor must fail by depth, never loop.
 */
class ExtentTreeReaderTest {

    @TempDir
    static Path dir;

    static Path image;
    static Volume volume;

    static void sparse(Path file, long... blocks) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] data = new byte[1024];
            for (long b : blocks) {
                Arrays.fill(data, (byte) (b % 250 + 1));
                f.seek(b * 1024);
                f.write(data);
            }
        }
    }

    @BeforeAll
    static void makeImage() throws IOException {
        GoldenImage.requireTools();
        Path src = Files.createDirectories(dir.resolve("src"));
        long[] every3rd = new long[12];
        for (int i = 0; i < 12; i++) {
            every3rd[i] = 3L * i;
        }
        sparse(src.resolve("sparse12"), every3rd);
        long[] every2nd = new long[400];
        for (int i = 0; i < 400; i++) {
            every2nd[i] = 2L * i;
        }
        sparse(src.resolve("frag400"), every2nd);
        sparse(src.resolve("small"), 0, 1, 2);
        sparse(src.resolve("late"), 1000, 1001, 5000);
        long[] run = new long[50];
        for (int i = 0; i < 50; i++) {
            run[i] = i;
        }
        sparse(src.resolve("run50"), run);
        image = GoldenImage.mkfs(dir, "tree.img", "16M", List.of("-b", "1024"), null, src);
        GoldenImage.debugfsWrite(image, "write /dev/null prealloc", "fallocate prealloc 0 99",
                "punch prealloc 10 19", "punch prealloc 50 50", "write /dev/null empty",
                "punch run50 20 24", "punch run50 40 40");
        FileBlockDevice dev = FileBlockDevice.openReadOnly(image);
        volume = Volume.open(dev, Volume.readSuperblock(dev));
    }

    private static InodeRecord inode(String name) throws IOException {
        return volume.readInode(GoldenImage.inodeNumber(image, name));
    }

    private static ExtentTreeReader reader(InodeRecord r) {
        return new ExtentTreeReader(volume, r.number, r.iBlock(), r.checksumSeed(volume.superblock()));
    }

    private static List<GoldenImage.ExtentLine> leaves(String name) throws IOException {
        List<GoldenImage.ExtentLine> out = new ArrayList<>();
        for (GoldenImage.ExtentLine l : GoldenImage.dumpExtents(image, name)) {
            if (l.level() == l.maxLevel()) {
                out.add(l);
            }
        }
        return out;
    }

    /** The answer the kernel's ext4_ext_map_blocks gives for {@code lblk}, from debugfs's extent list. */
    private static Mapping expected(List<GoldenImage.ExtentLine> extents, long lblk, long maxLen) {
        long next = 1L << 32;
        for (GoldenImage.ExtentLine e : extents) {
            if (lblk >= e.logicalStart() && lblk <= e.logicalEnd()) {
                return new Mapping(lblk, Math.min(e.logicalEnd() + 1 - lblk, maxLen),
                        e.physical() + (lblk - e.logicalStart()), e.uninit() ? State.UNWRITTEN : State.WRITTEN);
            }
            if (e.logicalStart() > lblk) {
                next = Math.min(next, e.logicalStart());
            }
        }
        return new Mapping(lblk, Math.min(next - lblk, maxLen), -1, State.HOLE);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"small", "sparse12", "frag400", "late", "run50", "prealloc", "empty"})
    void everyBlockMapsAsDebugfsSays(String name) throws IOException {
        InodeRecord r = inode(name);
        ExtentTreeReader reader = reader(r);
        List<GoldenImage.ExtentLine> extents = leaves(name);
        long end = extents.isEmpty() ? 0 : extents.get(extents.size() - 1).logicalEnd() + 1;
        TreeSet<Long> probes = new TreeSet<>();
        for (long l = 0; l <= end + 2; l++) {
            probes.add(l);
        }
        probes.addAll(List.of(end + 1000, (1L << 32) - 2, (1L << 32) - 1));
        for (long lblk : probes) {
            for (long maxLen : new long[] {1, 3, 1L << 32}) {
                assertEquals(expected(extents, lblk, maxLen), reader.map(lblk, maxLen),
                        name + " lblk " + lblk + " maxLen " + maxLen);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"small", "sparse12", "frag400", "prealloc", "empty"})
    void allExtentsAndTreeBlocks(String name) throws IOException {
        InodeRecord r = inode(name);
        List<Long> treeBlocks = new ArrayList<>();
        List<ExtentNode.Extent> all = reader(r).allExtents(treeBlocks);
        List<GoldenImage.ExtentLine> lines = GoldenImage.dumpExtents(image, name);
        List<ExtentNode.Extent> expectedExtents = new ArrayList<>();
        List<Long> expectedBlocks = new ArrayList<>();
        for (GoldenImage.ExtentLine l : lines) {
            if (l.level() == l.maxLevel()) {
                expectedExtents.add(new ExtentNode.Extent(l.logicalStart(), (int) l.length(), l.physical(), l.uninit()));
            } else {
                expectedBlocks.add(l.physical());
            }
        }
        assertEquals(expectedExtents, all);
        assertEquals(expectedBlocks, treeBlocks);
        assertEquals(lines.isEmpty() ? 0 : lines.get(0).maxLevel(), reader(r).depth());
    }

    @Test
    void fixtureShapes() throws IOException {
        assertEquals(0, reader(inode("small")).depth());
        assertEquals(1, reader(inode("sparse12")).depth());
        assertEquals(2, reader(inode("frag400")).depth());
        assertEquals(State.UNWRITTEN, reader(inode("prealloc")).map(0, 100).state());
        assertEquals(new Mapping(10, 10, -1, State.HOLE), reader(inode("prealloc")).map(10, 100));
        assertEquals(new Mapping(0, 1000, -1, State.HOLE), reader(inode("late")).map(0, 1L << 32));
    }

    // ---- damaged trees on a memory device ---------------------------------------------------

    private record Mem(Volume volume, byte[] bytes, int blockSize, long free) {
    }

    /** The image in memory, with a block near the end that no file uses. */
    private static Mem memory(byte[] bytes) throws IOException {
        MemoryBlockDevice dev = new MemoryBlockDevice(bytes, true);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        return new Mem(v, bytes, v.blockSize(), v.superblock().blocksCount - 20);
    }

    private static byte[] header(byte[] b, int off, int entries, int max, int depth) {
        Le.put16(b, off, ExtentNode.MAGIC);
        Le.put16(b, off + 2, entries);
        Le.put16(b, off + 4, max);
        Le.put16(b, off + 6, depth);
        return b;
    }

    private static void index(byte[] b, int off, int i, long logical, long child) {
        int p = off + 12 + 12 * i;
        Le.put32(b, p, logical);
        Le.put32(b, p + 4, child);
        Le.put16(b, p + 8, (int) (child >>> 32));
    }

    private static void leaf(byte[] b, int off, int i, long logical, int len, long physical) {
        int p = off + 12 + 12 * i;
        Le.put32(b, p, logical);
        Le.put16(b, p + 4, len);
        Le.put16(b, p + 6, (int) (physical >>> 32));
        Le.put32(b, p + 8, physical);
    }

    /** Writes tree block {@code blk} with a correct crc32c tail for {@code seed}. */
    private static void writeTreeBlock(Mem m, long blk, byte[] node, int seed) {
        int tail = ExtentNode.tailOffset(node, 0);
        Le.put32(node, tail, Crc32c.update(seed, node, 0, tail) & 0xFFFFFFFFL);
        System.arraycopy(node, 0, m.bytes, (int) (blk * m.blockSize), m.blockSize);
    }

    private static final int SEED = 0x1234567;
    private static final long INO = 12;

    /** root (depth 2) -> block X (depth 1) -> block X again: the second visit must be refused by depth. */
    @Test
    void childPointingBackAtItsAncestorFailsByDepth() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long x = m.free;
        int cap = (m.blockSize - 12) / 12;
        byte[] node = header(new byte[m.blockSize], 0, 1, cap, 1);
        index(node, 0, 0, 0, x); // X's only child is X
        writeTreeBlock(m, x, node, SEED);
        byte[] root = header(new byte[60], 0, 1, 4, 2);
        index(root, 0, 0, 0, x);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            expectCorruption(Kind.BAD_EXTENT_HEADER, INO, x, -1, () -> r.map(0, 10));
            expectCorruption(Kind.BAD_EXTENT_HEADER, INO, x, -1, () -> r.allExtents(new ArrayList<>()));
        });
    }

    /** A depth-1 block whose child is the depth-1 block itself, reached from a depth-2 root through another. */
    @Test
    void twoBlockCycleFailsByDepth() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long a = m.free;
        long b = m.free + 1;
        int cap = (m.blockSize - 12) / 12;
        byte[] na = header(new byte[m.blockSize], 0, 1, cap, 2);
        index(na, 0, 0, 0, b);
        writeTreeBlock(m, a, na, SEED);
        byte[] nb = header(new byte[m.blockSize], 0, 1, cap, 1);
        index(nb, 0, 0, 0, a); // back up to A
        writeTreeBlock(m, b, nb, SEED);
        byte[] root = header(new byte[60], 0, 1, 4, 3);
        index(root, 0, 0, 0, a);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            expectCorruption(Kind.BAD_EXTENT_HEADER, INO, a, -1, () -> r.map(5, 10));
            expectCorruption(Kind.BAD_EXTENT_HEADER, INO, a, -1, () -> r.allExtents(null));
        });
    }

    /**
     * Every index entry of every level pointing at the same child is a DAG, not a cycle: depth does
     * not catch it, and a full walk of a depth-4 tree of full 1 KiB nodes would visit 4 * 84^3 nodes.
     * The kernel's first-entry check (a child starts where its index entry says) catches the second
     * reference to a shared child at once, so both lookups and full walks stop with BAD_EXTENT, quickly;
     * the visited-node bound (LOOP) stays as the second line of defence.
     */
    @Test
    void sharedChildrenAreBounded() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        int cap = (m.blockSize - 12) / 12;
        long[] level = {m.free, m.free + 1, m.free + 2, m.free + 3}; // depth 3, 2, 1, 0
        for (int d = 0; d < 4; d++) {
            int depth = 3 - d;
            byte[] node = header(new byte[m.blockSize], 0, cap, cap, depth);
            for (int i = 0; i < cap; i++) {
                if (depth == 0) {
                    leaf(node, 0, i, i, 1, m.free + 10);
                } else {
                    index(node, 0, i, i, level[d + 1]);
                }
            }
            writeTreeBlock(m, level[d], node, SEED);
        }
        byte[] root = header(new byte[60], 0, 4, 4, 4);
        for (int i = 0; i < 4; i++) {
            index(root, 0, i, i * 1000L, level[0]);
        }
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertEquals(State.WRITTEN, r.map(0, 10).state());
            expectCorruption(Kind.BAD_EXTENT, () -> r.map(2, 10));
            expectCorruption(Kind.BAD_EXTENT, () -> r.allExtents(null));
        });
    }

    /**
     * Kernel ext4_valid_extent_entries (since 5.16): the first entry of a non-root node must start at
     * the logical block of the parent's index entry. Here the second index claims block 100 but its
     * child's first extent is at 0, so the tree is damaged; ext4j answers a hole instead.
     */
    @Test
    void childMustStartWhereItsIndexSays() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long leafBlock = m.free;
        byte[] leafNode = header(new byte[m.blockSize], 0, 1, (m.blockSize - 12) / 12, 0);
        leaf(leafNode, 0, 0, 0, 1, m.free + 5);
        writeTreeBlock(m, leafBlock, leafNode, SEED);
        byte[] root = header(new byte[60], 0, 2, 4, 1);
        index(root, 0, 0, 0, leafBlock);
        index(root, 0, 1, 100, leafBlock);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        expectCorruption(Kind.BAD_EXTENT, () -> r.map(100, 1));
    }

    @Test
    void childOutOfRange() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long bad = m.volume.superblock().blocksCount + 7;
        byte[] root = header(new byte[60], 0, 1, 4, 1);
        index(root, 0, 0, 0, bad);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, INO, bad, -1, () -> r.map(0, 1));
    }

    @Test
    void extentOutOfRange() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long bad = m.volume.superblock().blocksCount - 2;
        byte[] root = header(new byte[60], 0, 1, 4, 0);
        leaf(root, 0, 0, 0, 5, bad); // runs 3 blocks past the end
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, INO, bad, -1, () -> r.map(0, 1));
        byte[] zero = header(new byte[60], 0, 1, 4, 0);
        leaf(zero, 0, 0, 0, 1, 0); // block 0 holds the boot sector / superblock
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, () -> new ExtentTreeReader(m.volume, INO, zero, SEED).map(0, 1));
    }

    private static long firstTreeBlock(InodeRecord r) throws IOException {
        List<Long> blocks = new ArrayList<>();
        reader(r).allExtents(blocks);
        return blocks.get(0);
    }

    @Test
    void damagedTreeBlockChecksum() throws IOException {
        InodeRecord r = inode("sparse12");
        long leafBlock = firstTreeBlock(r);
        byte[] bytes = Files.readAllBytes(image);
        bytes[(int) (leafBlock * 1024) + 12 + 8] ^= 1; // extent 0's physical block
        Mem m = memory(bytes);
        ExtentTreeReader damaged = new ExtentTreeReader(m.volume, r.number, r.iBlock(), r.checksumSeed(m.volume.superblock()));
        expectCorruption(Kind.CHECKSUM, r.number, leafBlock, 1020, () -> damaged.map(0, 1));
    }

    @Test
    void wrongDepthInATreeBlock() throws IOException {
        InodeRecord r = inode("sparse12");
        long leafBlock = firstTreeBlock(r);
        byte[] bytes = Files.readAllBytes(image);
        bytes[(int) (leafBlock * 1024) + 6] = 1; // eh_depth of the leaf
        Mem m = memory(bytes);
        ExtentTreeReader damaged = new ExtentTreeReader(m.volume, r.number, r.iBlock(), r.checksumSeed(m.volume.superblock()));
        expectCorruption(Kind.BAD_EXTENT_HEADER, r.number, leafBlock, -1, () -> damaged.map(0, 1));
    }

    /** __ext4_ext_check refuses "eh_entries is 0 but eh_depth is > 0"; a lookup must not crash on it. */
    @Test
    void emptyIndexRoot() throws IOException {
        byte[] root = header(new byte[60], 0, 0, 4, 1);
        ExtentTreeReader r = new ExtentTreeReader(volume, INO, root, SEED);
        expectCorruption(Kind.BAD_EXTENT_HEADER, INO, -1, -1, () -> r.map(0, 1));
    }

    // ---- the system zone --------------------------------------------------------------------

    /**
     * A leaf whose second extent lies in the inode table: as {@code __ext4_ext_check}, the whole leaf
     * is refused when it is read, so even the first (valid) extent does not map, and the error names
     * the inode, the bad extent's logical block and the inode table block.
     */
    @Test
    void leafWithAnExtentInTheInodeTableIsRefusedWhenRead() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long itable = m.volume().group(0).inodeTable();
        long leafBlock = m.free;
        byte[] leafNode = header(new byte[m.blockSize], 0, 2, (m.blockSize - 12) / 12, 0);
        leaf(leafNode, 0, 0, 0, 1, m.free + 5);
        leaf(leafNode, 0, 1, 7, 3, itable + 1);
        writeTreeBlock(m, leafBlock, leafNode, SEED);
        byte[] root = header(new byte[60], 0, 1, 4, 1);
        index(root, 0, 0, 0, leafBlock);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        r.checkRoot(); // the root's one index is fine
        for (Executable read : List.<Executable>of(() -> r.map(0, 1), () -> r.map(8, 1), () -> r.allExtents(null))) {
            CorruptionException e = expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, INO, itable + 1, -1, read);
            assertEquals(7, e.logical());
        }
    }

    /** An index in the root pointing at a block bitmap is refused when the root is checked (iget). */
    @Test
    void rootIndexIntoABitmapIsRefusedAtCheckRoot() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long bitmap = m.volume().group(0).blockBitmap();
        byte[] root = header(new byte[60], 0, 1, 4, 1);
        index(root, 0, 0, 0, bitmap);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, INO, bitmap, -1, r::checkRoot);
    }

    /**
     * A tree block verified once is not verified again while its bytes stay the same; when they
     * change (here behind the reader's back, with the cached buffer dropped), the same reader
     * decodes and checks the new bytes.
     */
    @Test
    void treeBlockWithNewBytesIsCheckedAgain() throws IOException {
        Mem m = memory(Files.readAllBytes(image));
        long leafBlock = m.free;
        byte[] leafNode = header(new byte[m.blockSize], 0, 1, (m.blockSize - 12) / 12, 0);
        leaf(leafNode, 0, 0, 0, 4, m.free + 5);
        writeTreeBlock(m, leafBlock, leafNode, SEED);
        byte[] root = header(new byte[60], 0, 1, 4, 1);
        index(root, 0, 0, 0, leafBlock);
        ExtentTreeReader r = new ExtentTreeReader(m.volume, INO, root, SEED);
        assertEquals(new Mapping(1, 3, m.free + 6, State.WRITTEN), r.map(1, 10));
        assertEquals(new Mapping(2, 2, m.free + 7, State.WRITTEN), r.map(2, 10)); // same bytes: kept node
        long itable = m.volume().group(0).inodeTable();
        leaf(leafNode, 0, 0, 0, 4, itable);
        writeTreeBlock(m, leafBlock, leafNode, SEED);
        m.volume().bufferCache().forget(leafBlock);
        expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, INO, itable, -1, () -> r.map(2, 10));
    }
}
