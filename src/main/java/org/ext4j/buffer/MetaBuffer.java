package org.ext4j.buffer;

import java.util.concurrent.locks.ReentrantLock;

/**
 * One cached metadata block, the counterpart of a kernel buffer head: the block's bytes, whether
 * they differ from the disk, and a lock that serialises modifications of the bytes.
 *
 * <p>Readers that only decode may copy {@link #snapshot()} without the lock; a writer takes
 * {@link #lock()}, changes {@link #data()} in place (setting the structure's checksum before it
 * lets go, as the kernel's {@code *_csum_set} helpers do) and has its transaction handle mark the
 * buffer dirty. A dirty buffer is pinned in the cache until it is written.
 */
public final class MetaBuffer {
    private final long block;
    private final byte[] data;
    private final ReentrantLock lock = new ReentrantLock();
    /** Guarded by the cache's monitor. */
    boolean dirty;
    /** Bumped by every markDirty, guarded by the cache's monitor: a write-out clears dirty only if unchanged. */
    long dirtyGeneration;

    MetaBuffer(long block, byte[] data) {
        this.block = block;
        this.data = data;
    }

    public long block() {
        return block;
    }

    /** The live bytes: modify only while holding {@link #lock()}. */
    public byte[] data() {
        return data;
    }

    /** A consistent copy of the bytes. */
    public byte[] snapshot() {
        lock.lock();
        try {
            return data.clone();
        } finally {
            lock.unlock();
        }
    }

    public ReentrantLock lock() {
        return lock;
    }
}
