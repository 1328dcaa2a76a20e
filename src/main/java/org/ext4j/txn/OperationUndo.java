package org.ext4j.txn;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;

/**
 * One thread's operation in flight, as a journal keeps it so that an abort can take back exactly
 * what the operation changed: the buffers it changed and, for each that already held changes the
 * disk has not got yet, a copy of those bytes before the operation's first change (jbd2's frozen
 * data). Shared by {@link NoJournal} and the jbd2 journal.
 */
public final class OperationUndo {
    private final Set<MetaBuffer> touched = new HashSet<>();
    /** Bytes of completed operations not yet written, for buffers this operation changed. */
    private final Map<MetaBuffer, byte[]> before = new HashMap<>();

    /** Before the first change of {@code b}: keeps a copy if the disk does not hold its bytes. */
    public synchronized void access(MetaBuffer b, BufferCache cache) {
        if (touched.add(b) && cache.isDirty(b)) {
            before.put(b, b.snapshot());
        }
    }

    /** A buffer changed without write access first (a block zeroed for a new use). */
    public synchronized void changed(MetaBuffer b) {
        touched.add(b);
    }

    /** Takes this operation's changes back out of the cache. */
    public synchronized void takeBack(BufferCache cache) {
        for (MetaBuffer b : touched) {
            byte[] old = before.get(b);
            if (old == null) {
                cache.forget(b.block()); // clean before: the disk holds the bytes to go back to
            } else {
                b.lock().lock();
                try {
                    System.arraycopy(old, 0, b.data(), 0, old.length);
                } finally {
                    b.lock().unlock();
                }
            }
        }
    }
}
