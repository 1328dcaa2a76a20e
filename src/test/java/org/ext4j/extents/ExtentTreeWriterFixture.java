package org.ext4j.extents;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.GroupAllocator;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.ext4j.txn.NoJournal;
import org.ext4j.volume.Volume;

/**
 * One regular file on a fresh mkfs.ext4 image, its extent tree changed through
 * {@link ExtentTreeWriter} with the real allocator, and an in-memory model of what every logical
 * block must read as. Data blocks get a recognisable pattern written straight to the device (also
 * under unwritten extents, where it must stay invisible). Every operation runs in its own handle
 * started with exactly the writer's credit estimate, so an estimate that is too low fails the test.
 * The judges are e2fsck, debugfs ({@code cat}, {@code dump_extents}) and a read-only kernel mount.
 */
final class ExtentTreeWriterFixture implements AutoCloseable {

    /**
     * What one logical block maps to: the physical block, the state, and the pattern generation
     * ({@link #ZEROS}: zeros on disk; {@link #UNKNOWN}: contents nobody wrote, which must stay unwritten).
     */
    record Block(long pblk, boolean unwritten, int gen) {
    }

    static final int ZEROS = -1;
    static final int UNKNOWN = -2;

    final Path image;
    final int blockSize;
    final long sizeBlocks;
    final long ino;
    private final FileBlockDevice dev;
    final Volume volume;
    final Superblock sb;
    final NoJournal journal;
    final GroupAllocator groups;
    final BlockAllocator alloc;
    final byte[] iBlock;
    final ExtentTreeWriter writer;
    /** The model: logical block to what it maps to; absent means hole. */
    final TreeMap<Long, Block> model = new TreeMap<>();
    long treeBlocks;
    private int gen;

    private ExtentTreeWriterFixture(Path image, int blockSize, long sizeBlocks, ExtentTreeWriter.Capacity cap)
            throws IOException {
        this.image = image;
        this.blockSize = blockSize;
        this.sizeBlocks = sizeBlocks;
        this.ino = inodeOf(image, "/f");
        this.dev = FileBlockDevice.openReadWrite(image);
        this.sb = Volume.readSuperblock(dev);
        this.volume = Volume.open(dev, sb);
        this.journal = new NoJournal(volume.bufferCache(), dev);
        this.groups = GroupAllocator.open(volume);
        this.alloc = groups.blocks();
        InodeRecord rec = volume.readInode(ino);
        this.iBlock = rec.iBlock();
        long group = (ino - 1) / sb.inodesPerGroup;
        this.writer = new ExtentTreeWriter(volume, alloc, ino, iBlock, rec.checksumSeed(sb), sb.groupFirstBlock(group),
                cap);
    }

    /**
     * An image of {@code imageBytes} with {@code blockSize} blocks, metadata_csum on or off, holding an
     * empty regular file {@code /f} (debugfs {@code write /dev/null}) whose size will be
     * {@code sizeBlocks} blocks.
     */
    static ExtentTreeWriterFixture create(Path dir, int blockSize, boolean csum, long imageBytes, long sizeBlocks,
            ExtentTreeWriter.Capacity cap) throws IOException {
        return create(dir, blockSize, csum, imageBytes, sizeBlocks, cap, List.of());
    }

    static ExtentTreeWriterFixture create(Path dir, int blockSize, boolean csum, long imageBytes, long sizeBlocks,
            ExtentTreeWriter.Capacity cap, List<String> mkfsOptions) throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck");
        Path img = dir.resolve("fs-" + blockSize + (csum ? "-csum" : "-nocsum") + ".img");
        Files.deleteIfExists(img);
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(blockSize), "-O",
                csum ? "metadata_csum" : "^metadata_csum"));
        opts.addAll(mkfsOptions);
        Tools.mkfs(img, imageBytes, opts, null);
        Tools.run("debugfs", "-w", "-R", "write /dev/null f", img.toString()).ok();
        return new ExtentTreeWriterFixture(img, blockSize, sizeBlocks, cap);
    }

    /**
     * Opens {@code /f} of an existing image (written by the kernel): the model is what dump_extents
     * lists, written blocks holding {@link #pattern} of generation {@code writtenGen}, unwritten ones
     * unknown contents; the tree blocks are counted by our reader.
     */
    static ExtentTreeWriterFixture open(Path image, int blockSize, long sizeBlocks, ExtentTreeWriter.Capacity cap,
            int writtenGen) throws IOException {
        ExtentTreeWriterFixture f = new ExtentTreeWriterFixture(image, blockSize, sizeBlocks, cap);
        for (Extent e : f.debugfsExtents()) {
            for (int k = 0; k < e.length(); k++) {
                f.model.put(e.logical() + k, new Block(e.physical() + k, e.unwritten(), e.unwritten() ? UNKNOWN : writtenGen));
            }
        }
        List<Long> tree = new ArrayList<>();
        new ExtentTreeReader(f.volume, f.ino, f.iBlock, f.volume.readInode(f.ino).checksumSeed(f.sb)).allExtents(tree);
        f.treeBlocks = tree.size();
        f.gen = writtenGen;
        return f;
    }

    static long inodeOf(Path image, String path) throws IOException {
        String out = Tools.run("debugfs", "-R", "stat " + path, image.toString()).ok().stdout();
        Matcher m = Pattern.compile("Inode: (\\d+)").matcher(out);
        if (!m.find()) {
            fail("no inode for " + path + ": " + out);
        }
        return Long.parseLong(m.group(1));
    }

    // ---------------------------------------------------------------- operations

    /**
     * Allocates {@code len} blocks (near the writer's goal) for {@code [lblk, lblk+len)}, writes the
     * pattern into them, and inserts them as extents in one handle per allocated run.
     */
    void allocateAndInsert(long lblk, int len, boolean unwritten) throws IOException {
        allocateAndInsert(lblk, len, unwritten, null);
    }

    /**
     * As {@link #allocateAndInsert(long, int, boolean)}; with {@code scatter} not null, every block is
     * allocated alone at a random goal, so neighbours are rarely physically contiguous and do not merge.
     */
    void allocateAndInsert(long lblk, int len, boolean unwritten, java.util.Random scatter) throws IOException {
        long cur = lblk;
        long end = lblk + len;
        while (cur < end) {
            int want = scatter == null ? (int) (end - cur) : 1;
            long goal = scatter == null ? writer.findGoal(cur)
                    : sb.firstDataBlock + 1 + (long) (scatter.nextDouble() * (sb.blocksCount - sb.firstDataBlock - 2));
            try (Handle h = journal.start(writer.creditsForSingleExtent(want))) {
                BlockAllocator.Run run = alloc.allocate(h, goal, 1, want);
                writePattern(cur, run.start(), (int) run.length());
                ExtentTreeWriter.Change c = writer.insert(h, cur, (int) run.length(), run.start(), unwritten);
                for (long k = 0; k < run.length(); k++) {
                    model.put(cur + k, new Block(run.start() + k, unwritten, gen));
                }
                apply(h, c);
                cur += run.length();
            }
        }
    }

    /** Inserts an extent at a physical run the test chose itself (already allocated, contents unknown: zeros). */
    void insertAllocated(Handle h, long lblk, int len, long pblk, boolean unwritten) throws IOException {
        ExtentTreeWriter.Change c = writer.insert(h, lblk, len, pblk, unwritten);
        for (long k = 0; k < len; k++) {
            model.put(lblk + k, new Block(pblk + k, unwritten, ZEROS));
        }
        apply(h, c);
    }

    private void writePattern(long lblk, long pblk, int len) throws IOException {
        gen++;
        ByteBuffer buf = ByteBuffer.allocate(len * blockSize);
        for (int k = 0; k < len; k++) {
            buf.put(k * blockSize, pattern(lblk + k, gen));
        }
        dev.write(pblk * blockSize, buf);
    }

    byte[] pattern(long lblk, int g) {
        byte[] b = new byte[blockSize];
        if (g == UNKNOWN) {
            throw new AssertionError("block " + lblk + " has unknown contents and must not become written");
        }
        if (g < 0) {
            return b;
        }
        for (int i = 0; i < blockSize; i++) {
            b[i] = (byte) (lblk * 31 + g * 7 + i / 8);
        }
        ByteBuffer.wrap(b).putLong(0, lblk).putInt(8, g);
        return b;
    }

    void removeRange(long lblk, long len) throws IOException {
        try (Handle h = journal.start(writer.removeCredits(lblk, len))) {
            ExtentTreeWriter.Change c = writer.removeRange(h, lblk, len);
            assertEquals(0, c.remaining());
            forget(lblk, len, c);
            apply(h, c);
        }
    }

    /** Removes in handles of {@code credits} each, as a truncate that restarts its handle does. */
    int removeRangeInSteps(long lblk, long len, int credits) throws IOException {
        int handles = 0;
        long remaining = len;
        while (remaining > 0) {
            try (Handle h = journal.start(credits)) {
                ExtentTreeWriter.Change c = writer.removeRange(h, lblk, remaining, credits);
                assertTrue(c.remaining() < remaining, "no progress: " + c);
                forget(lblk + c.remaining(), remaining - c.remaining(), c);
                apply(h, c);
                remaining = c.remaining();
                handles++;
            }
        }
        return handles;
    }

    private void forget(long lblk, long len, ExtentTreeWriter.Change c) {
        long freed = 0;
        for (long k = lblk; k < lblk + len; k++) {
            if (model.remove(k) != null) {
                freed++;
            }
        }
        assertEquals(freed, c.dataBlocksFreed(), "data blocks freed");
    }

    void convert(long lblk, long len, boolean toUnwritten) throws IOException {
        try (Handle h = journal.start(writer.convertCredits(lblk, len))) {
            ExtentTreeWriter.Change c = toUnwritten ? writer.convertToUnwritten(h, lblk, len)
                    : writer.convertToWritten(h, lblk, len);
            for (long k = lblk; k < lblk + len; k++) {
                Block b = model.get(k);
                if (b != null) {
                    model.put(k, new Block(b.pblk(), toUnwritten, b.gen()));
                }
            }
            apply(h, c);
        }
    }

    /**
     * Reflects a change in the inode: i_block, i_size, i_blocks (data + tree), checksum. Also checks
     * that the tree blocks the writer keeps verified across operations are those of the buffers.
     */
    void apply(Handle h, ExtentTreeWriter.Change c) throws IOException {
        writer.checkVerified();
        treeBlocks += c.treeBlocksAllocated() - c.treeBlocksFreed();
        byte[] raw = volume.readInode(ino).raw();
        new InodeWriter(sb, ino, raw).iBlock(iBlock).size(sizeBlocks * blockSize)
                .blocks512((model.size() + treeBlocks) * (blockSize / 512)).setChecksum();
        volume.writeInode(h, ino, raw);
    }

    /** Writes the free counts and every dirty buffer to the image. */
    void commit() throws IOException {
        try (Handle h = journal.start(1)) {
            groups.syncCounters(h);
        }
        journal.commit();
    }

    @Override
    public void close() throws IOException {
        dev.close();
    }

    // ---------------------------------------------------------------- judges

    byte[] expectedContent() {
        byte[] out = new byte[(int) (sizeBlocks * blockSize)];
        for (Map.Entry<Long, Block> e : model.entrySet()) {
            Block b = e.getValue();
            if (!b.unwritten() && e.getKey() < sizeBlocks) {
                System.arraycopy(pattern(e.getKey(), b.gen()), 0, out, (int) (e.getKey() * blockSize), blockSize);
            }
        }
        return out;
    }

    /** The model as extents, one per block (for comparing with what debugfs lists, expanded per block). */
    List<long[]> expectedBlocks() {
        List<long[]> out = new ArrayList<>();
        model.forEach((l, b) -> out.add(new long[] {l, b.pblk(), b.unwritten() ? 1 : 0}));
        return out;
    }

    /** Leaf extents as {@code debugfs dump_extents} lists them: logical, physical, length, unwritten. */
    List<Extent> debugfsExtents() throws IOException {
        String out = Tools.run("debugfs", "-R", "dump_extents /f", image.toString()).ok().stdout();
        Pattern leaf = Pattern.compile(
                "^\\s*(\\d+)/\\s*(\\d+)\\s+\\d+/\\s*\\d+\\s+(\\d+)\\s*-\\s*(\\d+)\\s+(\\d+)\\s*-\\s*(\\d+)\\s+(\\d+)\\s*(Uninit)?\\s*$");
        List<Extent> extents = new ArrayList<>();
        for (String line : out.split("\n")) {
            Matcher m = leaf.matcher(line);
            if (m.matches() && m.group(1).equals(m.group(2))) {
                long l0 = Long.parseLong(m.group(3));
                long l1 = Long.parseLong(m.group(4));
                long p0 = Long.parseLong(m.group(5));
                int len = Integer.parseInt(m.group(7));
                assertEquals(l1 - l0 + 1, len, line);
                extents.add(new Extent(l0, len, p0, m.group(8) != null));
            }
        }
        return extents;
    }

    List<Extent> debugfsExtentsAfterCommit() throws IOException {
        commit();
        return debugfsExtents();
    }

    /** Tree depth as debugfs reports it (the "0/ N" of the first line), 0 for an inline tree. */
    int debugfsDepth() throws IOException {
        String out = Tools.run("debugfs", "-R", "dump_extents /f", image.toString()).ok().stdout();
        Matcher m = Pattern.compile("^\\s*0/\\s*(\\d+)", Pattern.MULTILINE).matcher(out);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** e2fsck -fn exits 0; debugfs cat and dump_extents agree with the model; the kernel reads the model too. */
    void verify(boolean withKernel) throws Exception {
        Tools.Result fsck = Tools.fsck(image);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr() + "\ntree: " + dumpExtents());
        List<long[]> got = new ArrayList<>();
        for (Extent e : debugfsExtents()) {
            for (int k = 0; k < e.length(); k++) {
                got.add(new long[] {e.logical() + k, e.physical() + k, e.unwritten() ? 1 : 0});
            }
        }
        List<long[]> want = expectedBlocks();
        assertEquals(want.size(), got.size(), "mapped blocks per dump_extents");
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), got.get(i), "block " + i + " of dump_extents");
        }
        byte[] expected = expectedContent();
        String cat = Tools.run("debugfs", "-R", "cat /f", image.toString()).ok().stdout();
        assertArrayEquals(expected, cat.getBytes(StandardCharsets.ISO_8859_1), "debugfs cat /f");
        if (withKernel) {
            Tools.kernelCheck("/f's bytes", () -> {
                try (Tools.Mount m = Tools.Mount.of(image, true)) {
                    assertArrayEquals(expected, Files.readAllBytes(m.dir().resolve("f")), "kernel read of /f");
                }
            });
        }
    }

    String dumpExtents() throws IOException {
        return Tools.run("debugfs", "-R", "dump_extents /f", image.toString()).stdout();
    }
}
