package org.ext4j.fuzz;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import org.ext4j.fuzz.BaseImage.PathInfo;
import org.ext4j.fuzz.Report.Difference;
import org.ext4j.fuzz.Report.Violation;
import org.ext4j.testing.Tools;

/**
 * Runs one damaged image through the command line and judges it by the rules of issue 8:
 * <ol type="a">
 * <li>every exit status is 0, 1, 2 or 3;</li>
 * <li>no stack trace, no "internal error", no status 70 (and no exception escaping any thread);</li>
 * <li>no read changes a byte of the image;</li>
 * <li>a write that fails changes no byte outside the primary superblock;</li>
 * <li>after a write that succeeds, {@code e2fsck -fn} finds no kind of problem it did not find
 *     before (messages compared with their numbers and names removed);</li>
 * <li>where the kernel mounts the image, what ext4j returns ({@code get -k}, {@code cat}) is what
 *     the kernel returns, or ext4j reports damage there: bytes the kernel refuses or bytes that
 *     differ from the kernel's are a violation ("metadata as data");</li>
 * </ol>
 * and (t) no command runs past the time limit. Reads: {@code info}, {@code ls -l -R -a /},
 * {@code stat} and {@code cat} of a sample of the paths the undamaged image has, {@code get -k /}.
 * Writes, each on a fresh copy of the damaged image: an overwrite, an append, a truncate and a hole
 * punch ({@code io ... -c}) of an existing file, {@code io -f} of a new file, {@code rm} of a file.
 * Commands run in this JVM ({@link CliRun}); the kernel's view comes from {@link KernelWalk}.
 */
final class FuzzRunner {
    /**
     * @param cpuLimitMillis the time limit of one command, in CPU time of the thread running it (the
     *                       rule "no run over a few seconds", robust on a loaded machine)
     * @param timeoutMillis  wall-clock limit after which a command is abandoned as hung
     * @param pathSample     paths (outside the big directory) to stat and cat besides those whose
     *                       structures were damaged and their directories' entries; -1 for all
     * @param htreeSample    names of the big directory to stat and cat
     * @param writes         write commands per image, chosen by the seed; -1 for all six
     * @param kernel         compare with a kernel mount (needs root)
     * @param verbose        print every command and outcome (replays)
     */
    record Config(long cpuLimitMillis, long timeoutMillis, int pathSample, int htreeSample, int writes, boolean kernel, boolean verbose) {
    }

    private static final long CAT_CAP = KernelWalk.READ_CAP;
    private static final Pattern STACK = Pattern.compile("(?m)^\\s+at [\\w$.]+\\(|Exception in thread|internal error");

    private final Config cfg;
    private final Report report;
    private final Path work;
    private final List<String> uncaught = new ArrayList<>();

    FuzzRunner(Config cfg, Report report, Path work) {
        this.cfg = cfg;
        this.report = report;
        this.work = work;
    }

    /** Exceptions that escaped any thread while the harness ran (rule b); installed once per run. */
    void recordUncaught(Thread t, Throwable e) {
        synchronized (uncaught) {
            uncaught.add(t.getName() + ": " + e);
        }
    }

    private String takeUncaught() {
        synchronized (uncaught) {
            String s = uncaught.isEmpty() ? null : String.join("; ", uncaught);
            uncaught.clear();
            return s;
        }
    }

    /**
     * Runs {@code seeds} on {@code threads} threads (kernel mounts stay one at a time) and returns every
     * violation, in seed order. Stops early when more than {@code maxAbandoned} commands hung.
     */
    List<Violation> runAll(BaseImage base, List<Long> seeds, int threads, int maxAbandoned) throws IOException {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<List<Violation>>> fs = new ArrayList<>();
            for (long s : seeds) {
                fs.add(pool.submit(() -> CliRun.abandoned() > maxAbandoned ? List.<Violation>of() : run(base, s)));
            }
            List<Violation> all = new ArrayList<>();
            for (java.util.concurrent.Future<List<Violation>> f : fs) {
                try {
                    all.addAll(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IOException("fuzz image failed: " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
            }
            return all;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Damages, runs and judges one image; returns its violations (also added to the report). */
    List<Violation> run(BaseImage base, long seed) throws IOException {
        Damager.Damage d = Damager.damage(base, seed);
        report.image(base.set.name(), d.checksumsFixed());
        Case c = new Case(base, seed, d);
        try {
            long t0 = System.nanoTime();
            c.reads();
            long t1 = System.nanoTime();
            c.kernel();
            long t2 = System.nanoTime();
            c.writes();
            long t3 = System.nanoTime();
            report.time("reads", (t1 - t0) / 1_000_000);
            report.time("kernel", (t2 - t1) / 1_000_000);
            report.time("writes+fsck", (t3 - t2) / 1_000_000);
        } finally {
            c.cleanUp();
        }
        return c.found;
    }

    /** One image's run. */
    private final class Case {
        final BaseImage base;
        final long seed;
        final Damager.Damage damage;
        final String tag;
        final Path img;
        final Path dest;
        final List<Violation> found = new ArrayList<>();
        final Random rnd;
        final List<PathInfo> sample = new ArrayList<>();
        final Map<String, CliRun.Outcome> cats = new LinkedHashMap<>();
        CliRun.Outcome get;
        Set<String> fsckBefore;

        Case(BaseImage base, long seed, Damager.Damage damage) throws IOException {
            this.base = base;
            this.seed = seed;
            this.damage = damage;
            this.tag = base.set.name() + "-" + seed;
            this.img = work.resolve("img-" + tag);
            this.dest = work.resolve("get-" + tag);
            this.rnd = new Random(Damager.mix(seed, base.set.name()) * 0x9E3779B97F4A7C15L + 1);
            Files.write(img, damage.image());
            // every path whose own structures were hit, the entries of a damaged directory, then a sample
            Set<Long> hit = damage.inodes();
            Set<PathInfo> chosen = new LinkedHashSet<>();
            Map<Long, Integer> perDir = new LinkedHashMap<>();
            for (PathInfo p : base.paths) {
                PathInfo parent = base.byPath.get(parent(p.path()));
                long parentIno = parent == null ? 2 : parent.ino();
                if (hit.contains(p.ino())) {
                    chosen.add(p);
                } else if (hit.contains(parentIno) && perDir.merge(parentIno, 1, Integer::sum) <= 12) {
                    chosen.add(p);
                }
            }
            List<PathInfo> htree = new ArrayList<>();
            List<PathInfo> others = new ArrayList<>();
            for (PathInfo p : base.paths) {
                if (!chosen.contains(p)) {
                    (p.path().startsWith("/htree/") ? htree : others).add(p);
                }
            }
            int n = cfg.pathSample() < 0 ? others.size() : Math.min(cfg.pathSample(), others.size());
            for (int i = 0; i < n; i++) {
                chosen.add(others.remove(rnd.nextInt(others.size())));
            }
            for (int i = 0; i < cfg.htreeSample() && !htree.isEmpty(); i++) {
                chosen.add(htree.remove(rnd.nextInt(htree.size())));
            }
            sample.addAll(chosen);
            if (cfg.verbose()) {
                System.out.println("damage: " + damage.recipe());
            }
        }

        void violation(String rule, String command, int exit, String detail) {
            Violation v = new Violation(rule, base.set.name(), seed, command, exit, detail, damage.recipe());
            found.add(v);
            report.violation(v);
            if (cfg.verbose()) {
                System.out.println("VIOLATION " + v);
            }
        }

        void difference(String category, String path, String detail) {
            Difference df = new Difference(category, base.set.name(), seed, path, detail);
            report.difference(df);
            if (cfg.verbose()) {
                System.out.println("difference: " + category + " " + path + ": " + detail);
            }
        }

        /** Runs one command on {@code image} and applies rules a, b and t. */
        CliRun.Outcome cli(Path image, String... args) {
            String shown = String.join(" ", Arrays.stream(args).map(a -> a.equals(image.toString()) ? "IMG"
                    : a.equals(dest.toString()) ? "DEST" : a.contains(" ") ? "\"" + a + "\"" : a).toList());
            CliRun.Outcome o = CliRun.run(cfg.timeoutMillis(), CAT_CAP, 4096, args);
            report.exit(shown, o.timedOut() ? -1 : o.exit());
            report.time("cmd " + Report.verb(shown), o.millis());
            if (cfg.verbose()) {
                System.out.printf("  %s -> %s (%d ms) %s%n", shown, o.timedOut() ? "TIMEOUT" : o.exit(), o.millis(),
                        o.firstErrorLine());
            }
            String esc = takeUncaught();
            if (o.timedOut()) {
                violation("t", shown, -1, "still running after " + cfg.timeoutMillis() + " ms (hung?)");
            } else if (o.cpuMillis() > cfg.cpuLimitMillis()) {
                violation("t", shown, o.exit(), "ran " + o.cpuMillis() + " ms of CPU time, over the limit of "
                        + cfg.cpuLimitMillis() + " ms");
            }
            if (o.timedOut()) {
                // no status to judge
            } else if (!o.capped()) {
                if (o.exit() < 0 || o.exit() > 3) {
                    violation(o.exit() == 70 ? "b" : "a", shown, o.exit(), o.firstErrorLine());
                } else if (STACK.matcher(o.stderr()).find()) {
                    violation("b", shown, o.exit(), "stack trace or internal error: " + o.firstErrorLine());
                }
            }
            if (esc != null) {
                violation("b", shown, o.exit(), "exception escaped a thread: " + esc);
            }
            return o;
        }

        // ---- reads ------------------------------------------------------------------------

        void reads() throws IOException {
            String i = img.toString();
            FileTime mtime = Files.getLastModifiedTime(img);
            List<String> changedBy = new ArrayList<>();
            List<String[]> commands = new ArrayList<>();
            commands.add(new String[] {"info", i});
            commands.add(new String[] {"ls", "-l", "-R", "-a", i, "/"});
            for (PathInfo p : sample) {
                commands.add(new String[] {"stat", i, p.path()});
                if (p.isRegular() || p.isSymlink()) {
                    commands.add(new String[] {"cat", i, p.path()});
                }
            }
            commands.add(new String[] {"get", "-k", i, "/", dest.toString()});
            for (String[] args : commands) {
                CliRun.Outcome o = cli(img, args);
                if (args[0].equals("cat")) {
                    cats.put(args[2], o);
                } else if (args[0].equals("get")) {
                    get = o;
                }
                FileTime now = Files.getLastModifiedTime(img);
                if (!now.equals(mtime)) {
                    changedBy.add(String.join(" ", args).replace(i, "IMG"));
                    mtime = now;
                }
            }
            byte[] after = Files.readAllBytes(img);
            if (!Arrays.equals(after, damage.image())) {
                violation("c", changedBy.isEmpty() ? "reads" : changedBy.get(0), 0,
                        "a read changed the image: " + changedRegions(damage.image(), after));
                Files.write(img, damage.image()); // the kernel must see the damaged image, not what a read did to it
            }
        }

        // ---- the kernel -------------------------------------------------------------------

        void kernel() throws IOException {
            if (!cfg.kernel()) {
                report.kernel(null);
                return;
            }
            List<String> probes = new ArrayList<>();
            for (String p : cats.keySet()) {
                probes.add(new String(p.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
            }
            // where ext4j refused the whole image and printed nothing, whether the kernel mounts it is all
            // there is to compare: the walk is skipped
            boolean refusedAll = get != null && get.exit() != 0 && !get.stderr().contains("ext4j get: " + dest)
                    && cats.values().stream().allMatch(o -> o.exit() != 0);
            KernelWalk.View v;
            synchronized (KernelWalk.class) { // one mount at a time
                v = KernelWalk.walk(img, probes, !refusedAll);
            }
            report.kernel(v.mounted());
            if (!v.mounted()) {
                if (get != null && get.exit() == 0) {
                    difference("kernel refuses to mount, ext4j reads it", "/", v.refusal());
                }
                if (cfg.verbose()) {
                    System.out.println("  kernel refuses to mount: " + v.refusal());
                }
                return;
            }
            compare(v);
        }

        void compare(KernelWalk.View v) throws IOException {
            if (get == null || get.timedOut() || get.capped()) {
                return;
            }
            String err = get.stderr();
            if (get.exit() == 3) {
                difference("ext4j refuses the image as unsupported, the kernel mounts it", "/", get.firstErrorLine());
                return;
            }
            Set<String> reported = new TreeSet<>();
            Map<String, String> reasons = new LinkedHashMap<>();
            String prefix = "ext4j get: " + dest;
            for (String line : err.split("\n")) {
                if (line.startsWith(prefix)) {
                    String rest = line.substring(prefix.length());
                    int colon = rest.indexOf(": ");
                    String p = colon < 0 ? rest : rest.substring(0, colon);
                    reported.add(p);
                    reasons.put(p, colon < 0 ? "" : rest.substring(colon + 2));
                }
            }
            boolean whole = get.exit() != 0 && !err.contains("damaged file(s) or directories were skipped");
            if (whole) {
                difference("ext4j refuses the image, the kernel mounts it", "/", get.firstErrorLine());
            }
            Map<String, JEntry> j = Files.exists(dest) ? walkDest() : Map.of();
            Map<String, KernelWalk.Entry> k = new LinkedHashMap<>();
            v.entries().forEach((p, e) -> k.put(host(p), e));
            Map<String, Integer> listErr = new LinkedHashMap<>();
            v.listErrors().forEach((p, e) -> listErr.put(host(p), e));
            String cmd = "get -k IMG / DEST";
            // entry-level differences are judged per directory: one damaged directory block would
            // otherwise give a violation for each of its thousands of names
            Map<String, List<String>> extra = new java.util.TreeMap<>();
            Map<String, List<String>> unstat = new java.util.TreeMap<>();
            Map<String, List<String>> missing = new java.util.TreeMap<>();
            for (Map.Entry<String, JEntry> je : j.entrySet()) {
                String p = je.getKey();
                JEntry x = je.getValue();
                if (whole || covered(reported, p)) {
                    continue;
                }
                KernelWalk.Entry ke = k.get(p);
                String parent = parent(p);
                if (ke == null) {
                    KernelWalk.Entry kp = k.get(parent);
                    boolean listed = parent.isEmpty() || kp != null && kp.statErrno() == 0 && kp.type() == 'd';
                    // under a directory the kernel cannot stat or list, judged at that directory
                    if (!listErr.containsKey(parent) && listed) {
                        extra.computeIfAbsent(parent, d -> new ArrayList<>()).add(p + " (" + x.type + ")");
                    }
                    continue;
                }
                if (ke.statErrno() != 0) {
                    unstat.computeIfAbsent(parent + "\0" + errno(ke.statErrno()), d -> new ArrayList<>()).add(p);
                } else if (ke.type() != x.type) {
                    violation("f", cmd, get.exit(), p + ": type " + x.type + " in ext4j, " + ke.type() + " in the kernel");
                } else if (x.type == 'f') {
                    if (ke.readErrno() != 0) {
                        violation("f", cmd, get.exit(), p + ": metadata as data? ext4j extracts " + x.size
                                + " bytes, the kernel's read fails (" + errno(ke.readErrno()) + ")");
                    } else if (x.size != ke.size()) {
                        violation("f", cmd, get.exit(), p + ": size " + x.size + " in ext4j, " + ke.size() + " in the kernel");
                    } else if (x.crc != ke.crc() || x.length != ke.length()) {
                        violation("f", cmd, get.exit(), p + ": ext4j extracts other bytes than the kernel reads (size "
                                + x.size + ")");
                    }
                } else if (x.type == 'l') {
                    String kt = ke.target() == null ? "" : hostName(ke.target().getBytes(StandardCharsets.ISO_8859_1));
                    if (ke.readErrno() != 0) {
                        violation("f", cmd, get.exit(), p + ": ext4j returns a symlink target, the kernel's readlink fails ("
                                + errno(ke.readErrno()) + ")");
                    } else if (!kt.equals(x.target)) {
                        violation("f", cmd, get.exit(), p + ": symlink target differs (ext4j " + x.target.length()
                                + " chars, kernel " + kt.length() + ")");
                    }
                }
            }
            for (Map.Entry<String, KernelWalk.Entry> ke : k.entrySet()) {
                String p = ke.getKey();
                KernelWalk.Entry e = ke.getValue();
                boolean kernelFine = e.statErrno() == 0 && e.readErrno() == 0 && !listErr.containsKey(p);
                if (whole) {
                    continue;
                }
                if (covered(reported, p)) {
                    if (reported.contains(p) && kernelFine) {
                        difference("ext4j reports damage the kernel does not see", p, reasons.get(p));
                    }
                    continue;
                }
                String parent = parent(p);
                if (!j.containsKey(p) && (parent.isEmpty() || j.containsKey(parent)) && e.statErrno() == 0) {
                    missing.computeIfAbsent(parent, d -> new ArrayList<>()).add(p + " (" + e.type() + ")");
                }
            }
            extra.forEach((d, l) -> violation("f", cmd, get.exit(), show(d) + ": ext4j shows " + l.size()
                    + " entries the kernel's listing does not have, e.g. " + examples(l)));
            unstat.forEach((key, l) -> {
                String[] de = key.split("\0");
                violation("f", cmd, get.exit(), show(de[0]) + ": ext4j returns " + l.size()
                        + " entries the kernel lists but cannot look up (" + de[1] + "), e.g. " + examples(l));
            });
            missing.forEach((d, l) -> violation("f", cmd, get.exit(), show(d) + ": the kernel shows " + l.size()
                    + " entries ext4j leaves out without reporting damage, e.g. " + examples(l)));
            for (Map.Entry<String, Integer> le : listErr.entrySet()) {
                String d = le.getKey();
                if (whole || covered(reported, d)) {
                    continue;
                }
                if (d.isEmpty() || j.containsKey(d)) {
                    long n = j.keySet().stream().filter(x -> parent(x).equals(d)).count();
                    violation("f", cmd, get.exit(), show(d) + ": the kernel cannot list it (" + errno(le.getValue())
                            + "), ext4j lists " + n + " entries without reporting damage");
                }
            }
            for (Map.Entry<String, CliRun.Outcome> ce : cats.entrySet()) {
                String p = ce.getKey();
                CliRun.Outcome o = ce.getValue();
                KernelWalk.Entry pr = v.probes().get(new String(p.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
                if (o.timedOut() || o.capped() || pr == null) {
                    continue;
                }
                String c = "cat IMG " + p;
                boolean kernelOk = pr.statErrno() == 0 && pr.readErrno() == 0 && pr.type() == 'f';
                if (o.exit() == 0) {
                    if (pr.statErrno() != 0) {
                        violation("f", c, 0, p + ": cat prints " + o.outLength() + " bytes, the kernel cannot open it ("
                                + errno(pr.statErrno()) + ")");
                    } else if (pr.type() != 'f') {
                        violation("f", c, 0, p + ": cat prints " + o.outLength() + " bytes, the kernel finds a "
                                + (pr.type() == 'd' ? "directory" : "file that is not regular"));
                    } else if (pr.readErrno() != 0) {
                        violation("f", c, 0, p + ": metadata as data? cat prints " + o.outLength()
                                + " bytes, the kernel's read fails (" + errno(pr.readErrno()) + ")");
                    } else if (pr.length() != o.outLength() || pr.crc() != o.outCrc()) {
                        violation("f", c, 0, p + ": cat prints other bytes than the kernel reads (ext4j " + o.outLength()
                                + " bytes, kernel " + pr.length() + ")");
                    }
                } else if (o.exit() == 1 && kernelOk) {
                    difference("ext4j reports damage the kernel does not see", p, "cat: " + o.firstErrorLine());
                }
            }
        }

        // ---- writes -----------------------------------------------------------------------

        void writes() throws IOException {
            List<String[]> ops = writeOps();
            for (int n = 0; n < ops.size(); n++) {
                Path w = work.resolve("w" + n + "-" + tag);
                Files.write(w, damage.image());
                String[] args = ops.get(n);
                for (int a = 0; a < args.length; a++) {
                    if (args[a].equals("IMG")) {
                        args[a] = w.toString();
                    }
                }
                CliRun.Outcome o = cli(w, args);
                String shown = String.join(" ", args).replace(w.toString(), "IMG");
                if (o.timedOut()) {
                    continue; // its thread may still write: the file is left alone
                }
                byte[] after = Files.readAllBytes(w);
                if (o.exit() != 0) {
                    String changed = changedOutsidePrimarySuperblock(damage.image(), after);
                    if (changed != null) {
                        violation("d", shown, o.exit(), "failed (" + o.firstErrorLine() + ") but changed " + changed);
                    }
                } else {
                    if (fsckBefore == null) {
                        Path before = work.resolve("before-" + tag);
                        Files.write(before, damage.image());
                        fsckBefore = fsckKinds(before);
                        Files.delete(before);
                    }
                    long f0 = System.nanoTime();
                    Set<String> now = fsckKinds(w);
                    report.time("fsck", (System.nanoTime() - f0) / 1_000_000);
                    Set<String> fresh = new LinkedHashSet<>(now);
                    fresh.removeAll(fsckBefore);
                    // a group's count already wrong reaches the superblock's total at the next commit, in
                    // the kernel too (ext4_commit_super writes the sum of the per-group counters)
                    for (String what : List.of("blocks", "inodes")) {
                        if (fsckBefore.contains("Free " + what + " count wrong for group #N (N, counted=N).")) {
                            fresh.remove("Free " + what + " count wrong (N, counted=N).");
                        }
                    }
                    if (!fresh.isEmpty()) {
                        violation("e", shown, 0, "e2fsck finds new kinds of problem after the write: " + fresh);
                    }
                }
                Files.deleteIfExists(w);
            }
        }

        /** The six write commands with targets chosen by the seed, or a seeded subset of them. */
        List<String[]> writeOps() {
            List<PathInfo> files = base.paths.stream().filter(p -> p.isRegular() && p.size() > 0).toList();
            List<PathInfo> removable = base.paths.stream().filter(p -> !p.isDir()).toList();
            List<String> dirs = List.of("/", "/htree", "/small", "/tiny", "/deep/a/b", "/empty-dir");
            PathInfo f = files.get(rnd.nextInt(files.size()));
            long size = f.size();
            long off = (long) (rnd.nextDouble() * size);
            int len = 1 + rnd.nextInt(8192);
            List<String[]> all = new ArrayList<>();
            all.add(new String[] {"io", "IMG", f.path(), "-c", "pwrite -S 0x5a " + off + " " + len});
            all.add(new String[] {"io", "IMG", f.path(), "-c", "pwrite -S 0x5b " + size + " " + len});
            all.add(new String[] {"io", "IMG", f.path(), "-c", "truncate " + (long) (rnd.nextDouble() * size)});
            all.add(new String[] {"io", "IMG", f.path(), "-c", "fpunch " + off + " " + len});
            String dir = dirs.get(rnd.nextInt(dirs.size()));
            all.add(new String[] {"io", "-f", "IMG", (dir.equals("/") ? "" : dir) + "/fuzz-new", "-c", "pwrite 0 5000"});
            all.add(new String[] {"rm", "IMG", removable.get(rnd.nextInt(removable.size())).path()});
            if (cfg.writes() < 0 || cfg.writes() >= all.size()) {
                return all;
            }
            List<String[]> some = new ArrayList<>();
            for (int i = 0; i < cfg.writes(); i++) {
                some.add(all.remove(rnd.nextInt(all.size())));
            }
            return some;
        }

        void cleanUp() {
            try {
                Files.deleteIfExists(img);
            } catch (IOException e) {
                // left for the run directory's removal
            }
            BaseImage.deleteQuietly(dest);
        }

        private Map<String, JEntry> walkDest() throws IOException {
            Map<String, JEntry> out = new LinkedHashMap<>();
            Files.walkFileTree(dest, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                    if (!d.equals(dest)) {
                        out.put(rel(d), new JEntry('d', 0, 0, 0, null));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    int mode = (Integer) Files.getAttribute(f, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    char t = switch (mode & 0xF000) {
                        case 0x8000 -> 'f';
                        case 0xA000 -> 'l';
                        case 0x2000 -> 'c';
                        case 0x6000 -> 'b';
                        case 0x1000 -> 'p';
                        case 0xC000 -> 's';
                        case 0x4000 -> 'd';
                        default -> '?';
                    };
                    long crc = 0;
                    long length = 0;
                    String target = null;
                    if (t == 'f') {
                        CRC32 c = new CRC32();
                        try (InputStream in = Files.newInputStream(f)) {
                            byte[] buf = new byte[1 << 16];
                            int n;
                            while (length < CAT_CAP && (n = in.read(buf, 0, (int) Math.min(buf.length, CAT_CAP - length))) > 0) {
                                c.update(buf, 0, n);
                                length += n;
                            }
                        }
                        crc = c.getValue();
                    } else if (t == 'l') {
                        target = Files.readSymbolicLink(f).toString();
                    }
                    out.put(rel(f), new JEntry(t, a.size(), crc, length, target));
                    return FileVisitResult.CONTINUE;
                }
            });
            return out;
        }

        private String rel(Path p) {
            return "/" + dest.relativize(p).toString();
        }
    }

    /** A file as {@code get} extracted it. */
    private record JEntry(char type, long size, long crc, long length, String target) {
    }

    private static String examples(List<String> l) {
        return String.join(", ", l.subList(0, Math.min(3, l.size()))) + (l.size() > 3 ? ", ..." : "");
    }

    private static boolean covered(Set<String> reported, String p) {
        for (String r : reported) {
            if (p.equals(r) || p.startsWith(r.endsWith("/") ? r : r + "/")) {
                return true;
            }
        }
        return false;
    }

    private static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "" : p.substring(0, i);
    }

    private static String show(String dir) {
        return dir.isEmpty() ? "/" : dir;
    }

    /** A raw kernel path (ISO-8859-1 chars) named as {@code get} names it on the host. */
    static String host(String raw) {
        StringBuilder s = new StringBuilder();
        for (String c : raw.split("/", -1)) {
            if (c.isEmpty()) {
                continue;
            }
            s.append('/').append(hostName(c.getBytes(StandardCharsets.ISO_8859_1)));
        }
        return s.toString();
    }

    /** {@code GetCommand.hostName}: UTF-8 as is, anything else with each byte outside printable ASCII as %XX. */
    static String hostName(byte[] name) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(name)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder s = new StringBuilder();
            for (byte b : name) {
                if (b >= 0x20 && b < 0x7F && b != '%') {
                    s.append((char) b);
                } else {
                    s.append(String.format("%%%02X", b & 0xFF));
                }
            }
            return s.toString();
        }
    }

    static String errno(int e) {
        return switch (e) {
            case 5 -> "EIO";
            case 117 -> "EUCLEAN, structure needs cleaning";
            case 2 -> "ENOENT";
            case 116 -> "ESTALE";
            case 20 -> "ENOTDIR";
            case 21 -> "EISDIR";
            case 40 -> "ELOOP";
            case 36 -> "ENAMETOOLONG";
            case 74 -> "EBADMSG";
            case 27 -> "EFBIG";
            case 22 -> "EINVAL";
            case 12 -> "ENOMEM";
            default -> "errno " + e;
        };
    }

    /** The byte ranges that differ (runs less than 64 equal bytes apart are one range), briefly. */
    static String changedRegions(byte[] a, byte[] b) {
        if (a.length != b.length) {
            return "length " + a.length + " -> " + b.length;
        }
        List<String> r = new ArrayList<>();
        int i = 0;
        while (i < a.length) {
            if (a[i] == b[i]) {
                i++;
                continue;
            }
            if (r.size() == 6) {
                r.add("...");
                break;
            }
            int last = i;
            for (int j = i + 1; j < a.length && j - last <= 64; j++) {
                if (a[j] != b[j]) {
                    last = j;
                }
            }
            r.add("bytes " + i + ".." + last);
            i = last + 1;
        }
        return String.join(", ", r);
    }

    /** Null when only the primary superblock (bytes 1024..2047) changed, else which ranges did. */
    static String changedOutsidePrimarySuperblock(byte[] before, byte[] after) {
        if (before.length != after.length) {
            return "the image's length " + before.length + " -> " + after.length;
        }
        byte[] a = before.clone();
        byte[] b = after.clone();
        System.arraycopy(before, 1024, b, 1024, 1024);
        if (Arrays.equals(a, b)) {
            return null;
        }
        return changedRegions(a, b);
    }

    private static final Pattern FSCK_NOISE = Pattern.compile(
            "^(Pass \\d|e2fsck \\d|\\S+: \\d+/\\d+ files|\\s*$|.*WARNING: Filesystem still has errors|"
            + "Warning: skipping journal recovery|.*could be (shorter|narrower)|.*Optimize\\?|"
            + "\\s*(Fix|Clear|Ignore error|Salvage|Relocate|Recreate|Abort|Optimize)\\? no\\s*$)");

    /** e2fsck -fn's kinds of problem: its messages with numbers and names removed, plus its exit status. */
    static Set<String> fsckKinds(Path image) throws IOException {
        Tools.Result r = Tools.run(List.of("e2fsck", "-fn", image.toString()), 120);
        Set<String> kinds = new TreeSet<>();
        kinds.add("exit " + r.exit());
        for (String line : (r.stdout() + "\n" + r.stderr()).split("\n")) {
            if (FSCK_NOISE.matcher(line).find()) {
                continue;
            }
            String l = line.replaceAll("\\s*(Fix|Clear|Ignore error|Salvage|Relocate|Recreate|Abort)\\? no\\s*$", "");
            if (l.startsWith("Block bitmap differences:") || l.startsWith("Inode bitmap differences:")) {
                String head = l.substring(0, l.indexOf(':'));
                if (l.contains(" +")) {
                    kinds.add(head + ": + (in use, marked free)");
                }
                if (l.contains(" -")) {
                    kinds.add(head + ": - (marked in use, not used)");
                }
                continue;
            }
            if (l.startsWith("Multiply-claimed block(s) in inode ")) {
                // one kind whatever the list: a damaged map that reads live metadata (an indirect
                // pointer to a descriptor block) claims different blocks after any write changes it
                kinds.add("Multiply-claimed block(s) in inode N: ...");
                continue;
            }
            kinds.add(Report.normalise(l.replace(image.toString(), "IMG")).strip());
        }
        return kinds;
    }
}
