package org.ext4j.extentstatus;

import static org.ext4j.extentstatus.ExtentStatusTree.MAX_LBLK;
import static org.ext4j.extentstatus.ExtentStatusTree.MAX_PBLK;
import static org.ext4j.extentstatus.ExtentStatusTree.NO_PBLK;
import static org.ext4j.extentstatus.ExtentStatusTree.Status.DELAYED;
import static org.ext4j.extentstatus.ExtentStatusTree.Status.HOLE;
import static org.ext4j.extentstatus.ExtentStatusTree.Status.UNWRITTEN;
import static org.ext4j.extentstatus.ExtentStatusTree.Status.WRITTEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.ext4j.extentstatus.ExtentStatusTree.Change;
import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Split and merge edge cases, table-driven, and the contract of each operation. */
class ExtentStatusTreeTest {

    private static Entry e(long lblk, long len, long pblk, Status s) {
        return new Entry(lblk, len, pblk, s);
    }

    private static Entry w(long lblk, long len, long pblk) {
        return e(lblk, len, pblk, WRITTEN);
    }

    private static Entry u(long lblk, long len, long pblk) {
        return e(lblk, len, pblk, UNWRITTEN);
    }

    private static Entry d(long lblk, long len) {
        return e(lblk, len, NO_PBLK, DELAYED);
    }

    private static Entry h(long lblk, long len) {
        return e(lblk, len, NO_PBLK, HOLE);
    }

    /** Builds a tree from entries that must not merge with each other (checked). */
    private static ExtentStatusTree tree(Entry... entries) {
        ExtentStatusTree t = new ExtentStatusTree();
        for (Entry x : entries) {
            if (x.status() == DELAYED) {
                t.insertDelayed(x.lblk(), x.len());
            } else {
                t.insert(x.lblk(), x.len(), x.pblk(), x.status());
            }
        }
        assertEquals(List.of(entries), t.snapshot().entries(), "fixture");
        return t;
    }

    private static Consumer<ExtentStatusTree> ins(Entry x) {
        return t -> {
            if (x.status() == DELAYED) {
                t.insertDelayed(x.lblk(), x.len());
            } else {
                t.insert(x.lblk(), x.len(), x.pblk(), x.status());
            }
        };
    }

    private static Arguments row(String name, List<Entry> before, Consumer<ExtentStatusTree> op,
            List<Entry> after) {
        return Arguments.of(name, before, op, after);
    }

    static Stream<Arguments> splitsAndMerges() {
        long top = MAX_LBLK;
        return Stream.of(
                row("len 1 at 0", List.of(), ins(w(0, 1, 7)), List.of(w(0, 1, 7))),
                row("len 1 at 2^32-1", List.of(), ins(w(top, 1, 7)), List.of(w(top, 1, 7))),
                row("whole 2^32 range", List.of(), ins(u(0, top + 1, 0)), List.of(u(0, top + 1, 0))),
                row("middle of the whole range", List.of(w(0, top + 1, 100)), ins(h(1000, 5)),
                        List.of(w(0, 1000, 100), h(1000, 5), w(1005, top + 1 - 1005, 1105))),
                row("first block of a range at 0", List.of(w(0, 10, 100)), ins(u(0, 1, 100)),
                        List.of(u(0, 1, 100), w(1, 9, 101))),
                row("last block below the ceiling", List.of(w(top - 9, 10, 100)), ins(u(top, 1, 109)),
                        List.of(w(top - 9, 9, 100), u(top, 1, 109))),
                row("middle: two remnants, right pblk shifted", List.of(w(10, 10, 100)),
                        ins(u(13, 2, 500)), List.of(w(10, 3, 100), u(13, 2, 500), w(15, 5, 105))),
                row("middle of DELAYED", List.of(d(10, 10)), ins(w(12, 1, 9)),
                        List.of(d(10, 2), w(12, 1, 9), d(13, 7))),
                row("full overlap, same bounds", List.of(w(10, 5, 100)), ins(h(10, 5)),
                        List.of(h(10, 5))),
                row("full overlap of several", List.of(w(10, 2, 100), u(12, 2, 50), d(14, 2)),
                        ins(w(9, 8, 900)), List.of(w(9, 8, 900))),
                row("partial overlap on the left", List.of(w(10, 10, 100)), ins(u(5, 8, 50)),
                        List.of(u(5, 8, 50), w(13, 7, 103))),
                row("partial overlap on the right", List.of(w(10, 10, 100)), ins(u(17, 8, 50)),
                        List.of(w(10, 7, 100), u(17, 8, 50))),
                row("partial overlaps on both sides", List.of(w(10, 10, 100), u(20, 10, 300)),
                        ins(h(15, 10)), List.of(w(10, 5, 100), h(15, 10), u(25, 5, 305))),
                row("merge left, pblk contiguous", List.of(w(10, 5, 100)), ins(w(15, 3, 105)),
                        List.of(w(10, 8, 100))),
                row("no merge, pblk gap", List.of(w(10, 5, 100)), ins(w(15, 3, 106)),
                        List.of(w(10, 5, 100), w(15, 3, 106))),
                row("no merge, other status", List.of(w(10, 5, 100)), ins(u(15, 3, 105)),
                        List.of(w(10, 5, 100), u(15, 3, 105))),
                row("merge right", List.of(u(10, 5, 100)), ins(u(7, 3, 97)), List.of(u(7, 8, 97))),
                row("merge both sides: fill the gap", List.of(w(0, 5, 100), w(8, 5, 108)),
                        ins(w(5, 3, 105)), List.of(w(0, 13, 100))),
                row("same mapping inside: pieces merge back", List.of(w(10, 10, 100)),
                        ins(w(13, 2, 103)), List.of(w(10, 10, 100))),
                row("holes merge by position", List.of(h(0, 4), h(6, 4)), ins(h(4, 2)),
                        List.of(h(0, 10))),
                row("delayed merges by position", List.of(d(top - 3, 2)), ins(d(top - 1, 2)),
                        List.of(d(top - 3, 4))),
                row("not adjacent: no merge", List.of(w(0, 5, 100)), ins(w(6, 1, 106)),
                        List.of(w(0, 5, 100), w(6, 1, 106))),
                row("remove middle: remnants, pblk shifted", List.of(u(10, 10, 100)),
                        (Consumer<ExtentStatusTree>) t -> t.remove(12, 3),
                        List.of(u(10, 2, 100), u(15, 5, 105))),
                row("remove across entries", List.of(w(0, 5, 100), d(5, 5), h(10, 5)),
                        (Consumer<ExtentStatusTree>) t -> t.remove(3, 9),
                        List.of(w(0, 3, 100), h(12, 3))),
                row("remove everything", List.of(w(0, 5, 100), d(top - 1, 2)),
                        (Consumer<ExtentStatusTree>) t -> t.remove(0, top + 1), List.of()),
                row("convert part of unwritten: merges with written neighbour",
                        List.of(w(0, 10, 100), u(10, 10, 110)),
                        (Consumer<ExtentStatusTree>) t -> t.convertUnwritten(5, 8),
                        List.of(w(0, 13, 100), u(13, 7, 113))),
                row("convert skips other states", List.of(d(0, 2), u(2, 2, 50), h(4, 2)),
                        (Consumer<ExtentStatusTree>) t -> t.convertUnwritten(0, 6),
                        List.of(d(0, 2), w(2, 2, 50), h(4, 2))),
                row("cache fills gaps only, merging", List.of(w(0, 2, 100), d(4, 2)),
                        (Consumer<ExtentStatusTree>) t -> t.cache(0, 8, 100, WRITTEN),
                        List.of(w(0, 4, 100), d(4, 2), w(6, 2, 106))),
                row("cache never overwrites", List.of(u(0, 8, 100)),
                        (Consumer<ExtentStatusTree>) t -> t.cache(2, 2, 500, WRITTEN),
                        List.of(u(0, 8, 100))),
                row("pblk at the 48-bit ceiling", List.of(w(0, 2, MAX_PBLK - 3)),
                        ins(w(2, 2, MAX_PBLK - 1)), List.of(w(0, 4, MAX_PBLK - 3))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("splitsAndMerges")
    void splitsAndMerges(String name, List<Entry> before, Consumer<ExtentStatusTree> op, List<Entry> after) {
        ExtentStatusTree t = tree(before.toArray(new Entry[0]));
        op.accept(t);
        assertEquals(after, t.snapshot().entries());
        t.checkInvariants();
        for (Entry x : after) {
            Lookup first = t.lookup(x.lblk());
            Lookup last = t.lookup(x.end());
            assertEquals(x, first.entry());
            assertEquals(x, last.entry());
            assertEquals(x.status().hasPblk() ? x.pblk() + x.len() - 1 : NO_PBLK, last.entry().pblkOf(x.end()));
        }
    }

    @Test
    void lookupOfUnknownBlockStillHandsOutTheCounter() {
        ExtentStatusTree t = new ExtentStatusTree();
        t.insert(10, 2, 100, WRITTEN);
        t.remove(0, 1);
        assertEquals(new Lookup(null, 2), t.lookup(12));
        assertEquals(new Lookup(null, 2), t.lookup(9));
        assertEquals(new Lookup(w(10, 2, 100), 2), t.lookup(11));
        assertEquals(new Lookup(null, 2), t.lookup(MAX_LBLK));
    }

    @Test
    void everyChangeBumpsByOneEvenWithoutEffect() {
        ExtentStatusTree t = new ExtentStatusTree();
        assertEquals(0, t.seq());
        assertEquals(new Change(1, 0), t.remove(0, 10)); // nothing there: the kernel bumps anyway
        assertEquals(new Change(2, 0), t.insert(0, 4, 100, WRITTEN));
        assertEquals(new Change(3, 0), t.insert(0, 4, 100, WRITTEN)); // same state again
        assertEquals(new Change(4, 0), t.convertUnwritten(0, 4)); // nothing unwritten
        assertEquals(new Change(5, 0), t.insertDelayed(8, 3));
        assertEquals(new Change(6, 3), t.insertDelayed(7, 5)); // 3 of 5 were delayed already
        assertEquals(new Change(7, 2), t.insert(10, 4, 500, UNWRITTEN)); // consumed 2 delayed
        assertEquals(new Change(8, 3), t.remove(0, MAX_LBLK + 1)); // released the other 3
        assertTrue(t.isCurrent(8));
        assertFalse(t.isCurrent(7));
    }

    @Test
    void cacheAndShrinkNeverMoveTheCounter() {
        ExtentStatusTree t = new ExtentStatusTree();
        t.insertDelayed(5, 1);
        long s = t.seq();
        assertEquals(s, t.cache(0, 10, NO_PBLK, HOLE));
        assertEquals(s, t.cache(20, 10, 1000, WRITTEN));
        assertEquals(List.of(h(0, 5), d(5, 1), h(6, 4), w(20, 10, 1000)), t.snapshot().entries());
        assertEquals(3, t.shrink(100));
        assertEquals(List.of(d(5, 1)), t.snapshot().entries());
        assertEquals(s, t.seq());
        assertEquals(3, t.evictedCount());
    }

    /**
     * The seed's race on the tree alone: a mapping taken while the block was UNWRITTEN carries a
     * cookie that no longer matches once writeback converts, and the cookie of a remap does.
     */
    @Test
    void conversionInvalidatesTheCookieOfAnUnwrittenMapping() {
        ExtentStatusTree t = new ExtentStatusTree();
        t.insert(0, 4, 100, UNWRITTEN);
        Lookup writer = t.lookup(0);
        assertEquals(UNWRITTEN, writer.entry().status());
        t.convertUnwritten(3, 1); // writeback completion
        assertFalse(t.isCurrent(writer.seq()));
        Lookup remap = t.lookup(3);
        assertEquals(w(3, 1, 103), remap.entry());
        assertTrue(t.isCurrent(remap.seq()));
    }

    @Test
    void referencedEntriesGetASecondChance() {
        ExtentStatusTree t = new ExtentStatusTree();
        t.insert(0, 1, 100, WRITTEN);
        t.insert(10, 1, 200, WRITTEN);
        t.lookup(0);
        assertEquals(1, t.shrink(1)); // spares block 0 (referenced), evicts block 10
        assertEquals(List.of(w(0, 1, 100)), t.snapshot().entries());
        assertEquals(1, t.shrink(1)); // bit cleared by the first scan
        assertEquals(List.of(), t.snapshot().entries());
    }

    @Test
    void shrinkScansRoundRobin() {
        ExtentStatusTree t = new ExtentStatusTree();
        for (int i = 0; i < 6; i++) {
            t.insert(i * 10, 1, 100 + i * 10, WRITTEN);
        }
        assertEquals(2, t.shrink(2));
        assertEquals(2, t.shrink(2));
        assertEquals(List.of(w(40, 1, 140), w(50, 1, 150)), t.snapshot().entries());
        t.insert(0, 1, 7, WRITTEN);
        assertEquals(2, t.shrink(2)); // continues at 40, then 50
        assertEquals(List.of(w(0, 1, 7)), t.snapshot().entries());
    }

    @Test
    void findFirstAndNextAfter() {
        ExtentStatusTree t = tree(w(0, 2, 100), d(5, 2), h(9, 1), u(MAX_LBLK, 1, 3));
        assertEquals(d(5, 2), t.findFirst(1, 20, EnumSet.of(DELAYED)).entry());
        assertEquals(d(5, 2), t.findFirst(6, 6, EnumSet.of(DELAYED)).entry());
        assertNull(t.findFirst(7, MAX_LBLK - 1, EnumSet.of(DELAYED)).entry());
        assertEquals(w(0, 2, 100), t.findFirst(1, 1, EnumSet.allOf(Status.class)).entry());
        assertNull(t.findFirst(0, MAX_LBLK, EnumSet.noneOf(Status.class)).entry());
        assertEquals(d(5, 2), t.nextAfter(0).entry());
        assertEquals(h(9, 1), t.nextAfter(5).entry());
        assertEquals(u(MAX_LBLK, 1, 3), t.nextAfter(9).entry());
        assertNull(t.nextAfter(MAX_LBLK).entry());
        assertEquals(List.of(d(5, 2), h(9, 1)), t.lookupRange(6, 4).entries());
        assertEquals(t.seq(), t.lookupRange(6, 4).seq());
    }

    @Test
    void rejectsOutOfRangeArguments() {
        ExtentStatusTree t = new ExtentStatusTree();
        assertThrows(IllegalArgumentException.class, () -> t.insert(MAX_LBLK, 2, 0, WRITTEN));
        assertThrows(IllegalArgumentException.class, () -> t.insert(-1, 1, 0, WRITTEN));
        assertThrows(IllegalArgumentException.class, () -> t.insert(0, 0, 0, WRITTEN));
        assertThrows(IllegalArgumentException.class, () -> t.insert(0, 1, 0, DELAYED));
        assertThrows(IllegalArgumentException.class, () -> t.insert(0, 1, 0, HOLE));
        assertThrows(IllegalArgumentException.class, () -> t.insert(0, 1, -1, WRITTEN));
        assertThrows(IllegalArgumentException.class, () -> t.insert(0, 3, MAX_PBLK - 1, WRITTEN));
        assertThrows(IllegalArgumentException.class, () -> t.cache(0, 1, NO_PBLK, DELAYED));
        assertThrows(IllegalArgumentException.class, () -> t.remove(1, MAX_LBLK + 1));
        assertThrows(IllegalArgumentException.class, () -> t.lookup(MAX_LBLK + 1));
        assertThrows(IllegalArgumentException.class, () -> t.findFirst(5, 4, EnumSet.of(WRITTEN)));
        assertEquals(0, t.seq(), "rejected calls must not count");
    }

    @Test
    void closedTreeIsUnusable() {
        ExtentStatusTree t = new ExtentStatusTree();
        t.insertDelayed(0, 1);
        t.close();
        assertEquals(2, t.seq());
        assertThrows(IllegalStateException.class, () -> t.lookup(0));
        assertThrows(IllegalStateException.class, () -> t.insert(0, 1, 1, WRITTEN));
        t.close(); // idempotent
        assertEquals(2, t.seq());
    }
}
