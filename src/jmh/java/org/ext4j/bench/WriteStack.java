package org.ext4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;
import org.ext4j.interleave.Interleave;
import org.ext4j.iomap.BufferedIO;
import org.ext4j.iomap.Iomap;
import org.ext4j.iomap.IomapOps;

/**
 * The real write stack for the overhead benchmarks: an image made by {@code mkfs.ext4} (defaults,
 * 256 MiB) in a {@link MemoryBlockDevice}, opened read-write with {@link WriteOptions#manualWriteback()}
 * (no flusher, no throttling, no reclaim), one file {@code /f}, and the iomap ops the benchmark
 * writes through.
 *
 * <p>Which ops: {@code -Dbench.check=on} (the default) the file's own {@code Ext4IomapOps}, whose
 * {@code valid()} compares the mapping's cookie with the status tree's counter; {@code off} a
 * {@link NoCheckOps} that delegates everything else and answers "valid" without reading anything.
 * Together with {@code -Dext4j.interleave=off} (which compiles the interleaving points and the
 * protection switches out) the second leaves neither points nor check in the write path.
 * Only the chosen ops ever reach {@link BufferedIO#write} in a fork, so its call sites see one
 * receiver type in every variant.
 *
 * <p>Never closed: the image lives in memory and goes with the forked JVM, and a close (a
 * writeback of everything) inside JMH's last iteration would land in that iteration's CPU figure.
 */
final class WriteStack {
    static final int IMAGE_MIB = 256;
    /** Bytes the benchmarks write over unless told otherwise: 64 MiB. */
    static final long REGION = 64L << 20;

    final Ext4FileSystem fs;
    final Ext4File file;
    final BufferedIO io;
    final IomapOps ops;
    final boolean check;

    WriteStack() throws IOException, InterruptedException {
        check = !"off".equals(System.getProperty("bench.check", "on"));
        byte[] image = mkfs();
        fs = Ext4FileSystem.openReadWrite(new MemoryBlockDevice(image, false), WriteOptions.manualWriteback());
        file = fs.createFile("/f", 0644);
        Ext4File.Layers layers = file.layers();
        io = layers.io();
        ops = check ? layers.ops() : new NoCheckOps(layers.ops());
        System.out.println("# write stack: interleaving points " + (Interleave.COMPILED ? "compiled in" : "compiled out")
                + ", validity check " + (check ? "real (" + ops.getClass().getSimpleName() + ")" : "none (NoCheckOps)"));
    }

    /** Buffered write of {@code len} bytes of {@code buf} at {@code pos}, as {@code Ext4File.pwrite} does under its lock. */
    long write(long pos, byte[] buf, int len) throws IOException {
        return io.write(ops, pos, buf, 0, len, file::size, n -> { });
    }

    /**
     * Grows the file to {@code region} bytes (a hole; so that no benchmark write extends it) and,
     * if {@code fill}, writes all of it in writes of up to 1 MiB through the chosen ops (64 KiB
     * folios, one DELAYED range), every byte {@code 0x5a}.
     */
    void prepare(long region, boolean fill) throws IOException {
        file.truncate(region);
        if (fill) {
            byte[] chunk = new byte[(int) Math.min(1 << 20, region)];
            java.util.Arrays.fill(chunk, (byte) 0x5a);
            for (long p = 0; p < region; p += chunk.length) {
                write(p, chunk, (int) Math.min(chunk.length, region - p));
            }
        }
    }

    private static byte[] mkfs() throws IOException, InterruptedException {
        Path img = Files.createTempFile("ext4j-bench", ".img");
        try {
            Process p = new ProcessBuilder("mkfs.ext4", "-q", "-F", img.toString(), IMAGE_MIB + "M")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("mkfs.ext4 failed: " + out);
            }
            return Files.readAllBytes(img);
        } finally {
            Files.deleteIfExists(img);
        }
    }

    /** The real ops without the validity check: {@code valid()} reads nothing and says yes. */
    static final class NoCheckOps implements IomapOps {
        private final IomapOps real;

        NoCheckOps(IomapOps real) {
            this.real = real;
        }

        @Override
        public Iomap begin(long pos, long length, int flags) throws IOException {
            return real.begin(pos, length, flags);
        }

        @Override
        public void end(long pos, long length, long written, int flags, Iomap map) throws IOException {
            real.end(pos, length, written, flags, map);
        }

        @Override
        public void punchDelalloc(long pos, long length) throws IOException {
            real.punchDelalloc(pos, length);
        }

        @Override
        public boolean valid(Iomap map) {
            return true;
        }
    }
}
