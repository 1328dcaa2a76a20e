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
 * <p>Dirty buffers stay in the cache until {@link #commit} or {@link #writeOut}, so an
 * {@link #abort} can still throw away what an unfinished operation changed: the image keeps the
 * state of the last write-out. Commit, write-out and abort exclude each other.
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
            }

            @Override
            public void markDirty(MetaBuffer b) throws IOException {
                check();
                if (dirtied.add(b.block()) && dirtied.size() > credits) {
                    // the estimate is a contract with jbd2's log space: catch overruns now
                    throw new IllegalStateException("handle dirtied more buffers than its " + credits + " credits");
                }
                changes.get()[0]++;
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
    }

    @Override
    public synchronized void writeOut() throws IOException {
        checkAborted();
        cache.writeDirty();
    }

    @Override
    public synchronized void abort(Throwable cause) {
        if (aborted == null) {
            aborted = cause;
        }
        cache.discardDirty();
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
