package org.ext4j.extentstatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import org.ext4j.extentstatus.ExtentStatusTree.Change;
import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.RangeLookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;

/**
 * Random operation sequences against {@link BlockModel}, over a small window of logical blocks
 * placed at 0, in the middle, or against the 2^32-1 ceiling. After every operation: the tree's
 * entries are exactly the model's maximal runs (so per-block state and physical block agree, and
 * no two mergeable entries are left adjacent); the counter moved by exactly one on insert,
 * insertDelayed, remove and convertUnwritten, and not at all on cache, eviction or lookups; every
 * lookup handed out the current counter.
 */
class ExtentStatusTreePropertyTest {

    private static final int WINDOW = 40;

    enum Kind { INSERT, CACHE, REMOVE, DELAYED, CONVERT, SHRINK, LOOKUP, NEXT, RANGE, FIND }

    enum PblkMode { LINEAR, SMALL, TOP }

    /** One generated step; offsets are relative to the window base. */
    record Op(Kind kind, int off, int len, Status status, PblkMode mode, int small) {
        long pblk(long base) {
            if (!status.hasPblk()) {
                return ExtentStatusTree.NO_PBLK;
            }
            return switch (mode) {
                // the same lblk->pblk line every time: inserts and caches continue each other
                case LINEAR -> 5000 + off;
                case SMALL -> small;
                case TOP -> ExtentStatusTree.MAX_PBLK - len + 1 - small % 3;
            };
        }
    }

    @Provide
    Arbitrary<Long> bases() {
        return Arbitraries.of(0L, 1_000_000L, ExtentStatusTree.MAX_LBLK - WINDOW + 1);
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Kind> kind = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.just(Kind.INSERT)),
                Tuple.of(4, Arbitraries.just(Kind.CACHE)),
                Tuple.of(2, Arbitraries.just(Kind.REMOVE)),
                Tuple.of(2, Arbitraries.just(Kind.DELAYED)),
                Tuple.of(2, Arbitraries.just(Kind.CONVERT)),
                Tuple.of(1, Arbitraries.just(Kind.SHRINK)),
                Tuple.of(2, Arbitraries.just(Kind.LOOKUP)),
                Tuple.of(1, Arbitraries.just(Kind.NEXT)),
                Tuple.of(1, Arbitraries.just(Kind.RANGE)),
                Tuple.of(1, Arbitraries.just(Kind.FIND)));
        Arbitrary<int[]> range = Arbitraries.integers().between(0, WINDOW - 1).flatMap(off ->
                Arbitraries.frequencyOf(
                        Tuple.of(3, Arbitraries.integers().between(1, Math.min(4, WINDOW - off))),
                        Tuple.of(1, Arbitraries.integers().between(1, WINDOW - off)))
                        .map(len -> new int[] {off, len}));
        Arbitrary<Status> status = Arbitraries.of(Status.WRITTEN, Status.UNWRITTEN, Status.HOLE);
        Arbitrary<PblkMode> mode = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(PblkMode.LINEAR)),
                Tuple.of(3, Arbitraries.just(PblkMode.SMALL)),
                Tuple.of(1, Arbitraries.just(PblkMode.TOP)));
        Arbitrary<Integer> small = Arbitraries.integers().between(0, 60);
        Arbitrary<Op> op = Combinators.combine(kind, range, status, mode, small)
                .as((k, r, s, m, n) -> new Op(k, r[0], r[1], s, m, n));
        return op.list().ofMinSize(1).ofMaxSize(60);
    }

    @Property(tries = 400)
    void treeMatchesModel(@ForAll("bases") long base, @ForAll("ops") List<Op> ops) {
        run(base, ops, null);
    }

    /** The same, with a shrinker so small that it evicts behind almost every change. */
    @Property(tries = 300)
    void treeMatchesModelUnderMemoryPressure(@ForAll("bases") long base, @ForAll("ops") List<Op> ops) {
        run(base, ops, new ExtentStatusShrinker(5));
    }

    private static void run(long base, List<Op> ops, ExtentStatusShrinker shrinker) {
        ExtentStatusTree tree = new ExtentStatusTree(shrinker);
        BlockModel model = new BlockModel();
        long expectedSeq = 0;
        for (Op op : ops) {
            String where = "after " + op + " at base " + base;
            boolean changing = step(tree, model, base, op, expectedSeq);
            if (changing) {
                expectedSeq++;
            }
            assertEquals(expectedSeq, tree.seq(), "counter " + where);
            if (shrinker != null) {
                forgetEvicted(tree, model, base);
                long delayedEntries = tree.snapshot().entries().stream()
                        .filter(e -> e.status() == Status.DELAYED).count();
                assertEquals(tree.entryCount(), shrinker.totalEntries(), "shrinker total " + where);
                assertTrue(shrinker.totalEntries() <= Math.max(shrinker.maxEntries(), delayedEntries),
                        "over the limit " + where + ": " + tree.snapshot());
            }
            assertEquals(model.runs(), tree.snapshot().entries(), where);
            tree.checkInvariants();
        }
    }

    /** Applies one op to both and checks its direct answer; returns whether it must bump the counter. */
    private static boolean step(ExtentStatusTree tree, BlockModel model, long base, Op op, long seqBefore) {
        long l = base + op.off();
        long len = op.len();
        switch (op.kind()) {
            case INSERT -> {
                long pblk = op.pblk(base);
                Change c = tree.insert(l, len, pblk, op.status());
                long delayed = model.insert(l, len, pblk, op.status());
                assertEquals(new Change(seqBefore + 1, delayed), c, op.toString());
                return true;
            }
            case DELAYED -> {
                Change c = tree.insertDelayed(l, len);
                long delayed = model.insert(l, len, ExtentStatusTree.NO_PBLK, Status.DELAYED);
                assertEquals(new Change(seqBefore + 1, delayed), c, op.toString());
                return true;
            }
            case REMOVE -> {
                Change c = tree.remove(l, len);
                long delayed = model.remove(l, len);
                assertEquals(new Change(seqBefore + 1, delayed), c, op.toString());
                return true;
            }
            case CONVERT -> {
                Change c = tree.convertUnwritten(l, len);
                model.convertUnwritten(l, len);
                assertEquals(new Change(seqBefore + 1, 0), c, op.toString());
                return true;
            }
            case CACHE -> {
                long pblk = op.pblk(base);
                assertEquals(seqBefore, tree.cache(l, len, pblk, op.status()), op.toString());
                model.cache(l, len, pblk, op.status());
                return false;
            }
            case SHRINK -> {
                List<Entry> before = tree.snapshot().entries();
                long evictedBefore = tree.evictedCount();
                long n = tree.shrink(len);
                List<Entry> after = tree.snapshot().entries();
                assertTrue(n <= len, "evicted more than asked");
                assertEquals(before.size() - n, after.size(), "entry count after shrink");
                assertEquals(evictedBefore + n, tree.evictedCount());
                Set<Entry> gone = new HashSet<>(before);
                for (Entry e : after) {
                    assertTrue(gone.remove(e), "shrink changed an entry it kept: " + e);
                }
                for (Entry e : gone) {
                    assertTrue(e.status().isClean(), "evicted dirty entry " + e);
                    for (long b = e.lblk(); b <= e.end(); b++) {
                        model.forget(b);
                    }
                }
                return false;
            }
            case LOOKUP -> {
                Lookup lk = tree.lookup(l);
                assertEquals(new Lookup(model.runAt(l), seqBefore), lk, op.toString());
                return false;
            }
            case NEXT -> {
                Lookup lk = tree.nextAfter(l);
                assertEquals(new Lookup(model.firstRunAfter(l), seqBefore), lk, op.toString());
                return false;
            }
            case RANGE -> {
                RangeLookup r = tree.lookupRange(l, len);
                assertEquals(new RangeLookup(model.runsOverlapping(l, len), seqBefore), r, op.toString());
                return false;
            }
            case FIND -> {
                EnumSet<Status> want = op.status() == Status.HOLE
                        ? EnumSet.of(Status.DELAYED, Status.HOLE) : EnumSet.of(op.status());
                Lookup lk = tree.findFirst(l, l + len - 1, want);
                Entry expected = model.runsOverlapping(l, len).stream()
                        .filter(e -> want.contains(e.status())).findFirst().orElse(null);
                assertEquals(new Lookup(expected, seqBefore), lk, op.toString());
                return false;
            }
            default -> throw new AssertionError(op);
        }
    }

    /**
     * Under a shrinker, entries vanish behind the test's back. Allowed: clean blocks only, whole
     * entries only (checked by the runs comparison that follows). The model forgets them too.
     */
    private static void forgetEvicted(ExtentStatusTree tree, BlockModel model, long base) {
        List<Long> forget = new ArrayList<>();
        for (Map.Entry<Long, BlockModel.Block> e : model.blocks().entrySet()) {
            Lookup lk = tree.lookup(e.getKey());
            if (!lk.found()) {
                assertTrue(e.getValue().status().isClean(),
                        "shrinker evicted dirty block " + e.getKey() + " " + e.getValue());
                forget.add(e.getKey());
            } else {
                assertNotNull(lk.entry());
            }
        }
        forget.forEach(model::forget);
        for (long b = base; b < base + WINDOW; b++) {
            if (model.get(b) == null) {
                assertNull(tree.lookup(b).entry(), "tree knows block " + b + " the model does not");
            }
        }
    }
}
