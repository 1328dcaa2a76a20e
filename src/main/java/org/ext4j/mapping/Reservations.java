package org.ext4j.mapping;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.ext4j.alloc.NoSpaceException;

/**
 * Space promised to delayed allocations ({@code s_dirtyclusters_counter} and
 * {@code ext4_da_reserve_space}): a buffered write into a hole reserves its blocks at write time, so
 * that a full file system fails the write with "no space" and never the writeback. Allocation at
 * writeback releases the reservation it consumes; a failed write releases what no dirty folio backs.
 * A margin is held back for extent tree blocks that allocation may need on top of the data.
 */
public final class Reservations {
    private final LongSupplier freeBlocks;
    private final long margin;
    private final AtomicLong reserved = new AtomicLong();

    public Reservations(LongSupplier freeBlocks, long margin) {
        this.freeBlocks = freeBlocks;
        this.margin = margin;
    }

    public void reserve(long blocks) throws NoSpaceException {
        while (true) {
            long r = reserved.get();
            if (freeBlocks.getAsLong() - r - blocks < margin) {
                throw new NoSpaceException("no space left: " + blocks + " block(s) wanted, "
                        + Math.max(0, freeBlocks.getAsLong() - r - margin) + " available for data");
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
