package org.ext4j.fs;

import java.time.Instant;

/**
 * Attributes {@link Ext4FileSystem#setAttributes} changes in one step (the kernel's {@code struct
 * iattr}): each null field stays as it is; a negative uid or gid too, but asks for a chown. {@code mode} is the permission bits (07777); the type
 * never changes. A time equal to {@link #NOW} becomes the operation's instant ({@code UTIME_NOW}).
 * ctime becomes now whenever anything changes.
 */
public record InodeAttributes(Integer mode, Long uid, Long gid, Instant atime, Instant mtime) {
    /** {@code UTIME_NOW}: the time of the change itself. */
    public static final Instant NOW = Instant.MIN;

    public static InodeAttributes mode(int mode) {
        return new InodeAttributes(mode, null, null, null, null);
    }

    /**
     * Owner and group; a negative value leaves that one as it is, as chown(2)'s -1 (which still
     * counts as a change of owner: set-user-ID and set-group-ID are cleared as by any chown).
     */
    public static InodeAttributes owner(long uid, long gid) {
        return new InodeAttributes(null, uid < 0 ? -1L : uid, gid < 0 ? -1L : gid, null, null);
    }

    /** Access and modification times; null leaves one as it is ({@code UTIME_OMIT}), {@link #NOW} is now. */
    public static InodeAttributes times(Instant atime, Instant mtime) {
        return new InodeAttributes(null, null, null, atime, mtime);
    }

    boolean isEmpty() {
        return mode == null && uid == null && gid == null && atime == null && mtime == null;
    }
}
