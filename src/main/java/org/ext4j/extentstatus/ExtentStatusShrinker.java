package org.ext4j.extentstatus;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The memory bound of all extent status trees of one file system: the kernel's es shrinker
 * ({@code ext4_es_register_shrinker}, {@code ext4_es_count}/{@code ext4_es_scan},
 * {@code __es_shrink}, with {@code s_es_list} and the {@code s_es_stats} counters).
 *
 * <p>It counts the entries of every registered tree. When a change leaves the total above
 * {@link #maxEntries()}, the thread that made the change (after releasing its tree's lock) evicts
 * clean entries down to a low-water mark 1/8 below the limit, so that a full cache does not shrink
 * on every insert. Trees are visited least recently used first (each tree carries a use stamp from
 * {@link #tick()}, cheaper than relinking a global list on every lookup); a tree whose lock is busy
 * is skipped ({@code tryLock}), as the kernel skips an inode whose {@code i_es_lock} it cannot take.
 * Inside a tree, eviction is round-robin with a second chance for entries looked up since the last
 * scan, so the scan makes up to two rounds over the trees. DELAYED entries are dirty state and are
 * never evicted: if they alone exceed the limit, the total stays above it.
 *
 * <p>Eviction never changes any tree's sequence counter (see the package comment).
 *
 * <p>Locking: one shrink runs at a time ({@link #shrinking}, taken with {@code tryLock} on the
 * automatic path, so a writer never waits for another writer's shrink); tree locks are only ever
 * tried, never waited for, so the shrinker cannot deadlock with anyone. The total is an atomic
 * counter adjusted by each tree after it changes; it can briefly lag the trees (the limit is
 * therefore "K plus what concurrent changes add while a shrink runs").
 */
public final class ExtentStatusShrinker {

    private final long maxEntries;
    private final long lowWater;

    private final Set<ExtentStatusTree> trees = ConcurrentHashMap.newKeySet();
    private final AtomicLong total = new AtomicLong();
    private final AtomicLong evicted = new AtomicLong();
    private final AtomicLong runs = new AtomicLong();
    private final AtomicLong contended = new AtomicLong();
    private final AtomicLong clock = new AtomicLong();
    private final ReentrantLock shrinking = new ReentrantLock();

    /** A shrinker keeping all registered trees at or below {@code maxEntries} entries (clean ones). */
    public ExtentStatusShrinker(long maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.lowWater = maxEntries - maxEntries / 8;
    }

    public long maxEntries() {
        return maxEntries;
    }

    /** Entries in all registered trees ({@code es_stats_all_cnt}). */
    public long totalEntries() {
        return total.get();
    }

    /** Entries evicted by this shrinker so far (not counting explicit {@link ExtentStatusTree#shrink}). */
    public long evictedEntries() {
        return evicted.get();
    }

    /** Shrink passes run so far. */
    public long shrinkRuns() {
        return runs.get();
    }

    /** Trees skipped because their lock was busy ({@code nr_skipped} in {@code __es_shrink}). */
    public long contendedSkips() {
        return contended.get();
    }

    /** Trees currently registered. */
    public int treeCount() {
        return trees.size();
    }

    /**
     * Evicts up to {@code nrToEvict} clean entries from the least recently used trees, waiting for a
     * concurrent shrink to finish first. The memory-pressure entry point ({@code ext4_es_scan}).
     *
     * @return entries evicted
     */
    public long shrink(long nrToEvict) {
        shrinking.lock();
        try {
            return scanLocked(nrToEvict);
        } finally {
            shrinking.unlock();
        }
    }

    /**
     * Called by a tree after a change that added entries, with no tree lock held. If another thread
     * is shrinking, leaves the work to it: that thread re-checks the total when its pass ends, so
     * entries added meanwhile are not forgotten. Gives up when a pass frees nothing (only DELAYED
     * entries left, or every candidate tree busy) and after a few passes, to bound the latency a
     * writer pays for everyone else's growth.
     */
    void maybeShrink() {
        int emptyPasses = 0;
        for (int pass = 0; pass < 4 && total.get() > maxEntries; pass++) {
            if (!shrinking.tryLock()) {
                return; // another thread is shrinking; it will see our entries on its re-check
            }
            try {
                long excess = total.get() - lowWater;
                if (excess <= 0) {
                    return;
                }
                // a pass that only cleared second-chance bits frees nothing; the next one can
                if (scanLocked(excess) == 0 && ++emptyPasses >= 2) {
                    return;
                }
            } finally {
                shrinking.unlock();
            }
        }
    }

    private long scanLocked(long want) {
        runs.incrementAndGet();
        // Snapshot the use stamps before sorting: they change under our feet, and a comparator
        // whose keys move breaks the sort's contract.
        List<long[]> order = new ArrayList<>();
        List<ExtentStatusTree> byIndex = new ArrayList<>(trees);
        for (int i = 0; i < byIndex.size(); i++) {
            order.add(new long[] {byIndex.get(i).lastUse(), i});
        }
        order.sort(Comparator.comparingLong(a -> a[0]));
        long freed = 0;
        for (int round = 0; round < 2 && freed < want; round++) {
            for (long[] o : order) {
                if (freed >= want) {
                    break;
                }
                long n = byIndex.get((int) o[1]).tryReclaim(want - freed);
                if (n < 0) {
                    contended.incrementAndGet();
                } else {
                    freed += n;
                }
            }
        }
        evicted.addAndGet(freed);
        return freed;
    }

    long tick() {
        return clock.incrementAndGet();
    }

    void register(ExtentStatusTree tree) {
        trees.add(tree);
    }

    void unregister(ExtentStatusTree tree) {
        trees.remove(tree);
    }

    void adjust(long delta) {
        total.addAndGet(delta);
    }
}
