package org.ext4j.fuzz;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.ext4j.blockdev.BlockDevice;

/**
 * A read-only device that is a base image with one range replaced, without copying the image: what
 * lets a fuzz target open a whole file system thousands of times a second with one structure
 * replaced by the fuzzer's bytes.
 */
final class OverlayDevice implements BlockDevice {
    private final byte[] base;
    private final long at;
    private final byte[] patch;

    OverlayDevice(byte[] base, long at, byte[] patch) {
        this.base = base;
        this.at = at;
        this.patch = patch;
    }

    @Override
    public long size() {
        return base.length;
    }

    @Override
    public int read(long offset, ByteBuffer dst) {
        if (offset >= base.length) {
            return -1;
        }
        int n = (int) Math.min(dst.remaining(), base.length - offset);
        int start = dst.position();
        dst.put(base, (int) offset, n);
        long from = Math.max(offset, at);
        long to = Math.min(offset + n, at + patch.length);
        for (long p = from; p < to; p++) {
            dst.put(start + (int) (p - offset), patch[(int) (p - at)]);
        }
        return n;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        throw new IOException("read-only overlay");
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public void close() {
    }
}
