package org.ext4j.txn;

import java.io.IOException;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;

/**
 * The no-journal mode ({@code ext4_journal_*} with no {@code s_journal}): a handle marks buffers dirty
 * in the cache, and commit writes every dirty buffer and flushes the device. Ordering between data
 * and metadata is the caller's: write data first, then commit metadata that points at it.
 */
public final class NoJournal implements Journal {
    private final BufferCache cache;
    private final BlockDevice device;

    public NoJournal(BufferCache cache, BlockDevice device) {
        this.cache = cache;
        this.device = device;
    }

    @Override
    public Handle start(int credits) {
        if (credits <= 0) {
            throw new IllegalArgumentException("a handle needs at least one credit, asked for " + credits);
        }
        return new Handle() {
            private final java.util.Set<Long> dirtied = new java.util.HashSet<>();
            private boolean closed;

            @Override
            public void getWriteAccess(MetaBuffer b) {
                check();
            }

            @Override
            public void markDirty(MetaBuffer b) {
                check();
                if (dirtied.add(b.block()) && dirtied.size() > credits) {
                    // the estimate is a contract with jbd2's log space: catch overruns now
                    throw new IllegalStateException("handle dirtied more buffers than its " + credits + " credits");
                }
                cache.markDirty(b);
            }

            private void check() {
                if (closed) {
                    throw new IllegalStateException("handle used after close");
                }
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    @Override
    public void commit() throws IOException {
        cache.writeDirty();
        device.flush();
    }
}
