package org.ext4j.txn;

import java.io.IOException;

/** Where handles come from: no journal now, jbd2 later ({@code ext4_journal_start_sb}). */
public interface Journal {

    /** Starts a handle expected to dirty at most {@code credits} buffers. */
    Handle start(int credits) throws IOException;

    /** Makes everything committed so far durable on the device ({@code jbd2_journal_force_commit} / sync). */
    void commit() throws IOException;
}
