package org.ext4j.txn;

import java.io.IOException;

import org.ext4j.buffer.MetaBuffer;

/**
 * A transaction handle: every metadata change goes through one, as in {@code fs/ext4/ext4_jbd2.c}.
 * The protocol is the kernel's: {@link Journal#start} a handle with a credit estimate,
 * {@link #getWriteAccess} before changing a buffer's bytes, {@link #markDirty} after (with the
 * structure's checksum already set), {@link #close()} (the kernel's {@code ext4_journal_stop}).
 * With no journal the calls only track dirtiness; with jbd2 they will log the buffers, without any
 * caller changing.
 */
public interface Handle extends AutoCloseable {

    /** Declares the intent to modify {@code b} ({@code ext4_journal_get_write_access}). */
    void getWriteAccess(MetaBuffer b) throws IOException;

    /** Records that {@code b} was modified ({@code ext4_handle_dirty_metadata}). */
    void markDirty(MetaBuffer b) throws IOException;

    /**
     * Blocks {@code start .. start + count - 1} were freed in this handle ({@code ext4_free_blocks}
     * with {@code EXT4_FREE_BLOCKS_FORGET}): a journal revokes its logged copies of them, so a replay
     * never writes old metadata over what the blocks hold next, and drops their buffers from the
     * transaction. Nothing to do without a journal.
     */
    default void blocksFreed(long start, long count) throws IOException {
    }

    /**
     * Runs {@code r} once the transaction this handle belongs to is durable ({@code
     * ext4_journal_callback_add}): the allocator hands out blocks this handle freed only then, so
     * new data never lands in blocks that a crash would give back to their old owner. Without a
     * journal, at once.
     */
    default void afterCommit(Runnable r) {
        r.run();
    }

    /** Ends the handle ({@code ext4_journal_stop}). */
    @Override
    void close() throws IOException;
}
