package org.ext4j.fs;

/**
 * Tuning of a read-write open: page cache memory bound, dirty thresholds (background writeback and
 * writer throttling), the bound on cached extent status entries, and the background flusher's
 * wake-up interval and dirty age limit ({@code dirty_writeback_centisecs}, {@code dirty_expire_centisecs}),
 * and the largest folio the page cache makes (64 KiB; one block makes every folio one block, as
 * docs/RACES.md's scenarios assume).
 *
 * <p>{@code fixedTime}, null by default, makes a session that depends on nothing but its inputs (a
 * reproducible build, {@code SOURCE_DATE_EPOCH}): every time it stamps (mount and write times in the
 * superblock, inode ctime/mtime/crtime of what it creates or changes, {@code UTIME_NOW}) is that
 * instant; new inodes get generation 0 (as mke2fs {@code -d} leaves them) instead of a random one;
 * and there is no background flusher, so data is written back only at the writer's dirty throttle,
 * fsync and close, in the writer's order, and block allocation does not depend on thread timing.
 */
public record WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes,
        long statusTreeEntries, long flushIntervalMillis, long dirtyExpireMillis, int maxFolioBytes,
        java.time.Instant fixedTime, DataMode dataMode, long commitMillis) {
    /** The default commit interval ({@code commit=5}). */
    public static final long DEFAULT_COMMIT_MILLIS = 5_000;

    /**
     * How file data is ordered against the journal's commits ({@code data=}): ORDERED, the default,
     * makes blocks newly given to a file durable before the transaction that maps them commits;
     * WRITEBACK does not promise it. ext4j's writeback maps new blocks unwritten and converts them only
     * after their data is written, so both modes keep a crash from showing another file's old bytes;
     * WRITEBACK is accepted for the kernel's option names.
     */
    public enum DataMode {
        ORDERED, WRITEBACK
    }

    public WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes, long statusTreeEntries,
            long flushIntervalMillis, long dirtyExpireMillis, int maxFolioBytes, java.time.Instant fixedTime) {
        this(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries, flushIntervalMillis,
                dirtyExpireMillis, maxFolioBytes, fixedTime, DataMode.ORDERED, DEFAULT_COMMIT_MILLIS);
    }

    public WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes, long statusTreeEntries,
            long flushIntervalMillis, long dirtyExpireMillis) {
        this(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries, flushIntervalMillis,
                dirtyExpireMillis, org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE);
    }

    public WriteOptions(long pageCacheBytes, long dirtyBackgroundBytes, long dirtyLimitBytes, long statusTreeEntries,
            long flushIntervalMillis, long dirtyExpireMillis, int maxFolioBytes) {
        this(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries, flushIntervalMillis,
                dirtyExpireMillis, maxFolioBytes, null);
    }

    public WriteOptions {
        if (dataMode == null) {
            throw new IllegalArgumentException("no data mode");
        }
        if (commitMillis <= 0) {
            throw new IllegalArgumentException("commit interval " + commitMillis + " ms is not positive");
        }
        if (maxFolioBytes <= 0 || Integer.bitCount(maxFolioBytes) != 1
                || maxFolioBytes > org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE) {
            throw new IllegalArgumentException("largest folio " + maxFolioBytes
                    + " is not a power of two up to " + org.ext4j.pagecache.AddressSpace.MAX_FOLIO_SIZE);
        }
    }

    /** These options with folios of at most {@code bytes} (a power of two; less than a block means one block). */
    public WriteOptions withMaxFolioBytes(int bytes) {
        return new WriteOptions(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries,
                flushIntervalMillis, dirtyExpireMillis, bytes, fixedTime, dataMode, commitMillis);
    }

    /**
     * These options for a session that runs as if at {@code t} and without randomness or background
     * threads (see the class comment); null for the system clock.
     */
    public WriteOptions withFixedTime(java.time.Instant t) {
        return new WriteOptions(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries,
                flushIntervalMillis, dirtyExpireMillis, maxFolioBytes, t, dataMode, commitMillis);
    }

    /** These options with data mode {@code mode} ({@code data=ordered|writeback}). */
    public WriteOptions withDataMode(DataMode mode) {
        return new WriteOptions(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries,
                flushIntervalMillis, dirtyExpireMillis, maxFolioBytes, fixedTime, mode, commitMillis);
    }

    /** These options with journal commits every {@code millis} ms at the latest ({@code commit=}, in seconds there). */
    public WriteOptions withCommitMillis(long millis) {
        return new WriteOptions(pageCacheBytes, dirtyBackgroundBytes, dirtyLimitBytes, statusTreeEntries,
                flushIntervalMillis, dirtyExpireMillis, maxFolioBytes, fixedTime, dataMode, millis);
    }

    /** Share of the heap the page cache may fill. */
    static final int CACHE_PERCENT = 40;
    /** Dirty bytes, as a share of the heap, that throttle writers (the kernel's {@code dirty_ratio}, 20). */
    static final int DIRTY_PERCENT = 20;
    /** Dirty bytes, as a share of the heap, that wake the flusher ({@code dirty_background_ratio}, 10). */
    static final int BACKGROUND_PERCENT = 10;
    /** Heaps smaller than this are sized as if they were this large (the floors: 12.8, 6.4, 3.2 MiB). */
    static final long MIN_HEAP = 32L << 20;
    static final long MAX_CACHE = 32L << 30;
    static final long MAX_DIRTY = 8L << 30;
    static final long MAX_BACKGROUND = 4L << 30;

    /**
     * Defaults sized from the heap this JVM may grow to ({@code Runtime.maxMemory()}, the {@code -Xmx}):
     * see {@link #forHeap}.
     */
    public static WriteOptions defaults() {
        return forHeap(Runtime.getRuntime().maxMemory());
    }

    /**
     * Defaults for a heap of {@code maxHeapBytes}, as the kernel sizes its dirty thresholds from
     * memory: the page cache may hold 40% of the heap, background writeback starts at 10% of it
     * dirty and writers throttle at 20% ({@code dirty_background_ratio} / {@code dirty_ratio}),
     * leaving the rest of the heap to everything else. So a write that fits below the dirty limit
     * goes at memory speed and writeback sees whole dirty ranges (long allocations, few extents),
     * and the cache stays within a small heap: with {@code -Xmx512m} it holds 205 MiB, of which
     * 102 MiB dirty. Heaps below 32 MiB count as 32 MiB; ceilings of 32 GiB cached, 8 GiB dirty and
     * 4 GiB before background writeback keep fsync and close times bounded on huge heaps. Status
     * tree bound 2^20 entries, flusher every 500 ms, dirty data written within 5 s.
     */
    public static WriteOptions forHeap(long maxHeapBytes) {
        long heap = Math.max(MIN_HEAP, maxHeapBytes);
        long cache = Math.min(MAX_CACHE, heap / 100 * CACHE_PERCENT);
        long dirty = Math.min(MAX_DIRTY, heap / 100 * DIRTY_PERCENT);
        long background = Math.min(MAX_BACKGROUND, heap / 100 * BACKGROUND_PERCENT);
        return new WriteOptions(cache, background, dirty, 1 << 20, 500, 5_000);
    }

    /**
     * No background writeback and no reclaim at all (the flusher sleeps for an hour, no threshold
     * is ever reached): for race replays and explorations that drive writeback and eviction
     * themselves, step by step.
     */
    public static WriteOptions manualWriteback() {
        return new WriteOptions(1L << 40, 1L << 40, 1L << 40, 1 << 20, 3_600_000, 3_600_000)
                .withCommitMillis(3_600_000);
    }

    /**
     * Tiny limits so that writeback and eviction run constantly (for tests and {@code io -A}): the
     * flusher wakes every millisecond and writes back anything dirty, concurrently with writers.
     */
    public static WriteOptions aggressive() {
        return new WriteOptions(256L << 10, 16L << 10, 64L << 10, 64, 1, 0);
    }
}
