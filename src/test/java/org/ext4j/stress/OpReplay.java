package org.ext4j.stress;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

/**
 * Replays one file's operations, single-threaded, on a fresh image held in memory, and reduces a
 * failing sequence to a minimal one (delta debugging): the tool behind the regression tests that a
 * stress failure turns into. The operations come from a stress run's op log (written next to the
 * figures when a run fails, one {@link FileModel.Rec} a line) or from a test's own list; the data of
 * each write is {@link org.ext4j.stress.Pattern}'s function of its tag, so a replay writes the same bytes.
 */
final class OpReplay {
    /** One operation with its positions resolved: what {@link FileModel.Rec#toString()} prints. */
    record Step(Op.Kind kind, long pos, long len, int mode, long tag) {
        static Step pwrite(long pos, long len, long tag) {
            return new Step(Op.Kind.PWRITE, pos, len, 0, tag);
        }

        static Step truncate(long size) {
            return new Step(Op.Kind.TRUNCATE, size, 0, 0, 0);
        }

        static Step fallocate(int mode, long pos, long len) {
            return new Step(Op.Kind.FALLOCATE, pos, len, mode, 0);
        }

        static Step fsync() {
            return new Step(Op.Kind.FSYNC, 0, 0, 0, 0);
        }

        /** The step as Java source, for pasting into a regression test. */
        String java() {
            return switch (kind) {
                case PWRITE, APPEND -> "Step.pwrite(" + pos + ", " + len + ", " + tag + "L)";
                case TRUNCATE -> "Step.truncate(" + pos + ")";
                case FALLOCATE -> "Step.fallocate(" + modeJava(mode) + ", " + pos + ", " + len + ")";
                case FSYNC -> "Step.fsync()";
                default -> "new Step(Op.Kind." + kind + ", 0, 0, 0, 0)";
            };
        }

        private static String modeJava(int mode) {
            return switch (mode) {
                case 0 -> "0";
                case Ext4File.FALLOC_KEEP_SIZE -> "KEEP";
                case Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE -> "PUNCH | KEEP";
                case Ext4File.FALLOC_ZERO_RANGE -> "ZERO";
                case Ext4File.FALLOC_ZERO_RANGE | Ext4File.FALLOC_KEEP_SIZE -> "ZERO | KEEP";
                default -> Integer.toString(mode);
            };
        }
    }

    private static final Pattern LINE = Pattern.compile(
            "#\\d+ thread \\d+: (pwrite|append|truncate to|fallocate ([a-z|]+)|fsync|reopen)\\s*(?:\\[(\\d+), (\\d+)\\))?"
                    + "\\s*(\\d+)?\\s*(?:tag (\\d+))?.*");

    /** The steps of {@code file} in a stress op log, oldest first. */
    static List<Step> parse(Path opLog, String file) throws IOException {
        List<Step> out = new ArrayList<>();
        boolean in = false;
        for (String line : Files.readAllLines(opLog)) {
            if (line.startsWith("/")) {
                in = line.startsWith(file + ":");
                continue;
            }
            Matcher m = LINE.matcher(line);
            if (!in || !m.matches()) {
                continue;
            }
            String verb = m.group(1);
            if (verb.equals("pwrite") || verb.equals("append")) {
                long a = Long.parseLong(m.group(3));
                out.add(Step.pwrite(a, Long.parseLong(m.group(4)) - a, Long.parseLong(m.group(6))));
            } else if (verb.equals("truncate to")) {
                out.add(Step.truncate(Long.parseLong(m.group(5))));
            } else if (verb.startsWith("fallocate")) {
                int mode = -1;
                for (int md : Op.FALLOC_MODES) {
                    if (Op.modeName(md).equals(m.group(2))) {
                        mode = md;
                    }
                }
                long a = Long.parseLong(m.group(3));
                out.add(Step.fallocate(mode, a, Long.parseLong(m.group(4)) - a));
            } else if (verb.equals("fsync")) {
                out.add(Step.fsync());
            } else {
                out.add(new Step(Op.Kind.REOPEN, 0, 0, 0, 0));
            }
        }
        return out;
    }

    /**
     * Runs {@code steps} on a copy of {@code image} (an empty ext4 image made by mkfs) in one file,
     * then reads the whole file back through its open {@link Ext4File}, and again after close through
     * ext4j's reader. Returns null when both equal the model, else what differed (or the exception).
     */
    static String run(byte[] image, int blockSize, WriteOptions options, List<Step> steps) {
        FileModel m = new FileModel("/f", 16 << 20);
        byte[] disk = image.clone();
        byte[] buf = new byte[Op.MAX_WRITE];
        int i = 0;
        try {
            try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(new MemoryBlockDevice(disk, false), options)) {
                Ext4File f = fs.createFile("/f", 0644);
                for (; i < steps.size(); i++) {
                    Step s = steps.get(i);
                    switch (s.kind()) {
                        case PWRITE, APPEND -> {
                            org.ext4j.stress.Pattern.fill(s.tag(), s.pos(), buf, 0, (int) s.len());
                            f.pwrite(s.pos(), buf, 0, (int) s.len());
                            m.write(0, Op.Kind.PWRITE, s.pos(), buf, (int) s.len(), s.tag());
                        }
                        case TRUNCATE -> {
                            f.truncate(s.pos());
                            m.truncate(0, s.pos());
                        }
                        case FALLOCATE -> {
                            f.fallocate(s.mode(), s.pos(), s.len());
                            m.fallocate(0, s.mode(), s.pos(), s.len());
                        }
                        case FSYNC -> f.fsync();
                        case REOPEN -> {
                            f.close();
                            f = fs.openFile("/f");
                        }
                        default -> {
                        }
                    }
                }
                byte[] got = new byte[(int) m.size()];
                f.pread(0, got, 0, got.length);
                if (f.size() != m.size()) {
                    return "open file: size " + f.size() + ", model " + m.size();
                }
                String d = m.compare(0, got, got.length, blockSize);
                if (d != null) {
                    return "open file: " + d;
                }
            }
            try (Ext4FileSystem ro = Ext4FileSystem.open(new MemoryBlockDevice(disk, true),
                    org.ext4j.fs.OpenOptions.readOnlyDefaults())) {
                byte[] got = ro.readAll("/f");
                if (got.length != m.size()) {
                    return "after close: size " + got.length + ", model " + m.size();
                }
                String d = m.compare(0, got, got.length, blockSize);
                return d == null ? null : "after close: " + d;
            }
        } catch (IOException | RuntimeException e) {
            StringWriter w = new StringWriter();
            e.printStackTrace(new PrintWriter(w));
            return "step " + i + " threw " + w;
        }
    }

    /** Delta debugging (ddmin): a smallest list of steps, by removing chunks, for which {@code fails} holds. */
    static List<Step> minimize(List<Step> steps, Predicate<List<Step>> fails) {
        List<Step> cur = new ArrayList<>(steps);
        int n = 2;
        while (cur.size() >= 2) {
            int chunk = (cur.size() + n - 1) / n;
            boolean reduced = false;
            for (int start = 0; start < cur.size(); start += chunk) {
                List<Step> without = new ArrayList<>(cur.subList(0, start));
                without.addAll(cur.subList(Math.min(cur.size(), start + chunk), cur.size()));
                if (!without.isEmpty() && fails.test(without)) {
                    cur = without;
                    n = Math.max(n - 1, 2);
                    reduced = true;
                    break;
                }
            }
            if (!reduced) {
                if (n >= cur.size()) {
                    break;
                }
                n = Math.min(cur.size(), n * 2);
            }
        }
        return cur;
    }
}
