package org.ext4j.error;

/**
 * A write refused because the file system met damage earlier in this session, after it had begun
 * changing the image: the error was recorded in the superblock and the session went read-only, as
 * the kernel's {@code errors=remount-ro} (EROFS). The cause is the damage first found.
 */
public final class FileSystemErrorException extends Ext4Exception {
    public FileSystemErrorException(Throwable cause) {
        super("the file system went read-only after an error (run e2fsck): " + describe(cause), cause);
    }

    private static String describe(Throwable t) {
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
