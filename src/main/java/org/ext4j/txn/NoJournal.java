package org.ext4j.txn;

import java.io.IOException;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;

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
public final class NoJournal extends JournalBase {
    private final BlockDevice device;
    /** Dirty buffers at which the end of an operation writes everything out. */
    static final int WRITE_OUT_BUFFERS = 2048;
    /** Time since the last write-out after which the end of an operation writes everything out. */
    static final long WRITE_OUT_MILLIS = 5000;
    private volatile long lastWriteOut = System.nanoTime();

    public NoJournal(BufferCache cache, BlockDevice device) {
        this(cache, device, () -> { });
    }

    public NoJournal(BufferCache cache, BlockDevice device, BeforeFirstHandle beforeFirst) {
        super(cache, beforeFirst);
        this.device = device;
    }

    @Override
    public Handle start(int credits) throws IOException {
        beforeHandle(credits);
        return new BaseHandle(credits) {
            @Override
            protected void dirtied(MetaBuffer b) {
            }

            @Override
            public void close() {
                markClosed();
            }
        };
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
    public void endOperation() throws IOException {
        operationEnded();
        if (aborted == null && (cache.dirtyCount() >= WRITE_OUT_BUFFERS
                || (System.nanoTime() - lastWriteOut) / 1_000_000 >= WRITE_OUT_MILLIS)) {
            writeOut();
        }
    }

    @Override
    public synchronized void writeOutIfIdle(long maxAgeMillis) throws IOException {
        if (aborted == null && runningOps.isEmpty() && cache.dirtyCount() > 0
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
        takeBackRunning();
        try {
            cache.writeDirty(); // what completed operations left
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
            cache.discardDirty();
        }
    }
}
