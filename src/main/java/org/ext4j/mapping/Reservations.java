package org.ext4j.mapping;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

import org.ext4j.alloc.NoSpaceException;

/**
 * Space promised to delayed allocations ({@code s_dirtyclusters_counter} and
 * {@code ext4_da_reserve_space}): a buffered write into a hole reserves its blocks at write time, so
 * that a full file system fails the write with "no space" and never the writeback. Allocation at
 * writeback releases the reservation it consumes; a failed write releases what no dirty folio backs.
 * A margin is held back for extent tree blocks that allocation may need on top of the data. The free
 * count comes from a function of the blocks about to be promised, so the allocator can verify that
 * much free space (its bitmaps) before the promise is made.
 */
public final class Reservations {
    /** The free blocks a promise of the given total may count on. */
    public interface FreeBlocks {
        long freeFor(long need) throws IOException;
    }

    /** The margin a write session holds back (what {@code mkfs -d}'s automatic size must leave over the data). */
    public static final long SESSION_MARGIN_BLOCKS = 256;

    private final FreeBlocks freeBlocks;
    private final long margin;
    private final AtomicLong reserved = new AtomicLong();

    public Reservations(FreeBlocks freeBlocks, long margin) {
        this.freeBlocks = freeBlocks;
        this.margin = margin;
    }

    public void reserve(long blocks) throws IOException {
        while (true) {
            long r = reserved.get();
            long free = freeBlocks.freeFor(r + blocks + margin);
            if (free - r - blocks < margin) {
                throw new NoSpaceException("no space left: " + blocks + " block(s) wanted, "
                        + Math.max(0, free - r - margin) + " available for data");
            }
            if (reserved.compareAndSet(r, r + blocks)) {
                return;
            }
        }
    }

    public void release(long blocks) {
        long after = reserved.addAndGet(-blocks);
        if (after < 0) {
            throw new IllegalStateException("released more reservations than were taken (" + after + ")");
        }
    }

    public long reserved() {
        return reserved.get();
    }
}
