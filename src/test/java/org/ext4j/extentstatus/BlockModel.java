package org.ext4j.extentstatus;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Status;

/**
 * The trivial model of an extent status tree: one slot per logical block holding its state and
 * physical block, or nothing (unknown). Everything a tree should answer is derived from it by brute
 * force. Because a correct tree keeps no two mergeable entries adjacent, its entries are exactly
 * the maximal runs of this model ({@link #runs}), so tests can compare whole entries, not just blocks.
 */
final class BlockModel {

    /** One block's state; {@code pblk} is {@link ExtentStatusTree#NO_PBLK} for DELAYED and HOLE. */
    record Block(Status status, long pblk) {
    }

    private final TreeMap<Long, Block> blocks = new TreeMap<>();
    /** {@link #runs()} of the current state, or null after a change. */
    private List<Entry> runs;

    Block get(long lblk) {
        return blocks.get(lblk);
    }

    Map<Long, Block> blocks() {
        return Collections.unmodifiableMap(blocks);
    }

    void forget(long lblk) {
        runs = null;
        blocks.remove(lblk);
    }

    private static long pblkAt(long pblk, Status status, long offset) {
        return status.hasPblk() ? pblk + offset : ExtentStatusTree.NO_PBLK;
    }

    /** {@code insert}/{@code insertDelayed}: returns the number of DELAYED blocks replaced. */
    long insert(long lblk, long len, long pblk, Status status) {
        long delayed = countDelayed(lblk, len);
        runs = null;
        for (long i = 0; i < len; i++) {
            blocks.put(lblk + i, new Block(status, pblkAt(pblk, status, i)));
        }
        return delayed;
    }

    void cache(long lblk, long len, long pblk, Status status) {
        runs = null;
        for (long i = 0; i < len; i++) {
            blocks.putIfAbsent(lblk + i, new Block(status, pblkAt(pblk, status, i)));
        }
    }

    long remove(long lblk, long len) {
        long delayed = countDelayed(lblk, len);
        runs = null;
        for (long i = 0; i < len; i++) {
            blocks.remove(lblk + i);
        }
        return delayed;
    }

    void convertUnwritten(long lblk, long len) {
        runs = null;
        for (long i = 0; i < len; i++) {
            Block b = blocks.get(lblk + i);
            if (b != null && b.status() == Status.UNWRITTEN) {
                blocks.put(lblk + i, new Block(Status.WRITTEN, b.pblk()));
            }
        }
    }

    long countDelayed(long lblk, long len) {
        long n = 0;
        for (long i = 0; i < len; i++) {
            Block b = blocks.get(lblk + i);
            if (b != null && b.status() == Status.DELAYED) {
                n++;
            }
        }
        return n;
    }

    private static boolean continues(long prevLblk, Block prev, long lblk, Block b) {
        if (lblk != prevLblk + 1 || prev.status() != b.status()) {
            return false;
        }
        return !b.status().hasPblk() || b.pblk() == prev.pblk() + 1;
    }

    /** The maximal runs of known blocks: what a correct tree's entries must be. */
    List<Entry> runs() {
        if (runs == null) {
            runs = List.copyOf(computeRuns());
        }
        return runs;
    }

    private List<Entry> computeRuns() {
        List<Entry> out = new ArrayList<>();
        long start = -1;
        long prevLblk = -1;
        Block first = null;
        Block prev = null;
        for (Map.Entry<Long, Block> e : blocks.entrySet()) {
            long l = e.getKey();
            Block b = e.getValue();
            if (prev != null && continues(prevLblk, prev, l, b)) {
                prevLblk = l;
                prev = b;
                continue;
            }
            if (first != null) {
                out.add(new Entry(start, prevLblk - start + 1, first.pblk(), first.status()));
            }
            start = l;
            first = b;
            prevLblk = l;
            prev = b;
        }
        if (first != null) {
            out.add(new Entry(start, prevLblk - start + 1, first.pblk(), first.status()));
        }
        return out;
    }

    /** The run covering {@code lblk}, or null. */
    Entry runAt(long lblk) {
        for (Entry e : runs()) {
            if (e.contains(lblk)) {
                return e;
            }
        }
        return null;
    }

    /** Runs overlapping {@code [lblk, lblk + len)}. */
    List<Entry> runsOverlapping(long lblk, long len) {
        long end = lblk + len - 1;
        List<Entry> out = new ArrayList<>();
        for (Entry e : runs()) {
            if (e.end() >= lblk && e.lblk() <= end) {
                out.add(e);
            }
        }
        return out;
    }

    /** The first run starting strictly after {@code lblk}, or null. */
    Entry firstRunAfter(long lblk) {
        for (Entry e : runs()) {
            if (e.lblk() > lblk) {
                return e;
            }
        }
        return null;
    }
}
