package org.ext4j.blockdev;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Positional byte I/O on an image file or device: the bottom of the stack, the block layer's
 * counterpart. Implementations are safe for concurrent positional reads from many threads.
 * Reads past the end of the device return fewer bytes; callers decide whether that is corruption.
 */
public interface BlockDevice extends Closeable {

    /** Size of the device in bytes. */
    long size() throws IOException;

    /**
     * Reads up to {@code dst.remaining()} bytes at {@code offset}; stops early only at the end of the
     * device. Returns the number of bytes read.
     */
    int read(long offset, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} at {@code offset}. */
    void write(long offset, ByteBuffer src) throws IOException;

    /**
     * Copies {@code count} bytes at {@code offset} to {@code target} (a channel's zero-copy path where
     * the device has one); returns the bytes copied, fewer only at the end of the device.
     */
    default long transferTo(long offset, long count, java.nio.channels.WritableByteChannel target)
            throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(count, 1 << 20));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = read(offset + done, buf);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                target.write(buf);
            }
            done += n;
        }
        return done;
    }

    /** Makes written data durable. */
    void flush() throws IOException;

    boolean isReadOnly();
}
