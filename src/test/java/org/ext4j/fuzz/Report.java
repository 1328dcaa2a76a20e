package org.ext4j.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Figures of a random-damage run: images tried per feature set, exit statuses by command, what the
 * kernel did with the images, every rule violation and every place ext4j and the kernel answer
 * differently. Violations and differences are also grouped by kind (rule, verb, message with its
 * numbers removed), most frequent first, each kind with the replay lines of a few of its images.
 * Thread-safe.
 */
final class Report {
    /**
     * A broken rule (a: exit status, b: stack trace or internal error, c: a read changed the image,
     * d: a failed write changed bytes outside the primary superblock, e: e2fsck finds a new kind of
     * problem after a successful write, f: ext4j's answer differs from the kernel's, t: over the time
     * limit).
     */
    record Violation(String rule, String set, long seed, String command, int exit, String detail, String recipe) {
        String replay() {
            return "mvn -o test -Dtest=RandomDamageTest -Dext4j.fuzz.features=" + set + " -Dext4j.fuzz.seed=" + seed;
        }

        String kind() {
            return rule + " | " + verb(command) + " | " + normalise(detail);
        }

        @Override
        public String toString() {
            return "rule " + rule + " [" + set + " seed " + seed + "] " + command + " -> exit " + exit + ": " + detail
                    + "\n      damage: " + recipe + "\n      replay: " + replay();
        }
    }

    /** A place where ext4j and the kernel answer differently without breaking a rule (ext4j stricter, or a refusal). */
    record Difference(String category, String set, long seed, String path, String detail) {
        String kind() {
            return category + " | " + normalise(detail);
        }
    }

    private final String title;
    private final long started = System.nanoTime();
    private final Map<String, Integer> imagesBySet = new TreeMap<>();
    private final Map<String, Map<Integer, Integer>> exits = new TreeMap<>();
    private final List<Violation> violations = new ArrayList<>();
    private final List<Difference> differences = new ArrayList<>();
    private int kernelMounted;
    private int kernelRefused;
    private int kernelSkipped;
    private int checksumsFixed;
    private final Map<String, Long> phaseMillis = new TreeMap<>();

    Report(String title) {
        this.title = title;
    }

    synchronized void image(String set, boolean fixed) {
        imagesBySet.merge(set, 1, Integer::sum);
        if (fixed) {
            checksumsFixed++;
        }
    }

    synchronized void exit(String command, int status) {
        exits.computeIfAbsent(verb(command), k -> new TreeMap<>()).merge(status, 1, Integer::sum);
    }

    synchronized void kernel(Boolean mounted) {
        if (mounted == null) {
            kernelSkipped++;
        } else if (mounted) {
            kernelMounted++;
        } else {
            kernelRefused++;
        }
    }

    /** Adds time spent in a phase (reads, kernel, writes, fsck), for the summary. */
    synchronized void time(String phase, long millis) {
        phaseMillis.merge(phase, millis, Long::sum);
    }

    synchronized void violation(Violation v) {
        violations.add(v);
    }

    synchronized void difference(Difference d) {
        differences.add(d);
    }

    synchronized int images() {
        return imagesBySet.values().stream().mapToInt(Integer::intValue).sum();
    }

    synchronized List<Violation> violations() {
        return List.copyOf(violations);
    }

    synchronized List<Difference> differences() {
        return List.copyOf(differences);
    }

    /** The verb and its options, without the image or paths: "io -c pwrite", "get -k", "cat". */
    static String verb(String command) {
        String[] w = command.split(" ");
        StringBuilder s = new StringBuilder(w[0]);
        for (int i = 1; i < w.length; i++) {
            if (w[i].equals("-c") && i + 1 < w.length) {
                s.append(" -c ").append(w[i + 1].replace("\"", ""));
                break;
            }
            if (w[i].startsWith("-") && w[i].length() == 2) {
                s.append(' ').append(w[i]);
            }
        }
        return s.toString();
    }

    /** A message with numbers, quoted names and hex removed: what makes two findings the same kind. */
    static String normalise(String s) {
        String t = s.replaceAll("'[^']*'", "'…'").replaceAll("\"[^\"]*\"", "\"…\"");
        // e2fsck's times ("mod time Sun Dec  6 09:13:59 2026"): a directory a write touched is no new problem
        t = t.replaceAll("(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\\d+ [\\d:]+ \\d+",
                "TIME");
        t = t.replaceAll("0x[0-9a-fA-F]+", "N").replaceAll("\\b\\d+\\b", "N");
        t = t.replaceAll("/[^ :,]*", "/…");
        return t.length() > 200 ? t.substring(0, 200) + "…" : t;
    }

    synchronized String summary() {
        StringBuilder s = new StringBuilder();
        double secs = (System.nanoTime() - started) / 1e9;
        int images = images();
        s.append(String.format("%s: %d images in %.1f s (%.0f ms each), checksums recomputed in %d%n", title, images,
                secs, images == 0 ? 0 : secs * 1000 / images, checksumsFixed));
        s.append("  images by feature set: ").append(imagesBySet).append('\n');
        s.append("  time by phase (s): ");
        phaseMillis.forEach((k, v) -> s.append(String.format("%s %.1f  ", k, v / 1000.0)));
        s.append('\n');
        s.append("  exit statuses by command:\n");
        exits.forEach((cmd, m) -> s.append(String.format("    %-28s %s%n", cmd, m)));
        s.append(String.format("  kernel: mounted %d, refused %d, not tried %d%n", kernelMounted, kernelRefused,
                kernelSkipped));
        s.append(String.format("  rule violations: %d%n", violations.size()));
        groups(s, violations, Violation::kind, v -> v.set() + " seed " + v.seed() + ": " + v.command() + " -> "
                + v.exit() + ": " + v.detail(), 3);
        s.append(String.format("  kernel differences that break no rule: %d%n", differences.size()));
        groups(s, differences, Difference::kind, d -> d.set() + " seed " + d.seed() + " " + d.path() + ": " + d.detail(), 2);
        return s.toString();
    }

    private static <T> void groups(StringBuilder s, List<T> items, java.util.function.Function<T, String> kind,
            java.util.function.Function<T, String> show, int examples) {
        Map<String, List<T>> g = new LinkedHashMap<>();
        for (T t : items) {
            g.computeIfAbsent(kind.apply(t), k -> new ArrayList<>()).add(t);
        }
        g.entrySet().stream().sorted(Comparator.comparing((Map.Entry<String, List<T>> e) -> -e.getValue().size()))
                .forEach(e -> {
                    s.append(String.format("    %4d x %s%n", e.getValue().size(), e.getKey()));
                    e.getValue().stream().limit(examples).forEach(t -> s.append("           e.g. ").append(show.apply(t))
                            .append('\n'));
                });
    }

    /** Writes the summary and every violation and difference in full; returns the file. */
    synchronized Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path f = dir.resolve(title.replaceAll("[^A-Za-z0-9]+", "-") + "-" + stamp + ".txt");
        StringBuilder s = new StringBuilder(summary());
        s.append("\nEvery violation:\n");
        violations.forEach(v -> s.append("  ").append(v).append('\n'));
        s.append("\nEvery kernel difference:\n");
        differences.forEach(d -> s.append("  ").append(d.category()).append(" [").append(d.set()).append(" seed ")
                .append(d.seed()).append("] ").append(d.path()).append(": ").append(d.detail()).append('\n'));
        Files.writeString(f, s, StandardCharsets.UTF_8);
        return f;
    }
}
