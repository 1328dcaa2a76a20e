package org.ext4j.iomap;

/**
 * Named interleaving points of the write path, for deterministic race tests (RACES.md): a test
 * installs a {@link Hook} that may block the calling thread at a named point until another thread
 * has run to where the test wants. With no hook installed a point costs one volatile read: no lock,
 * no allocation. Point names are constants so call sites allocate nothing.
 */
public final class Interleave {
    public static final String WRITE_AFTER_BEGIN = "write.after_begin";
    public static final String WRITE_AFTER_FOLIO_LOCK = "write.after_folio_lock";
    public static final String WRITE_BEFORE_VALID = "write.before_valid";
    public static final String WRITE_AFTER_VALID = "write.after_valid";
    public static final String WRITEBACK_AFTER_MAP = "writeback.after_map";
    public static final String WRITEBACK_AFTER_SUBMIT = "writeback.after_submit";
    public static final String WRITEBACK_BEFORE_CONVERT = "writeback.before_convert";
    public static final String WRITEBACK_AFTER_CONVERT = "writeback.after_convert";
    public static final String WRITEBACK_END = "writeback.end";

    /** What a test installs. */
    @FunctionalInterface
    public interface Hook {
        void at(String point);
    }

    private static volatile Hook hook;

    private Interleave() {
    }

    public static void point(String name) {
        Hook h = hook;
        if (h != null) {
            h.at(name);
        }
    }

    /** Installs a hook (tests only); null removes it. */
    public static void install(Hook h) {
        hook = h;
    }
}
