package org.ext4j.txn;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.FileSystemErrorException;

/**
 * The no-journal mode ({@code ext4_journal_*} with no {@code s_journal}): a handle marks buffers dirty
 * in the cache, and commit writes every dirty buffer and flushes the device. Ordering between data
 * and metadata is the caller's: write data first, then commit metadata that points at it.
 *
 * <p><b>Operations and write-out.</b> Dirty buffers stay in the cache until {@link #commit},
 * {@link #writeOut}, or the end of an operation that finds {@value #WRITE_OUT_BUFFERS} buffers
 * dirty or {@value #WRITE_OUT_MILLIS} ms gone since the last write-out: completed operations are
 * written out together, as jbd2 commits one transaction of many handles, instead of one by one.
 * An operation ({@link #beginOperation} .. {@link #endOperation}) keeps, for each buffer it takes
 * write access to that holds completed but unwritten changes, a copy of those bytes (jbd2's frozen
 * data), so that an {@link #abort} can take back exactly what running operations changed: their
 * buffers get those copies back, or, where they were clean before, are dropped to be read from
 * the disk again; then what completed operations left is written, and nothing after. Operations
 * of several threads that change one buffer at once are not told apart (their changes are kept or
 * taken back together). Commit, write-out and abort exclude each other.
 *
 * <p>An optional hook runs once, before the first handle starts: the file system marks itself in
 * use on disk there, so that a session that never changes anything never writes.
 */
public final class NoJournal implements Journal {
    /** What runs before the first handle; it may start handles of its own. */
    public interface BeforeFirstHandle {
        void run() throws IOException;
    }

    private final BufferCache cache;
    private final BlockDevice device;
    private final BeforeFirstHandle beforeFirst;
    private final ReentrantLock firstLock = new ReentrantLock();
    private volatile boolean started;
    /** Guarded by {@link #firstLock}: the hook is running on the lock's holder. */
    private boolean inHook;
    private volatile Throwable aborted;
    private final ThreadLocal<long[]> changes = ThreadLocal.withInitial(() -> new long[1]);
    /** Dirty buffers at which the end of an operation writes everything out. */
    static final int WRITE_OUT_BUFFERS = 2048;
    /** Time since the last write-out after which the end of an operation writes everything out. */
    static final long WRITE_OUT_MILLIS = 5000;
    private final ThreadLocal<OperationUndo> current = new ThreadLocal<>();
    private final java.util.Set<OperationUndo> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile long lastWriteOut = System.nanoTime();

    public NoJournal(BufferCache cache, BlockDevice device) {
        this(cache, device, () -> { });
    }

    public NoJournal(BufferCache cache, BlockDevice device, BeforeFirstHandle beforeFirst) {
        this.cache = cache;
        this.device = device;
        this.beforeFirst = beforeFirst;
    }

    @Override
    public Handle start(int credits) throws IOException {
        if (credits <= 0) {
            throw new IllegalArgumentException("a handle needs at least one credit, asked for " + credits);
        }
        checkAborted();
        if (!started) {
            firstLock.lock(); // every other first handle waits until the hook is done
            try {
                if (!started && !inHook) {
                    inHook = true;
                    try {
                        beforeFirst.run();
                        started = true;
                    } finally {
                        inHook = false;
                    }
                }
            } finally {
                firstLock.unlock();
            }
        }
        return new Handle() {
            private final java.util.Set<Long> dirtied = new java.util.HashSet<>();
            private boolean closed;

            @Override
            public void getWriteAccess(MetaBuffer b) throws IOException {
                check();
                OperationUndo op = current.get();
                if (op != null) {
                    op.access(b, cache);
                }
            }

            @Override
            public void markDirty(MetaBuffer b) throws IOException {
                check();
                if (dirtied.add(b.block()) && dirtied.size() > credits) {
                    // the estimate is a contract with jbd2's log space: catch overruns now
                    throw new IllegalStateException("handle dirtied more buffers than its " + credits + " credits");
                }
                changes.get()[0]++;
                OperationUndo op = current.get();
                if (op != null) {
                    op.changed(b);
                }
                cache.markDirty(b);
            }

            private void check() throws IOException {
                if (closed) {
                    throw new IllegalStateException("handle used after close");
                }
                checkAborted();
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    private void checkAborted() throws FileSystemErrorException {
        Throwable cause = aborted;
        if (cause != null) {
            throw new FileSystemErrorException(cause);
        }
    }

    @Override
    public synchronized void commit() throws IOException {
        checkAborted();
        cache.writeDirty();
        device.flush();
        lastWriteOut = System.nanoTime();
    }

    @Override
    public synchronized void writeOut() throws IOException {
        checkAborted();
        cache.writeDirty();
        lastWriteOut = System.nanoTime();
    }

    @Override
    public void beginOperation() {
        OperationUndo op = new OperationUndo();
        current.set(op);
        running.add(op);
    }

    @Override
    public void endOperation() throws IOException {
        OperationUndo op = current.get();
        current.remove();
        if (op != null) {
            running.remove(op);
        }
        if (aborted == null && (cache.dirtyCount() >= WRITE_OUT_BUFFERS
                || (System.nanoTime() - lastWriteOut) / 1_000_000 >= WRITE_OUT_MILLIS)) {
            writeOut();
        }
    }

    @Override
    public synchronized void writeOutIfIdle(long maxAgeMillis) throws IOException {
        if (aborted == null && running.isEmpty() && cache.dirtyCount() > 0
                && (System.nanoTime() - lastWriteOut) / 1_000_000 >= maxAgeMillis) {
            writeOut();
        }
    }

    @Override
    public synchronized void abort(Throwable cause) {
        if (aborted != null) {
            return;
        }
        aborted = cause;
        for (OperationUndo op : running) {
            op.takeBack(cache);
        }
        try {
            cache.writeDirty(); // what completed operations left
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
            cache.discardDirty();
        }
    }

    @Override
    public Throwable abortCause() {
        return aborted;
    }

    @Override
    public long changesByCurrentThread() {
        return changes.get()[0];
    }
}
