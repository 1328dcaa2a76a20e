package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j io [-f] [-A] IMAGE PATH -c CMD [-c CMD ...]}: a subset of {@code xfs_io}, same syntax
 * and meaning, on an image opened read-write. Implemented so far: {@code pwrite [-FRqwW] [-Z seed]
 * [-S byte] [-b bsize] off len} (with xfs_io's two summary lines; {@code -R} picks offsets as xfs_io
 * does, see {@link #pwrite}), {@code pread [-v] off len}, {@code truncate size}, {@code falloc [-k] off len},
 * {@code fpunch off len}, {@code fzero [-k] off len}, {@code fsync}, {@code fdatasync}, {@code stat}.
 * {@code fiemap [-v]} (unwritten extents flagged), {@code seek -d|-h off}. {@code -f} creates the file
 * (mode 0644, owner 0:0) when it does not exist.
 */
@Command(name = "io", description = "Run xfs_io-style commands on a file inside the image (read-write).")
final class IoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH")
    String path;

    @Option(names = "-f", description = "Create the file if it does not exist.")
    boolean create;

    @Option(names = "-A", description = "Aggressive writeback: tiny dirty limit and page cache, so writeback runs constantly.")
    boolean aggressive;

    @Option(names = "-c", required = true, paramLabel = "CMD", description = "A command, as xfs_io's -c.")
    List<String> commands = new ArrayList<>();

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        WriteOptions options = aggressive ? WriteOptions.aggressive() : WriteOptions.defaults();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, options)) {
            Ext4File f;
            try {
                f = fs.openFile(path);
            } catch (org.ext4j.error.NotFoundException e) {
                if (!create) {
                    throw e;
                }
                f = fs.createFile(path, 0644);
            }
            for (String c : commands) {
                run(f, c.trim().split("\\s+"), out);
                out.flush();
            }
        }
        return 0;
    }

    private void run(Ext4File f, String[] argv, PrintWriter out) throws Exception {
        String cmd = argv[0];
        List<String> args = new ArrayList<>(Arrays.asList(argv).subList(1, argv.length));
        switch (cmd) {
            case "pwrite" -> pwrite(f, args, out);
            case "pread" -> {
                boolean verbose = !args.isEmpty() && args.get(0).equals("-v") && args.remove(0) != null;
                long off = size(take(args, cmd));
                long len = size(take(args, cmd));
                byte[] buf = new byte[(int) Math.min(len, Integer.MAX_VALUE - 8)];
                int n = Math.max(0, f.pread(off, buf, 0, buf.length));
                if (verbose) {
                    dump(out, off, buf, n);
                }
                out.printf("read %d/%d bytes at offset %d%n", n, len, off);
            }
            case "fsync", "fdatasync" -> f.fsync();
            case "truncate" -> f.truncate(size(take(args, cmd)));
            case "falloc", "fzero" -> {
                boolean keep = !args.isEmpty() && args.get(0).equals("-k") && args.remove(0) != null;
                int mode = (cmd.equals("fzero") ? Ext4File.FALLOC_ZERO_RANGE : 0) | (keep ? Ext4File.FALLOC_KEEP_SIZE : 0);
                f.fallocate(mode, size(take(args, cmd)), size(take(args, cmd)));
            }
            case "fpunch" -> f.fallocate(Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, size(take(args, cmd)),
                    size(take(args, cmd)));
            case "stat" -> {
                out.printf("fd.path = \"%s\"%n", path);
                out.printf("stat.ino = %d%n", f.inode());
                out.printf("stat.size = %d%n", f.size());
            }
            case "fiemap" -> {
                args.remove("-v"); // the one format printed is -v's: xfs_io's verbose table
                fiemap(f, out);
            }
            case "seek" -> {
                String how = take(args, cmd);
                if (!how.equals("-d") && !how.equals("-h")) {
                    throw usage("seek: -d or -h expected, not " + how);
                }
                long off = size(take(args, cmd));
                long r = f.seek(off, how.equals("-d"));
                out.printf("Whence\tResult%n%s\t%s%n", how.equals("-d") ? "DATA" : "HOLE", r < 0 ? "EOF" : Long.toString(r));
            }
            default -> throw usage("unknown command " + cmd);
        }
    }

    /**
     * xfs_io's {@code pwrite [-FRqwW] [-Z seed] [-S byte] [-b bsize] off len}. Forward (the default)
     * writes {@code len} bytes from {@code off} in {@code bsize} pieces. {@code -R} writes at random
     * offsets exactly as xfs_io's {@code write_random}, quirks included: the range is widened to
     * {@code bsize} boundaries as xfs_io does it ({@code off} rounded down, {@code len} increased by
     * {@code len % bsize}, at least {@code bsize}), and {@code len / bsize} whole {@code bsize} writes
     * go to offsets {@code ((off + random() % (len - bsize)) / bsize) * bsize}, drawn with
     * replacement from glibc's {@code random()} seeded by {@code srandom(seed)} (reproduced in
     * {@link GlibcRandom}): some pieces are written twice, some never, and the last piece of the
     * range is never written. The summary reports the original {@code off} and {@code len} and the
     * bytes actually written, which may exceed {@code len}. Without {@code -Z} (or with {@code -Z 0})
     * the seed is the current time in seconds, as xfs_io's {@code time(NULL)}. {@code -w}/{@code -W}
     * call fdatasync/fsync after the writes, inside the timing; {@code -q} prints nothing. The
     * default {@code bsize} is xfs_io's 4096 for a file outside XFS; {@code -S} is a fill byte (xfs_io
     * memsets its buffer with the seed's low byte).
     */
    private void pwrite(Ext4File f, List<String> args, PrintWriter out) throws java.io.IOException {
        int fill = 0xcd;
        long bsize = 4096;
        boolean random = false;
        boolean quiet = false;
        boolean sync = false;
        long zeed = 0;
        while (!args.isEmpty() && args.get(0).startsWith("-") && args.get(0).length() > 1) {
            String opt = args.remove(0);
            for (int i = 1; i < opt.length(); i++) {
                char o = opt.charAt(i);
                switch (o) {
                    case 'F' -> random = false;
                    case 'R' -> random = true;
                    case 'q' -> quiet = true;
                    case 'w', 'W' -> sync = true;
                    case 'S', 'b', 'Z' -> {
                        String v = i + 1 < opt.length() ? opt.substring(i + 1) : take(args, "pwrite");
                        i = opt.length();
                        if (o == 'S') {
                            fill = (int) number(v, "seed") & 0xFF;
                        } else if (o == 'Z') {
                            zeed = number(v, "seed") & 0xFFFF_FFFFL; // strtoul into an unsigned int
                        } else {
                            bsize = size(v);
                        }
                    }
                    default -> throw usage("pwrite: unsupported option -" + o
                            + " (supported: -F -R -Z seed -S byte -b bsize -q -w -W)");
                }
            }
        }
        long off = size(take(args, "pwrite"));
        long len = size(take(args, "pwrite"));
        if (!args.isEmpty()) {
            throw usage("pwrite: unexpected argument " + args.get(0));
        }
        if (bsize < 1 || bsize > Integer.MAX_VALUE - 8) {
            throw usage("pwrite: block size must be 1.." + (Integer.MAX_VALUE - 8) + ", not " + bsize);
        }
        byte[] buf = new byte[(int) (random ? bsize : Math.min(bsize, Math.max(1, len)))];
        Arrays.fill(buf, (byte) fill);
        long total = 0;
        int ops = 0;
        long t0 = System.nanoTime();
        if (random) {
            GlibcRandom rnd = new GlibcRandom(zeed != 0 ? zeed : System.currentTimeMillis() / 1000);
            long start = Math.max(0, off - off % bsize);
            long count = len + len % bsize; // sic: xfs_io adds the remainder rather than rounding up
            count = Math.max(bsize, count);
            long range = count - bsize;
            while (count > 0) {
                long at = range != 0 ? ((start + rnd.next() % range) / bsize) * bsize : start;
                long n = f.pwrite(at, buf, 0, buf.length);
                if (n == 0) {
                    break;
                }
                ops++;
                total += n;
                if (n < bsize) {
                    break;
                }
                count -= n;
            }
        } else {
            while (total < len) {
                int want = (int) Math.min(buf.length, len - total);
                long n = f.pwrite(off + total, buf, 0, want);
                if (n == 0) {
                    break;
                }
                ops++;
                total += n;
                if (n < want) {
                    break;
                }
            }
        }
        if (sync) {
            f.fsync();
        }
        long elapsed = System.nanoTime() - t0;
        if (!quiet) {
            out.printf("wrote %d/%d bytes at offset %d%n", total, len, off);
            out.println(ioTimes(total, ops, elapsed));
        }
    }

    /**
     * xfs_io's second summary line ({@code report_io_times}): "1 MiB, 256 ops; 0.0006 sec (1.528
     * GiB/sec and 400625.9781 ops/sec)", with the time taken at microsecond resolution as
     * {@code gettimeofday} does.
     */
    static String ioTimes(long total, int ops, long elapsedNanos) {
        long micros = elapsedNanos / 1000;
        long sec = micros / 1_000_000;
        long usec = micros % 1_000_000;
        double secs = sec + usec / 1_000_000.0;
        String ts;
        if (sec != 0) {
            ts = String.format(Locale.ROOT, "%d:%02d:%02d.%02d", sec / 3600, sec % 3600 / 60, sec % 60,
                    (long) (usec / 1_000_000.0 * 100));
        } else {
            ts = String.format(Locale.ROOT, "0.%04d sec", (long) (usec / 1_000_000.0 * 10000));
        }
        return cvtstr(total) + ", " + ops + " ops; " + ts + " (" + cvtstr(total / secs) + "/sec and "
                + cFixed(ops / secs, 4) + " ops/sec)";
    }

    /** xfs_io's (libfrog's) {@code cvtstr}: binary units, three decimals unless "precise". */
    static String cvtstr(double value) {
        // C's (int) cast of an out-of-range double gives INT_MIN on x86-64, so large values are never precise
        int asInt = Double.isNaN(value) || value >= 0x1p31 || value < -0x1p31 ? Integer.MIN_VALUE : (int) value;
        boolean precise = value * 1000 == (double) asInt * 1000;
        String[] units = {" EiB", " PiB", " TiB", " GiB", " MiB", " KiB"};
        for (int i = 0; i < units.length; i++) {
            double unit = (double) (1L << (60 - 10 * i));
            if (value >= unit) {
                return cFixed(value / unit, precise ? 0 : 3) + units[i];
            }
        }
        return cFixed(value, 6) + " bytes";
    }

    /** printf's {@code %.Nf}: the exact binary value rounded half-even, as glibc does. */
    private static String cFixed(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.isNaN(v) ? "-nan" : v > 0 ? "inf" : "-inf";
        }
        return new java.math.BigDecimal(v).setScale(decimals, java.math.RoundingMode.HALF_EVEN).toPlainString();
    }

    /**
     * glibc's {@code random()} after {@code srandom(seed)} (the default TYPE_3 additive feedback
     * generator, r[i] = r[i-3] + r[i-31], first 310 outputs discarded), so that {@code pwrite -R -Z}
     * picks the same offsets as xfs_io.
     */
    static final class GlibcRandom {
        private final int[] state = new int[31];
        private int front = 3;
        private int rear = 0;

        GlibcRandom(long seed) {
            int s = (int) seed;
            if (s == 0) {
                s = 1;
            }
            state[0] = s;
            long word = s; // int32_t in glibc
            for (int i = 1; i < 31; i++) {
                long hi = word / 127773;
                long lo = word % 127773;
                word = 16807 * lo - 2836 * hi;
                if (word < 0) {
                    word += 2147483647;
                }
                state[i] = (int) word;
            }
            for (int i = 0; i < 310; i++) {
                next();
            }
        }

        /** The next value, 0 .. 2^31-1. */
        long next() {
            state[front] += state[rear];
            long v = (state[front] & 0xFFFF_FFFFL) >>> 1;
            if (++front >= 31) {
                front = 0;
                rear++;
            } else if (++rear >= 31) {
                rear = 0;
            }
            return v;
        }
    }

    /**
     * xfs_io's {@code fiemap -v} table: 512-byte units, holes as rows of their own, flags 0x800 for
     * unwritten, 0x6 for delayed (DELALLOC|UNKNOWN), 0x1 on the last extent.
     */
    private void fiemap(Ext4File f, PrintWriter out) throws java.io.IOException {
        List<Ext4File.MappedRun> runs = f.fiemap();
        long per = f.blockSize() / 512;
        List<String[]> rows = new ArrayList<>();
        int lastData = -1;
        for (int i = 0; i < runs.size(); i++) {
            if (!runs.get(i).state().equals("HOLE")) {
                lastData = i;
            }
        }
        for (int i = 0; i < runs.size(); i++) {
            Ext4File.MappedRun r = runs.get(i);
            long s0 = r.logical() * per;
            long n = r.blocks() * per;
            String lbuf = "[" + s0 + ".." + (s0 + n - 1) + "]:";
            if (r.state().equals("HOLE")) {
                rows.add(new String[] {lbuf, "hole", Long.toString(n), null});
                continue;
            }
            int flags = switch (r.state()) {
                case "UNWRITTEN" -> 0x800;
                case "DELAYED" -> 0x6;
                default -> 0;
            } | (i == lastData ? 0x1 : 0);
            String bbuf = r.physical() < 0 ? "0..0" : (r.physical() * per) + ".." + (r.physical() * per + n - 1);
            rows.add(new String[] {lbuf, bbuf, Long.toString(n), String.format("0x%x", flags)});
        }
        int fw = "FILE-OFFSET".length();
        int bw = "BLOCK-RANGE".length();
        int tw = "TOTAL".length();
        for (String[] row : rows) {
            fw = Math.max(fw, row[0].length());
            bw = Math.max(bw, row[1].length());
            tw = Math.max(tw, row[2].length());
        }
        fw = Math.max(fw, 16);
        bw = Math.max(bw, 16);
        out.printf("%s:%n", path);
        out.printf("%4s: %-" + fw + "s %-" + bw + "s %" + tw + "s %5s%n", "EXT", "FILE-OFFSET", "BLOCK-RANGE", "TOTAL",
                "FLAGS");
        for (int i = 0; i < rows.size(); i++) {
            String[] row = rows.get(i);
            if (row[3] == null) {
                out.printf("%4d: %-" + fw + "s %-" + bw + "s %" + tw + "s%n", i, row[0], row[1], row[2]);
            } else {
                out.printf("%4d: %-" + fw + "s %-" + bw + "s %" + tw + "s %5s%n", i, row[0], row[1], row[2], row[3]);
            }
        }
    }

    /** xfs_io's -v dump: 16 bytes a line, offset, hex, and the printable characters. */
    private static void dump(PrintWriter out, long off, byte[] buf, int n) {
        for (int i = 0; i < n; i += 16) {
            StringBuilder hex = new StringBuilder();
            StringBuilder text = new StringBuilder();
            for (int j = i; j < Math.min(n, i + 16); j++) {
                hex.append(j > i ? " " : "").append(String.format("%02x", buf[j] & 0xFF));
                char c = (char) (buf[j] & 0xFF);
                text.append(c < 0x80 && Character.isLetterOrDigit(c) ? c : '.'); // as xfs_io: alphanumerics only
            }
            out.printf("%08x:  %s  %s%n", off + i, hex, text);
        }
    }

    private CommandLine.ParameterException usage(String msg) {
        return new CommandLine.ParameterException(spec.commandLine(), msg);
    }

    private String take(List<String> args, String cmd) {
        if (args.isEmpty()) {
            throw usage(cmd + ": missing argument");
        }
        return args.remove(0);
    }

    /** A number as strtoul reads it (decimal, 0x hex, 0 octal). */
    private long number(String s, String what) {
        try {
            return Long.decode(s);
        } catch (NumberFormatException e) {
            throw usage("non-numeric " + what + " -- " + s);
        }
    }

    /** A length or offset as xfs_io reads them: a number with an optional k, m, g or t suffix. */
    private long size(String s) {
        String t = s.toLowerCase(Locale.ROOT);
        long mult = 1;
        char last = t.charAt(t.length() - 1);
        if ("kmgt".indexOf(last) >= 0) {
            mult = 1L << (10 * ("kmgt".indexOf(last) + 1));
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Long.decode(t);
            if (v < 0) {
                throw usage("negative value " + s);
            }
            return Math.multiplyExact(v, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw usage("not a size: " + s);
        }
    }
}
