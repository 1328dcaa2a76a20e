package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.ext4j.blockdev.LogWritesBlockDevice;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.testing.CrashHarness;
import org.ext4j.testing.CrashModel;
import org.ext4j.testing.FsTree;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Crash consistency at every crash point (issue 11). Each workload runs through ext4j's public API
 * on a {@link LogWritesBlockDevice} over an mkfs.ext4 image (32 MiB, 1 KiB blocks, a journal, with
 * and without metadata_csum), beside a {@link CrashModel} of what must survive. {@link CrashHarness}
 * then rebuilds every flush boundary and random subsets of the writes since the last flush, recovers
 * each state with ext4j (every state), the kernel and {@code e2fsck -fy} (samples), and requires a
 * clean {@code e2fsck -fn} and the model's promises after each: fsynced bytes and sizes, namespace
 * operations in order and whole once synced, atomic renames, no stale bytes (the base image's free
 * blocks hold a pattern, so a block whose data never reached the disk shows it). The kernel's recovery
 * of a state must also give the same tree as ext4j's.
 *
 * <p>Without a journal (ext4j's {@code NoJournal}, before jbd2 writing lands) a crash leaves
 * half-done operations, and these checks fail: that is the point of them.
 *
 * <p>Seeds: {@code -Dext4j.crash.seed=N} replays the random states of a failing run (the seed is
 * in its message). {@link #longRun} ({@code -Pstress}, tag "slow") checks ten times as many states,
 * {@link #tornWrites} subsets of 4 KiB sectors (torn writes); {@code -Dext4j.crash.workloads=files,htree} picks rows.
 * {@link #aDiskThatIgnoresFlushesIsCaught} shows the harness failing: it runs a workload on a
 * device taken to have ignored every flush and must find violations.
 */
@ExtendWith(SkippedChecks.class)
class CrashPointTest {
    private static final Instant T = Instant.parse("2026-06-01T12:00:00Z");

    /** A workload: ext4j operations, each mirrored in the model by {@link Run}. */
    @FunctionalInterface
    interface Workload {
        void run(Run r) throws IOException;
    }

    /** ext4j's operations and the model's record of them, side by side. */
    static final class Run {
        final Ext4FileSystem fs;
        final CrashModel model;
        final Random rnd;

        Run(Ext4FileSystem fs, CrashModel model, long seed) {
            this.fs = fs;
            this.model = model;
            this.rnd = new Random(seed);
        }

        byte[] bytes(int n) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            return b;
        }

        Ext4File create(String path) throws IOException {
            int t = model.now();
            Ext4File f = fs.createFile(path, 0644);
            model.created(t, path, f.inode());
            return f;
        }

        void mkdir(String path) throws IOException {
            int t = model.now();
            fs.mkdir(path, 0755);
            model.mkdir(t, path, fs.lookup(path));
        }

        void write(Ext4File f, long pos, byte[] data) throws IOException {
            int t = model.now();
            f.pwrite(pos, data, 0, data.length);
            model.wrote(t, f.inode(), pos, data);
        }

        void write(Ext4File f, long pos, int len) throws IOException {
            write(f, pos, bytes(len));
        }

        void truncate(Ext4File f, long size) throws IOException {
            int t = model.now();
            f.truncate(size);
            model.resized(t, f.inode(), size);
        }

        /** fallocate mode 0: unwritten blocks, the size grows to cover them. */
        void allocate(Ext4File f, long pos, long len) throws IOException {
            int t = model.now();
            long size = f.size();
            f.fallocate(0, pos, len);
            if (pos + len > size) {
                model.resized(t, f.inode(), pos + len);
            }
        }

        void allocateKeepSize(Ext4File f, long pos, long len) throws IOException {
            f.fallocate(Ext4File.FALLOC_KEEP_SIZE, pos, len);
        }

        void punch(Ext4File f, long pos, long len) throws IOException {
            int t = model.now();
            f.fallocate(Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, pos, len);
            model.zeroed(t, f.inode(), pos, len);
        }

        void zeroRange(Ext4File f, long pos, long len) throws IOException {
            int t = model.now();
            long size = f.size();
            f.fallocate(Ext4File.FALLOC_ZERO_RANGE, pos, len);
            model.zeroed(t, f.inode(), pos, len);
            if (pos + len > size) {
                model.resized(t, f.inode(), pos + len);
            }
        }

        void fsync(Ext4File f) throws IOException {
            f.fsync();
            model.fsynced(f.inode());
        }

        void rename(String from, String to) throws IOException {
            int t = model.now();
            fs.rename(from, to);
            model.renamed(t, from, to);
        }

        void unlink(String path) throws IOException {
            int t = model.now();
            fs.unlink(path);
            model.unlinked(t, path);
        }

        void sync() throws IOException {
            fs.sync();
            model.sync();
        }

        /** A periodic journal commit (jbd2's 5-second timer, made deterministic): no promise to the model. */
        void commit() throws IOException {
            fs.commitMetadata();
        }

        /** Closes a file; an unlinked one is freed then, and its inode number may come back. */
        void close(Ext4File f, boolean unlinked) throws IOException {
            f.close();
            if (unlinked) {
                model.forget(f.inode());
            }
        }
    }

    // ------------------------------------------------------------------ the workloads

    /** Writes, overwrites, appends, fsyncs, renames over existing names and open files, fallocate, punch, truncate, unlink of open files. */
    static void files(Run r) throws IOException {
        Ext4File a = r.create("/a");
        r.write(a, 0, 20_000);
        r.fsync(a);
        Ext4File b = r.create("/b");
        r.write(b, 0, 5_000);
        r.sync();
        r.write(a, 10_000, 3_000); // overwrite
        r.write(a, 20_000, 4_000); // append
        r.fsync(a);
        r.commit();
        // the atomic-replace idiom, over a name whose file is still open
        Ext4File tmp = r.create("/a.tmp");
        r.write(tmp, 0, 12_000);
        r.fsync(tmp);
        r.rename("/a.tmp", "/a");
        r.close(tmp, false);
        r.write(a, 1_000, 2_000); // the old /a, unlinked and open
        r.fsync(a);
        r.sync();
        r.close(a, true);
        r.mkdir("/d");
        Ext4File x = r.create("/d/x");
        r.write(x, 0, 3_000);
        r.rename("/b", "/d/b");
        r.fsync(x);
        r.truncate(b, 1_000);
        r.fsync(b);
        Ext4File c = r.create("/c");
        r.allocate(c, 0, 64 << 10);
        r.write(c, 5_000, 10_000);
        r.fsync(c);
        r.allocateKeepSize(c, 64 << 10, 64 << 10);
        r.punch(c, 2_048, 7_000);
        r.commit();
        r.zeroRange(c, 30_000, 5_000);
        r.write(c, 60_000, 9_000); // past the old end
        r.fsync(c);
        r.unlink("/d/x");
        r.close(x, true);
        Ext4File e = r.create("/e");
        r.write(e, 0, 7_000);
        r.fsync(e);
        r.unlink("/e"); // unlinked while open: an orphan until its close
        r.write(e, 7_000, 3_000);
        r.commit();
        r.rename("/c", "/d/c2");
        r.sync();
        r.close(e, true);
        r.truncate(b, 0);
        r.write(b, 0, 2_500);
        r.commit();
        r.close(b, false);
        r.close(c, false);
    }

    /** Hundreds of names in one directory: its htree grows and splits; renames over existing names; unlinks. */
    static void htree(Run r) throws IOException {
        r.mkdir("/dir");
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 360; i++) {
            String name = "/dir/entry-with-a-longish-name-" + i;
            Ext4File f = r.create(name);
            names.add(name);
            if (i % 4 == 0) {
                r.write(f, 0, 100 + i);
            }
            if (i % 40 == 0) {
                r.fsync(f);
            }
            r.close(f, false);
            if (i % 7 == 6) {
                String gone = names.remove(r.rnd.nextInt(names.size()));
                r.unlink(gone);
            }
            if (i % 30 == 29) {
                String from = names.remove(r.rnd.nextInt(names.size()));
                String over = names.get(r.rnd.nextInt(names.size()));
                r.rename(from, over); // over an existing name
            }
            if (i % 25 == 24) {
                r.commit();
            }
            if (i % 90 == 89) {
                r.sync();
            }
        }
        r.sync();
    }

    /** One file of hundreds of discontiguous extents: the extent tree grows a level and its leaves split. */
    static void extents(Run r) throws IOException {
        Ext4File f = r.create("/sparse");
        for (int i = 0; i < 240; i++) {
            r.write(f, 2048L * i, 1024);
            if (i % 20 == 19) {
                r.fsync(f);
            }
            if (i % 50 == 49) {
                r.commit();
            }
        }
        r.punch(f, 100_000, 60_000);
        r.fsync(f);
        r.truncate(f, 300_000);
        r.allocateKeepSize(f, 400_000, 40_000);
        r.write(f, 350_000, 5_000);
        r.commit();
        r.zeroRange(f, 10_000, 20_000);
        r.fsync(f);
        Ext4File g = r.create("/other");
        r.write(g, 0, 30_000);
        r.sync();
        r.close(g, false);
        r.close(f, false);
    }

    /** A periodic commit that finds nothing to log, between two fsyncs. */
    static void emptyCommit(Run r) throws IOException {
        Ext4File f = r.create("/f");
        r.write(f, 0, 1_000);
        r.fsync(f);
        r.commit(); // nothing changed since the fsync
        r.write(f, 1_000, 1_000);
        r.fsync(f);
        r.write(f, 2_000, 1_000);
        r.fsync(f);
        r.close(f, false);
    }

    // ------------------------------------------------------------------ driving

    /** mkfs.ext4 options of a row. */
    static List<String> mkfsOptions(boolean csum) {
        return List.of("-b", "1024", "-O", csum ? "metadata_csum" : "^metadata_csum");
    }

    /** What every free block of a base image holds, so that a stale block read back is no zero. */
    static final byte STALE = 0x5A;

    /**
     * The mkfs image, with every block its bitmaps call free filled with {@link #STALE}: a crash
     * state that shows a file a block whose data never reached the disk (no ordered-mode flush)
     * then shows bytes the file never held, where a fresh image's zeros could pass for a hole.
     */
    private static byte[] baseImage(Path tmp, boolean csum) throws IOException {
        Path img = tmp.resolve("base.img");
        Tools.mkfs(img, 32L << 20, mkfsOptions(csum), null);
        byte[] b = Files.readAllBytes(img);
        String groups = Tools.run("dumpe2fs", img.toString()).ok().stdout();
        java.util.regex.Matcher range = java.util.regex.Pattern.compile("(\\d+)(?:-(\\d+))?").matcher("");
        int blockSize = 1024;
        long filled = 0;
        for (String line : groups.lines().toList()) {
            if (!line.startsWith("  Free blocks: ")) {
                continue;
            }
            range.reset(line.substring("  Free blocks: ".length()));
            while (range.find()) {
                long from = Long.parseLong(range.group(1));
                long to = range.group(2) == null ? from : Long.parseLong(range.group(2));
                java.util.Arrays.fill(b, (int) (from * blockSize), (int) ((to + 1) * blockSize), STALE);
                filled += to - from + 1;
            }
        }
        assertTrue(filled > 10_000, "dumpe2fs listed " + filled + " free blocks");
        Files.delete(img);
        return b;
    }

    /** The workload run on a recording device over {@code base}: its log and model. */
    record Recorded(LogWritesBlockDevice log, CrashModel model) {
    }

    static Recorded record(byte[] base, Workload w, long seed) throws IOException {
        LogWritesBlockDevice log = new LogWritesBlockDevice(new MemoryBlockDevice(base.clone(), false));
        Map<String, Long> initial = new TreeMap<>();
        try (Ext4FileSystem ro = Ext4FileSystem.open(new MemoryBlockDevice(base, true), OpenOptions.readOnlyDefaults())) {
            FsTree.of(ro).forEach((p, n) -> initial.put(p, n.ino()));
        }
        CrashModel model = new CrashModel(log::flushCount, initial);
        Ext4FileSystem fs = Ext4FileSystem.openReadWrite(log, WriteOptions.defaults().withFixedTime(T));
        try {
            w.run(new Run(fs, model, seed));
            // the model's own bookkeeping: the live tree is its latest state
            List<String> selfCheck = model.check(FsTree.of(fs), Integer.MAX_VALUE);
            if (!selfCheck.isEmpty()) {
                throw new AssertionError("the model disagrees with the live file system: " + selfCheck);
            }
        } finally {
            fs.close(); // the unmount is logged too: crash states inside it are checked
        }
        model.sync(); // a clean unmount leaves everything durable
        return new Recorded(log, model);
    }

    /** {@code -Dext4j.crash.workloads=files,htree}: only those workloads' rows (all three by default). */
    static final String WORKLOADS_PROPERTY = "ext4j.crash.workloads";

    static Stream<Arguments> rows() {
        List<Arguments> out = new ArrayList<>();
        String only = System.getProperty(WORKLOADS_PROPERTY, "files,htree,extents");
        for (String w : only.split(",")) {
            w = w.strip();
            workload(w); // an unknown name fails here, not silently
            for (boolean csum : List.of(true, false)) {
                out.add(Arguments.of(w, csum));
            }
        }
        return out.stream();
    }

    static Workload workload(String name) {
        return switch (name) {
            case "files" -> CrashPointTest::files;
            case "htree" -> CrashPointTest::htree;
            case "extents" -> CrashPointTest::extents;
            case "emptyCommit" -> CrashPointTest::emptyCommit;
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static CrashHarness.Report check(String name, boolean csum, int scale, int sectorSize,
            boolean ignoreFlushes, Path tmp) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        byte[] base = baseImage(tmp, csum);
        Recorded rec = record(base, workload(name), 42);
        long seed = CrashHarness.seed();
        CrashHarness.Config cfg = ignoreFlushes ? new CrashHarness.Config(seed, 100, 5, 5, 0, true)
                : new CrashHarness.Config(seed, 600 * scale, 80 * scale, 30 * scale, sectorSize, false);
        String row = name + (csum ? " metadata_csum" : " ^metadata_csum") + (ignoreFlushes ? " (flushes ignored)" : "");
        CrashHarness.Report report = new CrashHarness(row, base, rec.log(),
                (tree, epoch) -> rec.model().check(tree, epoch), cfg, tmp).run();
        System.out.println("crash states: " + report.summary());
        return report;
    }

    @ParameterizedTest(name = "{0}, metadata_csum {1}")
    @MethodSource("rows")
    void everyCrashStateRecoversToWhatWasPromised(String workload, boolean csum, @TempDir Path tmp) throws Exception {
        check(workload, csum, 1, 0, false, tmp).assertNone();
    }

    /** {@code -Pstress}: ten times the states. */
    @Tag("slow")
    @ParameterizedTest(name = "{0}, metadata_csum {1}")
    @MethodSource("rows")
    void longRun(String workload, boolean csum, @TempDir Path tmp) throws Exception {
        check(workload, csum, 10, 0, false, tmp).assertNone();
    }

    /**
     * {@code -Pstress}: torn writes, subsets of 4 KiB sectors (the atomic unit of 4Kn and 512e
     * disks) rather than of whole writes, so a write of several blocks may reach the disk in part.
     * At 512 bytes the 1 KiB superblock, which a checkpoint writes in place (the kernel's does too),
     * can tear and fail its checksum, which stops any mount before its journal replay.
     */
    @Tag("slow")
    @ParameterizedTest(name = "{0}, metadata_csum {1}")
    @MethodSource("rows")
    void tornWrites(String workload, boolean csum, @TempDir Path tmp) throws Exception {
        check(workload, csum, 3, 4096, false, tmp).assertNone();
    }

    /**
     * Every flush boundary of {@link #emptyCommit}: a commit with nothing to log must leave the
     * journal's sequence without a gap, or recovery (ext4j's, the kernel's, e2fsck's) stops at the
     * gap and every later fsync is lost until the log's tail moves.
     */
    @Test
    void aCommitWithNothingToLogLosesNoLaterFsync(@TempDir Path tmp) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        byte[] base = baseImage(tmp, true);
        Recorded rec = record(base, CrashPointTest::emptyCommit, 1);
        CrashHarness.Report r = new CrashHarness("emptyCommit metadata_csum", base, rec.log(),
                (tree, epoch) -> rec.model().check(tree, epoch), new CrashHarness.Config(0, 0, 4, 4, 0, false), tmp).run();
        System.out.println("crash states: " + r.summary());
        r.assertNone();
    }

    /**
     * The harness can fail: a disk that ignores flushes may keep any subset of all the writes, so
     * fsynced data and synced names get lost, and the checks must say so.
     */
    @Test
    void aDiskThatIgnoresFlushesIsCaught(@TempDir Path tmp) throws Exception {
        CrashHarness.Report r = check("files", true, 1, 0, true, tmp);
        assertTrue(r.violatingStates > 0, "no violation found on a disk that ignores flushes: " + r.summary());
        assertFalse(r.violations.isEmpty());
        System.out.println("as expected, violations found; the first: " + r.violations.get(0));
    }
}
