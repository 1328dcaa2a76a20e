package org.ext4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;

/**
 * Checks and opens the IMAGE argument of every verb, read-only for the reading verbs, printing the
 * open-time warnings to stderr.
 */
final class ImageOpener {
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;
    /** The primary superblock ends here: a shorter file cannot be an image. */
    private static final long SUPERBLOCK_END = 2048;

    private ImageOpener() {
    }

    /**
     * Refuses an IMAGE that cannot be an image before anything opens it (exit 1, naming it): missing,
     * a directory, neither a regular file nor a block device (a fifo would block the open, a
     * character device such as /dev/null reads as empty), or not readable (not writable, for the
     * verbs that write), or a regular file too short to hold a superblock (an empty file, say).
     */
    static void checkImage(Path image, boolean write) throws IOException {
        if (!Files.exists(image)) {
            throw new NotFoundException(image + ": no such image file");
        }
        if (Files.isDirectory(image)) {
            throw new WrongTypeException(image + ": is a directory, not an image");
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(image, "unix:mode");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            mode = Files.isRegularFile(image) ? S_IFREG : 0;
        }
        int type = mode & S_IFMT;
        if (type != S_IFREG && type != S_IFBLK) {
            throw new WrongTypeException(image + ": not a regular file or block device, not an image");
        }
        if (type == S_IFREG && Files.size(image) < SUPERBLOCK_END) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).build(image + " is " + Files.size(image)
                    + " bytes, too small to hold a superblock (bytes 1024 to 2047)");
        }
        if (!Files.isReadable(image)) {
            throw new AccessDeniedException(image.toString(), null, "permission denied (not readable)");
        }
        if (write && !Files.isWritable(image)) {
            throw new AccessDeniedException(image.toString(), null, "permission denied (not writable)");
        }
    }

    static Ext4FileSystem open(Path image, PrintWriter err) throws IOException {
        return open(image, err, OpenOptions.readOnlyDefaults());
    }

    /** As {@link #open(Path, PrintWriter)}, with {@code options} (read-only) instead of the defaults. */
    static Ext4FileSystem open(Path image, PrintWriter err, OpenOptions options) throws IOException {
        checkImage(image, false);
        return Ext4FileSystem.open(image, options.withWarnings(w -> {
            err.println("ext4j: warning: " + w);
            err.flush();
        }));
    }
}
