package org.ext4j.interleave;

/**
 * Named interleaving points of the write path, for deterministic race tests (docs/RACES.md) and the
 * {@code ext4j race} demonstration: a test installs a {@link Hook} that may stop the calling thread
 * at a named point until another thread has run to where the test wants.
 *
 * <p>With no hook installed a point costs one volatile read: no lock, no allocation (point names
 * are constants). Started with {@code -Dext4j.interleave=off} the points are compiled out
 * altogether ({@link #COMPILED} is a constant the JIT folds), which is how the overhead benchmark
 * measures what they cost.
 */
public final class Interleave {
    // buffered write (iomap_write_iter / iomap_write_begin)
    public static final String WRITE_AFTER_BEGIN = "write.after_begin";
    public static final String WRITE_AFTER_FOLIO_LOCK = "write.after_folio_lock";
    public static final String WRITE_BEFORE_VALID = "write.before_valid";
    public static final String WRITE_AFTER_VALID = "write.after_valid";
    // writeback (iomap_writepages and its completion)
    public static final String WRITEBACK_BEFORE_FOLIO_LOCK = "writeback.before_folio_lock";
    public static final String WRITEBACK_AFTER_MAP = "writeback.after_map";
    public static final String WRITEBACK_AFTER_SUBMIT = "writeback.after_submit";
    public static final String WRITEBACK_BEFORE_CONVERT = "writeback.before_convert";
    public static final String WRITEBACK_AFTER_CONVERT = "writeback.after_convert";
    public static final String WRITEBACK_END = "writeback.end";
    // the two lookups of delayed-allocation mapping (ext4_da_map_blocks)
    public static final String DA_AFTER_LOOKUP1 = "da.after_lookup1";
    public static final String DA_AFTER_LOOKUP2 = "da.after_lookup2";
    // operations that change the block map under the inode writer lock
    public static final String FALLOC_BEGIN = "falloc.begin";
    public static final String FALLOC_END = "falloc.end";
    public static final String PUNCH_BEGIN = "punch.begin";
    public static final String PUNCH_AFTER_UNMAP = "punch.after_unmap";
    public static final String ZERO_BEGIN = "zero.begin";
    public static final String ZERO_AFTER_UNMAP = "zero.after_unmap";
    public static final String TRUNCATE_BEGIN = "truncate.begin";
    public static final String TRUNCATE_AFTER_UNMAP = "truncate.after_unmap";
    // the status tree's counter, read before the increment (only where R11's bug is switched on)
    public static final String ES_SEQ_READ = "es.seq_read";
    // buffered write: a stale mapping mapped again with the folio locked
    public static final String WRITE_AFTER_REMAP = "write.after_remap";
    // page cache reclaim (remove_mapping)
    public static final String EVICT_BEFORE = "evict.before";
    public static final String EVICT_AFTER = "evict.after";

    /** False when started with {@code -Dext4j.interleave=off}: every point is then dead code. */
    public static final boolean COMPILED = !"off".equals(System.getProperty("ext4j.interleave"));

    /** What a test installs. */
    @FunctionalInterface
    public interface Hook {
        void at(String point);
    }

    private static volatile Hook hook;

    private Interleave() {
    }

    public static void point(String name) {
        if (COMPILED) {
            Hook h = hook;
            if (h != null) {
                h.at(name);
            }
        }
    }

    /** Installs a hook (tests and the race demonstration only); null removes it. */
    public static void install(Hook h) {
        if (h != null && !COMPILED) {
            throw new IllegalStateException("interleaving points are compiled out (-Dext4j.interleave=off)");
        }
        hook = h;
    }
}
