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

    /** Ends the handle ({@code ext4_journal_stop}). */
    @Override
    void close() throws IOException;
}
