package org.ext4j.buffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.blockdev.BlockDevice;

/**
 * The metadata block cache ({@code fs/buffer.c}'s role for ext4 metadata): one {@link MetaBuffer}
 * per cached block, clean buffers in LRU order within a memory bound, dirty buffers pinned until
 * {@link #writeDirty()} writes them. Block numbers are trusted here: range checks belong to the
 * volume above, which knows the file system's size.
 *
 * <p>Locking: the cache's own monitor guards the map and the dirty flags only; it is never held
 * during device I/O except in {@link #writeDirty()}, which runs with no other writer active (at
 * sync and close). Two threads missing on one block may both read it; the first to insert wins
 * and the other's copy is dropped, so every caller sees one buffer per block.
 */
public final class BufferCache {
    private final BlockDevice device;
    private final int blockSize;
    private final int maxClean;
    private final LinkedHashMap<Long, MetaBuffer> buffers = new LinkedHashMap<>(256, 0.75f, true);
    /** The dirty buffers, so that writing them out costs what they are, not what the cache holds. */
    private final java.util.Set<MetaBuffer> dirtySet = new java.util.HashSet<>();
    private int dirtyCount;

    public BufferCache(BlockDevice device, int blockSize, long maxBytes) {
        this.device = device;
        this.blockSize = blockSize;
        this.maxClean = (int) Math.max(16, maxBytes / blockSize);
    }

    public int blockSize() {
        return blockSize;
    }

    /** The buffer of {@code block}, read from the device on a miss; null if the device ends first. */
    public MetaBuffer get(long block) throws IOException {
        synchronized (this) {
            MetaBuffer b = buffers.get(block);
            if (b != null) {
                return b;
            }
        }
        byte[] data = new byte[blockSize];
        int n = device.read(block * blockSize, ByteBuffer.wrap(data));
        if (n < blockSize) {
            return null;
        }
        return insert(new MetaBuffer(block, data));
    }

    /** A buffer for a newly allocated block: zeroed, not read (the kernel's {@code sb_getblk} + memset). */
    public MetaBuffer getZeroed(long block) {
        MetaBuffer fresh = new MetaBuffer(block, new byte[blockSize]);
        synchronized (this) {
            MetaBuffer old = buffers.get(block);
            if (old != null) {
                old.lock().lock();
                try {
                    old.version++;
                    java.util.Arrays.fill(old.data(), (byte) 0);
                } finally {
                    old.lock().unlock();
                }
                return old;
            }
            buffers.put(block, fresh);
            evictClean();
            return fresh;
        }
    }

    private synchronized MetaBuffer insert(MetaBuffer b) {
        MetaBuffer raced = buffers.putIfAbsent(b.block(), b);
        if (raced != null) {
            return raced;
        }
        evictClean();
        return b;
    }

    private void evictClean() {
        int clean = buffers.size() - dirtyCount;
        if (clean <= maxClean) {
            return;
        }
        Iterator<MetaBuffer> it = buffers.values().iterator();
        while (clean > maxClean && it.hasNext()) {
            MetaBuffer b = it.next();
            if (!b.dirty && !b.lock().isLocked()) {
                it.remove();
                clean--;
            }
        }
    }

    public synchronized void markDirty(MetaBuffer b) {
        MetaBuffer old = buffers.get(b.block());
        if (old != b) {
            buffers.put(b.block(), b);
            if (old != null && old.dirty) { // replaced: its bytes are not written
                old.dirty = false;
                dirtyCount--;
                dirtySet.remove(old);
            }
        }
        b.dirtyGeneration++;
        b.version++;
        if (!b.dirty) {
            b.dirty = true;
            dirtyCount++;
            dirtySet.add(b);
        }
    }

    /** Drops a block from the cache (it was freed): its pending write, if any, is discarded. */
    public synchronized void forget(long block) {
        MetaBuffer b = buffers.remove(block);
        if (b != null && b.dirty) {
            b.dirty = false;
            dirtyCount--;
            dirtySet.remove(b);
        }
    }

    /** Drops blocks {@code start .. start + length - 1} from the cache, as {@link #forget(long)} each. */
    public synchronized void forget(long start, long length) {
        if (length > buffers.size()) {
            List<Long> gone = new ArrayList<>();
            for (Long b : buffers.keySet()) {
                if (b >= start && b - start < length) {
                    gone.add(b);
                }
            }
            gone.forEach(this::forget);
            return;
        }
        for (long b = start; b < start + length; b++) {
            forget(b);
        }
    }

    /**
     * Drops every dirty buffer without writing it, so the next read of those blocks sees the disk
     * again: what an aborted journal does to a transaction that never committed. Returns how many
     * were dropped.
     */
    public synchronized int discardDirty() {
        int n = 0;
        Iterator<MetaBuffer> it = buffers.values().iterator();
        while (it.hasNext()) {
            MetaBuffer b = it.next();
            if (b.dirty) {
                b.dirty = false;
                it.remove();
                n++;
            }
        }
        dirtyCount = 0;
        dirtySet.clear();
        return n;
    }

    /** Whether {@code b} holds bytes the device does not have yet. */
    public synchronized boolean isDirty(MetaBuffer b) {
        return b.dirty;
    }

    public synchronized int dirtyCount() {
        return dirtyCount;
    }

    /**
     * A journal's commit takes {@code b}'s bytes: returns them with the dirty generation they are
     * of, or null when {@code b} is no longer the cached, dirty buffer of its block (it was freed
     * or taken back since it joined the transaction).
     */
    public Frozen freeze(MetaBuffer b) {
        b.lock().lock();
        try {
            synchronized (this) {
                if (!b.dirty || buffers.get(b.block()) != b) {
                    return null;
                }
                return new Frozen(b, b.dirtyGeneration, b.data().clone());
            }
        } finally {
            b.lock().unlock();
        }
    }

    /** A buffer's bytes as a journal commit took them. */
    public record Frozen(MetaBuffer buffer, long generation, byte[] bytes) {
        public long block() {
            return buffer.block();
        }
    }

    /** {@code f}'s bytes reached their home block: the buffer is clean unless changed since. */
    public synchronized void written(Frozen f) {
        MetaBuffer b = f.buffer();
        if (b.dirty && b.dirtyGeneration == f.generation()) {
            b.dirty = false;
            dirtyCount--;
            dirtySet.remove(b);
        }
    }

    /** Drops {@code b} if it is still the cached buffer of its block (its pending write discarded). */
    public synchronized void forget(MetaBuffer b) {
        if (buffers.get(b.block()) == b) {
            forget(b.block());
        }
    }

    /** Writes every dirty buffer in block order and marks it clean. */
    public void writeDirty() throws IOException {
        List<MetaBuffer> dirty = new ArrayList<>();
        synchronized (this) {
            if (dirtyCount == 0) {
                return;
            }
            dirty.addAll(dirtySet);
        }
        dirty.sort((a, b) -> Long.compare(a.block(), b.block()));
        for (MetaBuffer b : dirty) {
            long generation;
            byte[] bytes;
            b.lock().lock();
            try {
                synchronized (this) {
                    generation = b.dirtyGeneration;
                }
                bytes = b.data().clone();
            } finally {
                b.lock().unlock();
            }
            device.write(b.block() * blockSize, ByteBuffer.wrap(bytes));
            synchronized (this) {
                // redirtied while we wrote: keep it dirty so the newer bytes are written too
                if (b.dirty && b.dirtyGeneration == generation) {
                    b.dirty = false;
                    dirtyCount--;
                    dirtySet.remove(b);
                }
            }
        }
        synchronized (this) {
            evictClean();
        }
    }

    /** Cached buffers, for tests and statistics. */
    public synchronized Map<Long, Boolean> dirtyMap() {
        Map<Long, Boolean> m = new LinkedHashMap<>();
        buffers.forEach((k, v) -> m.put(k, v.dirty));
        return m;
    }
}
