package org.ext4j.fs;

/**
 * Tuning of a read-write open: page cache memory bound, dirty thresholds (background writeback and
 * writer throttling), and the bound on cached extent status entries.
 */
public record WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes,
        long statusTreeEntries) {
    public static WriteOptions defaults() {
        return new WriteOptions(256L << 20, 32L << 20, 64L << 20, 1 << 20);
    }

    /** Tiny limits so that writeback and eviction run constantly (for tests and {@code io -A}). */
    public static WriteOptions aggressive() {
        return new WriteOptions(256L << 10, 16L << 10, 64L << 10, 64);
    }
}
