package org.ext4j.extents;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.BlockMap.Mapping;
import org.ext4j.extents.BlockMap.State;
import org.ext4j.format.GoldenImage;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link IndirectBlockMap} against {@code debugfs stat}'s block list on ext3 images (1, 2 and 4 KiB
 * blocks) holding sparse files copied by {@code mkfs.ext3 -d}: data and holes in the direct, single,
 * double and triple indirect ranges, and the resize inode. The expected answer follows
 * {@code ext4_ind_map_blocks}: a written run stops at the end of its pointer block; a hole is either
 * a run of zero pointers in an existing pointer block or, where a pointer on the way down is zero,
 * the whole subtree it would have led to.
 */
class IndirectBlockMapTest {

    @TempDir
    static Path dir;

    private static final Map<Integer, Path> IMAGES = new HashMap<>();

    /** File name to the logical blocks that hold data, for block size {@code bs} (p = bs / 4 pointers). */
    static Map<String, long[]> layout(int bs) {
        long p = bs / 4;
        long ind = 12;
        long dind = ind + p;
        long tind = dind + p * p;
        Map<String, long[]> files = new TreeMap<>();
        files.put("direct", new long[] {0, 1, 2, 5, 11});
        files.put("single", new long[] {12, 13, 14, 100, ind + p - 1});
        files.put("double", new long[] {dind, dind + p * 3 + 5, dind + p * 3 + 6, dind + p * 200, dind + p * p - 1});
        files.put("triple", new long[] {tind, tind + p * p * 2 + p * 3 + 7});
        long[] contig = new long[(int) (dind + 40)];
        for (int i = 0; i < contig.length; i++) {
            contig[i] = i;
        }
        files.put("contig", contig);
        files.put("tailonly", new long[] {dind + p + 1});
        return files;
    }

    static synchronized Path image(int bs) throws IOException {
        Path p = IMAGES.get(bs);
        if (p != null) {
            return p;
        }
        Path src = Files.createDirectories(dir.resolve("src" + bs));
        for (Map.Entry<String, long[]> f : layout(bs).entrySet()) {
            try (RandomAccessFile out = new RandomAccessFile(src.resolve(f.getKey()).toFile(), "rw")) {
                byte[] data = new byte[bs];
                for (long b : f.getValue()) {
                    Arrays.fill(data, (byte) (b % 250 + 1));
                    out.seek(b * bs);
                    out.write(data);
                }
            }
        }
        p = GoldenImage.mkfs(dir, "ext3-" + bs + ".img", "16M", List.of("-t", "ext3", "-b", Integer.toString(bs)),
                null, src);
        IMAGES.put(bs, p);
        return p;
    }

    /** What debugfs says about an inode's block map: data blocks by logical number and metadata counts. */
    record BlockList(TreeMap<Long, Long> data, int ind, int dind, int tind) {
    }

    private static final Pattern RANGE = Pattern.compile("\\((\\d+)(?:-(\\d+))?\\):(\\d+)(?:-(\\d+))?");
    private static final Pattern META = Pattern.compile("\\((IND|DIND|TIND)\\):\\d+");

    static BlockList blockList(Path img, String file) throws IOException {
        String stat = GoldenImage.debugfs(img, "stat " + file);
        String blocks = stat.substring(stat.indexOf("BLOCKS:"));
        TreeMap<Long, Long> data = new TreeMap<>();
        Matcher m = RANGE.matcher(blocks);
        while (m.find()) {
            long from = Long.parseLong(m.group(1));
            long to = m.group(2) == null ? from : Long.parseLong(m.group(2));
            long phys = Long.parseLong(m.group(3));
            for (long l = from; l <= to; l++) {
                data.put(l, phys + (l - from));
            }
        }
        int[] meta = new int[3];
        m = META.matcher(blocks);
        while (m.find()) {
            meta[List.of("IND", "DIND", "TIND").indexOf(m.group(1))]++;
        }
        return new BlockList(data, meta[0], meta[1], meta[2]);
    }

    /**
     * The subtrees on the way to {@code lblk}, outermost first, as [start, end) ranges; the last is the
     * range of the pointer block (or i_block's direct part) holding lblk's own pointer.
     */
    static List<long[]> path(long lblk, long p) {
        List<long[]> out = new ArrayList<>();
        if (lblk < 12) {
            out.add(new long[] {0, 12});
            return out;
        }
        long start = 12;
        long span = p;
        int levels = 1;
        while (lblk >= start + span) {
            start += span;
            span *= p;
            levels++;
        }
        for (int level = 0; level < levels; level++) {
            long sub = span;
            for (int k = 0; k < level; k++) {
                sub /= p;
            }
            long s = start + (lblk - start) / sub * sub;
            out.add(new long[] {s, s + sub});
        }
        return out;
    }

    private static boolean anyData(TreeMap<Long, Long> data, long from, long to) {
        Long k = data.ceilingKey(from);
        return k != null && k < to;
    }

    /** ext4_ind_map_blocks' answer, from the block list alone. */
    static Mapping expected(BlockList bl, long lblk, long maxLen, long p) {
        List<long[]> path = path(lblk, p);
        long[] leaf = path.get(path.size() - 1);
        Long phys = bl.data().get(lblk);
        if (phys != null) {
            long len = 1;
            while (lblk + len < leaf[1] && len < maxLen && Long.valueOf(phys + len).equals(bl.data().get(lblk + len))) {
                len++;
            }
            return new Mapping(lblk, len, phys, State.WRITTEN);
        }
        // the outermost missing pointer block decides: its whole subtree is one hole (i_block always exists)
        if (lblk >= 12) {
            for (long[] sub : path) {
                if (!anyData(bl.data(), sub[0], sub[1])) {
                    return new Mapping(lblk, Math.min(sub[1] - lblk, maxLen), -1, State.HOLE);
                }
            }
        }
        // the pointer block exists: a run of zero pointers up to the next data or the block's end
        Long next = bl.data().ceilingKey(lblk);
        long end = next == null || next > leaf[1] ? leaf[1] : next;
        return new Mapping(lblk, Math.min(end - lblk, maxLen), -1, State.HOLE);
    }

    /** The probes: every data block and its neighbours, every subtree boundary and its neighbours. */
    static TreeSet<Long> probes(BlockList bl, long p, long fileEnd) {
        TreeSet<Long> out = new TreeSet<>();
        for (long b : bl.data().keySet()) {
            for (long d = -2; d <= 2; d++) {
                out.add(b + d);
            }
        }
        long[] bounds = {0, 11, 12, 12 + p, 12 + p + p * p, 12 + p + p * p + p * p * p};
        for (long b : bounds) {
            for (long d = -2; d <= 2; d++) {
                out.add(b + d);
            }
        }
        for (long b = 12 + p; b < Math.min(fileEnd + p, 12 + p + p * p); b += p) {
            out.add(b - 1);
            out.add(b);
        }
        Random r = new Random(1);
        for (int i = 0; i < 300; i++) {
            out.add((long) r.nextInt((int) Math.min(fileEnd + 10, 12 + p + p * p + p * p * p - 1)));
        }
        out.removeIf(x -> x < 0 || x >= 12 + p + p * p + p * p * p);
        return out;
    }

    /** Pointer blocks that exist: the subtrees with data (how mke2fs and the kernel allocate them). */
    static int[] pointerBlocks(BlockList bl, long p) {
        int[] n = new int[3];
        long dind = 12 + p;
        long tind = dind + p * p;
        if (anyData(bl.data(), 12, dind)) {
            n[0]++;
        }
        if (anyData(bl.data(), dind, tind)) {
            n[1]++;
        }
        for (long s = dind; s < tind; s += p) {
            n[0] += anyData(bl.data(), s, s + p) ? 1 : 0;
        }
        if (anyData(bl.data(), tind, tind + p * p * p)) {
            n[2]++;
            for (long s = tind; s < tind + p * p * p; s += p * p) {
                if (anyData(bl.data(), s, s + p * p)) {
                    n[1]++;
                    for (long t = s; t < s + p * p; t += p) {
                        n[0] += anyData(bl.data(), t, t + p) ? 1 : 0;
                    }
                }
            }
        }
        return n;
    }

    @ParameterizedTest(name = "{0}-byte blocks, {1}")
    @CsvSource({
        "1024, direct", "1024, single", "1024, double", "1024, triple", "1024, contig", "1024, tailonly",
        "1024, <7>",
        "2048, direct", "2048, double", "2048, contig", "2048, tailonly",
        "4096, single", "4096, double", "4096, triple", "4096, contig",
    })
    void everyProbeMapsAsTheKernelWould(int bs, String file) throws IOException {
        Path img = image(bs);
        long p = bs / 4;
        FileBlockDevice dev = FileBlockDevice.openReadOnly(img);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        long ino = file.startsWith("<") ? Long.parseLong(file.substring(1, file.length() - 1))
                : GoldenImage.inodeNumber(img, file);
        InodeRecord r = v.readInode(ino);
        assertFalse(r.hasFlag(InodeRecord.FL_EXTENTS), "ext3 files use block maps");
        BlockList bl = blockList(img, file);
        assertTrue(!bl.data().isEmpty(), "fixture has data");
        int[] pointers = pointerBlocks(bl, p);
        assertEquals(List.of(bl.ind(), bl.dind(), bl.tind()), List.of(pointers[0], pointers[1], pointers[2]),
                "the fixture's pointer blocks are exactly the subtrees with data");
        if (!file.startsWith("<")) {
            assertEquals(new TreeSet<>(Arrays.stream(layout(bs).get(file)).boxed().toList()), bl.data().navigableKeySet());
        }
        IndirectBlockMap map = new IndirectBlockMap(v, ino, r.iBlock());
        long fileEnd = bl.data().lastKey() + 1;
        for (long lblk : probes(bl, p, fileEnd)) {
            for (long maxLen : new long[] {1, 2, 1L << 40}) {
                assertEquals(expected(bl, lblk, maxLen, p), map.map(lblk, maxLen),
                        bs + " " + file + " lblk " + lblk + " maxLen " + maxLen);
            }
        }
    }

    /** Concrete answers for 1 KiB blocks (p = 256: IND 12.., DIND 268.., TIND 65804..), spelled out. */
    @ParameterizedTest(name = "{0} lblk {1}")
    @CsvSource({
        "direct, 3, HOLE, 2",         // zero pointers 3 and 4 in i_block
        "direct, 6, HOLE, 5",         // 6..10
        "direct, 12, HOLE, 256",      // no IND block: its whole subtree, not beyond
        "single, 15, HOLE, 85",       // 15..99 inside the IND block
        "single, 101, HOLE, 166",     // 101..266
        "double, 524, HOLE, 256",     // DIND entry 1 is zero: a 256-block subtree
        "double, 1038, HOLE, 3",      // IND 3 (1036..1291) exists: zeros up to data at 1041
        "double, 1041, WRITTEN, 2",   // 1041, 1042 contiguous
        "tailonly, 268, HOLE, 256",   // DIND entry 0 is zero
        "tailonly, 524, HOLE, 1",     // IND 1 exists; 525 is data
        "triple, 65804, WRITTEN, 1",
        "triple, 65805, HOLE, 255",   // rest of the first IND under TIND
        "triple, 66060, HOLE, 256",   // second IND under the first DIND is missing
        "triple, 131340, HOLE, 65536", // second DIND under TIND is missing
        "contig, 0, WRITTEN, 12",     // a run stops at the end of i_block's direct pointers
        "contig, 12, WRITTEN, 256",   // ... and at the end of each pointer block
        "contig, 268, WRITTEN, 40",
        "contig, 308, HOLE, 216",     // rest of that IND block
        "contig, 524, HOLE, 256",     // next IND missing
    })
    void spelledOutAnswers(String file, long lblk, State state, long length) throws IOException {
        Path img = image(1024);
        FileBlockDevice dev = FileBlockDevice.openReadOnly(img);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        long ino = GoldenImage.inodeNumber(img, file);
        Mapping m = new IndirectBlockMap(v, ino, v.readInode(ino).iBlock()).map(lblk, 1L << 40);
        assertEquals(state, m.state());
        assertEquals(length, m.length());
        assertEquals(expected(blockList(img, file), lblk, 1L << 40, 256), m);
    }

    @Test
    void beyondTripleIndirectIsFileTooLarge() throws IOException {
        Path img = image(1024);
        FileBlockDevice dev = FileBlockDevice.openReadOnly(img);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        long ino = GoldenImage.inodeNumber(img, "triple");
        IndirectBlockMap map = new IndirectBlockMap(v, ino, v.readInode(ino).iBlock());
        long limit = 12 + 256 + 256L * 256 + 256L * 256 * 256;
        assertEquals(State.HOLE, map.map(limit - 1, 10).state());
        assertEquals(1, map.map(limit - 1, 10).length());
        expectCorruption(Kind.FILE_TOO_LARGE, ino, -1, -1, () -> map.map(limit, 1));
    }

    @Test
    void pointersOutsideTheFileSystem() throws IOException {
        Path img = image(1024);
        MemoryBlockDevice dev = new MemoryBlockDevice(Files.readAllBytes(img), true);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        long end = v.superblock().blocksCount;
        byte[] iblock = new byte[60];
        Le.put32(iblock, 0, end); // direct pointer past the end
        Le.put32(iblock, 4, end - 1);
        Le.put32(iblock, 12 * 4, end + 100); // IND block past the end
        IndirectBlockMap map = new IndirectBlockMap(v, 99, iblock);
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 99, end, -1, () -> map.map(0, 1));
        assertEquals(new Mapping(1, 1, end - 1, State.WRITTEN), map.map(1, 5));
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, 99, end + 100, -1, () -> map.map(12, 1));
        Le.put32(iblock, 4, 1); // block 1 is the superblock of a 1 KiB file system
        expectCorruption(Kind.BLOCK_OUT_OF_RANGE, () -> new IndirectBlockMap(v, 99, iblock).map(1, 1));
    }

    /**
     * The system zone ({@code ext4_check_blockref}): the twelve direct pointers are checked by
     * {@link IndirectBlockMap#checkRoot} (iget), the IND pointer only when a read follows it, and a
     * data pointer inside an indirect block into the descriptor table fails the read through that
     * block, naming the logical block it maps; once the block is fixed the same map reads it.
     */
    @Test
    void pointersIntoMetadata() throws IOException {
        Path img = image(1024);
        byte[] bytes = Files.readAllBytes(img);
        MemoryBlockDevice dev = new MemoryBlockDevice(bytes, true);
        Volume v = Volume.open(dev, Volume.readSuperblock(dev));
        long itable = v.group(0).inodeTable();
        long free = v.superblock().blocksCount - 20; // no file uses it
        byte[] iblock = new byte[60];
        Le.put32(iblock, 12 * 4, itable + 2); // IND pointer into the inode table
        IndirectBlockMap map = new IndirectBlockMap(v, 99, iblock);
        map.checkRoot(); // as the kernel's iget: the indirect pointers are not looked at yet
        CorruptionException e = expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, 99, itable + 2, -1, () -> map.map(12, 1));
        assertEquals(12, e.logical());
        Le.put32(iblock, 5 * 4, itable);
        expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, 99, itable, -1, () -> new IndirectBlockMap(v, 99, iblock).checkRoot());

        byte[] ok = new byte[60];
        Le.put32(ok, 12 * 4, free); // IND block at a free block, pointer 3 (logical 15) into the GDT
        int off = (int) (free * 1024);
        Arrays.fill(bytes, off, off + 1024, (byte) 0);
        Le.put32(bytes, off, free + 1);
        Le.put32(bytes, off + 3 * 4, 2);
        IndirectBlockMap ind = new IndirectBlockMap(v, 99, ok);
        ind.checkRoot();
        CorruptionException gdt = expectCorruption(Kind.BLOCK_IN_SYSTEM_ZONE, 99, 2, -1, () -> ind.map(12, 1));
        assertEquals(15, gdt.logical());
        assertTrue(gdt.getMessage().contains("primary superblock and group descriptors"), gdt.getMessage());
        Le.put32(bytes, off + 3 * 4, 0); // repaired: the same map checks the new bytes and reads
        v.bufferCache().forget(free);
        assertEquals(new Mapping(12, 1, free + 1, State.WRITTEN), ind.map(12, 1));
        assertEquals(new Mapping(15, 1, -1, State.HOLE), ind.map(15, 1));
    }
}
