package org.ext4j.stress;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;

import org.ext4j.fs.WriteOptions;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stress of the whole write path on real images (issue 4): several threads each writing a file of
 * its own, several threads writing one shared file, and readers of the shared file that take no lock,
 * all at once, with {@link WriteOptions#aggressive()} (256 KiB page cache, 64 KiB dirty limit, the
 * flusher every millisecond), so that background writeback, writer throttling and eviction run
 * constantly against the writers. Operations: pwrite of 1 byte to 300 KiB at unaligned offsets
 * (inside, near and past the end, leaving holes, and straddling block boundaries), append,
 * truncate down and up to unaligned sizes, fallocate (allocate, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE
 * with and without KEEP_SIZE) on unaligned ranges, fsync, close and reopen, and preads checked
 * against the model. Then the judges: every file through ext4j before and after close, {@code
 * e2fsck -fn}, and a kernel loop mount (as root), each compared byte for byte and by size with the
 * model.
 *
 * <p><b>Models.</b> A file of its own is changed by its one thread, so its model is exact. The shared
 * file's writers hold a test-side lock across each real call and its model update, so the lock's
 * order is the model's order and the model is exact too; the concurrency that matters runs beneath:
 * writers against the flusher (which takes no inode lock), fsync's and throttling's writeback,
 * eviction, and the other files' allocations. The unlocked readers register their range before
 * the pread; every op applied meanwhile records the range's new state, and each byte read must
 * equal that byte in one of the states (its length must lie between the shortest and longest).
 *
 * <p><b>Seeds.</b> One seed per JVM, printed as {@code stress seed=...}, set with {@code
 * -Dext4j.stress.seed=...}; every thread derives its own from it and the block size. The seed
 * reproduces each thread's sequence of operations and their data (parameters are drawn without
 * looking at the file; offsets relative to the end of file are resolved when applied), and so each
 * own file's contents exactly when the run is bounded by {@code -Dext4j.stress.ops=N} (per writer
 * thread) instead of time. The interleaving of threads, and with it the shared file's ops relative to
 * its end, is not reproducible: rerun with the seed a few times.
 *
 * <p><b>Runs.</b> The short run (untagged, 10 s per block size, {@code -Dext4j.stress.shortSeconds})
 * is part of {@code mvn test}; the long one is tagged {@code slow} ({@code mvn verify -Pstress}):
 * {@code -Dext4j.stress.seconds} per block size (default 300). {@code -Dext4j.stress.blockSizes=1024}
 * runs one block size; {@code -Dext4j.stress.only=2,4} starts only those writer threads (each
 * keeps its seed); {@code -Dext4j.stress.ownWriters}, {@code sharedWriters}, {@code readers}
 * and {@code jitter=false} (no yields at the write path's interleaving points) shape a run for a
 * reduction, as do the {@link #writeOptions()} overrides. Figures are printed and saved in {@code stress-reports/} of the build directory.
 */
@ExtendWith(SkippedChecks.class)
class WritePathStressTest {
    /** One seed for every run of this JVM. */
    static final long SEED = Long.getLong("ext4j.stress.seed", new SecureRandom().nextLong());

    static {
        System.out.println("stress seed=" + SEED + " (reproduce with -Dext4j.stress.seed=" + SEED + ")");
    }

    @ParameterizedTest(name = "short run, {0}-byte blocks")
    @ValueSource(ints = {4096, 1024})
    void shortRun(int blockSize, @TempDir Path tmp) throws Exception {
        run(config("short", blockSize, Long.getLong("ext4j.stress.shortSeconds", 10), 4 << 20, 3, 2, 1), tmp);
    }

    @Tag("slow")
    @ParameterizedTest(name = "long run, {0}-byte blocks")
    @ValueSource(ints = {4096, 1024})
    void longRun(int blockSize, @TempDir Path tmp) throws Exception {
        run(config("long", blockSize, Long.getLong("ext4j.stress.seconds", 300), 16 << 20, 4, 3, 2), tmp);
    }

    private static StressRun.Config config(String mode, int blockSize, long seconds, int cap, int own, int shared,
            int readers) {
        String sizes = System.getProperty("ext4j.stress.blockSizes", "");
        assumeTrue(sizes.isEmpty() || Arrays.asList(sizes.split(",")).contains(Integer.toString(blockSize)),
                "block size " + blockSize + " not in -Dext4j.stress.blockSizes=" + sizes);
        return new StressRun.Config(mode, blockSize, SEED, seconds, Long.getLong("ext4j.stress.ops", 0),
                Integer.getInteger("ext4j.stress.ownWriters", own), Integer.getInteger("ext4j.stress.sharedWriters", shared),
                Integer.getInteger("ext4j.stress.readers", readers), cap,
                Boolean.parseBoolean(System.getProperty("ext4j.stress.jitter", "true")), writeOptions());
    }

    /**
     * {@link WriteOptions#aggressive()}, with overrides for reductions: {@code -Dext4j.stress.pageCacheKiB},
     * {@code dirtyLimitKiB}, {@code statusEntries}, {@code maxFolioBytes}, {@code flushMillis} (the
     * flusher's interval: an hour leaves writeback to throttled writers, fsync, truncate and fallocate
     * alone, which makes a single-thread run deterministic).
     */
    static WriteOptions writeOptions() {
        WriteOptions a = WriteOptions.aggressive();
        long cache = Long.getLong("ext4j.stress.pageCacheKiB", a.pageCacheBytes() >> 10) << 10;
        long dirty = Long.getLong("ext4j.stress.dirtyLimitKiB", a.dirtyLimitBytes() >> 10) << 10;
        return new WriteOptions(cache, Math.min(a.dirtyBackgroundBytes(), dirty), dirty,
                Long.getLong("ext4j.stress.statusEntries", a.statusTreeEntries()),
                Long.getLong("ext4j.stress.flushMillis", a.flushIntervalMillis()), a.dirtyExpireMillis(),
                Integer.getInteger("ext4j.stress.maxFolioBytes", a.maxFolioBytes()));
    }

    private static void run(StressRun.Config cfg, Path tmp) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        System.out.println("stress seed=" + cfg.seed() + ": " + cfg.mode() + " run, " + cfg.blockSize() + "-byte blocks, "
                + (cfg.opsPerThread() > 0 ? cfg.opsPerThread() + " ops per writer" : cfg.seconds() + " s"));
        StressReport report;
        StressRun run = new StressRun(cfg, tmp);
        try {
            report = run.run();
        } catch (AssertionError e) {
            save(cfg, "", "FAILED\n" + e.getMessage() + "\n");
            save(cfg, "-oplog", run.opLogs());
            throw e;
        }
        String text = report.format();
        System.out.print(text);
        save(cfg, "", text);
        assertTrue(report.noMismatch);
    }

    /** Saves the figures in {@code stress-reports/} of the build directory (next to test-classes). */
    private static void save(StressRun.Config cfg, String suffix, String text) {
        try {
            Path classes = Path.of(WritePathStressTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path dir = Files.createDirectories(classes.getParent().resolve("stress-reports"));
            Path file = dir.resolve(cfg.mode() + "-" + cfg.blockSize() + suffix + ".txt");
            Files.writeString(file, text, StandardCharsets.UTF_8);
            System.out.println("stress figures saved in " + file);
        } catch (IOException | URISyntaxException | RuntimeException e) {
            System.out.println("stress figures not saved: " + e);
        }
    }
}
