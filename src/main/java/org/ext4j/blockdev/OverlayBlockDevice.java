package org.ext4j.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A device whose writes stay in memory over another that is never written: what a read-only open
 * replays a journal onto (the kernel's {@code norecovery}-less read-only mount replays into its
 * buffer cache; ext4j keeps the replayed blocks here). Reads see the written blocks, the rest comes
 * from the base; a write is kept per block, merged over the base's bytes. It reports itself
 * read-only, so no write session starts on it.
 */
public final class OverlayBlockDevice implements BlockDevice {
    private final BlockDevice base;
    private final int blockSize;
    private final Map<Long, byte[]> blocks = new HashMap<>();

    public OverlayBlockDevice(BlockDevice base, int blockSize) {
        this.base = base;
        this.blockSize = blockSize;
    }

    @Override
    public long size() throws IOException {
        return base.size();
    }

    @Override
    public synchronized int read(long offset, ByteBuffer dst) throws IOException {
        if (blocks.isEmpty()) {
            return base.read(offset, dst);
        }
        int total = 0;
        while (dst.hasRemaining()) {
            long b = (offset + total) / blockSize;
            int in = (int) ((offset + total) % blockSize);
            int n = Math.min(dst.remaining(), blockSize - in);
            byte[] kept = blocks.get(b);
            if (kept != null) {
                dst.put(kept, in, n);
            } else {
                ByteBuffer part = dst.slice();
                part.limit(n);
                int got = base.read(offset + total, part);
                dst.position(dst.position() + got);
                if (got < n) {
                    return total + got;
                }
            }
            total += n;
        }
        return total;
    }

    /** Keeps the bytes in memory, block by block, over the base's. */
    @Override
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            long b = offset / blockSize;
            int in = (int) (offset % blockSize);
            int n = Math.min(src.remaining(), blockSize - in);
            byte[] kept = blocks.get(b);
            if (kept == null) {
                kept = new byte[blockSize];
                base.read(b * blockSize, ByteBuffer.wrap(kept));
                blocks.put(b, kept);
            }
            src.get(kept, in, n);
            offset += n;
        }
    }

    /** Blocks held in memory. */
    public synchronized int blocksKept() {
        return blocks.size();
    }

    /** The blocks held in memory, by block number: what a caller copies to the base to make them real. */
    public synchronized java.util.SortedMap<Long, byte[]> keptBlocks() {
        java.util.SortedMap<Long, byte[]> copy = new java.util.TreeMap<>();
        blocks.forEach((b, bytes) -> copy.put(b, bytes.clone()));
        return copy;
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public void close() throws IOException {
        base.close();
    }

    @Override
    public String toString() {
        return base + " (journal replayed in memory)";
    }
}
