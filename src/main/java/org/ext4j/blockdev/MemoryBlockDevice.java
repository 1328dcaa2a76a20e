package org.ext4j.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;

/** An in-memory device for tests and golden-byte fixtures. Thread-safe by synchronisation. */
public final class MemoryBlockDevice implements BlockDevice {
    private final byte[] data;
    private final boolean readOnly;

    public MemoryBlockDevice(byte[] data, boolean readOnly) {
        this.data = data;
        this.readOnly = readOnly;
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public synchronized int read(long offset, ByteBuffer dst) {
        if (offset >= data.length) {
            return 0;
        }
        int n = (int) Math.min(dst.remaining(), data.length - offset);
        dst.put(data, (int) offset, n);
        return n;
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        if (readOnly) {
            throw new IOException("memory device is read-only");
        }
        if (offset + src.remaining() > data.length) {
            throw new IOException("write past end of memory device");
        }
        src.get(data, (int) offset, src.remaining());
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() {
    }
}
