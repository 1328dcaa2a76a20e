package org.ext4j.iomap;

import java.io.IOException;

/** Data I/O on the device underneath, by byte address: what iomap submits bios to. */
public interface BlockIO {
    void read(long addr, byte[] dst, int off, int len) throws IOException;

    void write(long addr, byte[] src, int off, int len) throws IOException;
}
