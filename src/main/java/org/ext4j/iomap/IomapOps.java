package org.ext4j.iomap;

import java.io.IOException;

/**
 * What a file system gives the iomap layer ({@code struct iomap_ops} plus
 * {@code iomap_write_ops.iomap_valid}): the iomap layer knows nothing of ext4, exactly as in Linux.
 */
public interface IomapOps {
    /** The write is buffered: a hole or unwritten range needs space reserved (delayed allocation). */
    int WRITE = 0x1;
    /** The caller zeroes a range. */
    int ZERO = 0x2;
    /** Only report (fiemap, seek). */
    int REPORT = 0x4;

    /** Maps {@code [pos, pos+length)} or its first part ({@code ->iomap_begin}). */
    Iomap begin(long pos, long length, int flags) throws IOException;

    /**
     * Ends an operation on {@code map} after {@code written} of {@code length} bytes were done
     * ({@code ->iomap_end}): a short write releases reservations that no dirty folio backs.
     */
    void end(long pos, long length, long written, int flags, Iomap map) throws IOException;

    /**
     * Gives back the delayed reservation of {@code [pos, pos+length)}, blocks that a failed write
     * reserved and that no dirty folio backs (the punch callback of
     * {@code iomap_write_delalloc_release}). Called without the folio locks.
     */
    void punchDelalloc(long pos, long length) throws IOException;

    /**
     * Whether {@code map} is still what the file system would answer now ({@code ->iomap_valid}):
     * its cookie equals the mapping sequence counter. Called with the folio locked.
     */
    boolean valid(Iomap map);
}
