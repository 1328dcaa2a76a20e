package org.ext4j.error;

/**
 * EFBIG: a write, truncate or fallocate reaching past the largest file the file system allows
 * ({@code s_maxbytes}, from {@code ext4_max_size}: it depends on the block size and on
 * huge_file), as {@code generic_write_checks}, {@code inode_newsize_ok} and {@code vfs_fallocate}
 * refuse it. A well-formed request this file system cannot hold: the CLI exits 1.
 */
public final class FileTooLargeException extends InvalidRequestException {
    private final long limit;

    public FileTooLargeException(String message, long limit) {
        super(message + " (the largest file here is " + limit + " bytes)");
        this.limit = limit;
    }

    /** The largest file size, in bytes, on the file system that refused. */
    public long limit() {
        return limit;
    }
}
