package org.ext4j.interleave;

/**
 * The protections of the write path that race tests switch off to show what each one prevents
 * (docs/RACES.md: "a test for a race has teeth"). Nothing in {@code WriteOptions}, {@code OpenOptions}
 * or any command's options reaches this class: only tests and the {@code ext4j race}
 * demonstration, on its own scratch image, turn a protection off, and they turn it back on after.
 *
 * <p>Reading a switch is one volatile read. Started with {@code -Dext4j.interleave=off} the
 * switches are compiled out with the interleaving points, for the overhead benchmark.
 */
public final class Protections {
    /** A protection that can be switched off for a demonstration of the race it covers. */
    public enum Protection {
        /** The buffered write's {@code iomap_valid} check after locking each folio. */
        VALIDITY_CHECK,
        /** Delayed-allocation lookup #1 (no mapping lock) hands out its sequence value. */
        DA_LOOKUP1_SEQ,
        /** Delayed-allocation lookup #2 (mapping lock in write mode) hands out its sequence value. */
        DA_LOOKUP2_SEQ,
        /** Delayed allocation looks again under the mapping lock before inserting DELAYED (lookup #2 at all). */
        DA_LOOKUP2,
        /** Writeback revalidates the mapping it caches across folios before reusing it. */
        WRITEBACK_MAP_CHECK,
        /** A short write gives back the delayed reservations that no dirty folio backs. */
        SHORT_WRITE_RELEASE,
        /** Truncate, punch and zero range wait for writeback of the folios they drop ({@code folio_wait_writeback}). */
        TRUNCATE_WAITS_FOR_WRITEBACK,
        /** An extending write zeroes the old end-of-file block past the old size first. */
        EOF_ZERO,
        /** Writeback reads the size under the folio lock before zeroing the EOF block's tail. */
        WRITEBACK_EOF_UNDER_FOLIO_LOCK,
        /** Writeback completion moves the on-disk size no further than the data it wrote. */
        DISK_SIZE_WITHIN_WRITTEN,
        /** The status tree's counter is incremented only under its lock. */
        SEQ_UNDER_LOCK,
        /** A write that finds its mapping stale maps again with the folio still locked, so every remap makes progress. */
        REMAP_UNDER_FOLIO_LOCK
    }

    private static volatile int off;

    private Protections() {
    }

    /** Whether {@code p} is in force (always, unless a test switched it off). */
    public static boolean on(Protection p) {
        if (!Interleave.COMPILED) {
            return true;
        }
        return (off & (1 << p.ordinal())) == 0;
    }

    /** Switches {@code p} off or back on (tests and the race demonstration only). */
    public static synchronized void set(Protection p, boolean enabled) {
        if (!Interleave.COMPILED && !enabled) {
            throw new IllegalStateException("protection switches are compiled out (-Dext4j.interleave=off)");
        }
        off = enabled ? off & ~(1 << p.ordinal()) : off | (1 << p.ordinal());
    }

    /** Every protection back on. */
    public static synchronized void restoreAll() {
        off = 0;
    }
}
