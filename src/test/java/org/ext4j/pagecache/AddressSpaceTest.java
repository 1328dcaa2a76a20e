package org.ext4j.pagecache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Folio creation never overlaps, always covers the asked position, and never spins; eviction bounds memory. */
class AddressSpaceTest {

    @Test
    void randomFolioSizesNeverOverlapAndAlwaysCover() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int bs : new int[] {1024, 4096}) {
                PageCacheLimits limits = new PageCacheLimits(1L << 40, 1L << 39, 1L << 39);
                AddressSpace space = new AddressSpace(bs, limits);
                Random rnd = new Random(bs);
                for (int i = 0; i < 20_000; i++) {
                    long pos = rnd.nextInt(4 << 20);
                    int hint = 1 + rnd.nextInt(100_000);
                    Folio f = space.lockOrCreate(pos, hint);
                    try {
                        assertTrue(f.pos() <= pos && pos < f.pos() + f.size(), f + " covers " + pos);
                    } finally {
                        f.lock().unlock();
                    }
                }
                List<Folio> all = space.folios();
                for (int i = 1; i < all.size(); i++) {
                    Folio a = all.get(i - 1);
                    assertTrue(a.pos() + a.size() <= all.get(i).pos(), a + " overlaps " + all.get(i));
                }
            }
        });
    }

    @Test
    void cleanFoliosAreEvictedDirtyOnesStay() {
        PageCacheLimits limits = new PageCacheLimits(64 << 10, 32 << 10, 48 << 10);
        AddressSpace space = new AddressSpace(4096, 4096, limits);
        Folio dirty = space.lockOrCreate(0, 4096);
        space.markDirty(dirty, 0, 1);
        dirty.lock().unlock();
        for (int i = 1; i < 100; i++) {
            Folio f = space.lockOrCreate(i * 4096L, 4096);
            f.lock().unlock();
        }
        assertTrue(limits.cachedBytes() <= (64 << 10) + 4096, "bounded: " + limits.cachedBytes());
        assertTrue(space.isCached(dirty), "dirty folio kept");
        assertEquals(4096, limits.dirtyBytes());
        assertFalse(limits.evictions() == 0);
    }

    @Test
    void hasDirtyFoliosFollowsTheDirtyBits() {
        AddressSpace space = new AddressSpace(4096, 4096, new PageCacheLimits(1 << 20, 1 << 19, 1 << 19));
        assertFalse(space.hasDirtyFolios());
        for (int i = 0; i < 10; i++) {
            space.lockOrCreate(i * 4096L, 4096).lock().unlock();
        }
        assertFalse(space.hasDirtyFolios(), "clean folios only");
        Folio f = space.lockOrCreate(9 * 4096L, 4096);
        space.markDirty(f, 0, 1);
        assertTrue(space.hasDirtyFolios());
        space.startWriteback(f);
        f.lock().unlock();
        assertFalse(space.hasDirtyFolios(), "under writeback, clean");
        space.endWriteback(f);
        assertEquals(space.dirtyFolios(0, Long.MAX_VALUE).isEmpty(), !space.hasDirtyFolios());
    }
}
