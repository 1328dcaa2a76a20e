package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code io pwrite -R}: xfs_io's random-offset writes. ext4j reproduces glibc's {@code random()}
 * after {@code srandom(seed)}, so the same {@code -Z} seed must write the same blocks as xfs_io on a
 * kernel mount, byte for byte (holes where no random offset fell included), and print the same
 * "wrote" line and the same "N MiB, M ops" part of the summary line.
 */
class IoRandomWriteTest {

    /** Same commands as xfs_io, quirks of its range widening included (unaligned offset and length). */
    private static final List<String> CMDS = List.of(
            "pwrite -R -Z 7 -b 4096 0 1m",
            "pwrite -R -Z 12345 -S 0x5a -b 1536 1000 300000",
            "pwrite -R -Z 3 -S 0x11 -b 8k 4096 64k",
            "pwrite -R -Z 0xcdcdcdcd -S 0x22 -b 4096 2m 4096",
            "fsync");

    @Test
    void glibcRandomSequence() {
        // srandom(1); random() x3: the well-known first values of glibc's TYPE_3 generator
        IoCommand.GlibcRandom r = new IoCommand.GlibcRandom(1);
        assertEquals(1804289383L, r.next());
        assertEquals(846930886L, r.next());
        assertEquals(1681692777L, r.next());
        // seed 0 is seed 1, as in glibc
        assertEquals(1804289383L, new IoCommand.GlibcRandom(0).next());
    }

    @Test
    void summaryLinesInXfsIoFormat() {
        // 600 us prints as 0.0005: (unsigned)(600 / 1e6 * 10000) is 5 in C (5.9999...), and in xfs_io
        assertEquals("1 MiB, 256 ops; 0.0005 sec (1.628 GiB/sec and 426666.6667 ops/sec)",
                IoCommand.ioTimes(1 << 20, 256, 600_000));
        assertEquals("3.000 GiB, 3072 ops; 0:00:05.72 (536.201 MiB/sec and 536.2005 ops/sec)",
                IoCommand.ioTimes(3L << 30, 3072, 5_729_200_000L));
        assertEquals("5.000000 bytes", IoCommand.cvtstr(5));
        assertEquals("294 KiB", IoCommand.cvtstr(301056));
    }

    /** Without a kernel: the bytes ext4j stored are what xfs_io's algorithm writes (computed here). */
    @Test
    void randomWritesLandWhereXfsIoWouldPutThem(@TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("ours.img");
        Tools.mkfs(img, 32L << 20, List.of(), null);
        Tools.Result r = Tools.ext4j(ext4jArgs(img)).ok();
        byte[] want = model();
        assertEquals(expectedWroteLines(), wroteLines(r.stdout()));
        byte[] got = Tools.ext4j("cat", img.toString(), "/g").ok().stdout().getBytes(StandardCharsets.ISO_8859_1);
        assertArrayEquals(want, got, "file bytes against the model of xfs_io's write_random");
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
    }

    /** Against xfs_io on a kernel loop mount of an identical image: same lines, same bytes, fsck clean. */
    @Test
    void sameBlocksAsXfsIoOnTheKernel(@TempDir Path tmp) throws Exception {
        Tools.requireTools("xfs_io");
        Tools.requireRootAndLoop();
        Path ours = tmp.resolve("ours.img");
        Path kernels = tmp.resolve("kernel.img");
        Tools.mkfs(ours, 32L << 20, List.of(), null);
        Files.copy(ours, kernels);

        Tools.Result mine = Tools.ext4j(ext4jArgs(ours)).ok();
        byte[] kernelBytes;
        try (Tools.Mount m = Tools.Mount.of(kernels, false)) {
            List<String> xfs = new ArrayList<>(List.of("xfs_io", "-f"));
            for (String c : CMDS) {
                xfs.add("-c");
                xfs.add(c);
            }
            xfs.add(m.dir().resolve("g").toString());
            Tools.Result theirs = Tools.run(xfs).ok();
            assertEquals(wroteLines(theirs.stdout()), wroteLines(mine.stdout()), "wrote lines and op counts");
            kernelBytes = Files.readAllBytes(m.dir().resolve("g"));
        }
        assertArrayEquals(model(), kernelBytes, "xfs_io's bytes against this test's model of write_random");
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), fsck.stdout());
        try (Tools.Mount m = Tools.Mount.of(ours, true)) {
            assertArrayEquals(kernelBytes, Files.readAllBytes(m.dir().resolve("g")), "the kernel reading ext4j's image");
        }
    }

    private static String[] ext4jArgs(Path img) {
        List<String> args = new ArrayList<>(List.of("io", "-f", img.toString(), "/g"));
        for (String c : CMDS) {
            args.add("-c");
            args.add(c);
        }
        return args.toArray(String[]::new);
    }

    /** "wrote" lines whole, summary lines up to the timing (bytes and ops are deterministic). */
    private static List<String> wroteLines(String out) {
        return out.lines().filter(l -> l.startsWith("wrote ") || l.contains(" ops; "))
                .map(l -> l.contains(" ops; ") ? l.substring(0, l.indexOf(';')) : l).toList();
    }

    private static List<String> expectedWroteLines() {
        return List.of("wrote 1048576/1048576 bytes at offset 0", "1 MiB, 256 ops",
                "wrote 301056/300000 bytes at offset 1000", "294 KiB, 196 ops",
                "wrote 65536/65536 bytes at offset 4096", "64 KiB, 8 ops",
                "wrote 4096/4096 bytes at offset 2097152", "4 KiB, 1 ops");
    }

    /** The file as xfs_io's write_random leaves it after {@link #CMDS}, written out independently. */
    private static byte[] model() {
        byte[] file = new byte[0];
        long[][] specs = { // seed, fill, bsize, off, len
            {7, 0xcd, 4096, 0, 1 << 20}, {12345, 0x5a, 1536, 1000, 300000}, {3, 0x11, 8192, 4096, 65536},
            {0xcdcdcdcdL, 0x22, 4096, 2 << 20, 4096}};
        for (long[] s : specs) {
            IoCommand.GlibcRandom rnd = new IoCommand.GlibcRandom(s[0]);
            long bs = s[2];
            long start = s[3] - s[3] % bs;
            long count = Math.max(bs, s[4] + s[4] % bs);
            long range = count - bs;
            for (long n = count; n > 0; n -= bs) {
                long at = range != 0 ? (start + rnd.next() % range) / bs * bs : start;
                if (at + bs > file.length) {
                    file = Arrays.copyOf(file, (int) (at + bs));
                }
                Arrays.fill(file, (int) at, (int) (at + bs), (byte) s[1]);
            }
        }
        assertTrue(file.length > 0);
        return file;
    }
}
