package org.ext4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.ext4j.error.FileTooLargeException;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.PathNames;
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
 * (mode 0644, owner 0:0) when it does not exist. Sizes and offsets take xfs_io's suffixes k, m, g,
 * t, p and e (binary).
 *
 * <p>Nothing is opened read-write before every argument has been checked: the commands are parsed
 * first (a malformed one is a usage error, exit 2), then the image is opened read-only to check
 * what depends on the file system (a write, truncate or fallocate past its largest file: EFBIG,
 * exit 1) and the path (missing without {@code -f}, not a regular file, or not creatable: exit 1).
 * Unlike xfs_io, which reports a failed command and goes on, the first failure ends the run.
 */
@Command(name = "io", description = "Run xfs_io-style commands on a file inside the image (read-write).")
final class IoCommand extends FsVerb {
    /** Largest piece of data held in memory at once, whatever the sizes asked for. */
    static final int MAX_BUFFER = 1 << 20;

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

    /** One parsed {@code -c} command: checked in full before the image is opened read-write. */
    private interface Op {
        /** What depends on the file system: its largest file ({@code s_maxbytes}). */
        default void checkLimits(long maxBytes) throws IOException {
        }

        void run(Ext4File f, PrintWriter out) throws IOException;
    }

    private final List<Op> ops = new ArrayList<>();

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() throws Exception {
        ops.clear();
        for (String c : commands) {
            ops.add(parse(c));
        }
        PathNames.check(path);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ImageOpener.checkImage(image, true);
        check();
        WriteOptions options = writeOptions(aggressive ? WriteOptions.aggressive() : WriteOptions.defaults());
        // the read-write open writes nothing until the first change: a command refused here, or a
        // file refused by openFile or createFile, leaves the image as it was
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, options)) {
            run(fs, out);
        }
        return 0;
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        for (Op op : ops) {
            op.checkLimits(fs.maxFileSize());
        }
        Ext4File f;
        try {
            f = fs.openFile(path);
        } catch (NotFoundException e) {
            if (!create) {
                throw e;
            }
            f = fs.createFile(path, 0600);
        }
        for (Op op : ops) {
            op.run(f, out);
            out.flush();
        }
    }

    /** Parses one {@code -c} command; anything malformed is a usage error naming it. */
    private Op parse(String command) {
        String[] argv = command.trim().split("\\s+");
        String cmd = argv[0];
        List<String> args = new ArrayList<>(Arrays.asList(argv).subList(1, argv.length));
        switch (cmd) {
            case "" -> throw usage("empty command (-c \"" + command + "\")");
            case "pwrite" -> {
                return pwrite(args);
            }
            case "pread" -> {
                boolean verbose = flag(args, "-v", cmd);
                long off = size(take(args, cmd, "offset"), cmd, "offset");
                long len = size(take(args, cmd, "length"), cmd, "length");
                noMore(args, cmd);
                if (off > Long.MAX_VALUE - len) {
                    throw usage("pread: offset " + off + " plus length " + len + " passes 2^63 - 1");
                }
                return (f, out) -> pread(f, out, off, len, verbose);
            }
            case "fsync", "fdatasync" -> {
                noMore(args, cmd);
                return (f, out) -> f.fsync();
            }
            case "truncate" -> {
                long size = size(take(args, cmd, "size"), cmd, "size");
                noMore(args, cmd);
                return new Op() {
                    @Override
                    public void checkLimits(long maxBytes) throws IOException {
                        if (size > maxBytes) {
                            throw new FileTooLargeException("truncate " + size + ": file too large", maxBytes);
                        }
                    }

                    @Override
                    public void run(Ext4File f, PrintWriter out) throws IOException {
                        f.truncate(size);
                    }
                };
            }
            case "falloc", "fzero", "fpunch" -> {
                boolean keep = !cmd.equals("fpunch") && flag(args, "-k", cmd);
                int mode = switch (cmd) {
                    case "fzero" -> Ext4File.FALLOC_ZERO_RANGE | (keep ? Ext4File.FALLOC_KEEP_SIZE : 0);
                    case "fpunch" -> Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE;
                    default -> keep ? Ext4File.FALLOC_KEEP_SIZE : 0;
                };
                long off = size(take(args, cmd, "offset"), cmd, "offset");
                long len = size(take(args, cmd, "length"), cmd, "length");
                noMore(args, cmd);
                if (len == 0) {
                    throw usage(cmd + ": length 0: fallocate needs a length of at least one byte (EINVAL)");
                }
                return new Op() {
                    @Override
                    public void checkLimits(long maxBytes) throws IOException {
                        if (off > maxBytes - len) { // vfs_fallocate: EFBIG, past 2^63 - 1 included
                            throw new FileTooLargeException(cmd + " " + off + " " + len + ": file too large", maxBytes);
                        }
                    }

                    @Override
                    public void run(Ext4File f, PrintWriter out) throws IOException {
                        f.fallocate(mode, off, len);
                    }
                };
            }
            case "stat" -> {
                noMore(args, cmd);
                return (f, out) -> {
                    out.printf("fd.path = \"%s\"%n", path);
                    out.printf("stat.ino = %d%n", f.inode());
                    out.printf("stat.size = %d%n", f.size());
                };
            }
            case "fiemap" -> {
                flag(args, "-v", cmd); // the one format printed is -v's: xfs_io's verbose table
                noMore(args, cmd);
                return this::fiemap;
            }
            case "seek" -> {
                String how = take(args, cmd, "-d or -h");
                if (!how.equals("-d") && !how.equals("-h")) {
                    throw usage("seek: -d or -h expected, not " + how);
                }
                long off = size(take(args, cmd, "offset"), cmd, "offset");
                noMore(args, cmd);
                return (f, out) -> {
                    long r = f.seek(off, how.equals("-d"));
                    out.printf("Whence\tResult%n%s\t%s%n", how.equals("-d") ? "DATA" : "HOLE",
                            r < 0 ? "EOF" : Long.toString(r));
                };
            }
            default -> throw usage("unknown command " + cmd + " (supported: pwrite, pread, truncate, falloc, fpunch,"
                    + " fzero, fiemap, seek, fsync, fdatasync, stat)");
        }
    }

    /**
     * xfs_io's {@code pread [-v] off len}, read and printed in pieces of at most {@link #MAX_BUFFER}
     * bytes, so that a length of 100g costs no more memory than one of 1m: "read N/len bytes at
     * offset off", N stopping at the end of file.
     */
    private static void pread(Ext4File f, PrintWriter out, long off, long len, boolean verbose) throws IOException {
        byte[] buf = new byte[(int) Math.max(1, Math.min(len, MAX_BUFFER))];
        long done = 0;
        while (done < len) {
            int want = (int) Math.min(buf.length, len - done);
            int n = f.pread(off + done, buf, 0, want);
            if (n <= 0) {
                break;
            }
            if (verbose) {
                dump(out, off + done, buf, n);
            }
            done += n;
            if (n < want) {
                break;
            }
        }
        out.printf("read %d/%d bytes at offset %d%n", done, len, off);
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
     * memsets its buffer with the seed's low byte). A piece larger than {@link #MAX_BUFFER} is
     * written from a buffer of that size, several times over.
     */
    private Op pwrite(List<String> args) {
        int fill = 0xcd;
        long bsize = 4096;
        boolean random = false;
        boolean quiet = false;
        boolean sync = false;
        long zeed = 0;
        while (!args.isEmpty() && args.get(0).startsWith("-") && args.get(0).length() > 1
                && !Character.isDigit(args.get(0).charAt(1))) { // "-1" is a negative number, refused as such
            String opt = args.remove(0);
            for (int i = 1; i < opt.length(); i++) {
                char o = opt.charAt(i);
                switch (o) {
                    case 'F' -> random = false;
                    case 'R' -> random = true;
                    case 'q' -> quiet = true;
                    case 'w', 'W' -> sync = true;
                    case 'S', 'b', 'Z' -> {
                        String v = i + 1 < opt.length() ? opt.substring(i + 1) : take(args, "pwrite", "-" + o + " value");
                        i = opt.length();
                        if (o == 'S') {
                            fill = (int) number(v, "pwrite", "fill byte") & 0xFF;
                        } else if (o == 'Z') {
                            zeed = number(v, "pwrite", "seed") & 0xFFFF_FFFFL; // strtoul into an unsigned int
                        } else {
                            bsize = size(v, "pwrite", "block size");
                        }
                    }
                    default -> throw usage("pwrite: unsupported option -" + o
                            + " (supported: -F -R -Z seed -S byte -b bsize -q -w -W)");
                }
            }
        }
        long off = size(take(args, "pwrite", "offset"), "pwrite", "offset");
        long len = size(take(args, "pwrite", "length"), "pwrite", "length");
        noMore(args, "pwrite");
        if (bsize < 1 || bsize > Integer.MAX_VALUE - 8) {
            throw usage("pwrite: block size must be 1.." + (Integer.MAX_VALUE - 8) + ", not " + bsize);
        }
        if (off > Long.MAX_VALUE - Math.max(len, random ? bsize : 0)) {
            throw usage("pwrite: offset " + off + " plus length " + len + " passes 2^63 - 1");
        }
        PwriteArgs a = new PwriteArgs(fill, bsize, random, quiet, sync, zeed, off, len);
        return new Op() {
            @Override
            public void checkLimits(long maxBytes) throws IOException {
                long first = a.random ? a.off - a.off % a.bsize : a.off;
                if ((a.len > 0 || a.random) && first >= maxBytes) { // generic_write_checks: EFBIG
                    throw new FileTooLargeException("pwrite at offset " + first + ": file too large", maxBytes);
                }
            }

            @Override
            public void run(Ext4File f, PrintWriter out) throws IOException {
                pwrite(f, a, out);
            }
        };
    }

    private record PwriteArgs(int fill, long bsize, boolean random, boolean quiet, boolean sync, long zeed, long off,
            long len) {
    }

    private static void pwrite(Ext4File f, PwriteArgs a, PrintWriter out) throws IOException {
        long bsize = a.bsize;
        byte[] buf = new byte[(int) Math.min(MAX_BUFFER, a.random ? bsize : Math.min(bsize, Math.max(1, a.len)))];
        Arrays.fill(buf, (byte) a.fill);
        long total = 0;
        int ops = 0;
        long t0 = System.nanoTime();
        if (a.random) {
            GlibcRandom rnd = new GlibcRandom(a.zeed != 0 ? a.zeed : System.currentTimeMillis() / 1000);
            long start = Math.max(0, a.off - a.off % bsize);
            long count = a.len + a.len % bsize; // sic: xfs_io adds the remainder rather than rounding up
            count = Math.max(bsize, count);
            long range = count - bsize;
            while (count > 0) {
                long at = range != 0 ? ((start + rnd.next() % range) / bsize) * bsize : start;
                long n = writeFill(f, at, bsize, buf);
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
            while (total < a.len) {
                long want = Math.min(bsize, a.len - total);
                long n = writeFill(f, a.off + total, want, buf);
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
        if (a.sync) {
            f.fsync();
        }
        long elapsed = System.nanoTime() - t0;
        if (!a.quiet) {
            out.printf("wrote %d/%d bytes at offset %d%n", total, a.len, a.off);
            out.println(ioTimes(total, ops, elapsed));
        }
    }

    /** One xfs_io write of {@code n} fill bytes at {@code at}, from {@code buf} as many times as it takes; a short write ends it. */
    private static long writeFill(Ext4File f, long at, long n, byte[] buf) throws IOException {
        long done = 0;
        while (done < n) {
            int want = (int) Math.min(buf.length, n - done);
            long w = f.pwrite(at + done, buf, 0, want);
            done += w;
            if (w < want) {
                break;
            }
        }
        return done;
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

    private String take(List<String> args, String cmd, String what) {
        if (args.isEmpty()) {
            throw usage(cmd + ": missing argument: " + what);
        }
        return args.remove(0);
    }

    /** Removes a leading option {@code flag} (given once or more) and says whether it was there. */
    private boolean flag(List<String> args, String flag, String cmd) {
        boolean seen = false;
        while (!args.isEmpty() && args.get(0).equals(flag)) {
            args.remove(0);
            seen = true;
        }
        if (!args.isEmpty() && args.get(0).startsWith("-") && args.get(0).length() > 1
                && !Character.isDigit(args.get(0).charAt(1))) {
            throw usage(cmd + ": unsupported option " + args.get(0) + (flag == null ? "" : " (supported: " + flag + ")"));
        }
        return seen;
    }

    private void noMore(List<String> args, String cmd) {
        if (!args.isEmpty()) {
            throw usage(cmd + ": unexpected argument " + args.get(0));
        }
    }

    /** A number as strtoul reads it (decimal, 0x hex, 0 octal). */
    private long number(String s, String cmd, String what) {
        try {
            return Long.decode(s);
        } catch (NumberFormatException e) {
            throw usage(cmd + ": non-numeric " + what + " -- " + s);
        }
    }

    /**
     * A length or offset as xfs_io's {@code cvtnum} reads them: a number (decimal, 0x hex, 0 octal)
     * with an optional binary suffix k, m, g, t, p or e. Negative values, values past 2^63 - 1 and
     * anything else are usage errors naming the command, the argument and the value.
     */
    private long size(String s, String cmd, String what) {
        String t = s.toLowerCase(Locale.ROOT);
        long mult = 1;
        int unit = t.isEmpty() ? -1 : "kmgtpe".indexOf(t.charAt(t.length() - 1));
        if (unit >= 0) {
            mult = 1L << (10 * (unit + 1));
            t = t.substring(0, t.length() - 1);
        }
        long v;
        try {
            v = Long.decode(t);
        } catch (NumberFormatException e) {
            boolean digits = t.matches("[+]?(0x[0-9a-f]+|[0-9]+)");
            throw usage(cmd + ": " + (digits ? what + " out of range" : "non-numeric " + what) + " -- " + s);
        }
        if (v < 0 || t.startsWith("-")) {
            throw usage(cmd + ": negative " + what + " -- " + s);
        }
        try {
            return Math.multiplyExact(v, mult);
        } catch (ArithmeticException e) {
            throw usage(cmd + ": " + what + " out of range (past 2^63 - 1) -- " + s);
        }
    }
}
