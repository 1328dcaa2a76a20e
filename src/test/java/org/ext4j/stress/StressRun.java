package org.ext4j.stress;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;
import org.ext4j.interleave.Interleave;
import org.ext4j.testing.Tools;

/**
 * One stress run on one fresh image (see {@link WritePathStressTest} for what it does and why):
 * writer threads with a file each, writer threads sharing one file under a test-side lock, and
 * readers of the shared file that take no lock at all; then the judges. Collects the figures in a
 * {@link StressReport}; a failure of any kind stops every thread and fails the run with a report
 * that names the seed, the thread, the operation and, for wrong bytes, the operation that wrote them.
 */
final class StressRun {
    /** What to run. {@code opsPerThread > 0} bounds each writer by operations instead of time. */
    record Config(String mode, int blockSize, long seed, long seconds, long opsPerThread, int ownWriters,
            int sharedWriters, int readers, int cap, boolean jitter, WriteOptions writeOptions) {
        long threadSeed(int thread) {
            return Pattern.mix(seed ^ Pattern.mix(blockSize) ^ Pattern.mix(0x5EED0000L + thread));
        }

        String reproduce(long ops) {
            return "-Dext4j.stress.seed=" + seed + " -Dext4j.stress.blockSizes=" + blockSize
                    + (ops > 0 ? " -Dext4j.stress.ops=" + ops : "");
        }
    }

    private static final String SHARED = "/shared";

    private final Config cfg;
    private final Path dir;
    private final StressReport report;
    private final long deadline;
    private volatile boolean stop;
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLongArray opsDone;
    private final AtomicInteger liveWriters = new AtomicInteger();
    private Ext4FileSystem fs;

    private final ReentrantLock sharedLock = new ReentrantLock();
    /** Readers hold it shared across a pread; closing and reopening the shared file holds it exclusively. */
    private final ReentrantReadWriteLock reopenLock = new ReentrantReadWriteLock();
    private FileModel sharedModel;
    private final List<FileModel> models = new ArrayList<>();
    private volatile Ext4File sharedFile;
    /** Reads of the shared file in flight (guarded by {@link #sharedLock}). */
    private final List<Window> windows = new ArrayList<>();

    StressRun(Config cfg, Path dir) {
        this.cfg = cfg;
        this.dir = dir;
        this.report = new StressReport(cfg);
        this.opsDone = new AtomicLongArray(cfg.ownWriters() + cfg.sharedWriters());
        this.deadline = System.nanoTime() + cfg.seconds() * 1_000_000_000L;
    }

    /** Runs, judges, and returns the figures; throws AssertionError with the full report on any failure. */
    StressReport run() throws Exception {
        int files = cfg.ownWriters() + 1;
        long imageBytes = Math.max(64L << 20, (long) files * cfg.cap() * 2 + (32L << 20));
        report.imageBytes = imageBytes;
        Path src = Files.createDirectories(dir.resolve("src/d"));
        Path img = dir.resolve("stress.img");
        Tools.mkfs(img, imageBytes, List.of("-b", Integer.toString(cfg.blockSize())), src.getParent());

        List<FileModel> ownModels = new ArrayList<>();
        List<Ext4File> ownFiles = new ArrayList<>();
        WritePathProbe probe = new WritePathProbe(cfg.jitter());
        List<Thread> threads = new ArrayList<>();
        long started = System.nanoTime();
        fs = Ext4FileSystem.openReadWrite(img, cfg.writeOptions());
        boolean closed = false;
        try {
            for (int i = 0; i < cfg.ownWriters(); i++) {
                String path = (i % 2 == 0 ? "/d/own-" : "/own-") + i;
                ownModels.add(new FileModel(path, cfg.cap()));
                ownFiles.add(fs.createFile(path, 0644));
            }
            sharedModel = new FileModel(SHARED, cfg.cap());
            models.addAll(ownModels);
            models.add(sharedModel);
            sharedFile = fs.createFile(SHARED, 0600);

            Interleave.install(probe);
            for (int t = 0; t < cfg.ownWriters(); t++) {
                int thread = t;
                threads.add(thread("stress-own-" + t, () -> ownWriter(thread, ownModels.get(thread), ownFiles.get(thread))));
            }
            for (int s = 0; s < cfg.sharedWriters(); s++) {
                int thread = cfg.ownWriters() + s;
                threads.add(thread("stress-shared-" + s, () -> sharedWriter(thread)));
            }
            liveWriters.set(threads.size());
            for (int r = 0; r < cfg.readers(); r++) {
                int reader = r;
                threads.add(thread("stress-reader-" + r, () -> reader(reader)));
            }
            String only = System.getProperty("ext4j.stress.only", "");
            if (!only.isEmpty()) { // a reduction: only these writer threads run (readers run while any does)
                List<String> keep = List.of(only.split(","));
                threads.removeIf(t -> t.getName().startsWith("stress-own-") || t.getName().startsWith("stress-shared-")
                        ? !keep.contains(Integer.toString(writerIndex(t.getName()))) : false);
                liveWriters.set((int) threads.stream().filter(t -> !t.getName().startsWith("stress-reader-")).count());
            }
            threads.forEach(Thread::start);
            long budgetMillis = (cfg.opsPerThread() > 0 ? 1800 : cfg.seconds() + 180) * 1000L;
            long until = System.currentTimeMillis() + budgetMillis;
            for (Thread t : threads) {
                t.join(Math.max(1, until - System.currentTimeMillis()));
            }
            List<Thread> stuck = threads.stream().filter(Thread::isAlive).toList();
            if (!stuck.isEmpty()) {
                stop = true;
                failures.add("threads still running " + budgetMillis / 1000 + " s after the start (a deadlock or a"
                        + " livelock?): " + stuck.stream().map(Thread::getName).toList() + "\n" + threadDump());
                closed = true; // do not close a file system that may be wedged; the image is not judged
                throw new AssertionError(failureReport());
            }
            report.seconds = (System.nanoTime() - started) / 1e9;
            Interleave.install(null);
            probe.copyTo(report);
            if (!failures.isEmpty()) {
                throw new AssertionError(failureReport());
            }

            try {
                // judge 1: every file through its open Ext4File (page cache and disk) against the model
                List<FileModel> all = new ArrayList<>(ownModels);
                all.add(sharedModel);
                List<Ext4File> open = new ArrayList<>(ownFiles.size() + 1);
                for (int i = 0; i < ownModels.size(); i++) {
                    open.add(fs.openFile(ownModels.get(i).path));
                }
                open.add(sharedFile);
                for (int i = 0; i < all.size(); i++) {
                    FileModel m = all.get(i);
                    Ext4File f = open.get(i);
                    byte[] got = new byte[(int) m.size()];
                    int n = f.pread(0, got, 0, got.length);
                    check(f.size() == m.size(), "open file " + m.path + ": size " + f.size() + ", model " + m.size());
                    check(n == got.length, "open file " + m.path + ": pread returned " + n + " of " + got.length);
                    checkBytes("before close, through the open file", m, got);
                    report.finalBytes += m.size();
                }
                report.evictions = WritePathProbe.evictions(fs);
                closed = true;
                fs.close();
                report.stage("ext4j, open files before close: equal");

                // judge 2: ext4j's reader (no page cache) after close
                try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
                    for (FileModel m : all) {
                        long size = ro.stat(m.path).size();
                        check(size == m.size(), "after close, ext4j stat " + m.path + ": size " + size + ", model " + m.size());
                        checkBytes("after close, ext4j's reader", m, ro.readAll(m.path));
                    }
                }
                report.stage("ext4j after close and reopen: equal, sizes too");

                // judge 3: e2fsck
                Tools.Result fsck = Tools.fsck(img);
                check(fsck.exit() == 0, "e2fsck -fn exit " + fsck.exit() + ":\n" + fsck.stdout() + fsck.stderr());
                report.stage("e2fsck -fn: clean");

                // judge 4: the kernel
                String noKernel = Tools.kernelUnavailable();
                Tools.kernelCheck("every file's size and bytes", () -> {
                    try (Tools.Mount mnt = Tools.Mount.of(img, true)) {
                        for (FileModel m : all) {
                            Path p = mnt.dir().resolve(m.path.substring(1));
                            check(Files.size(p) == m.size(), "kernel: " + m.path + " size " + Files.size(p) + ", model "
                                    + m.size());
                            checkBytes("kernel mount", m, Files.readAllBytes(p));
                        }
                    }
                });
                report.stage(noKernel == null ? "kernel loop mount: every file equal to its model, sizes too"
                        : "kernel loop mount: SKIPPED (" + noKernel + ")");
            } catch (StressFailure e) {
                failures.add("judges: " + e.getMessage());
                throw new AssertionError(failureReport());
            }
            report.noMismatch = true;
            return report;
        } finally {
            stop = true;
            Interleave.install(null);
            if (!closed) {
                try {
                    fs.close();
                } catch (IOException | RuntimeException e) {
                    failures.add("close failed: " + stackTrace(e));
                }
            }
        }
    }

    private Thread thread(String name, ThrowingRunnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                stop = true;
                failures.add(Thread.currentThread().getName() + ": " + (e instanceof StressFailure ? e.getMessage()
                        : stackTrace(e)));
            }
        }, name);
        t.setDaemon(true);
        return t;
    }

    private int writerIndex(String name) {
        int n = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
        return name.startsWith("stress-shared-") ? cfg.ownWriters() + n : n;
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** A wrong result found by the test (its message is the report; no stack trace needed). */
    static final class StressFailure extends AssertionError {
        private static final long serialVersionUID = 1L;

        StressFailure(String message) {
            super(message);
        }
    }

    private boolean more(int thread) {
        if (stop) {
            return false;
        }
        long n = opsDone.get(thread);
        return cfg.opsPerThread() > 0 ? n < cfg.opsPerThread() : System.nanoTime() < deadline;
    }

    private static long tag(int thread, long n) {
        return ((long) (thread + 1) << 40) | (n + 1);
    }

    private void ownWriter(int thread, FileModel m, Ext4File f) throws Exception {
        Random rnd = new Random(cfg.threadSeed(thread));
        byte[] buf = new byte[Op.MAX_WRITE];
        try {
            while (more(thread)) {
                Op op = Op.next(rnd, tag(thread, opsDone.get(thread)), true);
                f = apply(thread, op, m, f, buf);
                opsDone.incrementAndGet(thread);
            }
        } finally {
            liveWriters.decrementAndGet();
        }
    }

    private void sharedWriter(int thread) throws Exception {
        Random rnd = new Random(cfg.threadSeed(thread));
        byte[] buf = new byte[Op.MAX_WRITE];
        try {
            while (more(thread)) {
                Op op = Op.next(rnd, tag(thread, opsDone.get(thread)), true);
                boolean reopen = op.kind() == Op.Kind.REOPEN;
                if (reopen) {
                    reopenLock.writeLock().lock(); // no reader may be inside the file being closed
                }
                try {
                    sharedLock.lock(); // held across the real call: this order is the model's order
                    try {
                        sharedFile = apply(thread, op, sharedModel, sharedFile, buf);
                        for (Window w : windows) {
                            w.snap(sharedModel);
                        }
                    } finally {
                        sharedLock.unlock();
                    }
                } finally {
                    if (reopen) {
                        reopenLock.writeLock().unlock();
                    }
                }
                opsDone.incrementAndGet(thread);
            }
        } finally {
            liveWriters.decrementAndGet();
        }
    }

    /** Applies one operation to the file and then to the model; checks reads and the size. */
    private Ext4File apply(int thread, Op op, FileModel m, Ext4File f, byte[] buf) throws IOException {
        int bs = cfg.blockSize();
        long size = m.size();
        long pos = 0;
        long n = 0;
        report.count(op);
        try {
            switch (op.kind()) {
                case PWRITE -> {
                    n = op.len();
                    pos = Op.position(op.where(), op.raw(), (int) n, size, bs, m.cap);
                    Pattern.fill(op.tag(), pos, buf, 0, (int) n);
                    long w = f.pwrite(pos, buf, 0, (int) n);
                    check(w == n, "pwrite returned " + w);
                    m.write(thread, Op.Kind.PWRITE, pos, buf, (int) n, op.tag());
                    report.bytesWritten.add(n);
                }
                case APPEND -> {
                    pos = size;
                    n = Math.min(op.len(), m.cap - size);
                    if (n > 0) {
                        Pattern.fill(op.tag(), pos, buf, 0, (int) n);
                        long w = f.append(buf, 0, (int) n);
                        check(w == n, "append returned " + w);
                        m.write(thread, Op.Kind.APPEND, pos, buf, (int) n, op.tag());
                        report.bytesWritten.add(n);
                    }
                }
                case TRUNCATE -> {
                    pos = Op.newSize(op.where(), op.raw(), size, bs, m.cap);
                    f.truncate(pos);
                    m.truncate(thread, pos);
                }
                case FALLOCATE -> {
                    n = op.len();
                    pos = Op.position(op.where(), op.raw(), (int) n, size, bs, m.cap);
                    f.fallocate(op.mode(), pos, n);
                    m.fallocate(thread, op.mode(), pos, n);
                }
                case FSYNC -> {
                    f.fsync();
                    m.other(thread, Op.Kind.FSYNC);
                }
                case REOPEN -> {
                    f.close();
                    f = fs.openFile(m.path);
                    m.other(thread, Op.Kind.REOPEN);
                }
                case PREAD -> {
                    n = Math.min(op.len(), 128 << 10);
                    pos = Op.position(op.where(), op.raw(), (int) n, size, bs, m.cap);
                    int got = f.pread(pos, buf, 0, (int) n);
                    long want = pos >= size ? -1 : Math.min(n, size - pos);
                    check(got == want, "pread returned " + got + ", the model says " + want);
                    if (got > 0) {
                        String diff = m.compare(pos, Arrays.copyOf(buf, got), got, bs);
                        check(diff == null, diff);
                    }
                }
            }
            check(f.size() == m.size(), "size after the op is " + f.size() + ", the model says " + m.size());
            recheck(op, f, m, size, pos, n, buf);
        } catch (StressFailure e) {
            throw new StressFailure(where(thread, op, pos, n) + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new StressFailure(where(thread, op, pos, n) + stackTrace(e));
        }
        return f;
    }

    /**
     * Right after an op that should have left zeros (punch, zero range) or that brought bytes back
     * into the file (growing truncate, fallocate, a write past the end), reads that range exactly:
     * stale folios of freed blocks are caught here, before eviction hides them again.
     */
    private void recheck(Op op, Ext4File f, FileModel m, long oldSize, long pos, long n, byte[] buf)
            throws IOException {
        long from;
        long to;
        if (op.kind() == Op.Kind.FALLOCATE && (op.mode() & (Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_ZERO_RANGE)) != 0) {
            from = pos;
            to = Math.max(pos + n, m.size());
        } else if (m.size() > oldSize && op.kind() != Op.Kind.APPEND) {
            from = oldSize; // the new part: holes and zeros, plus what a write put there
            to = m.size();
        } else {
            return;
        }
        from = Math.max(0, from - 1);
        to = Math.min(Math.min(to, m.size()), from + buf.length);
        if (to <= from) {
            return;
        }
        report.rechecks.increment();
        int len = (int) (to - from);
        int got = f.pread(from, buf, 0, len);
        check(got == len, "recheck after the op: pread of " + len + " at " + from + " returned " + got);
        String diff = m.compare(from, Arrays.copyOf(buf, got), got, cfg.blockSize());
        check(diff == null, "recheck after the op: " + diff);
    }

    private String where(int thread, Op op, long pos, long n) {
        return "thread " + thread + " op #" + opsDone.get(thread) + " on " + (thread < cfg.ownWriters() ? "its own file"
                : "the shared file") + ": " + op.describe(pos, n) + "\n  reproduce the op sequences with "
                + cfg.reproduce(opsDone.get(thread) + 1) + "\n  ";
    }

    /** Reads of the shared file without any lock, checked against every state the file passed through meanwhile. */
    private void reader(int reader) throws Exception {
        Random rnd = new Random(cfg.threadSeed(1000 + reader));
        byte[] buf = new byte[256 << 10];
        while (!stop && liveWriters.get() > 0) {
            reopenLock.readLock().lock();
            try {
                Window w;
                Ext4File f;
                sharedLock.lock();
                try {
                    long size = sharedModel.size();
                    int len = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(buf.length) : 1 + rnd.nextInt(16 << 10);
                    int aim = rnd.nextInt(3);
                    long pos;
                    if (aim == 0 && sharedModel.freedLen() > 0) { // where blocks were just freed
                        pos = Math.max(0, sharedModel.freedPos() - rnd.nextInt(4 << 10));
                        len = (int) Math.min(buf.length, sharedModel.freedLen() + rnd.nextInt(8 << 10));
                    } else if (aim == 1) {
                        pos = Math.max(0, size - rnd.nextInt(64 << 10));
                    } else {
                        pos = (rnd.nextLong() & Long.MAX_VALUE) % (size + (8 << 10));
                    }
                    w = new Window(pos, len);
                    w.snap(sharedModel);
                    windows.add(w);
                    f = sharedFile;
                } finally {
                    sharedLock.unlock();
                }
                int n;
                try {
                    n = f.pread(w.pos, buf, 0, w.len);
                } finally {
                    sharedLock.lock();
                    try {
                        windows.remove(w);
                    } finally {
                        sharedLock.unlock();
                    }
                }
                report.unlockedReads.increment();
                report.unlockedReadStates.add(w.snaps.size());
                String err = w.check(buf, n, report);
                if (err != null) {
                    throw new StressFailure("reader " + reader + ": " + err + "\n  reproduce the op sequences with "
                            + cfg.reproduce(0));
                }
            } finally {
                reopenLock.readLock().unlock();
            }
        }
    }

    /** An unlocked read in flight and the states of the shared file it may see: at its start and after each op. */
    private final class Window {
        final long pos;
        final int len;
        final List<long[]> sizes = new ArrayList<>();
        final List<byte[]> snaps = new ArrayList<>();

        Window(long pos, int len) {
            this.pos = pos;
            this.len = len;
        }

        void snap(FileModel m) {
            sizes.add(new long[] {m.size(), m.ops()});
            snaps.add(m.copy(pos, len));
        }

        /**
         * Null when the read is explained by the states: its length lies between the shortest and
         * the longest the states allow (sizes move inside a write, one folio at a time), and every
         * byte equals that byte in some state that had it. A zero where a state had already ended
         * the file (a truncate down racing the read) is counted, not failed: the kernel can return
         * such zeros too (a reader that took the old size copies from the EOF folio while truncate
         * zeroes its tail); ext4j moves the size only after freeing the blocks, so here they can
         * cover the whole truncated range. The figures report how often it happened.
         */
        String check(byte[] actual, int n, StressReport r) {
            int lo = Integer.MAX_VALUE;
            int hi = 0;
            for (byte[] s : snaps) {
                lo = Math.min(lo, s.length);
                hi = Math.max(hi, s.length);
            }
            int got = Math.max(0, n);
            if (got < lo || got > hi || n == 0) {
                return "unlocked pread of " + len + " at " + pos + " returned " + n + "; the states during the read allow "
                        + lo + ".." + hi + " (sizes " + sizesText() + ")";
            }
            boolean zeroPastEof = false;
            for (int i = 0; i < got; i++) {
                boolean ok = false;
                boolean someEnded = false;
                for (byte[] s : snaps) {
                    if (i < s.length) {
                        if (s[i] == actual[i]) {
                            ok = true;
                            break;
                        }
                    } else {
                        someEnded = true;
                    }
                }
                if (!ok && someEnded && actual[i] == 0) {
                    zeroPastEof = true;
                    continue;
                }
                if (!ok) {
                    return explain(actual, got, i);
                }
            }
            if (zeroPastEof) {
                r.zeroPastConcurrentEof.increment();
            }
            return null;
        }

        private String sizesText() {
            StringBuilder sb = new StringBuilder();
            for (long[] s : sizes) {
                sb.append(sb.length() == 0 ? "" : ", ").append(s[0]).append(" after model op #").append(s[1]);
            }
            return sb.toString();
        }

        private String explain(byte[] actual, int got, int i) {
            long at = pos + i;
            StringBuilder sb = new StringBuilder();
            sb.append("unlocked pread of ").append(len).append(" at ").append(pos).append(" returned ").append(got)
                    .append(" bytes; the byte at offset ").append(at).append(" (block ").append(at / cfg.blockSize())
                    .append(" + ").append(at % cfg.blockSize()).append(") matches none of the ").append(snaps.size())
                    .append(" states the file passed through during the read (sizes ").append(sizesText())
                    .append(")\n  actual ").append(FileModel.hex(actual, i, 16));
            Set<String> seen = new LinkedHashSet<>();
            for (byte[] s : snaps) {
                seen.add(i < s.length ? FileModel.hex(s, i, 16) : "(past the end)");
            }
            for (String s : seen) {
                sb.append("\n  state  ").append(s);
            }
            sharedLock.lock();
            try {
                sb.append("\n  actual bytes are ").append(sharedModel.origin(at, actual, i, got));
                sb.append("\n  latest ops deciding offset ").append(at).append(", newest first:");
                for (FileModel.Rec rec : sharedModel.history(at, 8)) {
                    sb.append("\n    ").append(rec);
                }
            } finally {
                sharedLock.unlock();
            }
            return sb.toString();
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new StressFailure(message);
        }
    }

    private void checkBytes(String judge, FileModel m, byte[] got) {
        check(got.length == m.size(), judge + ": " + m.path + " has " + got.length + " bytes, the model " + m.size());
        String diff = m.compare(0, got, got.length, cfg.blockSize());
        if (diff != null) {
            throw new StressFailure(judge + ": " + diff + "\n  reproduce the op sequences with "
                    + cfg.reproduce(maxOps()));
        }
    }

    private long maxOps() {
        long max = 0;
        for (int i = 0; i < opsDone.length(); i++) {
            max = Math.max(max, opsDone.get(i));
        }
        return max;
    }

    /** The op logs of every file, for a failed run (written next to the figures). */
    String opLogs() {
        StringBuilder sb = new StringBuilder();
        sharedLock.lock();
        try {
            for (FileModel m : models) {
                sb.append(m.logText()).append('\n');
            }
        } finally {
            sharedLock.unlock();
        }
        return sb.toString();
    }

    private String failureReport() {
        StringBuilder sb = new StringBuilder("stress run failed: ").append(report.header()).append('\n');
        sb.append("ops done per writer thread: ");
        for (int i = 0; i < opsDone.length(); i++) {
            sb.append(i == 0 ? "" : ", ").append(opsDone.get(i));
        }
        sb.append("\nreproduce the op sequences with ").append(cfg.reproduce(maxOps()));
        synchronized (failures) {
            for (String f : failures) {
                sb.append("\n--- ").append(f);
            }
        }
        return sb.toString();
    }

    private static String stackTrace(Throwable e) {
        StringWriter w = new StringWriter();
        e.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    private static String threadDump() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            String name = e.getKey().getName();
            if (!name.startsWith("stress-") && !name.startsWith("ext4j-")) {
                continue;
            }
            sb.append('"').append(name).append("\" ").append(e.getKey().getState()).append('\n');
            for (StackTraceElement s : e.getValue()) {
                sb.append("    at ").append(s).append('\n');
            }
        }
        return sb.toString();
    }
}
