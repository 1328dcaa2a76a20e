package org.ext4j.fs;

/**
 * Tuning of a read-write open: page cache memory bound, dirty thresholds (background writeback and
 * writer throttling), the bound on cached extent status entries, and the background flusher's
 * wake-up interval and dirty age limit ({@code dirty_writeback_centisecs}, {@code dirty_expire_centisecs}),
 * and the largest folio the page cache makes (64 KiB; one block makes every folio one block, as
 * RACES.md's scenarios assume).
 */
public record WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes,
        long statusTreeEntries, long flushIntervalMillis, long dirtyExpireMillis, int maxFolioBytes) {
    public WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes, long statusTreeEntries,
            long flushIntervalMillis, long dirtyExpireMillis) {
        this(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries, flushIntervalMillis,
                dirtyExpireMillis, org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE);
    }

    public WriteOptions {
        if (maxFolioBytes <= 0 || Integer.bitCount(maxFolioBytes) != 1
                || maxFolioBytes > org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE) {
            throw new IllegalArgumentException("largest folio " + maxFolioBytes
                    + " is not a power of two up to " + org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE);
        }
    }

    /** These options with folios of at most {@code bytes} (a power of two; less than a block means one block). */
    public WriteOptions withMaxFolioBytes(int bytes) {
        return new WriteOptions(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries,
                flushIntervalMillis, dirtyExpireMillis, bytes);
    }

    public static WriteOptions defaults() {
        return new WriteOptions(256L << 20, 32L << 20, 64L << 20, 1 << 20, 500, 5_000);
    }

    /**
     * No background writeback and no reclaim at all (the flusher sleeps for an hour, no threshold
     * is ever reached): for race replays and explorations that drive writeback and eviction
     * themselves, step by step.
     */
    public static WriteOptions manualWriteback() {
        return new WriteOptions(1L << 40, 1L << 40, 1L << 40, 1 << 20, 3_600_000, 3_600_000);
    }

    /**
     * Tiny limits so that writeback and eviction run constantly (for tests and {@code io -A}): the
     * flusher wakes every millisecond and writes back anything dirty, concurrently with writers.
     */
    public static WriteOptions aggressive() {
        return new WriteOptions(256L << 10, 16L << 10, 64L << 10, 64, 1, 0);
    }
}
