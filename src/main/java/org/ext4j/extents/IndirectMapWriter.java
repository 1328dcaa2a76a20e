package org.ext4j.extents;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.txn.Journal;
import org.ext4j.volume.Volume;

/**
 * Changing the legacy ext2/ext3 block map of one inode ({@code fs/ext4/indirect.c}): allocation as
 * {@code ext4_ind_map_blocks} with create does it ({@code ext4_block_to_path}, {@code ext4_find_goal}
 * / {@code ext4_find_near}, {@code ext4_blks_to_allocate}, {@code ext4_alloc_branch},
 * {@code ext4_splice_branch}), and removal of a range as {@code ext4_ind_truncate} and
 * {@code ext4_ind_remove_space} do it (data blocks in the range freed, indirect blocks whose whole
 * subtree lies in the range freed with it, an indirect block the cut leaves empty freed too).
 *
 * <p><b>Allocation</b> maps one run of a hole inside one leaf container (the twelve direct pointers,
 * or one indirect block of data pointers), as the kernel's {@code ext4_blks_to_allocate} limits it.
 * The indirect blocks the path lacks are allocated first, near the goal, and the data right after
 * them, so the layout is ext3's: an indirect block followed by the data it maps. The goal is the
 * nearest mapped block to the left in the same container, else the container itself, else the
 * inode's group. There are no unwritten blocks in a block map: what is allocated is written.
 *
 * <p><b>Removal</b> is validate, then change. {@link #checkRemovable} and {@link #remove} first build
 * the same plan: every block the removal frees (the whole subtree of every indirect block that lies
 * inside the range, read and each pointer checked against the file system and the system zone with
 * {@link Volume#checkFileBlocks}, as {@code ext4_check_blockref}), the new bytes of the at most two
 * indirect blocks per level the range cuts, and the i_block slots it clears; the walk is bounded by
 * i_blocks and a block named twice is refused. {@link #checkRemovable} then asks the allocator
 * whether each block may be freed (valid bitmap, in use). {@link #remove} writes the map first and
 * the caller frees the blocks after ({@link #freeBlocks}), so a crash in between leaks blocks and
 * never leaves one both free and mapped. This is the one implementation of freeing an indirect
 * map: eviction ({@code ext4_evict_inode}) truncates to 0 through it.
 *
 * <p>Not thread-safe: the block mapper's mapping lock ({@code i_data_sem}) serialises every call. The
 * writer edits the caller's live i_block in place.
 */
public final class IndirectMapWriter {
    private static final int DIRECT = 12;
    /** Indirect levels a map path may lack and allocate at once (single, double and triple). */
    private static final int MAX_NEW_MAP_BLOCKS = 3;

    /**
     * Credits of one {@link #allocate}, the inode's block not included: up to three indirect blocks
     * and the data, each from its own allocation, the three new blocks, and the existing block the
     * new branch is spliced into.
     */
    public static final int ALLOC_CREDITS = (MAX_NEW_MAP_BLOCKS + 1) * BlockAllocator.ALLOC_CREDITS + MAX_NEW_MAP_BLOCKS + 1;

    /**
     * Credits of one {@link #remove}, the inode's block not included: the indirect blocks a range cuts,
     * at most two per level.
     */
    public static final int REMOVE_CREDITS = 2 * MAX_NEW_MAP_BLOCKS;

    /** Credits per handle while {@link #freeBlocks} frees a map's blocks. */
    private static final int FREE_BATCH_CREDITS = 64;

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator allocator;
    private final long inode;
    private final byte[] iBlock;
    private final long goalHint;
    private final int perBlock;
    private final IndirectBlockMap reader;
    private final long maxLogical;

    /**
     * A writer over {@code iBlock}, the inode's live i_block (changed in place); {@code goalHint} is
     * where an empty file's data goes ({@code ext4_inode_to_goal_block}).
     */
    public IndirectMapWriter(Volume volume, BlockAllocator allocator, long inode, byte[] iBlock, long goalHint) {
        this.volume = volume;
        this.sb = volume.superblock();
        this.allocator = allocator;
        this.inode = inode;
        this.iBlock = iBlock;
        this.goalHint = goalHint;
        this.perBlock = volume.blockSize() / 4;
        this.reader = new IndirectBlockMap(volume, inode, iBlock);
        long p = perBlock;
        this.maxLogical = Math.min(DIRECT + p + p * p + p * p * p, 1L << 32);
    }

    /** The first logical block a block map cannot address (12 + p + p^2 + p^3 pointers, at most 2^32). */
    public long maxLogical() {
        return maxLogical;
    }

    /**
     * The map's answer for {@code lblk} ({@link IndirectBlockMap#map}), reading i_block as it is now;
     * past {@link #maxLogical} everything is a hole.
     */
    public BlockMap.Mapping map(long lblk, long maxLen) throws IOException {
        if (lblk >= maxLogical) {
            return new BlockMap.Mapping(lblk, Math.max(1, maxLen), -1, BlockMap.State.HOLE);
        }
        reader.reloadRoot(iBlock);
        return reader.map(lblk, Math.max(1, Math.min(maxLen, maxLogical - lblk)));
    }

    /**
     * {@code ext4_block_to_path}: the slot in i_block, then the index in each indirect block down to
     * the data pointer.
     */
    private int[] path(long lblk) {
        long p = perBlock;
        if (lblk < DIRECT) {
            return new int[] {(int) lblk};
        }
        long rel = lblk - DIRECT;
        if (rel < p) {
            return new int[] {12, (int) rel};
        }
        rel -= p;
        if (rel < p * p) {
            return new int[] {13, (int) (rel / p), (int) (rel % p)};
        }
        rel -= p * p;
        return new int[] {14, (int) (rel / (p * p)), (int) ((rel / p) % p), (int) (rel % p)};
    }

    /** A run of data blocks now mapped from the asked logical block, and how many indirect blocks came with it. */
    public record Allocation(long pblk, long length, int mapBlocks) {
    }

    /**
     * {@code ext4_ind_map_blocks} with create, for {@code [lblk, lblk+want)}, a hole on disk: maps up
     * to {@code want} blocks from {@code lblk}, no further than the end of the leaf container holding
     * {@code lblk}'s pointer nor past the next mapped pointer in it, allocating the indirect blocks the
     * path lacks. The blocks on the path are checked before they are read; what was allocated goes
     * back if a later allocation fails, so a failure leaves the map and the bitmaps as they were.
     */
    public Allocation allocate(Handle h, long lblk, long want) throws IOException {
        if (lblk < 0 || lblk >= maxLogical || want < 1) {
            throw new IllegalArgumentException("block " + lblk + " (+" + want + ") is outside a block map of inode " + inode);
        }
        if (sb.blocksCount > 1L << 32) {
            throw new UnsupportedFeatureException("64bit",
                    "a block-mapped file holds 32-bit block numbers; allocating for one (inode " + inode
                            + ") on a file system of more than 2^32 blocks is not implemented");
        }
        int[] off = path(lblk);
        int depth = off.length;
        long[] chain = new long[depth]; // chain[j], j >= 1: the indirect block holding pointer off[j]
        byte[][] bytes = new byte[depth][];
        bytes[0] = iBlock;
        long ptr = Le.u32(iBlock, off[0] * 4);
        int k = 1; // the first level whose indirect block is missing (depth if none is)
        while (k < depth && ptr != 0) {
            volume.checkFileBlocks(inode, lblk, ptr, 1, "indirect block");
            chain[k] = ptr;
            bytes[k] = volume.readBlock(ptr, inode);
            ptr = Le.u32(bytes[k], off[k] * 4);
            k++;
        }
        int missing = ptr == 0 && k < depth ? depth - k : 0;
        if (missing == 0 && ptr != 0) {
            throw new IllegalStateException("block " + lblk + " of inode " + inode + " is mapped already (to " + ptr + ")");
        }
        int leafIndex = off[depth - 1];
        int leafEnd = depth == 1 ? DIRECT : perBlock;
        long n = Math.min(want, leafEnd - leafIndex);
        if (missing == 0) { // ext4_blks_to_allocate: up to the next mapped pointer of the leaf
            byte[] leaf = bytes[depth - 1];
            long free = 1;
            while (free < n && Le.u32(leaf, (leafIndex + (int) free) * 4) == 0) {
                free++;
            }
            n = free;
        }
        // ext4_find_near: the nearest mapped pointer to the left in the container that gets the new
        // pointer, else that container's own block, else the inode's group
        int c = missing > 0 ? k - 1 : depth - 1;
        long goal = c > 0 ? chain[c] : goalHint;
        for (int i = off[c] - 1; i >= 0; i--) {
            long q = Le.u32(bytes[c], i * 4);
            if (q != 0) {
                goal = q;
                break;
            }
        }
        List<BlockAllocator.Run> runs = new ArrayList<>();
        long[] fresh = new long[missing];
        BlockAllocator.Run data;
        try {
            int got = 0;
            long g = goal;
            while (got < missing) {
                BlockAllocator.Run r = allocator.allocate(h, g, 1, missing - got);
                runs.add(r);
                checkAllocated(r, "newly allocated indirect block");
                for (long b = r.start(); b < r.end() && got < missing; b++) {
                    fresh[got++] = b;
                }
                g = r.end();
            }
            data = allocator.allocate(h, g, 1, n);
            runs.add(data);
            checkAllocated(data, "newly allocated file data");
        } catch (IOException | RuntimeException e) {
            for (BlockAllocator.Run r : runs) {
                try {
                    allocator.free(h, r.start(), r.length());
                } catch (IOException | RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
        // ext4_alloc_branch: the new indirect blocks, each pointing at the next, the last at the data
        for (int j = missing - 1; j >= 0; j--) {
            int level = k + j;
            MetaBuffer buf = volume.bufferCache().getZeroed(fresh[j]);
            h.getWriteAccess(buf);
            buf.lock().lock();
            try {
                if (level == depth - 1) {
                    putRun(buf.data(), leafIndex, data);
                } else {
                    Le.put32(buf.data(), off[level] * 4, fresh[j + 1]);
                }
            } finally {
                buf.lock().unlock();
            }
            h.markDirty(buf);
        }
        // ext4_splice_branch: the new branch (or the data run) into the existing container
        int at = missing > 0 ? k - 1 : depth - 1;
        if (at == 0) {
            if (missing > 0) {
                Le.put32(iBlock, off[0] * 4, fresh[0]);
            } else {
                putRun(iBlock, leafIndex, data);
            }
        } else {
            MetaBuffer buf = volume.buffer(chain[at], inode);
            h.getWriteAccess(buf);
            buf.lock().lock();
            try {
                if (missing > 0) {
                    Le.put32(buf.data(), off[at] * 4, fresh[0]);
                } else {
                    putRun(buf.data(), leafIndex, data);
                }
            } finally {
                buf.lock().unlock();
            }
            h.markDirty(buf);
        }
        return new Allocation(data.start(), data.length(), missing);
    }

    private static void putRun(byte[] b, int from, BlockAllocator.Run run) {
        for (int i = 0; i < run.length(); i++) {
            Le.put32(b, (from + i) * 4, run.start() + i);
        }
    }

    /** A block map holds 32-bit pointers, and nothing it maps may be metadata. */
    private void checkAllocated(BlockAllocator.Run r, String what) throws CorruptionException {
        if (r.end() > 1L << 32) {
            throw new IllegalStateException("allocator returned " + r + " for a block map, past 2^32");
        }
        volume.checkFileBlocks(inode, -1, r.start(), r.length(), what);
    }

    // ------------------------------------------------------------------ removal

    /** What a removal of a range frees and changes, found before anything changes. */
    private final class Plan {
        private final long limit;
        private long[] freed = new long[16];
        private int count;
        /** Indirect blocks the range cuts, with their new bytes. */
        private final Map<Long, byte[]> changed = new LinkedHashMap<>();
        /** i_block slots the removal clears. */
        private final List<Integer> rootSlots = new ArrayList<>();

        Plan(long limit) {
            this.limit = limit;
        }

        void free(long b) throws CorruptionException {
            counted(b);
            if (count == freed.length) {
                freed = Arrays.copyOf(freed, (int) Math.min(Integer.MAX_VALUE - 8, (long) count * 2));
            }
            freed[count++] = b;
        }

        void change(long b, byte[] bytes) throws CorruptionException {
            counted(b);
            changed.put(b, bytes);
        }

        private void counted(long b) throws CorruptionException {
            if ((long) count + changed.size() >= limit) {
                throw CorruptionException.of(Kind.BAD_INDIRECT_MAP).inode(inode).block(b)
                        .build("the block map names more blocks than i_blocks counts (" + limit + ")");
            }
        }

        /** The freed blocks, sorted; a block named twice (freed or kept) is corruption. */
        long[] sortedFreed() throws CorruptionException {
            long[] all = Arrays.copyOf(freed, count + changed.size());
            int i = count;
            for (long b : changed.keySet()) {
                all[i++] = b;
            }
            Arrays.sort(all);
            for (int j = 1; j < all.length; j++) {
                if (all[j] == all[j - 1]) {
                    throw CorruptionException.of(Kind.BAD_INDIRECT_MAP).inode(inode).block(all[j])
                            .build("block " + all[j] + " appears twice in the block map");
                }
            }
            long[] out = Arrays.copyOf(freed, count);
            Arrays.sort(out);
            return out;
        }
    }

    /**
     * Reads and checks everything a removal of {@code [from, to)} touches, changing nothing.
     * {@code limit} bounds the blocks the walk may meet (the inode's i_blocks, in blocks).
     */
    private Plan plan(long from, long to, long limit) throws IOException {
        to = Math.min(to, maxLogical);
        Plan pl = new Plan(limit);
        for (int s = 0; s < DIRECT; s++) {
            long q = Le.u32(iBlock, s * 4);
            if (q != 0 && s >= from && s < to) {
                volume.checkFileBlocks(inode, s, q, 1, "file data");
                pl.free(q);
                pl.rootSlots.add(s);
            }
        }
        long base = DIRECT;
        long span = perBlock;
        for (int level = 1; level <= 3; level++) {
            int slot = DIRECT - 1 + level;
            long top = Le.u32(iBlock, slot * 4);
            if (top != 0 && base < to && base + span > from) {
                volume.checkFileBlocks(inode, base, top, 1, "indirect block");
                if (from <= base && base + span <= to) {
                    collect(pl, top, level, base);
                    pl.rootSlots.add(slot);
                } else if (cut(pl, top, level, base, from, to)) {
                    pl.rootSlots.add(slot);
                }
            }
            base += span;
            span *= perBlock;
        }
        return pl;
    }

    /**
     * Adds block {@code p} (checked by the caller) and, for an indirect block of {@code level} (1
     * single, 2 double, 3 triple), everything below it, each pointer checked before it is read or
     * counted. {@code base} is the first logical block under {@code p}.
     */
    private void collect(Plan pl, long p, int level, long base) throws IOException {
        pl.free(p);
        if (level == 0) {
            return;
        }
        byte[] b = volume.readBlock(p, inode);
        long childSpan = span(level - 1);
        for (int i = 0; i < perBlock; i++) {
            long q = Le.u32(b, i * 4);
            if (q != 0) {
                long lo = base + i * childSpan;
                volume.checkFileBlocks(inode, lo, q, 1, level > 1 ? "indirect block" : "file data");
                collect(pl, q, level - 1, lo);
            }
        }
    }

    /**
     * Removes {@code [from, to)} from the subtree of indirect block {@code blk} of {@code level},
     * which the range covers only in part: pointers inside it are cleared (their subtrees freed),
     * pointers it cuts are followed. Returns whether {@code blk} is left empty (then freed with the
     * rest, and the caller clears its pointer); otherwise its new bytes are kept in the plan.
     */
    private boolean cut(Plan pl, long blk, int level, long base, long from, long to) throws IOException {
        byte[] b = volume.readBlock(blk, inode);
        long childSpan = span(level - 1);
        int first = (int) Math.max(0, (from - base) / childSpan);
        int last = (int) Math.min(perBlock, (to - base + childSpan - 1) / childSpan);
        boolean changed = false;
        for (int i = first; i < last; i++) {
            long lo = base + i * childSpan;
            long hi = lo + childSpan;
            long q = Le.u32(b, i * 4);
            if (q == 0 || hi <= from || lo >= to) {
                continue;
            }
            volume.checkFileBlocks(inode, lo, q, 1, level > 1 ? "indirect block" : "file data");
            if (from <= lo && hi <= to) {
                collect(pl, q, level - 1, lo);
                Le.put32(b, i * 4, 0);
                changed = true;
            } else if (cut(pl, q, level - 1, lo, from, to)) {
                Le.put32(b, i * 4, 0);
                changed = true;
            }
        }
        if (!changed) {
            return false;
        }
        for (int i = 0; i < perBlock; i++) {
            if (Le.u32(b, i * 4) != 0) {
                pl.change(blk, b);
                return false;
            }
        }
        pl.free(blk);
        return true;
    }

    /** Logical blocks under one pointer of an indirect block of {@code level + 1}. */
    private long span(int level) {
        long s = 1;
        for (int i = 0; i < level; i++) {
            s *= perBlock;
        }
        return s;
    }

    /**
     * Every check {@link #remove} of {@code [from, to)} makes before its first change, changing
     * nothing: the blocks on the way read and their pointers checked, none named twice, the walk
     * within {@code limit} blocks (i_blocks), and every block it frees in use in a valid bitmap.
     */
    public void checkRemovable(long from, long to, long limit) throws IOException {
        long[] blocks = plan(from, to, limit).sortedFreed();
        int i = 0;
        while (i < blocks.length) {
            int j = i + 1;
            while (j < blocks.length && blocks[j] == blocks[j - 1] + 1) {
                j++;
            }
            allocator.checkFree(blocks[i], j - i);
            i = j;
        }
    }

    /**
     * Every block of the map under {@code [from, to)} that a removal would free, data and indirect,
     * sorted, each checked against the file system and the system zone (for eviction's checks).
     */
    public long[] blocksToFree(long from, long to, long limit) throws IOException {
        return plan(from, to, limit).sortedFreed();
    }

    /**
     * {@code ext4_ind_truncate} / {@code ext4_ind_remove_space}: unmaps {@code [from, to)} in
     * {@code h} ({@link #REMOVE_CREDITS} plus the inode's block): the indirect blocks the range cuts
     * are rewritten and the i_block slots it clears zeroed. Returns the blocks the map no longer
     * names, sorted; the caller writes the inode (i_blocks lower by their count) and then frees them
     * with {@link #freeBlocks}.
     */
    public long[] remove(Handle h, long from, long to, long limit) throws IOException {
        Plan pl = plan(from, to, limit);
        long[] freed = pl.sortedFreed();
        for (Map.Entry<Long, byte[]> e : pl.changed.entrySet()) {
            MetaBuffer buf = volume.buffer(e.getKey(), inode);
            h.getWriteAccess(buf);
            buf.lock().lock();
            try {
                System.arraycopy(e.getValue(), 0, buf.data(), 0, e.getValue().length);
            } finally {
                buf.lock().unlock();
            }
            h.markDirty(buf);
        }
        for (int slot : pl.rootSlots) {
            Le.put32(iBlock, slot * 4, 0);
        }
        return freed;
    }

    /**
     * Frees {@code blocks} (sorted), runs at a time in handles of bounded credits, dropping each from
     * the metadata cache (indirect blocks were read through it).
     */
    public static void freeBlocks(Volume volume, Journal journal, BlockAllocator allocator, long[] blocks)
            throws IOException {
        Superblock sb = volume.superblock();
        int i = 0;
        while (i < blocks.length) {
            try (Handle h = journal.start(FREE_BATCH_CREDITS)) {
                int used = 0;
                while (i < blocks.length) {
                    int j = i + 1;
                    while (j < blocks.length && blocks[j] == blocks[j - 1] + 1) {
                        j++;
                    }
                    long start = blocks[i];
                    long len = j - i;
                    long groups = (start + len - 1 - sb.firstDataBlock) / sb.blocksPerGroup
                            - (start - sb.firstDataBlock) / sb.blocksPerGroup + 1;
                    int cost = (int) Math.min(Integer.MAX_VALUE / 2, groups * BlockAllocator.FREE_CREDITS_PER_GROUP);
                    if (used > 0 && used + cost > FREE_BATCH_CREDITS) {
                        break;
                    }
                    if (cost > FREE_BATCH_CREDITS) {
                        len = (long) (FREE_BATCH_CREDITS / BlockAllocator.FREE_CREDITS_PER_GROUP - 1) * sb.blocksPerGroup;
                        j = i + (int) len;
                        cost = FREE_BATCH_CREDITS;
                    }
                    for (long b = start; b < start + len; b++) {
                        volume.bufferCache().forget(b);
                    }
                    allocator.free(h, start, len);
                    used += cost;
                    i = j;
                }
            }
        }
    }
}
