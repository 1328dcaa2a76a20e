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

    /** The file's size now ({@code i_size_read}); writeback reads it under a folio lock. */
    long fileSize();

    /**
     * Whether a mapping from {@link #mapForWriteback} is still current, so writeback may reuse it
     * for the next folio ({@code xfs_imap_valid}); a mapping without a cookie is always current.
     */
    boolean valid(Iomap map);

    /**
     * The data of {@code [pos, pos+length)} was written to the blocks {@code map} gave for it.
     * Converts what is still unwritten at those blocks; a range punched or truncated meanwhile
     * stays a hole (docs/RACES.md R10).
     */
    void writebackDone(long pos, long length, Iomap map) throws IOException;
}
