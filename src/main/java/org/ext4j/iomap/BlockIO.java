package org.ext4j.iomap;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Data I/O on the device underneath, by byte address: what iomap submits bios to. */
public interface BlockIO {
    void read(long addr, byte[] dst, int off, int len) throws IOException;

    void write(long addr, byte[] src, int off, int len) throws IOException;

    /**
     * Writes {@code src}'s remaining bytes at {@code addr} (writeback's bios, from a direct buffer).
     * By default through a heap copy and {@link #write(long, byte[], int, int)}; a device that can take
     * the buffer as it is should, so the bytes are not copied again.
     */
    default void write(long addr, ByteBuffer src) throws IOException {
        byte[] b = new byte[src.remaining()];
        src.get(b);
        write(addr, b, 0, b.length);
    }
}
