package org.ext4j.stress;

import java.lang.reflect.Field;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.interleave.Interleave;
import org.ext4j.pagecache.PageCacheLimits;

/**
 * What the stress run can observe of the write path without changing it: an {@link Interleave}
 * hook that counts data writes submitted by writeback (by the background flusher, and by everyone
 * else: throttled writers, fsync, truncate and fallocate), unwritten-extent conversions, and
 * buffered writes that found their mapping stale and mapped again (the validity check firing:
 * counted at {@code WRITE_AFTER_REMAP}, or as a check left without passing it).
 * With jitter on, it also yields or parks for a few microseconds at random interleaving points,
 * which widens the race windows the points mark.
 *
 * <p>The hook is global (one per JVM): the stress test installs it for its run and removes it after,
 * so it must not run in parallel with another test that installs one.
 */
final class WritePathProbe implements Interleave.Hook {
    final LongAdder flusherSubmits = new LongAdder();
    final LongAdder otherSubmits = new LongAdder();
    final LongAdder conversions = new LongAdder();
    final LongAdder staleRemaps = new LongAdder();
    final LongAdder validChecks = new LongAdder();
    private final boolean jitter;
    /** Per thread: a validity check was started and has not passed yet. */
    private final ThreadLocal<boolean[]> checking = ThreadLocal.withInitial(() -> new boolean[1]);

    WritePathProbe(boolean jitter) {
        this.jitter = jitter;
    }

    @Override
    public void at(String point) {
        switch (point) {
            case Interleave.WRITEBACK_AFTER_SUBMIT -> {
                if (Thread.currentThread().getName().startsWith("ext4j-flusher")) {
                    flusherSubmits.increment();
                } else {
                    otherSubmits.increment();
                }
            }
            case Interleave.WRITEBACK_BEFORE_CONVERT -> conversions.increment();
            case Interleave.WRITE_BEFORE_VALID -> {
                validChecks.increment();
                checking.get()[0] = true;
            }
            case Interleave.WRITE_AFTER_REMAP -> { // stale: mapped again with the folio still locked
                staleRemaps.increment();
                checking.get()[0] = false;
            }
            case Interleave.WRITE_AFTER_VALID -> checking.get()[0] = false;
            case Interleave.WRITE_AFTER_BEGIN -> {
                boolean[] c = checking.get();
                if (c[0]) { // the last check did not pass: the write dropped the folio and mapped again
                    staleRemaps.increment();
                    c[0] = false;
                }
            }
            default -> {
            }
        }
        if (jitter) {
            int r = ThreadLocalRandom.current().nextInt(512);
            if (r < 4) {
                Thread.yield();
            } else if (r == 4) {
                LockSupport.parkNanos(ThreadLocalRandom.current().nextInt(5_000, 50_000));
            }
        }
    }

    void copyTo(StressReport r) {
        r.flusherSubmits = flusherSubmits.sum();
        r.otherSubmits = otherSubmits.sum();
        r.conversions = conversions.sum();
        r.staleRemaps = staleRemaps.sum();
        r.validChecks = validChecks.sum();
    }

    /**
     * Folios evicted so far by the file system's page cache bound, or -1 where the engine's
     * internals have moved (read by reflection: the count is not part of the public API).
     */
    static long evictions(Ext4FileSystem fs) {
        try {
            Field session = Ext4FileSystem.class.getDeclaredField("session");
            session.setAccessible(true);
            Object s = session.get(fs);
            Field limits = s.getClass().getDeclaredField("limits");
            limits.setAccessible(true);
            return ((PageCacheLimits) limits.get(s)).evictions();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }
}
