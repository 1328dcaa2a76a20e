package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link WriteOptions#defaults()} sizes the page cache and the dirty thresholds from the heap, as
 * the kernel sizes dirty_background_ratio / dirty_ratio from memory: 40% cached, 10% / 20% dirty,
 * with a floor for tiny heaps and ceilings for huge ones.
 */
class WriteOptionsTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @ParameterizedTest(name = "heap {0} MiB")
    @CsvSource({
        // heap MiB, cache, background, dirty (bytes)
        "8,      13421760,    3355440,    6710880",     // below the floor: sized as 32 MiB
        "32,     13421760,    3355440,    6710880",
        "512,    214748360,   53687090,   107374180",   // -Xmx512m: 205 MiB cached, 102 MiB dirty
        "1024,   429496720,   107374180,  214748360",
        "6144,   2576980360,  644245090,  1288490180",  // a quarter of 24 GiB, the JVM's default here
        "102400, 34359738368, 4294967296, 8589934592",  // 100 GiB: the ceilings
    })
    void sizedFromTheHeap(long heapMib, long cache, long background, long dirty) {
        WriteOptions o = WriteOptions.forHeap(heapMib * MIB);
        assertEquals(cache, o.pageCacheBytes());
        assertEquals(background, o.dirtyBackgroundBytes());
        assertEquals(dirty, o.dirtyLimitBytes());
    }

    /** What the page cache limits require, for any heap the JVM may report (Long.MAX_VALUE: no limit). */
    @ParameterizedTest
    @ValueSource(longs = {0, 1, 32L << 20, 255L << 20, 4L << 30, 200L << 30, Long.MAX_VALUE})
    void backgroundBelowLimitBelowCache(long heap) {
        WriteOptions o = WriteOptions.forHeap(heap);
        assertTrue(0 < o.dirtyBackgroundBytes() && o.dirtyBackgroundBytes() <= o.dirtyLimitBytes()
                && o.dirtyLimitBytes() <= o.pageCacheBytes(), o.toString());
        assertTrue(o.pageCacheBytes() <= Math.max(32 * MIB, heap) / 2, "at most 40% of the heap: " + o);
        assertTrue(o.pageCacheBytes() <= 32 * GIB);
    }

    @Test
    void defaultsFollowTheRunningHeap() {
        assertEquals(WriteOptions.forHeap(Runtime.getRuntime().maxMemory()), WriteOptions.defaults());
    }
}
