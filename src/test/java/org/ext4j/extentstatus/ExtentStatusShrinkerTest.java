package org.ext4j.extentstatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;
import org.junit.jupiter.api.Test;

/**
 * The memory bound over many trees: the total stays within the limit, DELAYED entries survive,
 * eviction never moves a counter, the least recently used tree pays first, and a busy tree is
 * skipped rather than waited for.
 */
class ExtentStatusShrinkerTest {

    private static long delayedEntries(List<ExtentStatusTree> trees) {
        long n = 0;
        for (ExtentStatusTree t : trees) {
            n += t.snapshot().entries().stream().filter(e -> e.status() == Status.DELAYED).count();
        }
        return n;
    }

    private static long sumOfEntries(List<ExtentStatusTree> trees) {
        return trees.stream().mapToLong(ExtentStatusTree::entryCount).sum();
    }

    /** Inserts entry number {@code i} of a tree: isolated blocks, so nothing merges. */
    private static void fill(ExtentStatusTree t, int i, Status status) {
        if (status == Status.DELAYED) {
            t.insertDelayed(2L * i, 1);
        } else {
            t.insert(2L * i, 1, status.hasPblk() ? 1000 + 7L * i : ExtentStatusTree.NO_PBLK, status);
        }
    }

    @Test
    void boundsTheTotalOverManyTreesAndSparesDelayed() {
        int limit = 100;
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(limit);
        List<ExtentStatusTree> trees = new ArrayList<>();
        for (int t = 0; t < 40; t++) {
            trees.add(new ExtentStatusTree(shrinker));
        }
        Status[] cycle = {Status.WRITTEN, Status.UNWRITTEN, Status.HOLE, Status.WRITTEN};
        long maxSeen = 0;
        for (int i = 0; i < 30; i++) {
            for (ExtentStatusTree t : trees) {
                fill(t, i, i % 10 == 4 && i < 20 ? Status.DELAYED : cycle[i % 4]); // 80 delayed in all
                long total = shrinker.totalEntries();
                maxSeen = Math.max(maxSeen, total);
                assertTrue(total <= Math.max(limit, delayedEntries(trees)), "total " + total);
                assertEquals(sumOfEntries(trees), total);
            }
        }
        assertTrue(maxSeen <= limit, "max " + maxSeen);
        assertTrue(shrinker.evictedEntries() >= 40 * 30 - limit, "evicted " + shrinker.evictedEntries());
        for (ExtentStatusTree t : trees) {
            assertEquals(30, t.seq(), "eviction moved a counter");
            for (int i = 4; i < 20; i += 10) {
                Lookup l = t.lookup(2L * i);
                assertEquals(new Entry(2L * i, 1, ExtentStatusTree.NO_PBLK, Status.DELAYED), l.entry());
            }
            t.checkInvariants();
        }
    }

    @Test
    void whenOnlyDelayedIsLeftTheTotalMayStayAboveTheLimit() {
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(10);
        ExtentStatusTree a = new ExtentStatusTree(shrinker);
        ExtentStatusTree b = new ExtentStatusTree(shrinker);
        for (int i = 0; i < 20; i++) {
            fill(a, i, Status.DELAYED);
            fill(b, i, i % 2 == 0 ? Status.DELAYED : Status.WRITTEN);
        }
        assertEquals(30, shrinker.totalEntries());
        assertEquals(20, a.entryCount());
        assertEquals(10, b.entryCount());
        assertTrue(b.snapshot().entries().stream().allMatch(e -> e.status() == Status.DELAYED));
        assertEquals(20, a.seq());
        assertEquals(20, b.seq());
    }

    @Test
    void leastRecentlyUsedTreePaysFirst() {
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(30); // low water 27
        ExtentStatusTree a = new ExtentStatusTree(shrinker);
        ExtentStatusTree b = new ExtentStatusTree(shrinker);
        ExtentStatusTree c = new ExtentStatusTree(shrinker);
        for (ExtentStatusTree t : List.of(a, b, c)) {
            for (int i = 0; i < 10; i++) {
                fill(t, i, Status.WRITTEN);
            }
        }
        assertEquals(30, shrinker.totalEntries());
        assertEquals(0, shrinker.evictedEntries());
        a.lookup(5); // a used after b: b is now the least recently used
        fill(c, 10, Status.WRITTEN); // 31 > 30: evict 31 - 27 = 4
        assertEquals(Map.of("a", 10, "b", 6, "c", 11),
                Map.of("a", a.entryCount(), "b", b.entryCount(), "c", c.entryCount()));
        assertEquals(4, shrinker.evictedEntries());
        assertEquals(4, b.evictedCount());
        assertEquals(10, b.seq());
    }

    @Test
    void busyTreeIsSkippedNotWaitedFor() throws Exception {
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(20); // low water 18
        ExtentStatusTree a = new ExtentStatusTree(shrinker);
        ExtentStatusTree b = new ExtentStatusTree(shrinker);
        for (int i = 0; i < 10; i++) {
            fill(a, i, Status.WRITTEN);
        }
        for (int i = 0; i < 10; i++) {
            fill(b, i, Status.WRITTEN);
        }
        ExecutorService holder = Executors.newSingleThreadExecutor();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            Future<?> f = holder.submit(() -> {
                a.lockForTesting().readLock().lock(); // a reader in the middle of a lookup of a
                try {
                    held.countDown();
                    release.await();
                } finally {
                    a.lockForTesting().readLock().unlock();
                }
                return null;
            });
            held.await();
            fill(b, 10, Status.WRITTEN); // 21 > 20: a (least recently used) is busy, b pays
            assertEquals(1, shrinker.contendedSkips());
            assertEquals(10, a.entryCount());
            assertEquals(8, b.entryCount());
            release.countDown();
            f.get(10, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            holder.shutdownNow();
        }
        assertEquals(5, shrinker.shrink(5)); // explicit pressure: now a is free and pays
        assertEquals(5, a.entryCount());
        assertEquals(13, shrinker.totalEntries());
        assertEquals(10, a.seq());
        assertEquals(11, b.seq());
    }

    @Test
    void closingATreeGivesBackItsEntries() {
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(100);
        ExtentStatusTree a = new ExtentStatusTree(shrinker);
        ExtentStatusTree b = new ExtentStatusTree(shrinker);
        fill(a, 0, Status.WRITTEN);
        fill(a, 1, Status.DELAYED);
        fill(b, 0, Status.HOLE);
        assertEquals(3, shrinker.totalEntries());
        assertEquals(2, shrinker.treeCount());
        a.close();
        assertEquals(1, shrinker.totalEntries());
        assertEquals(1, shrinker.treeCount());
        assertThrows(IllegalArgumentException.class, () -> new ExtentStatusShrinker(0));
    }

    /**
     * Threads each own some trees and change them while the shared shrinker evicts across all of
     * them: every DELAYED block survives, every clean block is either evicted or exactly right,
     * counters count changes only, and the total comes back under the limit.
     */
    @Test
    void concurrentTreesUnderOneShrinker() throws Exception {
        int limit = 200;
        int threads = 4;
        int treesPerThread = 8;
        int window = 64;
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(limit);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<ExtentStatusTree> all = new ArrayList<>();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int th = 0; th < threads; th++) {
                List<ExtentStatusTree> mine = new ArrayList<>();
                for (int i = 0; i < treesPerThread; i++) {
                    mine.add(new ExtentStatusTree(shrinker));
                }
                all.addAll(mine);
                long seed = th;
                futures.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    BlockModel[] models = new BlockModel[treesPerThread];
                    long[] changes = new long[treesPerThread];
                    for (int i = 0; i < treesPerThread; i++) {
                        models[i] = new BlockModel();
                    }
                    for (int op = 0; op < 20_000; op++) {
                        int k = r.nextInt(treesPerThread);
                        ExtentStatusTree t = mine.get(k);
                        long lblk = r.nextInt(window - 4);
                        long len = 1 + r.nextInt(3);
                        switch (r.nextInt(10)) {
                            case 0 -> {
                                t.insertDelayed(lblk, len);
                                models[k].insert(lblk, len, ExtentStatusTree.NO_PBLK, Status.DELAYED);
                                changes[k]++;
                            }
                            case 1, 2 -> {
                                t.remove(lblk, len);
                                models[k].remove(lblk, len);
                                changes[k]++;
                            }
                            case 3, 4 -> {
                                // re-read "the disk" (the model) into the cache, block by block:
                                // what was evicted comes back, unknown blocks become holes
                                for (long b = lblk; b < lblk + len; b++) {
                                    BlockModel.Block known = models[k].get(b);
                                    if (known == null) {
                                        t.cache(b, 1, ExtentStatusTree.NO_PBLK, Status.HOLE);
                                        models[k].cache(b, 1, ExtentStatusTree.NO_PBLK, Status.HOLE);
                                    } else if (known.status() != Status.DELAYED) {
                                        t.cache(b, 1, known.pblk(), known.status());
                                    }
                                }
                            }
                            default -> {
                                long pblk = r.nextInt(1 << 16);
                                t.insert(lblk, len, pblk, Status.WRITTEN);
                                models[k].insert(lblk, len, pblk, Status.WRITTEN);
                                changes[k]++;
                            }
                        }
                    }
                    for (int k = 0; k < treesPerThread; k++) {
                        ExtentStatusTree t = mine.get(k);
                        assertEquals(changes[k], t.seq(), "counter of tree " + k);
                        for (Map.Entry<Long, BlockModel.Block> b : models[k].blocks().entrySet()) {
                            Lookup l = t.lookup(b.getKey());
                            Status want = b.getValue().status();
                            if (want == Status.DELAYED) {
                                assertTrue(l.found() && l.entry().status() == Status.DELAYED,
                                        "delayed block " + b.getKey() + " lost: " + l);
                            } else if (l.found()) {
                                assertEquals(want, l.entry().status(), "block " + b.getKey());
                                assertEquals(b.getValue().pblk(), l.entry().pblkOf(b.getKey()));
                            }
                        }
                        t.checkInvariants();
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long quiescent = shrinker.totalEntries();
        assertEquals(sumOfEntries(all), quiescent);
        long delayed = delayedEntries(all);
        System.out.printf("es shrinker: %d trees, total %d at rest (limit %d, %d delayed), evicted %d, "
                + "runs %d, busy skips %d%n", all.size(), quiescent, limit, delayed,
                shrinker.evictedEntries(), shrinker.shrinkRuns(), shrinker.contendedSkips());
        assertTrue(quiescent <= Math.max(2L * limit, delayed + limit), "total at rest " + quiescent);
        assertTrue(shrinker.evictedEntries() > 0);
        // one more change on a quiet system brings the total down to the limit (or to what is dirty)
        all.get(0).cache(window, 1, ExtentStatusTree.NO_PBLK, Status.HOLE);
        all.get(0).cache(window + 2, 1, ExtentStatusTree.NO_PBLK, Status.HOLE);
        assertTrue(shrinker.totalEntries() <= Math.max(limit, delayedEntries(all)),
                "total after a quiet change " + shrinker.totalEntries());
    }
}
