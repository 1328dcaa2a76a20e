package org.ext4j.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A {@link BlockDevice} on a regular file or block device, through a {@link FileChannel}: its
 * positional reads and writes are thread-safe and do not move a shared position. A device opened
 * read-only is opened without write access by the operating system, so no code path can write to it.
 */
public final class FileBlockDevice implements BlockDevice {
    private final FileChannel channel;
    private final boolean readOnly;
    private final Path path;

    private FileBlockDevice(Path path, FileChannel channel, boolean readOnly) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
    }

    public static FileBlockDevice openReadOnly(Path path) throws IOException {
        return new FileBlockDevice(path, FileChannel.open(path, StandardOpenOption.READ), true);
    }

    public static FileBlockDevice openReadWrite(Path path) throws IOException {
        return new FileBlockDevice(path,
                FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE), false);
    }

    @Override
    public long size() throws IOException {
        long size = channel.size();
        if (size == 0) {
            // block devices report 0 through FileChannel.size(); seek to the end instead
            try (var raf = new java.io.RandomAccessFile(path.toFile(), "r")) {
                size = raf.length();
            }
        }
        return size;
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        int total = 0;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, offset + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        if (readOnly) {
            throw new IOException("device " + path + " is open read-only");
        }
        long pos = offset;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
    }

    /** {@code FileChannel.transferTo}: sendfile or copy_file_range where the target allows. */
    @Override
    public long transferTo(long offset, long count, java.nio.channels.WritableByteChannel target) throws IOException {
        long done = 0;
        while (done < count) {
            long n = channel.transferTo(offset + done, count - done, target);
            if (n <= 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(false);
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
