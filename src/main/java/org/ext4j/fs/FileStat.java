package org.ext4j.fs;

import java.time.Instant;

import org.ext4j.format.InodeRecord;

/**
 * What {@code stat} reports of an inode. Times keep nanoseconds and the extended epoch bits;
 * {@code crtime} is null on inodes too small to carry it.
 */
public record FileStat(
        long inode,
        int mode,
        int linkCount,
        long uid,
        long gid,
        long size,
        long blocks512,
        Instant atime,
        Instant mtime,
        Instant ctime,
        Instant crtime,
        long flags,
        long generation,
        int rdevMajor,
        int rdevMinor) {

    public int type() {
        return mode & InodeRecord.S_IFMT;
    }

    public int permissions() {
        return mode & 07777;
    }

    public boolean isDirectory() {
        return type() == InodeRecord.S_IFDIR;
    }

    public boolean isRegularFile() {
        return type() == InodeRecord.S_IFREG;
    }

    public boolean isSymlink() {
        return type() == InodeRecord.S_IFLNK;
    }

    public boolean isCharDevice() {
        return type() == InodeRecord.S_IFCHR;
    }

    public boolean isBlockDevice() {
        return type() == InodeRecord.S_IFBLK;
    }

    public boolean isFifo() {
        return type() == InodeRecord.S_IFIFO;
    }

    public boolean isSocket() {
        return type() == InodeRecord.S_IFSOCK;
    }
}
