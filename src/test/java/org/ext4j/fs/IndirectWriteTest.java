package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.FileTooLargeException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Writing block-mapped (ext2/ext3, no EXTENTS flag) files ({@code fs/ext4/indirect.c}) on images
 * from {@code mkfs.ext4 -t ext3}, {@code -t ext2} and ext4 without the extent feature, 1 KiB and
 * 4 KiB blocks: appends to files {@code mkfs.ext4 -d} made, sequential and random writes reaching the
 * single, double and triple indirect ranges of a sparse file, truncates down across the boundaries,
 * punched holes; each checked against a sparse in-memory model of the bytes, then by
 * {@code e2fsck -fn}, ext4j's reader and a kernel mount. Fallocate is refused as the kernel refuses
 * it; sizes stop at the kernel's {@code s_bitmap_maxbytes}; damage met by a truncate refuses it with
 * the image unchanged.
 */
@ExtendWith(SkippedChecks.class)
class IndirectWriteTest {

    /** A file's bytes, by block: absent blocks are zeros. */
    private static final class Model {
        final int bs;
        long size;
        final TreeMap<Long, byte[]> blocks = new TreeMap<>();

        Model(int bs, byte[] initial) {
            this.bs = bs;
            write(0, initial);
        }

        void write(long pos, byte[] data) {
            for (int i = 0; i < data.length;) {
                long b = (pos + i) / bs;
                int in = (int) ((pos + i) % bs);
                int n = Math.min(bs - in, data.length - i);
                System.arraycopy(data, i, blocks.computeIfAbsent(b, k -> new byte[bs]), in, n);
                i += n;
            }
            size = Math.max(size, pos + data.length);
        }

        void zero(long from, long to) {
            to = Math.min(to, size);
            for (long p = from; p < to;) {
                long b = p / bs;
                int in = (int) (p % bs);
                int n = (int) Math.min(bs - in, to - p);
                byte[] blk = blocks.get(b);
                if (blk != null) {
                    Arrays.fill(blk, in, in + n, (byte) 0);
                }
                p += n;
            }
        }

        void truncate(long n) {
            if (n < size) {
                zero(n, size);
                blocks.tailMap((n + bs - 1) / bs, true).clear();
            }
            size = n;
        }

        byte[] read(long pos, int len) {
            byte[] out = new byte[len];
            for (Map.Entry<Long, byte[]> e : blocks.subMap(pos / bs, true, (pos + len) / bs, true).entrySet()) {
                long start = e.getKey() * bs;
                long from = Math.max(start, pos);
                long to = Math.min(start + bs, pos + len);
                if (to > from) {
                    System.arraycopy(e.getValue(), (int) (from - start), out, (int) (from - pos), (int) (to - from));
                }
            }
            return out;
        }
    }

    /** Reads {@code len} bytes at {@code pos} into {@code buf}; returns the count. */
    private interface Reader {
        int read(long pos, byte[] buf, int off, int len) throws IOException;
    }

    /** The whole file against the model, in 1 MiB pieces (holes included, so a stray block shows). */
    private static void compare(String what, Model m, long size, Reader r) throws IOException {
        assertEquals(m.size, size, what + ": size");
        byte[] buf = new byte[1 << 20];
        for (long pos = 0; pos < m.size; pos += buf.length) {
            int n = (int) Math.min(buf.length, m.size - pos);
            int got = 0;
            while (got < n) {
                int k = r.read(pos + got, buf, got, n - got);
                if (k <= 0) {
                    break;
                }
                got += k;
            }
            assertEquals(n, got, what + ": bytes read at " + pos);
            byte[] want = m.read(pos, n);
            int mis = Arrays.mismatch(want, 0, n, buf, 0, n);
            assertEquals(-1, mis, what + ": first differing byte at " + (pos + mis));
        }
    }

    private static Path image(Path tmp, String type, int bs, Map<String, byte[]> files) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(src.resolve(e.getKey()), e.getValue());
        }
        Path img = tmp.resolve("fs.img");
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(bs)));
        if (type.equals("ext4")) {
            opts.addAll(List.of("-O", "^extent,^64bit"));
        } else {
            opts.addAll(List.of("-t", type));
        }
        Tools.mkfs(img, (bs == 1024 ? 96L : 160L) << 20, opts, src);
        return img;
    }

    private static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static void write(Ext4File f, Model m, long pos, byte[] data) throws IOException {
        assertEquals(data.length, f.pwrite(pos, data, 0, data.length));
        m.write(pos, data);
    }

    private static void punch(Ext4File f, Model m, long pos, long len) throws IOException {
        f.fallocate(Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, pos, len);
        m.zero(pos, pos + len);
    }

    private static void truncate(Ext4File f, Model m, long size) throws IOException {
        f.truncate(size);
        m.truncate(size);
        assertEquals(size, f.size());
    }

    @ParameterizedTest(name = "{0}, {1} blocks")
    @CsvSource({"ext3, 1024", "ext3, 4096", "ext2, 1024", "ext2, 4096", "ext4, 1024", "ext4, 4096"})
    void writesTruncatesAndPunchesAcrossEveryIndirectLevel(String type, int bs, @TempDir Path tmp) throws Exception {
        long p = bs / 4;
        long single = 12;
        long dbl = 12 + p;
        long triple = 12 + p + p * p;
        Random rnd = new Random(bs * 7L + type.hashCode());
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("small", random(rnd, 5000));
        files.put("existing", random(rnd, (int) ((dbl + 20) * bs + 123)));
        Path img = image(tmp, type, bs, files);
        Map<String, Model> models = new LinkedHashMap<>();
        files.forEach((k, v) -> models.put(k, new Model(bs, v)));
        models.put("new", new Model(bs, new byte[0]));

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.aggressive())) {
            Ext4File small = fs.openFile("/small");
            Ext4File existing = fs.openFile("/existing");
            Ext4File created = fs.createFile("/new", 0644);
            Model ms = models.get("small");
            Model me = models.get("existing");
            Model mn = models.get("new");
            assertEquals(Ext4File.maxBitmapBytes(fs.superblock()), created.maxSize());

            // appends to mkfs's files: sequential, across direct -> single -> double
            while (ms.size < (dbl + 5) * bs) {
                write(small, ms, ms.size, random(rnd, 1 + rnd.nextInt(3 * bs)));
            }
            for (int i = 0; i < 5; i++) {
                write(existing, me, me.size, random(rnd, 1 + rnd.nextInt(2 * bs)));
            }

            // a sparse file: writes around every boundary up into the triple indirect range
            long[] at = {0, 11, single, dbl - 1, dbl, dbl + p - 1, dbl + p, dbl + 3 * p + 7, triple - 1, triple,
                triple + p, triple + p * p + 3, triple + 2 * p * p + p + 1};
            for (long b : at) {
                long pos = Math.max(0, b * bs + rnd.nextInt(bs) - bs / 2);
                write(created, mn, pos, random(rnd, 1 + rnd.nextInt(3 * bs)));
                if (rnd.nextInt(3) == 0) {
                    created.fsync();
                }
            }
            for (int i = 0; i < 40; i++) {
                long pos = (long) (rnd.nextDouble() * (triple + 2 * p * p) * bs);
                write(created, mn, pos, random(rnd, 1 + rnd.nextInt(5 * bs)));
            }
            created.fsync();

            // fallocate and zero range: EOPNOTSUPP, nothing changes
            assertThrows(UnsupportedFeatureException.class, () -> created.fallocate(0, 0, 10 * bs));
            assertThrows(UnsupportedFeatureException.class,
                    () -> created.fallocate(Ext4File.FALLOC_KEEP_SIZE, mn.size, 10 * bs));
            assertThrows(UnsupportedFeatureException.class,
                    () -> created.fallocate(Ext4File.FALLOC_ZERO_RANGE, 5, 10 * bs));

            // punched holes: across direct/single, whole double-indirect subtrees, inside the triple range
            punch(created, mn, (single - 1) * bs + 100, (p + 3) * bs);
            punch(created, mn, (dbl + p * 3) * bs - 7, 2 * p * bs + 16);
            punch(created, mn, (triple + p - 2) * bs + 1, p * p * bs);
            punch(existing, me, 3 * bs, (dbl + 2 - 3) * bs);

            // truncates down across the boundaries, then writes into the freed ranges again
            truncate(existing, me, (single + 3) * bs + 17);
            truncate(small, ms, 5L * bs + 1);
            truncate(created, mn, (dbl + 2 * p + 5) * bs + 33);
            write(created, mn, (triple + p + 1) * bs - 3, random(rnd, 2 * bs + 5));
            write(existing, me, (dbl + 1) * bs, random(rnd, 3 * bs));
            truncate(small, ms, 0);
            write(small, ms, 0, random(rnd, (int) (single + 2) * bs));
            truncate(small, ms, (single + 2) * bs + 5000); // grows: a hole past the old end

            for (String name : models.keySet()) {
                Ext4File f = name.equals("small") ? small : name.equals("existing") ? existing : created;
                compare("ext4j read-write " + name, models.get(name), f.size(), (pos, buf, off, len) -> f.pread(pos, buf, off, len));
            }
        }
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            for (Map.Entry<String, Model> e : models.entrySet()) {
                long ino = ro.lookup("/" + e.getKey());
                InodeRecord rec = ro.inode(ino).record();
                assertFalse(rec.hasFlag(InodeRecord.FL_EXTENTS), e.getKey() + " is block-mapped");
                compare("ext4j " + e.getKey(), e.getValue(), rec.size, (pos, buf, off, len) -> ro.read(ino, pos, buf, off, len));
            }
        }
        Tools.kernelCheck("the block-mapped files' bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (Map.Entry<String, Model> e : models.entrySet()) {
                    try (RandomAccessFile raf = new RandomAccessFile(m.dir().resolve(e.getKey()).toFile(), "r")) {
                        compare("kernel " + e.getKey(), e.getValue(), raf.length(), (pos, buf, off, len) -> {
                            raf.seek(pos);
                            return raf.read(buf, off, len);
                        });
                    }
                }
            }
        });
    }

    /**
     * Goal placement ({@code ext4_find_near}, {@code ext4_alloc_branch}): a file written sequentially
     * on an empty file system is laid out as ext3 lays it out, each indirect block right before the
     * data it maps and everything in one contiguous run, as {@code debugfs stat} lists it.
     */
    @ParameterizedTest(name = "{0} blocks")
    @CsvSource({"1024", "4096"})
    void sequentialWritesAreLaidOutContiguously(int bs, @TempDir Path tmp) throws Exception {
        long p = bs / 4;
        Path img = image(tmp, "ext3", bs, Map.of());
        byte[] data = random(new Random(bs), (int) ((12 + p + 2 * p + 7) * bs));
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.aggressive());
                Ext4File f = fs.createFile("/f", 0644)) {
            for (int off = 0; off < data.length; off += 5000) {
                int n = Math.min(5000, data.length - off);
                f.pwrite(off, data, off, n);
            }
        }
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
        Tools.requireTools("debugfs");
        String stat = Tools.run("debugfs", "-R", "stat /f", img.toString()).ok().stdout();
        String blocks = stat.substring(stat.indexOf("BLOCKS:") + 7, stat.indexOf("TOTAL:")).replace("\n", " ").trim();
        // "(0-11):a-b, (IND):c, (12-N):d-e, (DIND):f, (IND):g, ..." in logical order
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(([^)]*)\\):(\\d+)(?:-(\\d+))?").matcher(blocks);
        List<String> labels = new ArrayList<>();
        long prevEnd = -1;
        while (m.find()) {
            labels.add(m.group(1));
            long start = Long.parseLong(m.group(2));
            long end = m.group(3) != null ? Long.parseLong(m.group(3)) : start;
            assertTrue(prevEnd < 0 || start == prevEnd + 1, "not one contiguous run at (" + m.group(1) + "): " + blocks);
            prevEnd = end;
        }
        List<String> want = List.of("0-11", "IND", "12-" + (11 + p), "DIND", "IND", (12 + p) + "-" + (11 + 2 * p),
                "IND", (12 + 2 * p) + "-" + (11 + 3 * p), "IND", (12 + 3 * p) + "-" + (12 + 3 * p + 6));
        assertEquals(want, labels, "each indirect block before the data it maps: " + blocks);
    }

    /**
     * The goal is the block before ({@code ext4_find_near}), not the group's start: an append after
     * another file's blocks were freed near the start of the group still continues the file.
     */
    @ParameterizedTest(name = "{0} blocks")
    @CsvSource({"1024", "4096"})
    void appendsContinueTheFileAfterSpaceFreedBeforeIt(int bs, @TempDir Path tmp) throws Exception {
        Path img = image(tmp, "ext3", bs, Map.of());
        Random rnd = new Random(bs + 1);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            try (Ext4File c = fs.createFile("/c", 0644)) {
                byte[] d = random(rnd, 40 * bs);
                c.pwrite(0, d, 0, d.length);
            }
            try (Ext4File a = fs.createFile("/a", 0644)) {
                byte[] d = random(rnd, 8 * bs);
                a.pwrite(0, d, 0, d.length);
                a.fsync();
                fs.unlink("/c"); // frees the blocks before /a's
                byte[] more = random(rnd, 20 * bs);
                a.pwrite(d.length, more, 0, more.length);
            }
        }
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
        Tools.requireTools("debugfs");
        String stat = Tools.run("debugfs", "-R", "stat /a", img.toString()).ok().stdout();
        String blocks = stat.substring(stat.indexOf("BLOCKS:") + 7, stat.indexOf("TOTAL:")).replace("\n", " ").trim();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(([^)]*)\\):(\\d+)(?:-(\\d+))?").matcher(blocks);
        long prevEnd = -1;
        while (m.find()) {
            long start = Long.parseLong(m.group(2));
            assertTrue(prevEnd < 0 || start == prevEnd + 1, "the append left the file at (" + m.group(1) + "): " + blocks);
            prevEnd = m.group(3) != null ? Long.parseLong(m.group(3)) : start;
        }
    }

    /**
     * Sizes stop at the kernel's {@code s_bitmap_maxbytes}: writing and truncating there is EFBIG for
     * ext4j and for the kernel, one byte less is not.
     */
    @ParameterizedTest(name = "{0}, {1} blocks")
    @CsvSource({"ext3, 1024", "ext3, 4096", "ext4, 4096"})
    void sizesStopWhereTheKernelStops(String type, int bs, @TempDir Path tmp) throws Exception {
        Path img = image(tmp, type, bs, Map.of("f", new byte[10]));
        long max;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            Ext4File f = fs.openFile("/f");
            max = f.maxSize();
            assertTrue(max <= fs.maxFileSize(), "block map limit " + max + " within the file system's " + fs.maxFileSize());
            assertThrows(FileTooLargeException.class, () -> f.truncate(max + 1));
            assertThrows(FileTooLargeException.class, () -> f.pwrite(max, new byte[1], 0, 1));
            assertEquals(1, f.pwrite(max - 1, new byte[] {7}, 0, 1));
            assertEquals(max, f.size());
            f.truncate(max - 1);
        }
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
        Tools.kernelCheck("the kernel's largest block-mapped file", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, false)) {
                Path f = m.dir().resolve("f");
                assertEquals(max - 1, Files.size(f));
                assertEquals(0, Tools.run("truncate", "-s", Long.toString(max), f.toString()).exit(), "kernel: truncate to max");
                Tools.Result r = Tools.run("truncate", "-s", Long.toString(max + 1), f.toString());
                assertTrue(r.exit() != 0 && r.stderr().contains("File too large"), "kernel: truncate past max: " + r.stderr());
            }
        });
    }

    /**
     * Validate, then change: a truncate whose range holds a double-indirect block pointing into the
     * inode table is refused before anything changes (not even the zeroed tail of the last block).
     */
    @ParameterizedTest(name = "{0} blocks")
    @CsvSource({"1024", "4096"})
    void truncateOverDamageChangesNothing(int bs, @TempDir Path tmp) throws Exception {
        long p = bs / 4;
        Random rnd = new Random(bs);
        byte[] data = random(rnd, (int) ((12 + p + 3) * bs));
        Path img = image(tmp, "ext3", bs, Map.of("f", data));
        long dind;
        long itable;
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            InodeRecord rec = ro.inode(ro.lookup("/f")).record();
            dind = Le.u32(rec.iBlock(), 13 * 4);
            itable = ro.groups().get(0).inodeTable();
        }
        assertTrue(dind != 0);
        // the double-indirect block's first pointer now names the inode table
        try (RandomAccessFile raf = new RandomAccessFile(img.toFile(), "rw")) {
            raf.seek(dind * bs);
            raf.write(new byte[] {(byte) itable, (byte) (itable >> 8), (byte) (itable >> 16), (byte) (itable >> 24)});
        }
        byte[] before = Files.readAllBytes(img);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            Ext4File f = fs.openFile("/f");
            CorruptionException e = assertThrows(CorruptionException.class, () -> f.truncate(5L * bs + 3));
            assertEquals(CorruptionException.Kind.BLOCK_IN_SYSTEM_ZONE, e.kind(), e.getMessage());
            CorruptionException e2 = assertThrows(CorruptionException.class,
                    () -> f.fallocate(Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, 3, (12 + p + 2) * bs));
            assertEquals(CorruptionException.Kind.BLOCK_IN_SYSTEM_ZONE, e2.kind(), e2.getMessage());
        }
        assertArrayEquals(before, Files.readAllBytes(img), "the refused truncate and punch changed the image");
    }

    /** {@code ext4j io} on an ext3 image: pwrite creates and writes, falloc is EOPNOTSUPP (exit 3). */
    @Test
    void cliWritesAnExt3Image(@TempDir Path tmp) throws Exception {
        Path img = image(tmp, "ext3", 4096, Map.of("f", new byte[3]));
        Tools.Result w = Tools.ext4j("io", img.toString(), "/f", "-c", "pwrite 0 100k");
        assertEquals(0, w.exit(), w.stderr());
        Tools.Result c = Tools.ext4j("io", "-f", img.toString(), "/g", "-c", "pwrite -S 0x41 5000k 3k");
        assertEquals(0, c.exit(), c.stderr());
        Tools.Result fa = Tools.ext4j("io", img.toString(), "/f", "-c", "falloc 0 1m");
        assertEquals(3, fa.exit(), fa.stderr());
        assertTrue(fa.stderr().contains("EOPNOTSUPP"), fa.stderr());
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            assertEquals(100 * 1024, ro.stat("/f").size());
            byte[] g = ro.readAll("/g");
            assertEquals(5003 * 1024, g.length);
            byte[] want = new byte[3 * 1024];
            Arrays.fill(want, (byte) 0x41);
            assertArrayEquals(want, Arrays.copyOfRange(g, 5000 * 1024, g.length));
        }
    }
}
