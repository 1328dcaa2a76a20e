package org.ext4j.extents;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Changes one inode's on-disk extent tree: the modifying half of {@code fs/ext4/extents.c}.
 * <ul>
 * <li>{@link #insert} is {@code ext4_ext_insert_extent}: merge into a neighbour of the same state
 * when logically and physically contiguous ({@code ext4_can_extents_be_merged}), else insert, splitting
 * full nodes bottom-up ({@code ext4_ext_split}) and growing the tree by one level when the root is
 * full ({@code ext4_ext_grow_indepth}); afterwards a depth-1 tree whose one leaf fits in i_block is
 * folded back into it ({@code ext4_ext_try_to_merge_up}). A full node splits at the insertion point,
 * as {@code ext4_ext_split} does: appends leave full nodes behind and start an empty one. Merges
 * happen within a leaf only, as in the kernel; the kernel's refusal to merge unwritten extents while
 * conversions are in flight ({@code EXT4_STATE_DIO_UNWRITTEN}) is the block mapper's business.</li>
 * <li>{@link #removeRange} is {@code ext4_ext_remove_space} / {@code ext4_ext_rm_leaf}: from the end of
 * the range backwards, extents are removed or trimmed and their blocks freed; an extent that
 * strictly contains the range is split first ({@code ext4_force_split_extent_at}). A tree block that
 * becomes empty is freed and its index removed from the parent, recursively; when the root runs
 * empty the tree becomes an empty depth-0 root. Otherwise the depth never shrinks on removal,
 * exactly as in the kernel (only a later insert or conversion may fold a depth-1 tree back).</li>
 * <li>{@link #convertToWritten} / {@link #convertToUnwritten} are {@code ext4_ext_convert_to_initialized}
 * and {@code ext4_split_extent}: the converted range is split out of its extent (into up to three)
 * and merged with neighbours afterwards; when the range touches one end of the extent and the
 * neighbour on that side already has the target state and is physically contiguous, the boundary is
 * moved instead (no split, no allocation), as the kernel's fast path does. The kernel's zero-out
 * fallback (writing zeros to avoid a split, or on ENOSPC) is not done: a split that cannot get a tree
 * block fails with {@link NoSpaceException}, leaving a consistent tree with the same mapping.</li>
 * <li>{@link #map} / {@link #extentAt} / {@link #findGoal} are the lookups the block mapper needs.</li>
 * </ul>
 *
 * <p>Steps and failure: every operation is a sequence of steps (one insert, one split, one extent
 * removed or trimmed, one conversion). A step works on private copies of the nodes it reads; tree
 * blocks it needs are allocated before anything is changed (freed again if the allocation cannot be
 * completed). At the end of a step the changed nodes are published: for each tree block write access
 * is taken, the copy goes into the buffer, the tail checksum is set and the buffer is marked dirty in
 * the handle; a changed root is copied into the caller's i_block array. Only then are freed tree and
 * data blocks handed back to the allocator, so a failure leaks blocks rather than leaving them
 * referenced and free. The caller writes the inode: each operation returns a {@link Change} saying
 * whether i_block changed and how many blocks the tree gained or freed (for i_blocks); after an
 * exception, {@link #takeChange()} reports the steps that did complete.
 *
 * <p>Credits: {@link #insertCredits()}, {@link #creditsForSingleExtent}, {@link #convertCredits},
 * {@link #removeCredits} and {@link #removeStepCredits()} estimate the buffers an operation may dirty
 * (tree blocks, and what the allocator dirties per group), inode included; {@link #removeRange(Handle,
 * long, long, int)} stops before exceeding a budget, for truncates that restart their handle.
 *
 * <p>Not thread-safe: the caller holds the inode's mapping lock (the kernel's {@code i_data_sem}).
 * Block numbers read from the tree are checked before use, against the file system's size and the
 * system zone ({@link Volume#checkFileBlocks}: every entry of a node when the node is first read, as
 * {@code __ext4_ext_check}; the blocks an insert maps and the tree blocks it allocates, so a damaged
 * bitmap that hands out metadata blocks is caught before data goes there), nodes are validated as
 * {@link ExtentNode#decode} and {@link ExtentTreeReader} do (depth, order, a child's first entry equal
 * to its index, checksum), and violations are reported as {@link CorruptionException}.
 *
 * <p>Verified blocks: a tree block is read, decoded and checksum-verified once, the first time this
 * writer meets it, as the kernel verifies a buffer head once ({@code buffer_verified}); its bytes are
 * then kept across operations (a bounded LRU of {@value #VERIFIED_BYTES} bytes) and every later
 * operation starts from a private copy of them, without going back to the buffer cache. This is
 * right because this writer is the only one changing this inode's tree (it is called under the
 * mapping lock, and the inode has one writer while it is open): every change to a tree block passes
 * through {@link #publish}, which replaces the kept bytes with exactly what it put in the buffer,
 * and every tree block it frees is dropped from them before it goes back to the allocator. A step
 * that fails before publishing changes only its working copies, so the kept bytes stay those of the
 * buffers. Damage done to a buffer in memory behind the writer's back after that first check is not
 * seen, as in the kernel; what is on disk is checked when it is first read.
 *
 * <p>Debug capacities ({@link Capacity}, the kernel's {@code AGGRESSIVE_TEST}): tests can lower the
 * number of entries at which a node counts as full, to force splits and depth growth with few
 * extents. Only the split threshold changes; eh_max on disk is always the real capacity, because
 * e2fsprogs rejects a node whose eh_max is more than two below what the block holds
 * ({@code ext2fs_extent_header_verify}).
 */
public final class ExtentTreeWriter implements BlockMap {

    /**
     * Node capacities used as split thresholds. {@link #REAL} uses what the structures hold; a
     * smaller one (tests only) forces splits early.
     */
    record Capacity(int root, int block) {
        static final Capacity REAL = new Capacity(Integer.MAX_VALUE, Integer.MAX_VALUE);

        Capacity {
            if (root < 2 || block < 3 || block < Math.min(root, ExtentNodeWriter.ROOT_CAPACITY)) {
                throw new IllegalArgumentException("debug capacities root " + root + ", block " + block);
            }
        }
    }

    /**
     * What an operation did that the caller must reflect in the inode: {@code rootChanged} (write
     * i_block back), tree blocks allocated and freed, data blocks freed (i_blocks goes down by them),
     * and for {@link #removeRange} with a credit budget the length {@code remaining} at the start of
     * the range that was not yet removed (0 when done).
     */
    public record Change(boolean rootChanged, int treeBlocksAllocated, int treeBlocksFreed, long dataBlocksFreed,
            long remaining) {
        /** Change of the inode's block count in file system blocks, data inserted by the caller excluded. */
        public long blocksDelta() {
            return treeBlocksAllocated - treeBlocksFreed - dataBlocksFreed;
        }
    }

    /** One level of a lookup path: the node and the entry followed (index levels) or found (leaf, -1: none). */
    private static final class Level {
        final TreeNode node;
        final int pos;

        Level(TreeNode node, int pos) {
            this.node = node;
            this.pos = pos;
        }
    }

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator allocator;
    private final long inode;
    private final byte[] iBlock;
    private final int checksumSeed;
    private final boolean csum;
    private final long goalHint;
    private final int blockSize;
    private final int blockCapacity;
    private final Capacity capacity;

    /** Bound of {@link #verified}, in bytes of tree blocks. */
    static final int VERIFIED_BYTES = 4 << 20;

    /**
     * Tree blocks of this inode that were read and verified, or published, by this writer, by block
     * number: exactly the bytes of their buffers. Never handed out: {@link #load} copies. Least
     * recently used first; dropped blocks are read and verified again when next met.
     */
    private final Map<Long, byte[]> verified;
    /** The last i_block contents found valid: the root is decoded again only when i_block differs. */
    private byte[] verifiedRoot;

    // state of the operation in progress
    private TreeNode rootNode;
    private final Map<Long, TreeNode> open = new LinkedHashMap<>();
    private final List<Long> treeFrees = new ArrayList<>();
    private final List<long[]> dataFrees = new ArrayList<>();

    // accumulated until takeChange()
    private boolean rootChanged;
    private int treeAllocated;
    private int treeFreed;
    private long dataFreed;

    /**
     * A writer for inode {@code inode}'s tree whose root is {@code iBlock} (the caller's 60-byte
     * i_block, updated in place). {@code checksumSeed} is the inode's
     * ({@link InodeRecord#checksumSeed(Superblock)}); {@code goalHint} is where tree blocks go when
     * nothing in the tree suggests better (the kernel's {@code ext4_inode_to_goal_block}).
     */
    public ExtentTreeWriter(Volume volume, BlockAllocator allocator, long inode, byte[] iBlock, int checksumSeed,
            long goalHint) throws IOException {
        this(volume, allocator, inode, iBlock, checksumSeed, goalHint, Capacity.REAL);
    }

    ExtentTreeWriter(Volume volume, BlockAllocator allocator, long inode, byte[] iBlock, int checksumSeed,
            long goalHint, Capacity capacity) throws IOException {
        if (iBlock.length != InodeRecord.I_BLOCK_SIZE) {
            throw new IllegalArgumentException("i_block is " + iBlock.length + " bytes, not 60");
        }
        this.volume = volume;
        this.sb = volume.superblock();
        if (sb.hasRoCompat(Features.RO_COMPAT_BIGALLOC)) {
            throw new UnsupportedFeatureException("bigalloc", "extent tree changes with clusters are not implemented");
        }
        this.allocator = allocator;
        this.inode = inode;
        this.iBlock = iBlock;
        this.checksumSeed = checksumSeed;
        this.csum = sb.hasMetadataCsum();
        this.goalHint = goalHint;
        this.blockSize = volume.blockSize();
        this.blockCapacity = ExtentNodeWriter.blockCapacity(blockSize);
        this.capacity = capacity;
        int maxVerified = Math.max(16, VERIFIED_BYTES / blockSize);
        this.verified = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > maxVerified;
            }
        };
        ExtentNode.decode(iBlock, 0, iBlock.length, inode, -1, -1);
        checkEntries(new TreeNode(-1, iBlock));
        this.verifiedRoot = iBlock.clone();
    }

    // ------------------------------------------------------------------ lookups

    /** Depth of the tree as the root says. */
    public int depth() {
        return ExtentNodeWriter.depth(iBlock, 0);
    }

    /**
     * The mapping at {@code lblk}: the rest of the extent covering it (capped at {@code maxLen}), or
     * the hole up to the next extent (the kernel's {@code ext4_ext_map_blocks} lookup and
     * {@code ext4_ext_next_allocated_block}).
     */
    @Override
    public Mapping map(long lblk, long maxLen) throws IOException {
        checkLogical(lblk);
        try {
            List<Level> path = findPath(lblk);
            Level leaf = leafOf(path);
            if (leaf.pos >= 0) {
                Extent e = leaf.node.extent(leaf.pos);
                if (lblk < e.logicalEnd()) {
                    volume.checkFileBlocks(inode, e.logical(), e.physical(), e.length());
                    return new Mapping(lblk, Math.min(e.logicalEnd() - lblk, maxLen), e.physical() + (lblk - e.logical()),
                            e.unwritten() ? State.UNWRITTEN : State.WRITTEN);
                }
            }
            long next = nextStart(path);
            return new Mapping(lblk, Math.max(1, Math.min(next - lblk, maxLen)), -1, State.HOLE);
        } finally {
            endOp();
        }
    }

    /** The extent covering {@code lblk}, or null in a hole. */
    public Extent extentAt(long lblk) throws IOException {
        checkLogical(lblk);
        try {
            Level leaf = leafOf(findPath(lblk));
            if (leaf.pos >= 0) {
                Extent e = leaf.node.extent(leaf.pos);
                if (lblk < e.logicalEnd()) {
                    volume.checkFileBlocks(inode, e.logical(), e.physical(), e.length());
                    return e;
                }
            }
            return null;
        } finally {
            endOp();
        }
    }

    /**
     * Where to allocate data for {@code lblk} ({@code ext4_ext_find_goal}): continuing the physical
     * run of the nearest extent before (or after) it, else near the leaf, else the goal hint.
     */
    public long findGoal(long lblk) throws IOException {
        checkLogical(lblk);
        try {
            return goal(findPath(lblk), lblk);
        } finally {
            endOp();
        }
    }

    // ------------------------------------------------------------------ credits

    /**
     * Credits one {@link #insert} may need, the inode's block included: every level split, the root
     * grown and the moved root split (depth + 2 new blocks, each possibly in its own group), the
     * path's existing blocks, and a leaf folded into the root being freed.
     */
    public int insertCredits() {
        int d = depth();
        return CreditMeter.BASE + d + splitExtra(d);
    }

    /**
     * Credits of an insert beyond the path's existing blocks: d + 2 new blocks, each from its own
     * allocation, and a leaf folded into i_block being freed.
     */
    private static int splitExtra(int depth) {
        int newBlocks = depth + 2;
        return newBlocks * (1 + BlockAllocator.ALLOC_CREDITS) + BlockAllocator.FREE_CREDITS_PER_GROUP;
    }

    /**
     * Credits enough for any single step of {@link #removeRange(Handle, long, long, int)} (path
     * blocks, their groups, the groups of one extent's data, or the split of an extent the range
     * cuts in the middle): the least budget to pass it.
     */
    public int removeStepCredits() {
        int d = depth();
        long dataGroups = Math.min(sb.groupCount, ExtentNode.INIT_MAX_LEN / sb.blocksPerGroup + 2);
        return CreditMeter.BASE + (d + 1) * (1 + BlockAllocator.FREE_CREDITS_PER_GROUP)
                + (int) (dataGroups * BlockAllocator.FREE_CREDITS_PER_GROUP) + splitExtra(d);
    }

    /**
     * {@code ext4_ext_calc_credits_for_single_extent}: credits to allocate {@code dataBlocks} blocks
     * of data and insert them as one extent (bitmaps and descriptors of the groups the data may span).
     */
    public int creditsForSingleExtent(long dataBlocks) {
        long groups = Math.min(sb.groupCount, dataBlocks / sb.blocksPerGroup + 2);
        return insertCredits() + (int) (groups * BlockAllocator.ALLOC_CREDITS);
    }

    /**
     * Credits {@link #convertToWritten} / {@link #convertToUnwritten} of this range may need: the
     * leaves it touches and their paths, two splits at its ends (the tree may grow by one level at
     * each), one more split per written extent too long to become one unwritten extent, and a leaf
     * folded into i_block.
     */
    public int convertCredits(long lblk, long len) throws IOException {
        CreditMeter m = new CreditMeter(sb);
        int longOnes = walkForEstimate(lblk, lblk + len, m, false);
        int d = depth();
        return m.used() + splitExtra(d) + splitExtra(d + 1) + (d + 2) + longOnes * (splitExtra(d + 2) + d + 3) + 2;
    }

    /** Credits {@link #removeRange} of this range may need when done in one handle. */
    public int removeCredits(long lblk, long len) throws IOException {
        CreditMeter m = new CreditMeter(sb);
        walkForEstimate(lblk, Math.min(lblk + len, ExtentNodeWriter.MAX_LOGICAL_END), m, true);
        return m.used() + insertCredits();
    }

    /**
     * Makes every check {@link #removeRange} of {@code [lblk, lblk+len)} makes before it frees
     * anything, changing nothing: the tree blocks on the way are read and verified, every block it
     * may free (the overlapping parts of extents and the tree blocks above them) lies inside the file
     * system, is owned once, and is in use in a valid block bitmap ({@link BlockAllocator#checkFree}).
     * Truncate and punch call it first, so damage refuses them before their first change.
     */
    public void checkRemovable(long lblk, long len) throws IOException {
        long end = Math.min(lblk + len, ExtentNodeWriter.MAX_LOGICAL_END);
        List<long[]> ranges = new ArrayList<>();
        java.util.Set<Long> treeBlocks = new java.util.HashSet<>(); // each path repeats the blocks above it
        walkRange(lblk, end, new RangeVisitor() {
            @Override
            public void path(List<Long> tree) {
                treeBlocks.addAll(tree);
            }

            @Override
            public void data(long start, long count) {
                if (count > 0) {
                    ranges.add(new long[] {start, count});
                }
            }
        });
        for (long b : treeBlocks) {
            ranges.add(new long[] {b, 1});
        }
        ranges.sort((x, y) -> Long.compare(x[0], y[0]));
        long prevEnd = -1;
        for (long[] r : ranges) {
            if (r[0] < prevEnd) {
                throw CorruptionException.of(Kind.BAD_EXTENT).inode(inode).block(r[0])
                        .build("block " + r[0] + " is mapped twice in the extent tree");
            }
            volume.checkRange(r[0], r[1], inode);
            prevEnd = r[0] + r[1];
        }
        for (long[] r : ranges) {
            allocator.checkFree(r[0], r[1]);
        }
    }

    /**
     * Charges the tree blocks on the paths to every extent overlapping {@code [start, end)} and, with
     * {@code frees}, the groups of their overlapping data; returns how many of them are written
     * extents longer than an unwritten extent may be.
     */
    private int walkForEstimate(long start, long end, CreditMeter m, boolean frees) throws IOException {
        return walkRange(start, end, new RangeVisitor() {
            @Override
            public void path(List<Long> tree) {
                m.charge(tree, 0, 0, 0);
            }

            @Override
            public void data(long pstart, long count) {
                if (frees) {
                    m.charge(List.of(), pstart, count, 0);
                }
            }
        });
    }

    /** What {@link #walkRange} shows: the tree blocks of each path it descends, and each extent's part in the range. */
    private interface RangeVisitor {
        void path(List<Long> treeBlocks);

        void data(long pstart, long count);
    }

    /**
     * Visits, from the end backwards, the path to and the overlapping part of every extent in
     * {@code [start, end)}; returns how many of them are written extents longer than an unwritten
     * extent may be.
     */
    private int walkRange(long start, long end, RangeVisitor v) throws IOException {
        checkLogical(start);
        int longOnes = 0;
        try {
            long cur = end;
            while (cur > start) {
                List<Level> path = findPath(cur - 1);
                Level leaf = leafOf(path);
                v.path(treeBlocksOf(path));
                if (leaf.pos < 0) {
                    long up = leafIndexStart(path);
                    if (up < 0 || up >= cur) {
                        return longOnes;
                    }
                    cur = up;
                    continue;
                }
                for (int i = leaf.pos; i >= 0; i--) {
                    Extent e = leaf.node.extent(i);
                    if (e.logicalEnd() <= start) {
                        return longOnes;
                    }
                    if (!e.unwritten() && e.length() > ExtentNode.UNWRITTEN_MAX_LEN) {
                        longOnes++;
                    }
                    long a = Math.max(start, e.logical());
                    long b = Math.min(cur, e.logicalEnd());
                    v.data(e.physical() + (a - e.logical()), Math.max(0, b - a));
                }
                cur = leaf.node.start(0);
            }
            return longOnes;
        } finally {
            endOp();
        }
    }

    // ------------------------------------------------------------------ insert

    /**
     * Maps {@code len} blocks from logical {@code lblk} to physical {@code pblk} in state
     * {@code unwritten}. The logical range must be a hole; {@code len} at most 32768 (written) or
     * 32767 (unwritten). Handle credits: {@link #insertCredits()}.
     */
    public Change insert(Handle h, long lblk, int len, long pblk, boolean unwritten) throws IOException {
        checkLogical(lblk);
        int limit = maxLen(unwritten);
        if (len < 1 || len > limit || lblk + len > ExtentNodeWriter.MAX_LOGICAL_END) {
            throw new IllegalArgumentException("cannot insert " + len + " blocks at logical " + lblk
                    + (unwritten ? " (unwritten extents hold at most 32767)" : ""));
        }
        try {
            volume.checkRange(pblk, len, inode);
        } catch (CorruptionException e) {
            throw new IllegalArgumentException("physical blocks " + pblk + "+" + len + " are outside the file system", e);
        }
        // blocks the allocator handed out on metadata: its bitmap is damaged; never map data there
        volume.checkFileBlocks(inode, lblk, pblk, len, "newly allocated block");
        try {
            insertStep(h, new Extent(lblk, len, pblk, unwritten));
            mergeUp();
            publish(h);
        } finally {
            endOp();
        }
        return takeChange(0);
    }

    private void insertStep(Handle h, Extent e) throws IOException {
        List<Level> path = findPath(e.logical());
        Level leafLevel = leafOf(path);
        TreeNode leaf = leafLevel.node;
        int pos = leafLevel.pos;
        if (pos >= 0 && leaf.extent(pos).logicalEnd() > e.logical()) {
            throw new IllegalArgumentException("logical blocks " + e.logical() + "+" + e.length()
                    + " overlap the extent " + leaf.extent(pos) + " of inode " + inode);
        }
        long next = nextStart(path);
        if (next < e.logicalEnd()) {
            throw new IllegalArgumentException("logical blocks " + e.logical() + "+" + e.length()
                    + " overlap the extent at " + next + " of inode " + inode);
        }
        if (pos >= 0 && canMerge(leaf.extent(pos), e)) {
            Extent l = leaf.extent(pos);
            leaf.setExtent(pos, new Extent(l.logical(), l.length() + e.length(), l.physical(), l.unwritten()));
            mergeNeighbours(leaf, pos);
            return;
        }
        if (pos + 1 < leaf.entries() && canMerge(e, leaf.extent(pos + 1))) {
            Extent r = leaf.extent(pos + 1);
            leaf.setExtent(pos + 1, new Extent(e.logical(), e.length() + r.length(), e.physical(), e.unwritten()));
            if (pos + 1 == 0) {
                fixStarts(path, path.size() - 1);
            }
            return;
        }
        insertEntry(h, path, path.size() - 1, pos + 1, rawExtent(e), goal(path, e.logical()));
    }

    /**
     * Inserts {@code entry} at position {@code pos} of the node at {@code level}, splitting full nodes
     * upwards and growing the tree at a full root. All the tree blocks this needs are allocated
     * first, so running out of space changes nothing.
     */
    private void insertEntry(Handle h, List<Level> path, int level, int pos, byte[] entry, long goal)
            throws IOException {
        Deque<Long> blocks = allocateTreeBlocks(h, blocksNeeded(path, level), goal);
        while (true) {
            TreeNode n = path.get(level).node;
            if (n.entries() < cap(n)) {
                n.insertRaw(pos, entry);
                if (pos == 0) {
                    fixStarts(path, level);
                }
                break;
            }
            if (level == 0) {
                grow(path, blocks.pop());
                level = 1;
                continue;
            }
            // split: entries from s move to a new sibling right of n (ext4_ext_split moves those after
            // the insertion point, so appends leave full nodes behind)
            TreeNode sibling = newNode(blocks.pop(), n.depth());
            int count = n.entries();
            if (pos == count) {
                sibling.insertRaw(0, entry);
            } else {
                int s = Math.max(pos, 1);
                n.moveTail(s, sibling);
                n.insertRaw(pos, entry);
                if (pos == 0) {
                    fixStarts(path, level);
                }
            }
            entry = TreeNode.indexEntry(sibling.start(0), sibling.pblk);
            level--;
            pos = path.get(level).pos + 1;
        }
        if (!blocks.isEmpty()) {
            throw new IllegalStateException("planned " + blocks.size() + " more tree blocks than the insert used");
        }
    }

    /** Tree blocks an insert at {@code level} will allocate (the kernel's walk up to a node with room). */
    private int blocksNeeded(List<Level> path, int level) throws NoSpaceException {
        int need = 0;
        for (int l = level; l >= 0; l--) {
            TreeNode n = path.get(l).node;
            if (n.entries() < cap(n)) {
                return need;
            }
            if (l == 0) {
                if (n.depth() >= ExtentNode.MAX_DEPTH) {
                    throw new NoSpaceException("extent tree of inode " + inode + " would grow past depth "
                            + ExtentNode.MAX_DEPTH);
                }
                need++; // the root's entries move to a new block
                if (n.entries() >= Math.min(blockCapacity, capacity.block())) {
                    need++; // and that block is full at once: it splits, the root takes the sibling
                }
                return need;
            }
            need++;
        }
        return need;
    }

    /** {@code ext4_ext_grow_indepth}: the root's entries move to a new block, the root indexes it. */
    private void grow(List<Level> path, long pblk) {
        TreeNode root = path.get(0).node;
        TreeNode moved = newNode(pblk, root.depth());
        int n = root.entries();
        System.arraycopy(root.b, ExtentNode.HEADER_SIZE, moved.b, ExtentNode.HEADER_SIZE, n * ExtentNode.ENTRY_SIZE);
        ExtentNodeWriter.setEntries(moved.b, 0, n);
        int oldPos = path.get(0).pos;
        int depth = root.depth() + 1;
        Arrays.fill(root.b, 0, root.b.length, (byte) 0);
        ExtentNodeWriter.initHeader(root.b, 0, ExtentNodeWriter.ROOT_CAPACITY, depth);
        ExtentNodeWriter.putIndex(root.b, 0, 0, moved.start(0), pblk);
        ExtentNodeWriter.setEntries(root.b, 0, 1);
        root.dirty = true;
        path.set(0, new Level(root, 0));
        path.add(1, new Level(moved, oldPos));
    }

    /**
     * {@code ext4_ext_try_to_merge_up}: a depth-1 tree whose single leaf fits in i_block goes back
     * into i_block, and the leaf block is freed.
     */
    private void mergeUp() throws IOException {
        TreeNode root = root();
        if (root.depth() != 1 || root.entries() != 1) {
            return;
        }
        TreeNode leaf = load(root.child(0), 0, root.start(0));
        int n = leaf.entries();
        if (n > Math.min(ExtentNodeWriter.ROOT_CAPACITY, capacity.root())) {
            return;
        }
        Arrays.fill(root.b, 0, root.b.length, (byte) 0);
        ExtentNodeWriter.initHeader(root.b, 0, ExtentNodeWriter.ROOT_CAPACITY, 0);
        System.arraycopy(leaf.b, ExtentNode.HEADER_SIZE, root.b, ExtentNode.HEADER_SIZE, n * ExtentNode.ENTRY_SIZE);
        ExtentNodeWriter.setEntries(root.b, 0, n);
        root.dirty = true;
        freeTreeBlock(leaf);
    }

    // ------------------------------------------------------------------ remove

    /** {@link #removeRange(Handle, long, long, int)} with no credit limit. */
    public Change removeRange(Handle h, long lblk, long len) throws IOException {
        return removeRange(h, lblk, len, Integer.MAX_VALUE);
    }

    /**
     * Unmaps {@code [lblk, lblk+len)} and frees its blocks (truncate, punch hole). Works from the end
     * of the range backwards, one extent at a time, and stops before a step would take the handle
     * past {@code credits} (counted as {@link CreditMeter} does); {@link Change#remaining()} then says
     * how much at the start of the range is still mapped, for the caller to continue in a new handle
     * (the kernel restarts the handle the same way, {@code ext4_ext_truncate_extend_restart}).
     * {@code credits} must be at least {@link #removeStepCredits()}.
     */
    public Change removeRange(Handle h, long lblk, long len, int credits) throws IOException {
        checkLogical(lblk);
        if (len < 0) {
            throw new IllegalArgumentException("negative length " + len);
        }
        long end = Math.min(lblk + len, ExtentNodeWriter.MAX_LOGICAL_END);
        CreditMeter meter = new CreditMeter(sb);
        long cur = end;
        boolean stepped = false;
        try {
            while (cur > lblk) {
                List<Level> path = findPath(cur - 1);
                Level leafLevel = leafOf(path);
                TreeNode leaf = leafLevel.node;
                int pos = leafLevel.pos;
                if (pos < 0) {
                    if (leaf.entries() == 0 && !leaf.isRoot()) {
                        // an empty leaf left by someone else: take it out like rm_leaf does
                        if (!fits(meter, path, 0, 0, 0, stepped, credits)) {
                            break;
                        }
                        removeEmpty(path, path.size() - 1);
                        publish(h);
                        stepped = true;
                        continue;
                    }
                    cur = lblk; // nothing at or before cur-1
                    break;
                }
                Extent ex = leaf.extent(pos);
                if (ex.logicalEnd() <= lblk) {
                    cur = lblk;
                    break;
                }
                long a = Math.max(lblk, ex.logical());
                long b = Math.min(cur, ex.logicalEnd());
                if (a > ex.logical() && b < ex.logicalEnd()) {
                    // punching the middle: split at the end of the range first, the tail trim follows
                    if (!fits(meter, path, 0, 0, splitExtra(path.size() - 1), stepped, credits)) {
                        break;
                    }
                    splitExtentAt(h, path, pos, b);
                    publish(h);
                    stepped = true;
                    continue;
                }
                volume.checkFileBlocks(inode, ex.logical(), ex.physical(), ex.length());
                long freeStart = ex.physical() + (a - ex.logical());
                if (!fits(meter, path, freeStart, b - a, 0, stepped, credits)) {
                    break;
                }
                removeFromLeaf(path, pos, ex, a, b);
                publish(h);
                stepped = true;
                cur = a;
            }
            if (cur > lblk && stepped && isUnmappedBelow(lblk, cur)) {
                cur = lblk;
            }
        } finally {
            endOp();
        }
        return takeChange(Math.max(0, cur - lblk));
    }

    /** Whether nothing in {@code [lblk, cur)} is mapped (so a stopped removal in fact finished). */
    private boolean isUnmappedBelow(long lblk, long cur) throws IOException {
        List<Level> path = findPath(cur - 1);
        Level leaf = leafOf(path);
        if (leaf.pos >= 0) {
            return leaf.node.extent(leaf.pos).logicalEnd() <= lblk;
        }
        return leaf.node.entries() > 0 || leaf.node.isRoot();
    }

    /** Charges one removal step to the meter if it fits the budget (the first step always must). */
    private boolean fits(CreditMeter meter, List<Level> path, long start, long len, int extra, boolean stepped,
            int credits) {
        List<Long> tree = treeBlocksOf(path);
        int cost = meter.cost(tree, start, len, extra);
        if (meter.used() + cost > credits) {
            if (!stepped) {
                throw new IllegalArgumentException("a handle of " + credits + " credits cannot take one removal step of "
                        + (meter.used() + cost));
            }
            return false;
        }
        meter.charge(tree, start, len, extra);
        return true;
    }

    /** Removes {@code [a, b)} of extent {@code ex} at {@code pos} of the leaf: whole, its head or its tail. */
    private void removeFromLeaf(List<Level> path, int pos, Extent ex, long a, long b) {
        int leafLevel = path.size() - 1;
        TreeNode leaf = path.get(leafLevel).node;
        long freeStart = ex.physical() + (a - ex.logical());
        if (a == ex.logical() && b == ex.logicalEnd()) {
            leaf.remove(pos);
            if (leaf.entries() == 0 && !leaf.isRoot()) {
                removeEmpty(path, leafLevel);
            } else if (pos == 0 && leaf.entries() > 0) {
                fixStarts(path, leafLevel);
            }
        } else if (a == ex.logical()) {
            leaf.setExtent(pos, new Extent(b, (int) (ex.logicalEnd() - b), ex.physical() + (b - a), ex.unwritten()));
            if (pos == 0) {
                fixStarts(path, leafLevel);
            }
        } else {
            leaf.setExtent(pos, new Extent(ex.logical(), (int) (a - ex.logical()), ex.physical(), ex.unwritten()));
        }
        dataFrees.add(new long[] {freeStart, b - a});
        dataFreed += b - a;
    }

    /**
     * The non-root node at {@code level} is empty: free it and remove its index from the parent
     * ({@code ext4_ext_rm_idx}), recursively; an emptied root becomes an empty depth-0 root.
     */
    private void removeEmpty(List<Level> path, int level) {
        TreeNode n = path.get(level).node;
        freeTreeBlock(n);
        Level parent = path.get(level - 1);
        parent.node.remove(parent.pos);
        if (parent.node.entries() == 0) {
            if (parent.node.isRoot()) {
                Arrays.fill(parent.node.b, 0, parent.node.b.length, (byte) 0);
                ExtentNodeWriter.initHeader(parent.node.b, 0, ExtentNodeWriter.ROOT_CAPACITY, 0);
                parent.node.dirty = true;
            } else {
                removeEmpty(path, level - 1);
            }
        } else if (parent.pos == 0) {
            fixStarts(path, level - 1);
        }
    }

    // ------------------------------------------------------------------ convert

    /** Marks {@code [lblk, lblk+len)} written (after its data was written); holes and written parts are skipped. */
    public Change convertToWritten(Handle h, long lblk, long len) throws IOException {
        return convert(h, lblk, len, false);
    }

    /** Marks {@code [lblk, lblk+len)} unwritten (zero range); holes and unwritten parts are skipped. */
    public Change convertToUnwritten(Handle h, long lblk, long len) throws IOException {
        return convert(h, lblk, len, true);
    }

    private Change convert(Handle h, long lblk, long len, boolean toUnwritten) throws IOException {
        checkLogical(lblk);
        if (len < 0 || lblk + len > ExtentNodeWriter.MAX_LOGICAL_END) {
            throw new IllegalArgumentException("cannot convert " + len + " blocks at " + lblk);
        }
        long end = lblk + len;
        int limit = maxLen(toUnwritten);
        try {
            long cur = lblk;
            while (cur < end) {
                List<Level> path = findPath(cur);
                Level leafLevel = leafOf(path);
                TreeNode leaf = leafLevel.node;
                int pos = leafLevel.pos;
                Extent ex = pos >= 0 ? leaf.extent(pos) : null;
                if (ex == null || ex.logicalEnd() <= cur) {
                    cur = Math.min(end, nextStart(path));
                    continue;
                }
                if (ex.unwritten() == toUnwritten) {
                    cur = Math.min(end, ex.logicalEnd());
                    continue;
                }
                volume.checkFileBlocks(inode, ex.logical(), ex.physical(), ex.length());
                long a = cur;
                long b = Math.min(end, ex.logicalEnd());
                int k = (int) (b - a);
                if (a == ex.logical() && b < ex.logicalEnd() && pos > 0) {
                    Extent left = leaf.extent(pos - 1);
                    if (left.unwritten() == toUnwritten && left.logicalEnd() == a
                            && left.physical() + left.length() == ex.physical() && left.length() + k <= limit) {
                        // the kernel's fast path: grow the converted neighbour, shrink ex, no split
                        leaf.setExtent(pos - 1, new Extent(left.logical(), left.length() + k, left.physical(), toUnwritten));
                        leaf.setExtent(pos, new Extent(b, ex.length() - k, ex.physical() + k, ex.unwritten()));
                        publish(h);
                        cur = b;
                        continue;
                    }
                }
                if (b == ex.logicalEnd() && a > ex.logical() && pos + 1 < leaf.entries()) {
                    Extent right = leaf.extent(pos + 1);
                    if (right.unwritten() == toUnwritten && right.logical() == b
                            && ex.physical() + ex.length() == right.physical() && right.length() + k <= limit) {
                        leaf.setExtent(pos, new Extent(ex.logical(), ex.length() - k, ex.physical(), ex.unwritten()));
                        leaf.setExtent(pos + 1, new Extent(a, right.length() + k, right.physical() - k, toUnwritten));
                        publish(h);
                        cur = b;
                        continue;
                    }
                }
                if (a > ex.logical()) {
                    splitExtentAt(h, path, pos, a);
                    publish(h);
                    continue;
                }
                if (b < ex.logicalEnd()) {
                    splitExtentAt(h, path, pos, b);
                    publish(h);
                    continue;
                }
                if (ex.length() > limit) {
                    splitExtentAt(h, path, pos, ex.logical() + limit);
                    publish(h);
                    continue;
                }
                leaf.setExtent(pos, new Extent(ex.logical(), ex.length(), ex.physical(), toUnwritten));
                mergeNeighbours(leaf, pos);
                mergeUp();
                publish(h);
                cur = b;
            }
        } finally {
            endOp();
        }
        return takeChange(0);
    }

    /**
     * {@code ext4_split_extent_at} without zero-out: extent {@code pos} of the path's leaf becomes two,
     * split at logical {@code at}; the right half is inserted (which may split nodes).
     */
    private void splitExtentAt(Handle h, List<Level> path, int pos, long at) throws IOException {
        TreeNode leaf = leafOf(path).node;
        Extent ex = leaf.extent(pos);
        int leftLen = (int) (at - ex.logical());
        Extent right = new Extent(at, ex.length() - leftLen, ex.physical() + leftLen, ex.unwritten());
        leaf.setExtent(pos, new Extent(ex.logical(), leftLen, ex.physical(), ex.unwritten()));
        insertEntry(h, path, path.size() - 1, pos + 1, rawExtent(right), right.physical());
    }

    // ------------------------------------------------------------------ shared mechanics

    /**
     * Merges extent {@code pos} of a leaf with its left and right neighbours where possible
     * ({@code ext4_ext_try_to_merge}); the leaf never empties and its first start never changes.
     */
    private static void mergeNeighbours(TreeNode leaf, int pos) {
        if (pos > 0 && canMerge(leaf.extent(pos - 1), leaf.extent(pos))) {
            Extent l = leaf.extent(pos - 1);
            leaf.setExtent(pos - 1, new Extent(l.logical(), l.length() + leaf.extent(pos).length(), l.physical(),
                    l.unwritten()));
            leaf.remove(pos);
            pos--;
        }
        if (pos + 1 < leaf.entries() && canMerge(leaf.extent(pos), leaf.extent(pos + 1))) {
            Extent l = leaf.extent(pos);
            leaf.setExtent(pos, new Extent(l.logical(), l.length() + leaf.extent(pos + 1).length(), l.physical(),
                    l.unwritten()));
            leaf.remove(pos + 1);
        }
    }

    /** {@code ext4_can_extents_be_merged}: same state, contiguous logically and physically, within the length limit. */
    static boolean canMerge(Extent a, Extent b) {
        return a.unwritten() == b.unwritten() && a.logicalEnd() == b.logical()
                && a.physical() + a.length() == b.physical() && a.length() + b.length() <= maxLen(a.unwritten());
    }

    static int maxLen(boolean unwritten) {
        return unwritten ? ExtentNode.UNWRITTEN_MAX_LEN : ExtentNode.INIT_MAX_LEN;
    }

    /**
     * {@code ext4_ext_correct_indexes}: the first entry of the node at {@code level} changed, so the
     * index pointing at it changes, and so on up while the changed index is its node's first.
     */
    private static void fixStarts(List<Level> path, int level) {
        long first = path.get(level).node.start(0);
        for (int l = level - 1; l >= 0; l--) {
            Level lv = path.get(l);
            lv.node.setStart(lv.pos, first);
            if (lv.pos != 0) {
                break;
            }
        }
    }

    private int cap(TreeNode n) {
        int debug = n.isRoot() ? capacity.root() : capacity.block();
        return Math.min(n.max(), debug);
    }

    /** {@code ext4_ext_find_goal}: near the physical blocks of the extent found for {@code lblk}. */
    private long goal(List<Level> path, long lblk) {
        Level leaf = leafOf(path);
        long g = -1;
        if (leaf.node.entries() > 0) {
            Extent e = leaf.node.extent(Math.max(leaf.pos, 0));
            g = lblk >= e.logical() ? e.physical() + (lblk - e.logical()) : e.physical() - (e.logical() - lblk);
        } else if (!leaf.node.isRoot()) {
            g = leaf.node.pblk;
        }
        if (g <= sb.firstDataBlock || g >= sb.blocksCount) {
            g = goalHint;
        }
        return g;
    }

    private Deque<Long> allocateTreeBlocks(Handle h, int count, long goal) throws IOException {
        Deque<Long> out = new ArrayDeque<>();
        List<BlockAllocator.Run> runs = new ArrayList<>();
        try {
            long g = goal;
            while (out.size() < count) {
                BlockAllocator.Run r = allocator.allocate(h, g, 1, count - out.size());
                runs.add(r);
                if (r.length() < 1 || r.length() > count - out.size()) {
                    throw new IllegalStateException("allocator returned " + r + " for " + (count - out.size()) + " blocks");
                }
                volume.checkFileBlocks(inode, -1, r.start(), r.length(), "newly allocated extent tree block");
                for (long k = 0; k < r.length(); k++) {
                    out.add(r.start() + k);
                }
                g = r.start() + r.length();
            }
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
        treeAllocated += count;
        return out;
    }

    private TreeNode newNode(long pblk, int depth) {
        byte[] b = new byte[blockSize];
        ExtentNodeWriter.initHeader(b, 0, blockCapacity, depth);
        TreeNode n = new TreeNode(pblk, b);
        n.fresh = true;
        n.dirty = true;
        open.put(pblk, n);
        return n;
    }

    private void freeTreeBlock(TreeNode n) {
        n.freed = true;
        open.remove(n.pblk);
        verified.remove(n.pblk); // early: at worst the block is read again if the step fails
        treeFrees.add(n.pblk);
    }

    private static byte[] rawExtent(Extent e) {
        byte[] b = new byte[ExtentNode.HEADER_SIZE + ExtentNode.ENTRY_SIZE];
        ExtentNodeWriter.putExtent(b, 0, 0, e);
        return Arrays.copyOfRange(b, ExtentNode.HEADER_SIZE, b.length);
    }

    // ------------------------------------------------------------------ reading nodes and paths

    private TreeNode root() throws CorruptionException {
        if (rootNode == null) {
            if (!Arrays.equals(iBlock, verifiedRoot)) {
                ExtentNode.decode(iBlock, 0, iBlock.length, inode, -1, -1);
                checkEntries(new TreeNode(-1, iBlock));
                verifiedRoot = iBlock.clone();
            }
            rootNode = new TreeNode(-1, iBlock.clone());
        }
        return rootNode;
    }

    /**
     * The node in tree block {@code pblk}, expected at {@code depth} and to start at
     * {@code expectedFirst}: this operation's copy if it has one, else a copy of the verified bytes
     * kept from before, else read, validated and checked (once: the bytes are kept).
     */
    private TreeNode load(long pblk, int depth, long expectedFirst) throws IOException {
        TreeNode n = open.get(pblk);
        if (n != null) {
            if (n.depth() != depth) {
                throw CorruptionException.of(Kind.BAD_EXTENT_HEADER).inode(inode).block(pblk)
                        .build("tree block reached at depth " + depth + " and " + n.depth());
            }
            return n;
        }
        byte[] known = verified.get(pblk);
        if (known != null) {
            n = new TreeNode(pblk, known.clone());
            if (n.depth() != depth) {
                throw CorruptionException.of(Kind.BAD_EXTENT_HEADER).inode(inode).block(pblk)
                        .build("eh_depth " + n.depth() + " where the parent implies " + depth);
            }
        } else {
            byte[] b = volume.readBlock(pblk, inode);
            ExtentNode.decode(b, 0, b.length, inode, pblk, depth);
            if (csum) {
                ExtentNode.verifyTail(b, checksumSeed, inode, pblk);
            }
            n = new TreeNode(pblk, b);
            checkEntries(n);
        }
        checkStartsAt(n, expectedFirst);
        if (known == null) {
            verified.put(pblk, n.b.clone());
        }
        open.put(pblk, n);
        return n;
    }

    /**
     * {@code ext4_valid_extent} / {@code ext4_valid_extent_idx} for every entry of a node read from
     * disk or a root found changed: each extent's blocks and each index's child inside the file
     * system and outside the system zone, so no operation reads, writes or frees through a mapping
     * into metadata. Once per block, with the rest of its verification.
     */
    private void checkEntries(TreeNode n) throws CorruptionException {
        for (int i = 0; i < n.entries(); i++) {
            if (n.isLeaf()) {
                Extent e = n.extent(i);
                volume.checkFileBlocks(inode, e.logical(), e.physical(), e.length());
            } else {
                volume.checkFileBlocks(inode, n.start(i), n.child(i), 1, "extent tree block");
            }
        }
    }

    /**
     * {@code ext4_valid_extent_entries}: a non-root node's first entry must start exactly at the
     * logical block its parent's index entry names.
     */
    private void checkStartsAt(TreeNode n, long expected) throws CorruptionException {
        if (n.entries() > 0 && n.start(0) != expected) {
            throw CorruptionException.of(Kind.BAD_EXTENT).inode(inode).block(n.pblk)
                    .build("first entry starts at logical block " + n.start(0) + ", the index above says " + expected);
        }
    }

    /**
     * The path from the root to the leaf where {@code lblk} is or would be ({@code ext4_find_extent}):
     * at each index level the last entry starting at or before {@code lblk} (the first if none); at
     * the leaf the last extent starting at or before it, -1 if none. Bounded by the root's depth.
     */
    private List<Level> findPath(long lblk) throws IOException {
        TreeNode n = root();
        List<Level> path = new ArrayList<>(n.depth() + 1);
        while (true) {
            int pos = n.find(lblk);
            if (n.isLeaf()) {
                path.add(new Level(n, pos));
                return path;
            }
            int i = Math.max(pos, 0);
            path.add(new Level(n, i));
            n = load(n.child(i), n.depth() - 1, n.start(i));
        }
    }

    private static Level leafOf(List<Level> path) {
        return path.get(path.size() - 1);
    }

    /** First logical block mapped after the path's leaf position ({@code ext4_ext_next_allocated_block}). */
    private static long nextStart(List<Level> path) {
        for (int l = path.size() - 1; l >= 0; l--) {
            Level lv = path.get(l);
            if (lv.pos + 1 < lv.node.entries()) {
                return lv.node.start(lv.pos + 1);
            }
        }
        return ExtentNodeWriter.MAX_LOGICAL_END;
    }

    /** The logical start the parent's index gives the path's leaf, -1 for a root leaf. */
    private static long leafIndexStart(List<Level> path) {
        if (path.size() < 2) {
            return -1;
        }
        Level parent = path.get(path.size() - 2);
        return parent.node.start(parent.pos);
    }

    private static List<Long> treeBlocksOf(List<Level> path) {
        List<Long> out = new ArrayList<>(path.size());
        for (Level lv : path) {
            if (!lv.node.isRoot()) {
                out.add(lv.node.pblk);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ publishing

    /**
     * Ends a step: changed tree blocks go to their buffers inside the handle (write access, copy,
     * tail checksum, dirty) and are kept as verified, a changed root goes to the caller's i_block;
     * then freed blocks are released.
     */
    private void publish(Handle h) throws IOException {
        for (TreeNode n : open.values()) {
            if (n.dirty && !n.freed) {
                // forgotten until the buffer holds the new bytes: a failure below leaves the buffer to be read
                verified.remove(n.pblk);
                MetaBuffer buf = n.fresh ? volume.bufferCache().getZeroed(n.pblk) : volume.buffer(n.pblk, inode);
                h.getWriteAccess(buf);
                if (csum) {
                    ExtentNodeWriter.setTail(n.b, checksumSeed);
                }
                buf.lock().lock();
                try {
                    System.arraycopy(n.b, 0, buf.data(), 0, blockSize);
                } finally {
                    buf.lock().unlock();
                }
                h.markDirty(buf);
                verified.put(n.pblk, n.b.clone());
                n.fresh = false;
                n.dirty = false;
            }
        }
        if (rootNode != null && rootNode.dirty) {
            System.arraycopy(rootNode.b, 0, iBlock, 0, iBlock.length);
            rootNode.dirty = false;
            rootChanged = true;
        }
        for (long p : treeFrees) {
            verified.remove(p);
            volume.bufferCache().forget(p);
            allocator.free(h, p, 1);
            treeFreed++;
        }
        treeFrees.clear();
        for (long[] d : dataFrees) {
            allocator.free(h, d[0], d[1]);
        }
        dataFrees.clear();
    }

    /**
     * Test check of the invariant of {@link #verified}: every kept block holds exactly the bytes of
     * its buffer. Throws {@link IllegalStateException} naming the first block that differs.
     */
    void checkVerified() throws IOException {
        for (Map.Entry<Long, byte[]> e : List.copyOf(verified.entrySet())) {
            if (!Arrays.equals(e.getValue(), volume.readBlock(e.getKey(), inode))) {
                throw new IllegalStateException("kept tree block " + e.getKey() + " of inode " + inode
                        + " differs from its buffer");
            }
        }
    }

    /** Drops the operation's working copies (published or abandoned); the verified blocks stay. */
    private void endOp() {
        open.clear();
        rootNode = null;
        treeFrees.clear();
        dataFrees.clear();
    }

    /**
     * What completed steps did since the last call, and resets the tally. Operations return it;
     * after an operation threw, call this to learn what must still go into the inode.
     */
    public Change takeChange() {
        return takeChange(0);
    }

    private Change takeChange(long remaining) {
        Change c = new Change(rootChanged, treeAllocated, treeFreed, dataFreed, remaining);
        rootChanged = false;
        treeAllocated = 0;
        treeFreed = 0;
        dataFreed = 0;
        return c;
    }

    private static void checkLogical(long lblk) {
        if (lblk < 0 || lblk >= ExtentNodeWriter.MAX_LOGICAL_END) {
            throw new IllegalArgumentException("logical block " + lblk + " is not in 0..2^32-2");
        }
    }
}
