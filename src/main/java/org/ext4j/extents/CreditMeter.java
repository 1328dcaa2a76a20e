package org.ext4j.extents;

import java.util.HashSet;
import java.util.Set;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.format.Superblock;

/**
 * Counts the distinct metadata buffers an extent tree operation may dirty, for journal credits
 * (the kernel's {@code ext4_ext_calc_credits_for_single_extent}, {@code ext4_meta_trans_blocks}):
 * tree blocks, and for every block group whose blocks are allocated or freed what the allocator
 * dirties there ({@link BlockAllocator#FREE_CREDITS_PER_GROUP}: its bitmap and descriptor block);
 * plus, always, the inode's table block and the superblock. It over-counts, never under-counts: a
 * handle that runs out of credits is a bug, a few spare credits are not.
 */
final class CreditMeter {
    /** The inode table block and the superblock. */
    static final int BASE = 2;

    private final Superblock sb;
    private final Set<Long> treeBlocks = new HashSet<>();
    private final Set<Long> groups = new HashSet<>();
    private int fixed;

    CreditMeter(Superblock sb) {
        this.sb = sb;
    }

    int used() {
        return BASE + treeBlocks.size() + groups.size() * BlockAllocator.FREE_CREDITS_PER_GROUP + fixed;
    }

    private long group(long pblk) {
        return Math.max(0, pblk - sb.firstDataBlock) / sb.blocksPerGroup;
    }

    /**
     * Credits that adding these would cost on top of what is counted, without adding them:
     * {@code tree} blocks that may be modified or freed, a data range {@code [start, start+len)} to
     * be freed (len 0: none), and {@code extra} credits counted as is (blocks a split may allocate).
     */
    int cost(Iterable<Long> tree, long start, long len, int extra) {
        return apply(tree, start, len, extra, false);
    }

    void charge(Iterable<Long> tree, long start, long len, int extra) {
        apply(tree, start, len, extra, true);
    }

    private int apply(Iterable<Long> tree, long start, long len, int extra, boolean commit) {
        Set<Long> t = new HashSet<>();
        Set<Long> g = new HashSet<>();
        for (long p : tree) {
            if (!treeBlocks.contains(p)) {
                t.add(p);
            }
            if (!groups.contains(group(p))) {
                g.add(group(p));
            }
        }
        if (len > 0) {
            for (long grp = group(start); grp <= group(start + len - 1); grp++) {
                if (!groups.contains(grp)) {
                    g.add(grp);
                }
            }
        }
        if (commit) {
            treeBlocks.addAll(t);
            groups.addAll(g);
            fixed += extra;
        }
        return t.size() + g.size() * BlockAllocator.FREE_CREDITS_PER_GROUP + extra;
    }
}
