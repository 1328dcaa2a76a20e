package org.ext4j.alloc;

import java.io.IOException;

import org.ext4j.txn.Handle;

/**
 * Block allocation ({@code fs/ext4/mballoc.c}'s interface to the rest of ext4): runs of physically
 * contiguous free blocks near a goal, and freeing them again. Bitmaps, group descriptor counters,
 * their checksums and the file system's free count are kept right inside the caller's handle.
 */
public interface BlockAllocator {

    /** A run of {@code length} blocks from {@code start}. */
    record Run(long start, long length) {
    }

    /**
     * Allocates at least {@code minLen} and at most {@code maxLen} contiguous blocks, as close after
     * {@code goal} as possible (goal 0: anywhere). Throws {@link NoSpaceException} when no run of
     * {@code minLen} exists.
     */
    Run allocate(Handle h, long goal, long minLen, long maxLen) throws IOException;

    /** Frees {@code length} blocks from {@code start}; freeing a free block is corruption, reported. */
    void free(Handle h, long start, long length) throws IOException;

    /** Free blocks right now (the kernel's {@code s_freeclusters_counter}). */
    long freeBlocks();
}
