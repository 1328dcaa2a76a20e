package org.ext4j.iomap;

import java.io.IOException;

/**
 * What a file system gives iomap's writeback ({@code struct iomap_writeback_ops}): map a dirty range
 * for writing, allocating delayed blocks in large runs ({@code ->writeback_range} /
 * {@code ->map_blocks}), and complete it after the data is on disk, converting unwritten extents
 * ({@code ->writeback_submit} end_io). Writeback holds no inode writer lock.
 */
public interface WritebackOps {
    /** A mapping for {@code pos}, MAPPED or UNWRITTEN, with a device address; never HOLE or DELALLOC. */
    Iomap mapForWriteback(long pos, long length) throws IOException;

    /** The data of {@code [pos, pos+length)} under {@code map} reached the disk. */
    void writebackDone(long pos, long length, Iomap map) throws IOException;
}
