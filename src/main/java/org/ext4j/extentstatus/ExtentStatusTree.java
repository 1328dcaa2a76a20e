package org.ext4j.extentstatus;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;

/**
 * One inode's extent status tree: an in-memory interval map of its logical blocks to the states
 * WRITTEN, UNWRITTEN, DELAYED and HOLE, with the inode's change counter. Mirrors
 * {@code fs/ext4/extents_status.c} (the tree, {@code ei->i_es_tree}; its lock, {@code ei->i_es_lock};
 * its counter, {@code ei->i_es_seq}). The package comment explains the design; this comment is
 * about the locking.
 *
 * <h2>Locking</h2>
 *
 * One {@link ReentrantReadWriteLock} per tree, the kernel's {@code i_es_lock} rwlock. It is a leaf
 * lock: no method calls out to other code while holding it, and nothing here takes another tree's
 * lock while holding this one (the {@link ExtentStatusShrinker} runs only after the lock is
 * released, and takes tree locks with {@code tryLock} alone). Callers may therefore hold their own
 * locks (the inode writer lock, the mapping lock) around any call.
 * <ul>
 * <li>Lookups take the read lock, and read {@link #seq} under it together with the entries they
 *     return: the pair is what a mapping's validity cookie needs.</li>
 * <li>Changes take the write lock. Each of {@link #insert}, {@link #insertDelayed},
 *     {@link #remove} and {@link #convertUnwritten} adds exactly one to {@link #seq} while holding
 *     it, whether or not the stored state actually differs (as the kernel does).</li>
 * <li>{@link #cache} and eviction ({@link #shrink}, the shrinker) also take the write lock but never
 *     touch {@link #seq}: they do not change what the file's blocks are, only how much of it is
 *     remembered.</li>
 * </ul>
 * The lookup-side "referenced" bit and the LRU stamp are written under the read lock by concurrent
 * readers; both are hints (a lost write costs at most one eviction decision), exactly like the
 * kernel's {@code ext4_es_set_referenced} under {@code read_lock}.
 *
 * <p>Logical blocks are 32-bit unsigned ({@code 0 ..} {@link #MAX_LBLK}), physical blocks 48-bit,
 * both held in {@code long}s. Arguments out of those ranges are programming errors and raise
 * {@link IllegalArgumentException}.
 */
public final class ExtentStatusTree implements AutoCloseable {

    /** Largest logical block number: logical blocks are 32-bit unsigned ({@code ext4_lblk_t}). */
    public static final long MAX_LBLK = 0xFFFF_FFFFL;
    /** Largest physical block number: ext4 block numbers are 48 bits ({@code ext4_fsblk_t} on disk). */
    public static final long MAX_PBLK = (1L << 48) - 1;
    /** The physical block of entries that have none (DELAYED, HOLE); the kernel stores {@code ~0}. */
    public static final long NO_PBLK = -1;

    /** The state of a run of logical blocks ({@code EXTENT_STATUS_*}). */
    public enum Status {
        /** Blocks allocated and holding the file's data at {@code pblk}. */
        WRITTEN,
        /** Blocks allocated at {@code pblk} but reading as zeros (unwritten extent, fallocate). */
        UNWRITTEN,
        /**
         * Dirty data in the page cache with a reservation but no blocks yet (delayed allocation).
         * Exists nowhere on disk, so it is never evicted and never overwritten by {@link #cache}.
         */
        DELAYED,
        /** Known to have no blocks and no delayed data: reads as zeros. */
        HOLE;

        /** True for the states that carry a physical block. */
        public boolean hasPblk() {
            return this == WRITTEN || this == UNWRITTEN;
        }

        /** True for the states that merely repeat the on-disk extent tree and may be evicted. */
        public boolean isClean() {
            return this != DELAYED;
        }
    }

    /**
     * One entry: {@code len} logical blocks from {@code lblk} in {@code status}; for WRITTEN and
     * UNWRITTEN, block {@code lblk + i} lives at {@code pblk + i}; otherwise {@code pblk} is
     * {@link #NO_PBLK}. Immutable: a snapshot of the kernel's {@code struct extent_status}.
     */
    public record Entry(long lblk, long len, long pblk, Status status) {
        public Entry {
            checkRange(lblk, len);
            if (status == null) {
                throw new IllegalArgumentException("status is null");
            }
            checkPblk(pblk, len, status);
        }

        /** Last logical block covered (inclusive), the kernel's {@code ext4_es_end}. */
        public long end() {
            return lblk + len - 1;
        }

        public boolean contains(long block) {
            return block >= lblk && block <= end();
        }

        /** The physical block of logical block {@code block} (inside this entry), or {@link #NO_PBLK}. */
        public long pblkOf(long block) {
            if (!contains(block)) {
                throw new IllegalArgumentException("block " + block + " outside " + this);
            }
            return status.hasPblk() ? pblk + (block - lblk) : NO_PBLK;
        }
    }

    /**
     * The answer to a point lookup: the entry covering the block (null if the tree does not know
     * the block) and the value of {@link #seq()} read under the same lock hold. The pair is the
     * mapping plus its validity cookie; a cookie read at any other moment is worthless.
     */
    public record Lookup(Entry entry, long seq) {
        public boolean found() {
            return entry != null;
        }
    }

    /** Entries (in logical order, non-overlapping) and the {@link #seq()} read with them. */
    public record RangeLookup(List<Entry> entries, long seq) {
        public RangeLookup {
            entries = List.copyOf(entries);
        }
    }

    /**
     * The outcome of a change: {@code seq} is the counter value the change produced (read under the
     * same lock hold, so the caller can use it as the cookie of the mapping it just installed), and
     * {@code delayedBefore} the number of blocks in the range that were DELAYED before the change
     * (the reservations an insert or remove consumed or released; for {@link #insertDelayed}, the
     * blocks that were delayed already and need no new reservation).
     */
    public record Change(long seq, long delayedBefore) {
    }

    /** Mutable node kept in {@link #tree}; never handed out (see {@link #toEntry}). */
    private static final class Node {
        long lblk;
        long len;
        long pblk;
        final Status status;
        /** Second-chance bit for eviction ({@code EXTENT_STATUS_REFERENCED}): set by lookups. */
        boolean referenced;

        Node(long lblk, long len, long pblk, Status status) {
            this.lblk = lblk;
            this.len = len;
            this.pblk = pblk;
            this.status = status;
        }

        long end() {
            return lblk + len - 1;
        }
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** Entries keyed by first logical block; non-overlapping. Guarded by {@link #lock}. */
    private final TreeMap<Long, Node> tree = new TreeMap<>();

    /**
     * The change counter ({@code i_es_seq}). Written ONLY while holding the write lock, and then as
     * a plain {@code seq = seq + 1}: the lock makes that read-modify-write atomic. It is volatile so
     * that {@link #seq()} can publish it without the lock. Never increment it outside the lock: Jan
     * Kara found exactly that lost-update bug in review of the first {@code i_es_seq} patch
     * (a {@code WRITE_ONCE(seq, READ_ONCE(seq) + 1)} racing with another one lets the counter go
     * back to a value a stale mapping already holds, and the stale mapping then looks valid).
     */
    private volatile long seq;

    /** Where the next eviction scan starts ({@code i_es_shrink_lblk}). Guarded by {@link #lock}. */
    private long shrinkCursor;

    /** Entries evicted from this tree so far. Guarded by {@link #lock} (write). */
    private long evicted;

    private boolean closed;

    /** The shrinker this tree is registered with, or null for a tree without a memory bound. */
    private final ExtentStatusShrinker shrinker;

    /** LRU stamp for the shrinker: higher is more recently used. A hint, written racily. */
    private volatile long lastUse;

    /** A tree without a memory bound (no shrinker): for tests and for callers that bound it themselves. */
    public ExtentStatusTree() {
        this(null);
    }

    /**
     * A tree whose entries count towards {@code shrinker}'s limit and may be evicted by it. Like
     * {@code ext4_alloc_inode} initialising {@code i_es_tree}; call {@link #close()} when the inode
     * leaves memory ({@code ext4_clear_inode}), or the shrinker keeps a reference to it.
     */
    public ExtentStatusTree(ExtentStatusShrinker shrinker) {
        this.shrinker = shrinker;
        if (shrinker != null) {
            lastUse = shrinker.tick();
            shrinker.register(this);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Lock-free read of the counter

    /**
     * The current change counter, read without the lock: the kernel's {@code READ_ONCE(ei->i_es_seq)}
     * in {@code ext4_iomap_valid}. Use it only to <em>compare</em> with a cookie obtained from a
     * lookup or change; never as the cookie of a mapping looked up separately.
     */
    public long seq() {
        return seq;
    }

    /**
     * True if nothing has changed since {@code cookie} was handed out: the validity check of a cached
     * mapping ({@code ext4_iomap_valid}: {@code iomap->validity_cookie == READ_ONCE(i_es_seq)}).
     */
    public boolean isCurrent(long cookie) {
        return seq == cookie;
    }

    // ---------------------------------------------------------------------------------------------
    // Lookups (read lock)

    /**
     * The entry covering {@code lblk}, or null, with the counter read under the same read-lock hold.
     * Mirrors {@code ext4_es_lookup_extent(inode, lblk, NULL, &es, &seq)}; like it, a hit marks the
     * entry referenced so that the shrinker gives it a second chance.
     */
    public Lookup lookup(long lblk) {
        checkLblk(lblk);
        lock.readLock().lock();
        try {
            ensureOpen();
            touch();
            Node n = covering(lblk);
            if (n == null) {
                return new Lookup(null, seq);
            }
            n.referenced = true;
            return new Lookup(toEntry(n), seq);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The first entry starting after {@code lblk} (strictly), or null: the kernel's
     * {@code next_lblk} out-parameter of {@code ext4_es_lookup_extent}, useful to size a hole or to
     * walk the tree for fiemap and SEEK_DATA/SEEK_HOLE. Hands out the counter read with it.
     */
    public Lookup nextAfter(long lblk) {
        checkLblk(lblk);
        lock.readLock().lock();
        try {
            ensureOpen();
            Map.Entry<Long, Node> e = tree.higherEntry(lblk);
            return new Lookup(e == null ? null : toEntry(e.getValue()), seq);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * All entries overlapping {@code [lblk, lblk + len)}, unclipped, in logical order, with the
     * counter read under the same lock hold. Blocks of the range that no entry covers are unknown
     * to the tree (never cached, or evicted). For fiemap-style walks.
     */
    public RangeLookup lookupRange(long lblk, long len) {
        checkRange(lblk, len);
        long end = lblk + len - 1;
        lock.readLock().lock();
        try {
            ensureOpen();
            touch();
            List<Entry> out = new ArrayList<>();
            for (Node n : overlapping(lblk, end)) {
                out.add(toEntry(n));
            }
            return new RangeLookup(out, seq);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The first entry overlapping {@code [lblk, end]} whose status is in {@code matching}, or null:
     * {@code ext4_es_find_extent_range} (used by SEEK_DATA/SEEK_HOLE to find delayed data, and by
     * {@code ext4_es_scan_range} to ask "is anything delayed in here").
     */
    public Lookup findFirst(long lblk, long end, EnumSet<Status> matching) {
        checkLblk(lblk);
        checkLblk(end);
        if (end < lblk) {
            throw new IllegalArgumentException("end " + end + " < lblk " + lblk);
        }
        EnumSet<Status> wanted = EnumSet.copyOf(matching); // no caller code runs under our lock
        lock.readLock().lock();
        try {
            ensureOpen();
            for (Node n : overlapping(lblk, end)) {
                if (wanted.contains(n.status)) {
                    return new Lookup(toEntry(n), seq);
                }
            }
            return new Lookup(null, seq);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Every entry and the counter, read atomically (for tests, debugging and {@code ext4_es_print_tree}). */
    public RangeLookup snapshot() {
        lock.readLock().lock();
        try {
            ensureOpen();
            List<Entry> out = new ArrayList<>(tree.size());
            for (Node n : tree.values()) {
                out.add(toEntry(n));
            }
            return new RangeLookup(out, seq);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Number of entries currently held ({@code i_es_all_nr}). */
    public int entryCount() {
        lock.readLock().lock();
        try {
            return tree.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Entries evicted from this tree so far, by {@link #shrink} or by the shrinker. */
    public long evictedCount() {
        lock.readLock().lock();
        try {
            return evicted;
        } finally {
            lock.readLock().unlock();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Changes (write lock, bump seq)

    /**
     * Records that {@code [lblk, lblk + len)} is now {@code status} (WRITTEN, UNWRITTEN or HOLE) at
     * {@code pblk}, replacing whatever the tree held there: overlapped entries are cut, leaving up
     * to two remnants, and the new entry merges with neighbours it continues. Bumps {@link #seq()}.
     * Mirrors {@code ext4_es_insert_extent}, which callers use after they allocated blocks, converted
     * them or punched them out; use {@link #cache} instead to remember what was merely read from
     * disk, and {@link #insertDelayed} for delayed allocation.
     *
     * @param pblk first physical block for WRITTEN and UNWRITTEN; {@link #NO_PBLK} for HOLE
     */
    public Change insert(long lblk, long len, long pblk, Status status) {
        checkRange(lblk, len);
        if (status == null || status == Status.DELAYED) {
            // the kernel WARNs on EXTENT_STATUS_DELAYED here too: delayed ranges carry a reservation
            throw new IllegalArgumentException("insert takes WRITTEN, UNWRITTEN or HOLE, not " + status
                    + " (use insertDelayed)");
        }
        checkPblk(pblk, len, status);
        return replace(lblk, len, new Node(lblk, len, pblk, status));
    }

    /**
     * The one change all of insert, insertDelayed and remove make: under the write lock, cut
     * {@code [lblk, lblk + len)} out of the tree, put {@code put} there (null: leave it unknown),
     * and bump the counter, still under the lock.
     */
    private Change replace(long lblk, long len, Node put) {
        long delta;
        long delayed;
        Change change;
        lock.writeLock().lock();
        try {
            ensureOpen();
            touch();
            int before = tree.size();
            delayed = removeLocked(lblk, lblk + len - 1);
            if (put != null) {
                putAndMerge(put);
            }
            change = Protections.on(Protection.SEQ_UNDER_LOCK) ? bumpLocked(delayed) : null;
            delta = tree.size() - before;
        } finally {
            lock.writeLock().unlock();
        }
        if (change == null) {
            change = bumpUnlockedForRaceDemo(delayed);
        }
        accounted(delta);
        return change;
    }

    /**
     * Records that {@code [lblk, lblk + len)} holds dirty data without blocks (delayed allocation),
     * replacing whatever the tree held there. Bumps {@link #seq()}. Mirrors
     * {@code ext4_es_insert_delayed_extent} (minus bigalloc's pending-cluster bookkeeping). The
     * caller (the delayed-allocation mapper) must have checked, under the mapping lock, that the
     * range holds no blocks: this tree does not know the disk.
     */
    public Change insertDelayed(long lblk, long len) {
        checkRange(lblk, len);
        return replace(lblk, len, new Node(lblk, len, NO_PBLK, Status.DELAYED));
    }

    /**
     * Forgets {@code [lblk, lblk + len)}: entries are cut at the range's edges and the inside is
     * dropped, so the blocks become unknown (not HOLE: insert HOLE for that). Bumps {@link #seq()}
     * even if nothing was there, as the kernel does: the caller removes because the mapping changed
     * (truncate, punch, collapse). Mirrors {@code ext4_es_remove_extent}; {@link Change#delayedBefore}
     * counts the delayed blocks dropped, whose reservations the caller releases.
     */
    public Change remove(long lblk, long len) {
        checkRange(lblk, len);
        return replace(lblk, len, null);
    }

    /**
     * Turns the UNWRITTEN blocks of {@code [lblk, lblk + len)} into WRITTEN at the same physical
     * blocks; other blocks are left alone. Bumps {@link #seq()}: this is the change the seed's race
     * is about (writeback completion converting what a writer still believes UNWRITTEN). In the
     * kernel it is the {@code ext4_es_insert_extent(..., EXTENT_STATUS_WRITTEN)} done by
     * {@code ext4_ext_map_blocks} on behalf of {@code ext4_convert_unwritten_extents}.
     */
    public Change convertUnwritten(long lblk, long len) {
        checkRange(lblk, len);
        long end = lblk + len - 1;
        long delta;
        Change change;
        lock.writeLock().lock();
        try {
            ensureOpen();
            touch();
            int before = tree.size();
            List<Node> targets = new ArrayList<>();
            for (Node n : overlapping(lblk, end)) {
                if (n.status == Status.UNWRITTEN) {
                    targets.add(n);
                }
            }
            for (Node n : targets) {
                long from = Math.max(lblk, n.lblk);
                long to = Math.min(end, n.end());
                long p = n.pblk + (from - n.lblk);
                removeLocked(from, to);
                putAndMerge(new Node(from, to - from + 1, p, Status.WRITTEN));
            }
            change = Protections.on(Protection.SEQ_UNDER_LOCK) ? bumpLocked(0) : null;
            delta = tree.size() - before;
        } finally {
            lock.writeLock().unlock();
        }
        if (change == null) {
            change = bumpUnlockedForRaceDemo(0);
        }
        accounted(delta);
        return change;
    }

    // ---------------------------------------------------------------------------------------------
    // Caching and eviction (write lock, seq untouched)

    /**
     * Remembers what the on-disk extent tree says about {@code [lblk, lblk + len)}, but only for the
     * blocks the tree does not know yet: existing entries are never overwritten, because they may be
     * newer than the disk (DELAYED exists only here; a conversion may not be on disk yet). Does not
     * touch {@link #seq()}: nothing about the file changed, the tree merely learned it. Mirrors
     * {@code ext4_es_cache_extent}, which skips the insert entirely if anything overlaps; this one
     * fills the gaps, which gives the same per-block answers with fewer disk reads later.
     *
     * <p>The caller must hold the mapping lock (at least shared) across reading the on-disk extent
     * and this call, so that no change can slip in between; then the returned counter value (read
     * under this call's lock hold) is a valid cookie for the mapping it read from disk.
     *
     * @param pblk first physical block for WRITTEN and UNWRITTEN; {@link #NO_PBLK} for HOLE
     * @return the counter value, read under the lock
     */
    public long cache(long lblk, long len, long pblk, Status status) {
        checkRange(lblk, len);
        if (status == null || status == Status.DELAYED) {
            throw new IllegalArgumentException("only on-disk states can be cached, not " + status);
        }
        checkPblk(pblk, len, status);
        long end = lblk + len - 1;
        long delta;
        long s;
        lock.writeLock().lock();
        try {
            ensureOpen();
            touch();
            int before = tree.size();
            List<long[]> gaps = new ArrayList<>();
            long cursor = lblk;
            for (Node n : overlapping(lblk, end)) {
                if (n.lblk > cursor) {
                    gaps.add(new long[] {cursor, n.lblk - 1});
                }
                cursor = n.end() + 1;
            }
            if (cursor <= end) {
                gaps.add(new long[] {cursor, end});
            }
            for (long[] g : gaps) {
                long p = status.hasPblk() ? pblk + (g[0] - lblk) : NO_PBLK;
                putAndMerge(new Node(g[0], g[1] - g[0] + 1, p, status));
            }
            s = seq;
            delta = tree.size() - before;
        } finally {
            lock.writeLock().unlock();
        }
        accounted(delta);
        return s;
    }

    /**
     * Evicts up to {@code nrToEvict} clean entries (never DELAYED), scanning round-robin from where
     * the last scan stopped and sparing, once, entries looked up since the last scan. Does not touch
     * {@link #seq()}: evicted information is still on disk and will be read back unchanged. Mirrors
     * {@code es_reclaim_extents}/{@code es_do_reclaim_extents}. Takes the write lock (blocking).
     *
     * @return the number of entries evicted
     */
    public long shrink(long nrToEvict) {
        long n;
        lock.writeLock().lock();
        try {
            ensureOpen();
            n = reclaimLocked(nrToEvict);
        } finally {
            lock.writeLock().unlock();
        }
        if (n != 0 && shrinker != null) {
            shrinker.adjust(-n); // not accounted(): the shrinker is what called us
        }
        return n;
    }

    /**
     * The shrinker's entry point: evict like {@link #shrink} but give up at once if the lock is
     * busy (the kernel's {@code write_trylock(&ei->i_es_lock)} in {@code es_reclaim_extents}).
     *
     * @return entries evicted, or -1 if the lock was contended
     */
    long tryReclaim(long nrToEvict) {
        if (!lock.writeLock().tryLock()) {
            return -1;
        }
        long n;
        try {
            if (closed) {
                return 0;
            }
            n = reclaimLocked(nrToEvict);
        } finally {
            lock.writeLock().unlock();
        }
        if (n != 0 && shrinker != null) {
            shrinker.adjust(-n); // not accounted(): the shrinker is what called us
        }
        return n;
    }

    /**
     * Drops every entry, DELAYED included, and leaves the shrinker: the inode is leaving memory
     * ({@code ext4_clear_inode}: {@code ext4_es_remove_extent(inode, 0, EXT_MAX_BLOCKS)} and
     * {@code ext4_es_list_del}). Bumps {@link #seq()}. The tree is unusable afterwards.
     */
    @Override
    public void close() {
        int dropped;
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            dropped = tree.size();
            tree.clear();
            seq = seq + 1; // under the write lock, see the field comment
            closed = true;
        } finally {
            lock.writeLock().unlock();
        }
        if (shrinker != null) {
            shrinker.adjust(-dropped);
            shrinker.unregister(this);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Internals. Every method below runs with the lock held; "Locked" ones need the write lock.

    private Change bumpLocked(long delayedBefore) {
        // The only increment of seq besides close(), and it runs under the write lock: a plain
        // read-modify-write is atomic here. Outside the lock it would lose updates (see the field).
        long next = seq + 1;
        seq = next;
        return new Change(next, delayedBefore);
    }

    /**
     * The bug the field comment warns of, kept only so that docs/RACES.md R11 can show what it does: the
     * increment done after the lock is released, as {@code WRITE_ONCE(seq, READ_ONCE(seq) + 1)},
     * with an interleaving point between the read and the write. Runs only when a test switched
     * {@link Protection#SEQ_UNDER_LOCK} off.
     */
    private Change bumpUnlockedForRaceDemo(long delayedBefore) {
        long read = seq;
        Interleave.point(Interleave.ES_SEQ_READ);
        seq = read + 1;
        return new Change(read + 1, delayedBefore);
    }

    private Node covering(long lblk) {
        Map.Entry<Long, Node> e = tree.floorEntry(lblk);
        if (e == null || e.getValue().end() < lblk) {
            return null;
        }
        return e.getValue();
    }

    /** Nodes overlapping {@code [from, to]} in logical order (a copy: safe to modify the tree after). */
    private List<Node> overlapping(long from, long to) {
        Long start = tree.floorKey(from);
        NavigableMap<Long, Node> sub = tree.subMap(start == null ? from : start, true, to, true);
        List<Node> out = new ArrayList<>();
        for (Node n : sub.values()) {
            if (n.end() >= from) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * Cuts {@code [from, to]} out of the tree ({@code __es_remove_extent}): entries inside go, the
     * ones straddling an edge keep their outside part, with the physical block shifted for a right
     * remnant. Returns the number of DELAYED blocks cut out.
     */
    private long removeLocked(long from, long to) {
        long delayed = 0;
        for (Node n : overlapping(from, to)) {
            long oFrom = Math.max(from, n.lblk);
            long oTo = Math.min(to, n.end());
            if (n.status == Status.DELAYED) {
                delayed += oTo - oFrom + 1;
            }
            tree.remove(n.lblk);
            if (n.lblk < from) {
                Node left = new Node(n.lblk, from - n.lblk, n.pblk, n.status);
                left.referenced = n.referenced;
                tree.put(left.lblk, left);
            }
            if (n.end() > to) {
                long rl = to + 1;
                long rp = n.status.hasPblk() ? n.pblk + (rl - n.lblk) : NO_PBLK;
                Node right = new Node(rl, n.end() - to, rp, n.status);
                right.referenced = n.referenced;
                tree.put(right.lblk, right);
            }
        }
        return delayed;
    }

    /** Whether {@code b} continues {@code a} ({@code ext4_es_can_be_merged}). */
    private static boolean mergeable(Node a, Node b) {
        if (a.status != b.status || a.end() + 1 != b.lblk) {
            return false;
        }
        return !a.status.hasPblk() || a.pblk + a.len == b.pblk;
    }

    /**
     * Inserts {@code n} into a gap that fits it and merges it with its neighbours
     * ({@code __es_insert_extent} with {@code ext4_es_try_to_merge_left/right}).
     */
    private void putAndMerge(Node n) {
        tree.put(n.lblk, n);
        Map.Entry<Long, Node> lower = tree.lowerEntry(n.lblk);
        if (lower != null && mergeable(lower.getValue(), n)) {
            Node l = lower.getValue();
            l.len += n.len;
            l.referenced |= n.referenced;
            tree.remove(n.lblk);
            n = l;
        }
        Map.Entry<Long, Node> higher = tree.higherEntry(n.lblk);
        if (higher != null && mergeable(n, higher.getValue())) {
            Node h = higher.getValue();
            n.len += h.len;
            n.referenced |= h.referenced;
            tree.remove(h.lblk);
        }
    }

    /** Second-chance round-robin eviction of clean entries; see {@link #shrink}. */
    private long reclaimLocked(long want) {
        if (want <= 0 || tree.isEmpty()) {
            return 0;
        }
        long got = 0;
        long resume = shrinkCursor;
        List<NavigableMap<Long, Node>> passes = List.of(
                tree.tailMap(shrinkCursor, true), tree.headMap(shrinkCursor, false));
        outer:
        for (NavigableMap<Long, Node> part : passes) {
            Iterator<Node> it = part.values().iterator();
            while (it.hasNext()) {
                if (got >= want) {
                    break outer;
                }
                Node n = it.next();
                resume = n.end() + 1;
                if (!n.status.isClean()) {
                    continue;
                }
                if (n.referenced) {
                    n.referenced = false;
                    continue;
                }
                it.remove();
                got++;
            }
        }
        shrinkCursor = resume > MAX_LBLK ? 0 : resume;
        evicted += got;
        return got;
    }

    /**
     * Checks the structural invariants (the kernel's {@code ES_AGGRESSIVE_TEST} spirit): entries in
     * range, non-overlapping, and no two adjacent entries that should have been merged. For tests.
     */
    void checkInvariants() {
        lock.readLock().lock();
        try {
            Node prev = null;
            for (Map.Entry<Long, Node> e : tree.entrySet()) {
                Node n = e.getValue();
                if (e.getKey() != n.lblk) {
                    throw new IllegalStateException("key " + e.getKey() + " != lblk " + n.lblk);
                }
                new Entry(n.lblk, n.len, n.pblk, n.status); // validates ranges
                if (prev != null) {
                    if (prev.end() >= n.lblk) {
                        throw new IllegalStateException("overlap: " + toEntry(prev) + " " + toEntry(n));
                    }
                    if (mergeable(prev, n)) {
                        throw new IllegalStateException("unmerged: " + toEntry(prev) + " " + toEntry(n));
                    }
                }
                prev = n;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The lock itself, so tests can hold it to make the shrinker meet a busy tree. */
    ReentrantReadWriteLock lockForTesting() {
        return lock;
    }

    long lastUse() {
        return lastUse;
    }

    private void touch() {
        if (shrinker != null) {
            lastUse = shrinker.tick();
        }
    }

    /** Reports a change in entry count to the shrinker, outside the lock, and lets it run. */
    private void accounted(long delta) {
        if (shrinker == null) {
            return;
        }
        if (delta != 0) {
            shrinker.adjust(delta);
        }
        if (delta >= 0) {
            // also when the count did not move: replacing a DELAYED entry with a clean one makes
            // an entry evictable that the last shrink had to keep
            shrinker.maybeShrink();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("extent status tree is closed");
        }
    }

    private static Entry toEntry(Node n) {
        return new Entry(n.lblk, n.len, n.pblk, n.status);
    }

    private static void checkLblk(long lblk) {
        if (lblk < 0 || lblk > MAX_LBLK) {
            throw new IllegalArgumentException("logical block " + lblk + " outside 0.." + MAX_LBLK);
        }
    }

    static void checkRange(long lblk, long len) {
        checkLblk(lblk);
        if (len < 1 || len > MAX_LBLK - lblk + 1) {
            throw new IllegalArgumentException("length " + len + " at logical block " + lblk
                    + " is empty or runs past " + MAX_LBLK);
        }
    }

    private static void checkPblk(long pblk, long len, Status status) {
        if (status.hasPblk()) {
            if (pblk < 0 || pblk > MAX_PBLK - len + 1) {
                throw new IllegalArgumentException("physical block " + pblk + " (+" + len
                        + ") outside 0.." + MAX_PBLK);
            }
        } else if (pblk != NO_PBLK) {
            throw new IllegalArgumentException(status + " has no physical block; pass NO_PBLK, not " + pblk);
        }
    }
}
