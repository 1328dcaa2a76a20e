package org.ext4j.pagecache;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;

/**
 * One file's page cache ({@code struct address_space}): its folios by file offset. Folios are
 * created on demand, large where the caller asks (large folios, up to {@link #MAX_FOLIO_SIZE}), and
 * never overlap. Memory and dirty bytes are accounted in the shared {@link PageCacheLimits}, which
 * also decides when clean folios are evicted.
 *
 * <p>Locking: the folio map is a concurrent map; creating a folio races by {@code putIfAbsent}, the
 * loser retries. A folio is removed (evicted or truncated) only while its lock is held and it is
 * clean and not under writeback, so a thread that holds a folio's lock holds a folio that is still
 * in the cache, or was truncated away (then {@link #isCached(Folio)} says so and the caller retries).
 */
public final class AddressSpace {
    public static final int MAX_FOLIO_SIZE = 64 * 1024;

    private final int blockSize;
    private final int maxFolioSize;
    private final PageCacheLimits limits;
    private final ConcurrentSkipListMap<Long, Folio> folios = new ConcurrentSkipListMap<>();
    /**
     * The cached folios that have dirty blocks (the page cache's dirty tag): changed only with the
     * folio's lock held, together with its dirty bits, so writeback and the flusher look at what
     * is dirty instead of every cached folio.
     */
    private final ConcurrentSkipListMap<Long, Folio> dirtyIndex = new ConcurrentSkipListMap<>();

    public AddressSpace(int blockSize, PageCacheLimits limits) {
        this(blockSize, Math.max(blockSize, MAX_FOLIO_SIZE), limits);
    }

    /** A cache whose folios are at most {@code maxFolioSize} bytes (one block: no large folios). */
    public AddressSpace(int blockSize, int maxFolioSize, PageCacheLimits limits) {
        if (Integer.bitCount(maxFolioSize) != 1 || maxFolioSize < blockSize) {
            throw new IllegalArgumentException("folio size " + maxFolioSize + " for blocks of " + blockSize);
        }
        this.blockSize = blockSize;
        this.maxFolioSize = maxFolioSize;
        this.limits = limits;
        limits.register(this);
    }

    public int maxFolioSize() {
        return maxFolioSize;
    }

    public int blockSize() {
        return blockSize;
    }

    /** The cached folio covering {@code pos}, or null. Not locked. */
    public Folio find(long pos) {
        Map.Entry<Long, Folio> e = folios.floorEntry(pos);
        if (e != null && pos < e.getKey() + e.getValue().size()) {
            return e.getValue();
        }
        return null;
    }

    public boolean isCached(Folio f) {
        return folios.get(f.pos()) == f;
    }

    /**
     * Returns the folio covering {@code pos}, locked, creating it (not uptodate) when missing
     * ({@code __filemap_get_folio(FGP_LOCK | FGP_CREAT)}). A new folio is as large as
     * {@code sizeHint} allows (rounded down to a power of two, at least one block, at most
     * {@link #MAX_FOLIO_SIZE}) while staying aligned and not overlapping cached neighbours.
     */
    public Folio lockOrCreate(long pos, int sizeHint) {
        while (true) {
            Folio f = find(pos);
            if (f == null) {
                f = create(pos, sizeHint);
                if (f == null) {
                    continue; // lost a race with another creator: look again
                }
                limits.touch(f);
                return f; // created locked
            }
            f.lock().lock();
            if (isCached(f)) {
                limits.touch(f);
                return f;
            }
            f.lock().unlock(); // evicted or truncated between find and lock: look again
        }
    }

    private Folio create(long pos, int sizeHint) {
        int size = Math.max(blockSize, Integer.highestOneBit(Math.max(1, Math.min(sizeHint, maxFolioSize))));
        while (size > blockSize) {
            long start = pos - pos % size;
            Map.Entry<Long, Folio> before = folios.lowerEntry(start + size);
            boolean free = before == null || before.getKey() + before.getValue().size() <= start;
            if (free) {
                break;
            }
            size >>= 1;
        }
        long start = pos - pos % size;
        Folio f = new Folio(start, size, blockSize);
        // added locked, as filemap_add_folio does: eviction (which only tryLocks) cannot take a
        // folio between its creation and its first use
        f.lock().lock();
        if (folios.putIfAbsent(start, f) != null) {
            f.lock().unlock();
            return null;
        }
        // a bigger or smaller neighbour may have appeared meanwhile: undo on overlap
        Map.Entry<Long, Folio> lower = folios.lowerEntry(start);
        Map.Entry<Long, Folio> higher = folios.higherEntry(start);
        if (lower != null && lower.getKey() + lower.getValue().size() > start
                || higher != null && higher.getKey() < start + size) {
            folios.remove(start, f);
            f.lock().unlock();
            return null;
        }
        limits.added(f);
        return f;
    }

    /** Marks blocks [from, to) of a locked folio dirty and uptodate ({@code iomap_set_range_dirty}). */
    public void markDirty(Folio f, int fromBlock, int toBlock) {
        int before = f.dirtyBlocks();
        f.setUptodate(fromBlock, toBlock);
        f.setDirty(fromBlock, toBlock);
        if (fromBlock < toBlock) {
            dirtyIndex.put(f.pos(), f);
        }
        limits.dirtied((long) (f.dirtyBlocks() - before) * blockSize);
    }

    /**
     * Starts writeback of a locked folio ({@code folio_start_writeback} after
     * {@code folio_clear_dirty_for_io}): returns the blocks that were dirty and clears them, so that
     * writes after this point dirty the folio again for the next round.
     */
    public java.util.BitSet startWriteback(Folio f) {
        return startWriteback(f, f.blocks());
    }

    /**
     * As {@link #startWriteback(Folio)}, but only for blocks below {@code limitBlock}: dirty blocks
     * past the end of file as writeback saw it (a concurrent append) stay dirty for the next round.
     */
    public java.util.BitSet startWriteback(Folio f, int limitBlock) {
        java.util.BitSet dirty = f.dirtySnapshot();
        if (limitBlock < f.blocks()) {
            dirty.clear(Math.max(0, limitBlock), f.blocks());
        }
        for (int b = dirty.nextSetBit(0); b >= 0; b = dirty.nextSetBit(b + 1)) {
            f.clearDirty(b);
        }
        cleaned(f);
        f.setWriteback(true);
        limits.dirtied(-(long) dirty.cardinality() * blockSize);
        return dirty;
    }

    /** Ends writeback ({@code folio_end_writeback}); the folio may be evicted from now on if clean. */
    public void endWriteback(Folio f) {
        f.lock().lock();
        try {
            f.setWriteback(false);
        } finally {
            f.lock().unlock();
        }
        limits.maybeEvict();
    }

    /** Whether any folio is dirty (unlocked, a hint). */
    public boolean hasDirtyFolios() {
        return !dirtyIndex.isEmpty();
    }

    /** With {@code f}'s lock held, after dirty bits were cleared: a folio left clean leaves the dirty index. */
    private void cleaned(Folio f) {
        if (!f.isDirty()) {
            dirtyIndex.remove(f.pos(), f);
        }
    }

    /** Dirty folios from {@code pos} on, in file order (unlocked): writeback's work list. */
    public List<Folio> dirtyFolios(long pos, long end) {
        List<Folio> out = new ArrayList<>();
        Map.Entry<Long, Folio> first = dirtyIndex.floorEntry(pos);
        long from = first != null ? first.getKey() : pos;
        for (Folio f : dirtyIndex.subMap(from, true, end, false).values()) {
            if (f.isDirty()) {
                out.add(f);
            }
        }
        return out;
    }

    /**
     * Evicts {@code f} if it is clean, not under writeback and not locked by anyone else; the
     * caller must not hold its lock. Returns whether it was evicted ({@code remove_mapping}).
     */
    public boolean tryEvict(Folio f) {
        Interleave.point(Interleave.EVICT_BEFORE);
        // the lock is reentrant: a thread that holds it (creating this folio, which can trigger
        // eviction) would get it again and evict the folio it is about to fill
        if (f.lock().isHeldByCurrentThread() || !f.lock().tryLock()) {
            return false;
        }
        try {
            if (f.isDirty() || f.isWriteback() || !isCached(f)) {
                return false;
            }
            folios.remove(f.pos(), f);
            limits.removed(f);
        } finally {
            f.lock().unlock();
        }
        Interleave.point(Interleave.EVICT_AFTER);
        return true;
    }

    /** Whether the block at byte {@code pos} is dirty in the cache; takes the folio lock to look. */
    public boolean isBlockDirty(long pos) {
        while (true) {
            Folio f = find(pos);
            if (f == null) {
                return false;
            }
            f.lock().lock();
            try {
                if (isCached(f)) {
                    return f.isDirty((int) ((pos - f.pos()) / blockSize));
                }
            } finally {
                f.lock().unlock();
            }
        }
    }

    /**
     * Drops every folio at or after {@code pos} and zeroes the tail of the folio that holds it
     * ({@code truncate_inode_pages_range}). A folio under writeback is waited for first, as the
     * kernel's {@code folio_wait_writeback}: the blocks behind it are freed next, and a completion
     * that ran after that could convert blocks that already belong to someone else (docs/RACES.md R7,
     * R10). The caller holds the inode writer lock, so no writer dirties the range meanwhile.
     */
    public void truncate(long pos) {
        Folio partial = find(pos);
        if (partial != null && partial.pos() >= pos) {
            partial = null; // starts at the cut: dropped whole below, not zeroed and kept
        }
        if (partial != null) {
            partial.lock().lock();
            try {
                waitForWriteback(partial);
                int off = (int) (pos - partial.pos());
                java.util.Arrays.fill(partial.data(), off, partial.size(), (byte) 0);
            } finally {
                partial.lock().unlock();
            }
        }
        for (Folio f : new ArrayList<>(folios.tailMap(pos, true).values())) {
            if (partial == f) {
                continue;
            }
            f.lock().lock();
            try {
                waitForWriteback(f);
                int dirty = f.dirtyBlocks();
                if (folios.remove(f.pos(), f)) {
                    dirtyIndex.remove(f.pos(), f);
                    limits.dirtied(-(long) dirty * blockSize);
                    limits.removed(f);
                }
            } finally {
                f.lock().unlock();
            }
        }
    }

    /**
     * Forgets the cached contents of the block-aligned range {@code [from, to)}
     * ({@code truncate_inode_pages_range} for punch hole and zero range): folios inside it are
     * dropped, blocks of larger folios that reach into it become clean zeros. Folios under
     * writeback are waited for first, as in {@link #truncate}. The caller holds the inode writer
     * lock and has written the range back.
     */
    public void discard(long from, long to) {
        if (from % blockSize != 0 || to % blockSize != 0) {
            throw new IllegalArgumentException("discard of unaligned range " + from + ".." + to);
        }
        Map.Entry<Long, Folio> first = folios.floorEntry(from);
        long start = first != null ? first.getKey() : from;
        for (Folio f : new ArrayList<>(folios.subMap(start, true, to, false).values())) {
            if (f.pos() + f.size() <= from) {
                continue;
            }
            f.lock().lock();
            try {
                waitForWriteback(f);
                if (f.pos() >= from && f.pos() + f.size() <= to) {
                    int dirty = f.dirtyBlocks();
                    if (folios.remove(f.pos(), f)) {
                        dirtyIndex.remove(f.pos(), f);
                        limits.dirtied(-(long) dirty * blockSize);
                        limits.removed(f);
                    }
                    continue;
                }
                int b0 = (int) ((Math.max(from, f.pos()) - f.pos()) / blockSize);
                int b1 = (int) ((Math.min(to, f.pos() + f.size()) - f.pos()) / blockSize);
                for (int b = b0; b < b1; b++) {
                    if (f.isDirty(b)) {
                        f.clearDirty(b);
                        limits.dirtied(-blockSize);
                    }
                    java.util.Arrays.fill(f.data(), b * blockSize, (b + 1) * blockSize, (byte) 0);
                    f.setUptodate(b, b + 1);
                }
                cleaned(f);
            } finally {
                f.lock().unlock();
            }
        }
    }

    /** With {@code f}'s lock held: waits out its writeback, unless a race test switched that off. */
    private static void waitForWriteback(Folio f) {
        if (Protections.on(Protection.TRUNCATE_WAITS_FOR_WRITEBACK)) {
            f.awaitWriteback();
        }
    }

    /** All cached folios (unlocked), for eviction scans and tests. */
    public List<Folio> folios() {
        return new ArrayList<>(folios.values());
    }

    /** Leaves the shared accounting (the file was closed and its folios written). */
    public void release() {
        for (Folio f : folios()) {
            if (folios.remove(f.pos(), f)) {
                dirtyIndex.remove(f.pos(), f);
                limits.dirtied(-(long) f.dirtyBlocks() * blockSize);
                limits.removed(f);
            }
        }
        limits.unregister(this);
    }
}
