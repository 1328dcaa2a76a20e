package org.ext4j.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.blockdev.LogWritesBlockDevice;
import org.ext4j.blockdev.LogWritesBlockDevice.Write;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.fs.WriteOptions;

/**
 * Rebuilds crash states from a {@link LogWritesBlockDevice}'s log of a workload and judges each
 * after recovery, as xfstests' {@code generic/455}-style log-writes replays and CrashMonkey do.
 *
 * <p><b>States.</b> Every flush boundary (power lost right after the k-th flush, nothing of the next
 * epoch kept), the end of the log, and {@code randomStates} random ones: an epoch with writes, and a
 * subset of its writes (each kept with a probability drawn per state, or, one time in four, an
 * in-order prefix of them), drawn from {@code seed} so that a failure is reproduced by its seed; no
 * state twice (an epoch of a few writes gets all its subsets, then the draws go elsewhere). With
 * {@code sectorSize} non-zero the subsets are over the epoch's writes split into sectors (torn
 * writes). With {@code ignoreFlushes} the device is taken to have lied about every flush: a state is
 * any subset of all writes, judged as if every flush had happened (a disk without barriers; the
 * harness must then find violations).
 *
 * <p><b>Recoveries.</b> Each state is recovered (a) by ext4j ({@code openReadWrite} on a copy, then
 * close, which replays the journal and frees orphans), then judged by {@code e2fsck -fn} (exit 0)
 * and by the model on ext4j's read-only view; a sample of them also (b) by a kernel loop mount (the
 * model judges the tree read through the mount, which must equal ext4j's replay of the same state
 * name by name, byte for byte; then unmount and {@code e2fsck -fn}), and (c) by {@code e2fsck -fy}
 * followed by {@code e2fsck -fn} and the model. Base, prefix and state are held in memory; the image
 * files e2fsck and the kernel read are patched in place where a state differs from the prefix, so a
 * state costs its own writes and the judges, not a copy of the image.
 */
public final class CrashHarness {

    /** How many states, which ones, and how. */
    public record Config(long seed, int randomStates, int kernelStates, int fsckFixStates, int sectorSize,
            boolean ignoreFlushes) {
        public Config withIgnoreFlushes() {
            return new Config(seed, randomStates, kernelStates, fsckFixStates, sectorSize, true);
        }
    }

    /** The model's judgement of a recovered tree after a crash in an epoch. */
    @FunctionalInterface
    public interface Judge {
        List<String> check(Map<String, FsTree.Node> tree, int epoch);
    }

    /** What was checked, what was found, how long it took. */
    public static final class Report {
        public final String name;
        public final long seed;
        public int epochs;
        public int writes;
        public int statesExt4j;
        public int statesKernel;
        public int statesFsckFix;
        public int kernelComparisons;
        public int violatingStates;
        /** Up to two examples of each kind of violation. */
        public final List<String> violations = new ArrayList<>();
        private final Map<String, int[]> kinds = new java.util.HashMap<>();
        public long millis;
        public String kernelSkipped;

        Report(String name, long seed) {
            this.name = name;
            this.seed = seed;
        }

        void violation(String state, String way, List<String> problems) {
            if (problems.isEmpty()) {
                return;
            }
            String first = problems.get(0).replaceAll("[0-9]+", "N");
            String kind = way + ": " + first.substring(0, Math.min(90, first.length()));
            int[] n = kinds.computeIfAbsent(kind, k -> new int[1]);
            if (n[0]++ < 2 && violations.size() < 40) {
                violations.add(state + " [" + way + "] "
                        + String.join("; ", problems.subList(0, Math.min(3, problems.size()))));
            }
        }

        /** Violations by way and kind (the first problem's text, numbers left out): how many states. */
        public Map<String, Integer> kinds() {
            Map<String, Integer> out = new java.util.LinkedHashMap<>();
            kinds.entrySet().stream().sorted((a, b) -> b.getValue()[0] - a.getValue()[0])
                    .forEach(e -> out.put(e.getKey(), e.getValue()[0]));
            return out;
        }

        public String summary() {
            return String.format("%s: %d epochs, %d writes; states checked: %d ext4j replay + e2fsck -fn, %d kernel mount"
                    + "%s (%d compared with ext4j's replay), %d e2fsck -fy; %d violating states; %.1f s; seed %d",
                    name, epochs, writes, statesExt4j, statesKernel,
                    kernelSkipped == null ? "" : " (skipped: " + kernelSkipped + ")", kernelComparisons,
                    statesFsckFix, violatingStates, millis / 1000.0, seed);
        }

        /** Fails with the violations found, the seed, and how to run the same states again. */
        public void assertNone() {
            if (violatingStates == 0) {
                return;
            }
            StringBuilder k = new StringBuilder();
            kinds().forEach((kind, n) -> k.append(String.format("%6d x %s%n", n, kind)));
            throw new AssertionError(summary() + "\nreproduce with -D" + SEED_PROPERTY + "=" + seed
                    + "\nkinds of violation (states):\n" + k + "examples:\n" + String.join("\n", violations));
        }
    }

    /** System property that fixes the seed of the random states. */
    public static final String SEED_PROPERTY = "ext4j.crash.seed";

    /** The seed from {@value #SEED_PROPERTY}, or a fresh one. */
    public static long seed() {
        String s = System.getProperty(SEED_PROPERTY);
        return s == null || s.isBlank() ? new Random().nextLong() : Long.parseLong(s.strip());
    }

    /** A recovery's session: no background threads, a fixed clock. */
    private static final WriteOptions RECOVERY_OPTIONS = WriteOptions.defaults()
            .withFixedTime(java.time.Instant.parse("2026-01-01T00:00:00Z"));

    private record State(int epoch, List<Write> kept, String shown, boolean kernel, boolean fsckFix) {
    }

    private final String name;
    private final byte[] base;
    private final LogWritesBlockDevice log;
    private final Judge judge;
    private final Config cfg;
    private final Path dir;

    public CrashHarness(String name, byte[] base, LogWritesBlockDevice log, Judge judge, Config cfg, Path dir) {
        this.name = name;
        this.base = base;
        this.log = log;
        this.judge = judge;
        this.cfg = cfg;
        this.dir = dir;
    }

    public Report run() throws Exception {
        long t0 = System.nanoTime();
        Report r = new Report(name, cfg.seed());
        List<State> states = states(r);
        String noKernel = cfg.kernelStates() > 0 ? Tools.kernelUnavailable() : "no kernel states asked for";
        if (noKernel != null && cfg.kernelStates() > 0) {
            r.kernelSkipped = noKernel;
            Tools.skipCheck("kernel recovery of " + name + "'s crash states", noKernel);
        }
        byte[] prefix = base.clone();
        byte[] work = base.clone();
        Path image = dir.resolve("state.img");
        Path raw = dir.resolve("raw.img");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Files.write(image, prefix);
        try (FileChannel imageCh = FileChannel.open(image, StandardOpenOption.WRITE)) {
            int at = 0; // prefix holds every epoch before this one
            for (State s : states) {
                if (!cfg.ignoreFlushes()) {
                    while (at < s.epoch()) {
                        List<Write> ws = log.epoch(at++);
                        LogWritesBlockDevice.apply(new MemoryBlockDevice(prefix, false), ws);
                        LogWritesBlockDevice.apply(new MemoryBlockDevice(work, false), ws);
                        for (Write w : ws) {
                            imageCh.write(ByteBuffer.wrap(w.data()), w.offset());
                        }
                    }
                }
                List<Write> dirty = new ArrayList<>(s.kept());
                LogWritesBlockDevice.apply(new MemoryBlockDevice(work, false), s.kept());
                int judgedEpoch = cfg.ignoreFlushes() ? log.epochCount() - 1 : s.epoch();
                boolean bad = false;
                if ((s.kernel() && noKernel == null) || s.fsckFix()) {
                    Files.write(raw, work);
                }
                // (a) ext4j's recovery, e2fsck -fn, the model
                Map<String, FsTree.Node> ext4jTree = null;
                LogWritesBlockDevice recovery = new LogWritesBlockDevice(new MemoryBlockDevice(work, false));
                List<String> problems = new ArrayList<>();
                try {
                    Ext4FileSystem.openReadWrite(recovery, RECOVERY_OPTIONS).close();
                } catch (Exception e) {
                    problems.add("ext4j's read-write open and close failed: " + e);
                }
                dirty.addAll(recovery.writes());
                for (Write w : dirty) {
                    imageCh.write(ByteBuffer.wrap(work, (int) w.offset(), w.data().length), w.offset());
                }
                if (problems.isEmpty()) {
                    problems.addAll(fsckClean(image));
                    try (Ext4FileSystem ro = Ext4FileSystem.open(new MemoryBlockDevice(work, true),
                            OpenOptions.readOnlyDefaults())) {
                        ext4jTree = FsTree.of(ro);
                        problems.addAll(judge.check(ext4jTree, judgedEpoch));
                    } catch (Exception e) {
                        problems.add("ext4j cannot read the recovered image: " + e);
                    }
                }
                r.statesExt4j++;
                r.violation(s.shown(), "ext4j replay", problems);
                bad |= !problems.isEmpty();
                // (b) the kernel
                if (s.kernel() && noKernel == null) {
                    problems = kernel(raw, mnt, judgedEpoch, ext4jTree, r);
                    r.statesKernel++;
                    r.violation(s.shown(), "kernel mount", problems);
                    bad |= !problems.isEmpty();
                }
                // (c) e2fsck -fy
                if (s.fsckFix()) {
                    if (s.kernel() && noKernel == null) {
                        Files.write(raw, prefix);
                        try (FileChannel rawCh = FileChannel.open(raw, StandardOpenOption.WRITE)) {
                            LogWritesBlockDevice.apply(channelDevice(rawCh), s.kept());
                        }
                    }
                    problems = fsckFix(raw, judgedEpoch);
                    r.statesFsckFix++;
                    r.violation(s.shown(), "e2fsck -fy", problems);
                    bad |= !problems.isEmpty();
                }
                if (bad) {
                    r.violatingStates++;
                }
                for (Write w : dirty) { // back to the prefix
                    System.arraycopy(prefix, (int) w.offset(), work, (int) w.offset(), w.data().length);
                    imageCh.write(ByteBuffer.wrap(prefix, (int) w.offset(), w.data().length), w.offset());
                }
            }
        }
        r.millis = (System.nanoTime() - t0) / 1_000_000;
        Files.deleteIfExists(image);
        Files.deleteIfExists(raw);
        return r;
    }

    /** The states to check, sorted by epoch; which get the kernel and e2fsck -fy too. */
    private List<State> states(Report r) {
        Random rnd = new Random(cfg.seed());
        List<Write> all = log.writes();
        r.epochs = log.epochCount();
        r.writes = all.size();
        List<State> out = new ArrayList<>();
        if (cfg.ignoreFlushes()) {
            for (int i = 0; i < cfg.randomStates(); i++) {
                BitSet keep = randomSubset(rnd, all.size());
                out.add(new State(0, LogWritesBlockDevice.subset(all, keep),
                        "flushes ignored, kept writes " + shown(keep, all.size()), i < cfg.kernelStates(),
                        i < cfg.fsckFixStates()));
            }
            return out;
        }
        List<Integer> withWrites = new ArrayList<>();
        for (int k = 0; k < log.epochCount(); k++) {
            out.add(new State(k, List.of(), "epoch " + k + " of " + log.epochCount() + ", none of its "
                    + log.epoch(k).size() + " writes kept", false, false));
            if (!log.epoch(k).isEmpty()) {
                withWrites.add(k);
            }
        }
        int last = log.epochCount() - 1;
        out.add(new State(last, log.epoch(last), "end of the log", false, false));
        int boundaries = out.size();
        // each distinct state once: an epoch of few writes has few subsets, and they are all taken
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int k = 0; k < log.epochCount(); k++) {
            seen.add(k + ":" + new BitSet());
            BitSet every = new BitSet();
            every.set(0, cfg.sectorSize() > 0 ? LogWritesBlockDevice.sectors(log.epoch(k), cfg.sectorSize()).size()
                    : log.epoch(k).size());
            seen.add(k + ":" + every); // the next boundary's image
        }
        int misses = 0;
        for (int i = 0; i < cfg.randomStates() && !withWrites.isEmpty() && misses < 50 * cfg.randomStates(); ) {
            int k = withWrites.get(rnd.nextInt(withWrites.size()));
            List<Write> ws = cfg.sectorSize() > 0 ? LogWritesBlockDevice.sectors(log.epoch(k), cfg.sectorSize())
                    : log.epoch(k);
            BitSet keep = randomSubset(rnd, ws.size());
            if (!seen.add(k + ":" + keep)) {
                misses++;
                continue;
            }
            i++;
            out.add(new State(k, LogWritesBlockDevice.subset(ws, keep), "epoch " + k + " of " + log.epochCount()
                    + ", kept " + (cfg.sectorSize() > 0 ? cfg.sectorSize() + "-byte sectors " : "writes ")
                    + shown(keep, ws.size()), false, false));
        }
        // the kernel and e2fsck -fy: boundaries evenly spread over half their share, random states for the rest
        List<State> marked = new ArrayList<>(out);
        markSample(marked, 0, boundaries, cfg.kernelStates() / 2, true);
        markSample(marked, boundaries, marked.size(), cfg.kernelStates() - Math.min(boundaries, cfg.kernelStates() / 2), true);
        markSample(marked, 0, boundaries, cfg.fsckFixStates() / 2, false);
        markSample(marked, boundaries, marked.size(), cfg.fsckFixStates() - Math.min(boundaries, cfg.fsckFixStates() / 2), false);
        marked.sort(Comparator.comparingInt(State::epoch));
        return marked;
    }

    /** Marks {@code n} states of [from, to), evenly spread, for the kernel or for e2fsck -fy. */
    private static void markSample(List<State> states, int from, int to, int n, boolean kernel) {
        int count = to - from;
        if (count <= 0 || n <= 0) {
            return;
        }
        n = Math.min(n, count);
        for (int j = 0; j < n; j++) {
            int i = from + (int) ((long) j * count / n);
            State s = states.get(i);
            states.set(i, kernel ? new State(s.epoch(), s.kept(), s.shown(), true, s.fsckFix())
                    : new State(s.epoch(), s.kept(), s.shown(), s.kernel(), true));
        }
    }

    private static BitSet randomSubset(Random rnd, int n) {
        BitSet keep = new BitSet(n);
        if (rnd.nextInt(4) == 0) {
            keep.set(0, rnd.nextInt(n + 1)); // an in-order prefix: a disk that writes in order
        } else {
            double p = rnd.nextDouble();
            for (int i = 0; i < n; i++) {
                if (rnd.nextDouble() < p) {
                    keep.set(i);
                }
            }
        }
        return keep;
    }

    private static String shown(BitSet keep, int of) {
        String s = keep.toString();
        if (s.length() > 200) {
            s = s.substring(0, 200) + "...}";
        }
        return keep.cardinality() + " of " + of + " " + s;
    }

    private static List<String> fsckClean(Path image) throws IOException {
        Tools.Result r = Tools.run("e2fsck", "-fn", image.toString());
        if (r.exit() == 0) {
            return List.of();
        }
        return List.of("e2fsck -fn exit " + r.exit() + ": " + problemLines(r.stdout() + r.stderr()));
    }

    /** e2fsck's lines that say what it found, not its pass headers. */
    private static String problemLines(String out) {
        List<String> lines = out.lines().filter(l -> !l.startsWith("Pass ") && !l.startsWith("e2fsck 1.")
                && !l.isBlank()).limit(6).toList();
        return String.join(" | ", lines);
    }

    private List<String> kernel(Path raw, Path mnt, int epoch, Map<String, FsTree.Node> ext4jTree, Report r)
            throws IOException {
        List<String> problems = new ArrayList<>();
        Tools.Result m = Tools.run("mount", "-t", "ext4", "-o", "loop", raw.toString(), mnt.toString());
        if (m.exit() != 0) {
            return List.of("the kernel refuses to mount it: " + m.stderr().strip());
        }
        Map<String, FsTree.Node> tree = null;
        try {
            tree = FsTree.of(mnt);
        } catch (IOException | java.io.UncheckedIOException e) {
            problems.add("the kernel cannot read the tree: " + e.getMessage());
        } finally {
            Tools.Result u = Tools.run("umount", mnt.toString());
            for (int i = 0; u.exit() != 0 && i < 20; i++) {
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                u = Tools.run("umount", mnt.toString());
            }
            if (u.exit() != 0) {
                throw new IOException("umount " + mnt + " failed: " + u.stderr());
            }
        }
        if (tree == null) {
            problems.addAll(fsckClean(raw).stream().map(p -> "after the kernel's unmount: " + p).toList());
            return problems;
        }
        problems.addAll(judge.check(tree, epoch));
        if (ext4jTree != null) {
            r.kernelComparisons++;
            String k = FsTree.lines(tree);
            String e = FsTree.lines(ext4jTree);
            if (!k.equals(e)) {
                try {
                    Tools.assertSameLines(e, k, "kernel's recovery (+) against ext4j's (-)");
                } catch (AssertionError diff) {
                    problems.add(diff.getMessage().replace('\n', ' '));
                }
            }
        }
        problems.addAll(fsckClean(raw).stream().map(p -> "after the kernel's unmount: " + p).toList());
        return problems;
    }

    private List<String> fsckFix(Path raw, int epoch) throws IOException {
        List<String> problems = new ArrayList<>();
        Tools.Result fix = Tools.run("e2fsck", "-fy", raw.toString());
        if (fix.exit() >= 4) {
            problems.add("e2fsck -fy exit " + fix.exit() + ": " + problemLines(fix.stdout() + fix.stderr()));
        }
        problems.addAll(fsckClean(raw).stream().map(p -> "after e2fsck -fy: " + p).toList());
        try (Ext4FileSystem ro = Ext4FileSystem.open(FileBlockDevice.openReadOnly(raw), OpenOptions.readOnlyDefaults())) {
            problems.addAll(judge.check(FsTree.of(ro), epoch));
        } catch (Exception e) {
            problems.add("ext4j cannot read what e2fsck -fy left: " + e);
        }
        return problems;
    }

    /** A write-only view of an open channel, for {@link LogWritesBlockDevice#apply}. */
    private static BlockDevice channelDevice(FileChannel ch) {
        return new BlockDevice() {
            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public int read(long offset, ByteBuffer dst) throws IOException {
                return ch.read(dst, offset);
            }

            @Override
            public void write(long offset, ByteBuffer src) throws IOException {
                while (src.hasRemaining()) {
                    offset += ch.write(src, offset);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public boolean isReadOnly() {
                return false;
            }

            @Override
            public void close() {
            }
        };
    }
}
