package org.ext4j.txn;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.FileSystemErrorException;

/**
 * What every journal keeps the same way, with or without jbd2: the hook that runs before the first
 * handle, the operations in flight with their undo records ({@link OperationUndo}), each thread's
 * count of changes, the abort's cause, and a handle's bookkeeping (credits checked against the
 * buffers it dirties, write access and changes recorded for its operation).
 */
public abstract class JournalBase implements Journal {
    /** What runs before the first handle; it may start handles of its own. */
    public interface BeforeFirstHandle {
        void run() throws IOException;
    }

    protected final BufferCache cache;
    private final BeforeFirstHandle beforeFirst;
    private final ReentrantLock firstLock = new ReentrantLock();
    private volatile boolean started;
    /** Guarded by {@link #firstLock}: the hook is running on the lock's holder. */
    private boolean inHook;
    protected volatile Throwable aborted;
    private final ThreadLocal<long[]> changes = ThreadLocal.withInitial(() -> new long[1]);
    private final ThreadLocal<OperationUndo> current = new ThreadLocal<>();
    /** The operations in flight: what an abort takes back. */
    protected final Set<OperationUndo> runningOps = ConcurrentHashMap.newKeySet();

    protected JournalBase(BufferCache cache, BeforeFirstHandle beforeFirst) {
        this.cache = cache;
        this.beforeFirst = beforeFirst;
    }

    /** Checks a handle's credits and the abort, and runs the first-handle hook once (every other first handle waits for it). */
    protected final void beforeHandle(int credits) throws IOException {
        if (credits <= 0) {
            throw new IllegalArgumentException("a handle needs at least one credit, asked for " + credits);
        }
        checkAborted();
        if (!started) {
            firstLock.lock();
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
    }

    /** Whether a handle has ever started (the session changed something). */
    protected final boolean started() {
        return started;
    }

    protected final void checkAborted() throws FileSystemErrorException {
        Throwable cause = aborted;
        if (cause != null) {
            throw new FileSystemErrorException(cause);
        }
    }

    @Override
    public void beginOperation() {
        OperationUndo op = new OperationUndo();
        current.set(op);
        runningOps.add(op);
    }

    /** Ends the calling thread's operation record; the journal decides what to write. */
    protected final void operationEnded() {
        OperationUndo op = current.get();
        current.remove();
        if (op != null) {
            runningOps.remove(op);
        }
    }

    /** Takes back what the operations in flight changed. */
    protected final void takeBackRunning() {
        for (OperationUndo op : runningOps) {
            op.takeBack(cache);
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

    /** A handle's bookkeeping; {@link #dirtied} is what the journal adds to marking a buffer dirty. */
    protected abstract class BaseHandle implements Handle {
        private final int credits;
        private final Set<Long> dirtiedBlocks = new HashSet<>();
        private boolean closed;

        protected BaseHandle(int credits) {
            this.credits = credits;
        }

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
            if (dirtiedBlocks.add(b.block()) && dirtiedBlocks.size() > credits) {
                // the estimate is a contract with jbd2's log space: catch overruns now
                throw new IllegalStateException("handle dirtied more buffers than its " + credits + " credits");
            }
            changes.get()[0]++;
            OperationUndo op = current.get();
            if (op != null) {
                op.changed(b);
            }
            cache.markDirty(b);
            dirtied(b);
        }

        /** After {@code b} was marked dirty in the cache. */
        protected abstract void dirtied(MetaBuffer b) throws IOException;

        protected final void check() throws IOException {
            if (closed) {
                throw new IllegalStateException("handle used after close");
            }
            checkAborted();
        }

        /** Marks the handle closed; false if it already was. */
        protected final boolean markClosed() {
            if (closed) {
                return false;
            }
            closed = true;
            return true;
        }
    }
}
