package org.ext4j.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

import org.ext4j.cli.Main;

/**
 * Runs one {@code ext4j} command line in this JVM ({@link Main#run(OutputStream, OutputStream, String...)},
 * the same picocli wiring and exit-status mapping as the launcher) on a worker thread, with a time
 * limit. Standard output is kept up to a cap (with its CRC-32 and length over everything kept, for
 * comparing file contents with the kernel's); past the cap the stream refuses further bytes, which
 * the command reports as an I/O error, and the outcome says it was capped so that the status is not
 * judged. A command over its time limit is abandoned on its (daemon) thread and reported: there is
 * no way to stop a thread, so a harness that sees several of these stops early.
 */
final class CliRun {
    /**
     * What one command did.
     *
     * @param timedOut  still running at the limit (exit is then -1)
     * @param capped    printed more than the cap: the status comes from the refused write
     * @param outLength bytes printed (up to the cap)
     * @param outCrc    CRC-32 of those bytes
     * @param cpuMillis CPU time of the thread that ran the command: what the time rule judges, since on a
     *                  machine shared with other builds wall time says more about them than about ext4j
     */
    record Outcome(int exit, String stderr, byte[] stdoutHead, long outLength, long outCrc, long millis,
            long cpuMillis, boolean timedOut, boolean capped) {
        String firstErrorLine() {
            String s = stderr.strip();
            int nl = s.indexOf('\n');
            return nl < 0 ? s : s.substring(0, nl);
        }

        String stdoutText() {
            return new String(stdoutHead, StandardCharsets.UTF_8);
        }
    }

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fuzz-cli-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });
    private static final AtomicInteger ABANDONED = new AtomicInteger();

    private CliRun() {
    }

    /** Commands abandoned at their time limit in this JVM (their threads may still run). */
    static int abandoned() {
        return ABANDONED.get();
    }

    /**
     * Runs {@code args}; {@code keep} bytes of stdout are kept as text for the caller, {@code cap}
     * bytes are accepted (and checksummed) before the stream refuses more.
     */
    static Outcome run(long timeoutMillis, long cap, int keep, String... args) {
        // the thread's id and CPU time, published through the future's happens-before edge (or read
        // from outside, for a command abandoned at the limit)
        CappedStream out = new CappedStream(cap, keep);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] cpu = {-1, -1};
        Future<Integer> f = POOL.submit(() -> {
            cpu[0] = Thread.currentThread().getId();
            long c0 = mx.getCurrentThreadCpuTime();
            try {
                return Main.run(out, err, args);
            } finally {
                cpu[1] = mx.getCurrentThreadCpuTime() - c0;
            }
        });
        int exit;
        boolean timedOut = false;
        try {
            exit = f.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            timedOut = true;
            exit = -1;
            ABANDONED.incrementAndGet();
            f.cancel(true);
        } catch (ExecutionException e) {
            // Main.run maps every exception of a verb; one escaping it is a bug of the launcher itself
            exit = Main.EXIT_BUG;
            err.writeBytes(("harness: Main.run threw " + e.getCause() + "\n").getBytes(StandardCharsets.UTF_8));
            for (StackTraceElement s : e.getCause().getStackTrace()) {
                err.writeBytes(("\tat " + s + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String stderr;
        synchronized (err) {
            stderr = err.toString(StandardCharsets.UTF_8);
        }
        long cpuMs = cpu[1] >= 0 ? cpu[1] / 1_000_000 : cpu[0] >= 0 ? mx.getThreadCpuTime(cpu[0]) / 1_000_000 : -1;
        return out.outcome(exit, stderr, ms, cpuMs, timedOut);
    }

    /** Keeps a head of what is written, checksums up to the cap, refuses what goes past it. */
    private static final class CappedStream extends OutputStream {
        private final long cap;
        private final int keep;
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final CRC32 crc = new CRC32();
        private long length;
        private boolean capped;

        CappedStream(long cap, int keep) {
            this.cap = cap;
            this.keep = keep;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (length + len > cap) {
                capped = true;
                throw new IOException("fuzz harness: output over " + cap + " bytes refused");
            }
            crc.update(b, off, len);
            length += len;
            int h = (int) Math.min(len, Math.max(0, keep - head.size()));
            head.write(b, off, h);
        }

        synchronized Outcome outcome(int exit, String stderr, long ms, long cpuMs, boolean timedOut) {
            return new Outcome(exit, stderr, head.toByteArray(), length, crc.getValue(), ms, cpuMs, timedOut, capped);
        }
    }
}
