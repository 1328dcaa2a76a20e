package org.ext4j.pagecache;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Memory accounting shared by all of a file system's page caches: bytes cached, bytes dirty, and
 * the bounds on both ({@code mm/page-writeback.c}'s dirty thresholds and the LRU's reclaim). When
 * cached bytes exceed the memory bound, clean folios are evicted least recently used first. Dirty
 * bytes above the background threshold wake the flusher ({@link #backgroundFlushNeeded()}); above
 * the hard limit, writers throttle ({@link #throttleNeeded()}), as {@code balance_dirty_pages}.
 */
public final class PageCacheLimits {
    private final long maxBytes;
    private final long dirtyBackgroundBytes;
    private final long dirtyLimitBytes;
    private final AtomicLong cached = new AtomicLong();
    private final AtomicLong dirty = new AtomicLong();
    private final AtomicLong clock = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final Set<AddressSpace> spaces = ConcurrentHashMap.newKeySet();

    public PageCacheLimits(long maxBytes, long dirtyBackgroundBytes, long dirtyLimitBytes) {
        if (dirtyBackgroundBytes > dirtyLimitBytes || dirtyLimitBytes > maxBytes) {
            throw new IllegalArgumentException("need background <= dirty limit <= memory bound");
        }
        this.maxBytes = maxBytes;
        this.dirtyBackgroundBytes = dirtyBackgroundBytes;
        this.dirtyLimitBytes = dirtyLimitBytes;
    }

    void register(AddressSpace s) {
        spaces.add(s);
    }

    void unregister(AddressSpace s) {
        spaces.remove(s);
    }

    void added(Folio f) {
        touch(f);
        cached.addAndGet(f.size());
        maybeEvict();
    }

    void removed(Folio f) {
        cached.addAndGet(-f.size());
    }

    void touch(Folio f) {
        f.lastUse = clock.incrementAndGet();
    }

    void dirtied(long bytes) {
        dirty.addAndGet(bytes);
    }

    public long dirtyLimit() {
        return dirtyLimitBytes;
    }

    public long cachedBytes() {
        return cached.get();
    }

    public long dirtyBytes() {
        return dirty.get();
    }

    public long evictions() {
        return evictions.get();
    }

    public boolean backgroundFlushNeeded() {
        return dirty.get() > dirtyBackgroundBytes;
    }

    public boolean throttleNeeded() {
        return dirty.get() > dirtyLimitBytes;
    }

    /**
     * Evicts clean folios, oldest first, once the cache is over its bound, down to 7/8 of it (or
     * until nothing clean is left): the scan is paid for once per eighth of the cache, not once per
     * new folio.
     */
    public void maybeEvict() {
        if (cached.get() <= maxBytes) {
            return;
        }
        long target = maxBytes - maxBytes / 8;
        // each candidate with its last use as read now: touches by other threads go on while this
        // sorts, and a key that changed under the sort breaks its contract (TimSort throws)
        record Candidate(AddressSpace space, Folio folio, long lastUse) {
        }
        List<Candidate> candidates = new ArrayList<>();
        for (AddressSpace s : spaces) {
            for (Folio f : s.folios()) {
                if (!f.isDirty() && !f.isWriteback()) {
                    candidates.add(new Candidate(s, f, f.lastUse));
                }
            }
        }
        candidates.sort(Comparator.comparingLong(Candidate::lastUse));
        for (Candidate c : candidates) {
            if (cached.get() <= target) {
                break;
            }
            if (c.space().tryEvict(c.folio())) {
                evictions.incrementAndGet();
            }
        }
    }
}
