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
 * and meaning, on an image opened read-write. Implemented so far: {@code pwrite [-S byte] [-b bsize]
 * off len}, {@code pread [-v] off len}, {@code truncate size}, {@code falloc [-k] off len},
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
            case "pwrite" -> {
                int fill = 0xcd;
                int bsize = 65536;
                while (!args.isEmpty() && args.get(0).startsWith("-")) {
                    String opt = args.remove(0);
                    if (opt.equals("-S")) {
                        fill = (int) Long.decode(take(args, cmd)).longValue() & 0xFF;
                    } else if (opt.equals("-b")) {
                        bsize = (int) size(take(args, cmd));
                    } else {
                        throw usage(cmd + ": unknown option " + opt);
                    }
                }
                long off = size(take(args, cmd));
                long len = size(take(args, cmd));
                byte[] buf = new byte[(int) Math.min(bsize, Math.max(1, len))];
                Arrays.fill(buf, (byte) fill);
                long done = 0;
                while (done < len) {
                    int n = (int) Math.min(buf.length, len - done);
                    done += f.pwrite(off + done, buf, 0, n);
                }
                out.printf("wrote %d/%d bytes at offset %d%n", done, len, off);
            }
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
