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
    /** Bumped (under the cache's monitor) whenever the bytes may have changed: markDirty, zeroing. */
    volatile long version;
    /** What a reader verified of the bytes at a version ({@code buffer_verified}), or null. */
    private volatile Stamp stamp;

    private record Stamp(long version, Object what, Object value) {
    }

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

    /** A consistent copy of {@code len} bytes at {@code off}. */
    public byte[] copy(int off, int len) {
        lock.lock();
        try {
            return java.util.Arrays.copyOfRange(data, off, off + len);
        } finally {
            lock.unlock();
        }
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

    /** The bytes' version: read it before {@link #snapshot()} and pass it to {@link #setVerified}. */
    public long version() {
        return version;
    }

    /**
     * What {@link #setVerified} recorded for {@code what} (a key naming the check and its
     * parameters), while the bytes are unchanged since; null otherwise. The kernel's
     * {@code buffer_verified}: a block's checks run once per change, not once per read. Sound only
     * where the bytes change under a lock its readers hold too (a directory's blocks under the
     * directory's lock), since a writer marks the buffer dirty after changing it.
     */
    public Object verified(Object what) {
        Stamp s = stamp;
        return s != null && s.version == version && s.what.equals(what) ? s.value : null;
    }

    /** Records that the bytes as of {@code versionRead} passed the check {@code what}, with its result. */
    public void setVerified(Object what, long versionRead, Object value) {
        if (version == versionRead) {
            stamp = new Stamp(versionRead, what, value);
        }
    }

    public ReentrantLock lock() {
        return lock;
    }
}
