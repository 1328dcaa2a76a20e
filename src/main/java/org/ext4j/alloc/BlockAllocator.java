package org.ext4j.alloc;

import java.io.IOException;

import org.ext4j.txn.Handle;

/**
 * Block allocation ({@code fs/ext4/mballoc.c}'s interface to the rest of ext4): runs of physically
 * contiguous free blocks near a goal, and freeing them again. Bitmaps, group descriptor counters,
 * their checksums and the file system's free count are kept right inside the caller's handle.
 */
public interface BlockAllocator {

    /**
     * Buffers one {@link #allocate} dirties: the group's block bitmap and its descriptor block. One run
     * never spans two groups.
     */
    int ALLOC_CREDITS = 2;

    /** Buffers {@link #free} dirties per block group the freed range touches. */
    int FREE_CREDITS_PER_GROUP = 2;

    /** A run of {@code length} blocks from {@code start}. */
    record Run(long start, long length) {
        /** The block after the run: the goal that continues it. */
        public long end() {
            return start + length;
        }
    }

    /**
     * Allocates at least {@code minLen} and at most {@code maxLen} contiguous blocks, as close after
     * {@code goal} as possible (a goal outside the file system: anywhere). A free run of at least
     * {@code minLen} right at the goal is taken even if a longer one exists elsewhere: that is what
     * keeps a growing file contiguous; pass {@code minLen == maxLen} to insist on the full length.
     * Throws {@link NoSpaceException} when no run of {@code minLen} exists.
     */
    Run allocate(Handle h, long goal, long minLen, long maxLen) throws IOException;

    /** Frees {@code length} blocks from {@code start}; freeing a free block is corruption, reported. */
    void free(Handle h, long start, long length) throws IOException;

    /** Whether blocks freed in a journal transaction not committed yet are kept out of allocation now. */
    default boolean hasBlocksAwaitingCommit() {
        return false;
    }

    /**
     * Makes every check {@link #free} of the same blocks would make, changing nothing: the range lies
     * inside the file system and outside its metadata, each group's bitmap is valid, and every block
     * is in use. An operation calls it for all it will free before its first change, so damage found
     * here refuses the operation with the image untouched.
     */
    void checkFree(long start, long length) throws IOException;

    /** Free blocks right now (the kernel's {@code s_freeclusters_counter}). */
    long freeBlocks();
}
