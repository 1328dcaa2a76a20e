package org.ext4j.txn;

import java.io.IOException;

/**
 * Where handles come from: no journal now, jbd2 later ({@code ext4_journal_start_sb}).
 *
 * <p>Besides handles and commits, a journal can be aborted ({@code jbd2_journal_abort}): changes
 * that never reached the disk are thrown away, and every later handle, change or commit is
 * refused. The file system does that when it finds damage after an operation has begun changing
 * metadata, so the half-done operation never reaches the image.
 */
public interface Journal {

    /** Starts a handle expected to dirty at most {@code credits} buffers. */
    Handle start(int credits) throws IOException;

    /**
     * The end of the session ({@code jbd2_journal_destroy}): everything durable and, for a jbd2
     * journal, written home and the log left empty, so the journal needs no recovery.
     */
    default void close() throws IOException {
        commit();
    }

    /**
     * {@code ext4_should_retry_alloc}: an allocation found no room while blocks freed in the running
     * transaction wait for its commit; commits it if the calling thread holds no handle (a commit
     * would wait for it) and returns whether it did, so the caller may try again.
     */
    default boolean commitForSpace() throws IOException {
        return false;
    }

    /** Makes everything committed so far durable on the device ({@code jbd2_journal_force_commit} / sync). */
    void commit() throws IOException;

    /**
     * Hands what handles changed so far to the device without waiting for it to be durable: an
     * operation boundary, after which an {@link #abort} throws away only later changes.
     */
    void writeOut() throws IOException;

    /**
     * The calling thread starts an operation: until {@link #endOperation}, what its handles change
     * belongs to it, and an {@link #abort} meanwhile takes exactly that back.
     */
    void beginOperation();

    /**
     * The calling thread's operation is complete: its changes now belong to what an abort keeps,
     * and are written out with the others when enough has gathered or enough time has passed
     * since the last write-out (jbd2's commit of a transaction of many operations).
     */
    void endOperation() throws IOException;

    /**
     * Writes out what completed operations left when no operation is running and the last
     * write-out is at least {@code maxAgeMillis} old (the background flusher's metadata pass).
     */
    void writeOutIfIdle(long maxAgeMillis) throws IOException;

    /**
     * Throws away what operations still running changed, writes out what completed ones left,
     * and refuses all later work with {@code cause} (the first abort's cause wins). Waits for a
     * commit or write-out in progress.
     */
    void abort(Throwable cause);

    /** The first abort's cause, or null while the journal works. */
    Throwable abortCause();

    /**
     * How many buffer changes ({@link Handle#markDirty}) the calling thread has made through this
     * journal so far: an operation compares it before and after to know whether it changed anything.
     */
    long changesByCurrentThread();
}
