package org.ext4j.tree;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Reads a source tree's regular files ahead of a copy, in the copy's order (names sorted, depth
 * first), so that the host's page cache already holds a file when the copy reaches it: the source's
 * disk reads overlap the image's writes, the role the kernel's readahead plays for {@code cp}
 * within a file, stretched across files. It stays at most {@link #WINDOW} bytes ahead of what the
 * copy reports consumed, and stops at close. What it reads is thrown away; a file it cannot read
 * is skipped (the copy itself reports it).
 */
final class Readahead implements AutoCloseable {
    /** How far ahead of the copy the reader may be, in bytes. */
    static final long WINDOW = 64L << 20;
    private static final int CHUNK = 1 << 20;

    private final Thread thread;
    /** Where the reads land (thrown away): one for the whole walk, used by its thread alone. */
    private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private long read;
    private long consumed;
    private boolean stopped;

    private Readahead(Path top) {
        this.thread = new Thread(() -> walk(top), "ext4j-readahead");
        this.thread.setDaemon(true);
    }

    static Readahead start(Path top) {
        Readahead r = new Readahead(top);
        r.thread.start();
        return r;
    }

    /** The copy has consumed {@code bytes} more of the source. */
    void consumed(long bytes) {
        synchronized (lock) {
            consumed += bytes;
            lock.notifyAll();
        }
    }

    private void walk(Path dir) {
        List<Path> children;
        try {
            children = HostTreeImporter.sortedChildren(dir);
        } catch (IOException | RuntimeException e) {
            return;
        }
        for (Path c : children) {
            if (stopped()) {
                return;
            }
            if (Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
                walk(c);
            } else if (Files.isRegularFile(c, LinkOption.NOFOLLOW_LINKS)) {
                readWhole(c);
            }
        }
    }

    private void readWhole(Path file) {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            while (true) {
                if (!waitForRoom()) {
                    return;
                }
                buf.clear();
                int n = in.read(buf);
                if (n <= 0) {
                    return;
                }
                synchronized (lock) {
                    read += n;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unreadable here: the copy meets it and says so
        }
    }

    /** Waits while the reader is a window ahead; false once stopped. */
    private boolean waitForRoom() {
        synchronized (lock) {
            while (!stopped && read - consumed >= WINDOW) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return !stopped;
        }
    }

    private boolean stopped() {
        synchronized (lock) {
            return stopped;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
