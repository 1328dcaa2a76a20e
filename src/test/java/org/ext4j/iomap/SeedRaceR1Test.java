package org.ext4j.iomap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.pagecache.AddressSpace;
import org.ext4j.pagecache.Folio;
import org.ext4j.pagecache.PageCacheLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * docs/RACES.md R1, the seed's race, replayed deterministically at the mapping layer: a buffered write
 * holds an UNWRITTEN mapping while writeback writes block 3, converts it to WRITTEN and reclaim
 * evicts its clean folio. With the validity check the write maps again and reads block 3 from disk;
 * without it (the companion test) block 3 is zeroed and the 'Y' is lost.
 */
class SeedRaceR1Test {
    private static final int B = 1024;

    @AfterEach
    void reset() {
        Interleave.install(null);
        Protections.restoreAll();
    }

    /** The outcome of one replay: the file's bytes as read back, and as on disk after writeback. */
    private record Outcome(byte[] cached, byte[] onDisk, long remapsSeen) {
    }

    private Outcome replay(boolean validityCheck) throws Exception {
        Protections.set(Protection.VALIDITY_CHECK, validityCheck);
        MemoryMappingFs fs = new MemoryMappingFs(B, 64);
        AddressSpace space = new AddressSpace(B, B, new PageCacheLimits(1 << 20, 1 << 19, 1 << 19));
        BufferedIO io = new BufferedIO(space, fs);
        fs.fallocate(0, 4);
        fs.size = 4 * B;
        io.write(fs, 4 * B - 1, new byte[] {'Y'}, 0, 1, () -> fs.size, n -> fs.size = n);

        CountDownLatch writebackAtConvert = new CountDownLatch(1);
        CountDownLatch releaseWriteback = new CountDownLatch(1);
        CountDownLatch writerBeforeFolio3 = new CountDownLatch(1);
        CountDownLatch releaseWriter = new CountDownLatch(1);
        AtomicInteger writerFolios = new AtomicInteger();
        AtomicInteger writerBegins = new AtomicInteger();
        Interleave.install(point -> {
            String t = Thread.currentThread().getName();
            try {
                if (t.equals("writeback") && point.equals(Interleave.WRITEBACK_BEFORE_CONVERT)) {
                    writebackAtConvert.countDown();
                    assertTrue(releaseWriteback.await(10, TimeUnit.SECONDS));
                }
                if (t.equals("writer") && (point.equals(Interleave.WRITE_AFTER_BEGIN)
                        || point.equals(Interleave.WRITE_AFTER_REMAP))) {
                    writerBegins.incrementAndGet();
                }
                if (t.equals("writer") && point.equals(Interleave.WRITE_AFTER_VALID)
                        && writerFolios.incrementAndGet() == 3) {
                    // folio 2 copied next; folio 3 is locked only after this returns
                    writerBeforeFolio3.countDown();
                    assertTrue(releaseWriter.await(10, TimeUnit.SECONDS));
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writeback = new Thread(() -> {
            try {
                io.writeback(fs, 3 * B, 4 * B, fs.size);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "writeback");
        writeback.start();
        assertTrue(writebackAtConvert.await(10, TimeUnit.SECONDS),
                () -> "writeback wrote block 3, holds completion; failure: " + failure.get());
        long s0 = fs.es.seq();

        byte[] x = MemoryMappingFs.filled(3 * B + 1, 'X');
        Thread writer = new Thread(() -> {
            try {
                io.write(fs, 0, x, 0, x.length, () -> fs.size, n -> fs.size = n);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "writer");
        writer.start();
        assertTrue(writerBeforeFolio3.await(10, TimeUnit.SECONDS), "writer mapped [0,4B) unwritten, copied folios 0-2");

        releaseWriteback.countDown(); // completion converts block 3 to WRITTEN: S1
        writeback.join(10_000);
        assertTrue(fs.es.seq() > s0, "conversion moved the counter");
        Folio f3 = space.find(3 * B);
        assertTrue(f3 != null && space.tryEvict(f3), "folio 3 is clean and reclaim evicts it");

        releaseWriter.countDown(); // new folio 3, locked: valid? S0 != S1
        writer.join(10_000);
        Interleave.install(null);
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        byte[] cached = new byte[4 * B];
        assertEquals(4 * B, io.read(fs, 0, cached, 0, cached.length, fs.size));
        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        return new Outcome(cached, fs.diskView(fs.size), writerBegins.get());
    }

    private static byte[] expected() {
        byte[] want = new byte[4 * B];
        Arrays.fill(want, 0, 3 * B + 1, (byte) 'X');
        want[4 * B - 1] = 'Y';
        return want;
    }

    @Test
    void validityCheckPreservesWrittenData() throws Exception {
        Outcome o = replay(true);
        assertArrayEquals(expected(), o.cached(), "page cache");
        assertArrayEquals(expected(), o.onDisk(), "disk after writeback");
        assertEquals(2, o.remapsSeen(), "exactly one remap after the stale mapping");
    }

    @Test
    void withoutValidityCheckTheWriteZeroesBlockThree() throws Exception {
        Outcome o = replay(false);
        assertEquals(0, o.cached()[4 * B - 1], "the 'Y' that writeback wrote was zeroed: the seed's corruption");
        assertEquals(0, o.onDisk()[4 * B - 1], "and the zeros reach the disk");
        assertEquals(1, o.remapsSeen(), "no remap without the check");
    }
}
