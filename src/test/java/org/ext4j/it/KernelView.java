package org.ext4j.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.testing.Tools;

/**
 * What the kernel shows of a read-only mount: every name (as raw bytes), every inode's attributes
 * ({@code unix:*} from lstat), times with nanoseconds and block counts from coreutils' stat (statx),
 * symlink targets from find, extended attributes from getfattr, and block maps from filefrag (FIEMAP).
 *
 * <p>Times come from {@code stat -c %.9Y} rather than {@code unix:lastModifiedTime}: the JDK's
 * FileTime keeps nanoseconds only within about 292 years of 1970 and drops to microseconds beyond,
 * and ext4 stores times up to 2446.
 */
final class KernelView {
    /** A directory entry as the kernel lists it; paths are relative to the mount, bytes kept as ISO-8859-1 chars. */
    record Entry(String rel, byte[] name, Path path, long parentIno, long ino) {
    }

    /** lstat of one inode. */
    record Attrs(long ino, int mode, long uid, long gid, int nlink, long size, long rdev) {
        int type() {
            return mode & 0xF000;
        }
    }

    /** statx of one inode, exact to the nanosecond; crtime null where statx has no birth time. */
    record Stat(long ino, int nlink, long blocks512, Instant atime, Instant mtime, Instant ctime, Instant crtime) {
    }

    /** A FIEMAP extent in file-system blocks. */
    record Run(long logical, long physical, long length, boolean unwritten) {
        long logicalEnd() {
            return logical + length;
        }
    }

    /** filefrag -v of one file. */
    record Fiemap(int blockSize, List<Run> runs, boolean inline) {
    }

    final Path root;
    final long rootIno;
    final List<Entry> entries = new ArrayList<>();
    /** Entries of each directory inode, in the kernel's readdir order. */
    final Map<Long, List<Entry>> children = new LinkedHashMap<>();
    /** Parent directory inode of each directory inode. */
    final Map<Long, Long> parentOf = new HashMap<>();
    final Map<Long, Attrs> attrs = new TreeMap<>();
    final Map<Long, Stat> stats = new HashMap<>();
    final Map<Long, byte[]> linkTargets = new HashMap<>();
    /** Attributes of each inode that has any, by name; values as getfattr shows them. */
    final Map<Long, Map<String, byte[]>> xattrs = new HashMap<>();

    private KernelView(Path root, long rootIno) {
        this.root = root;
        this.rootIno = rootIno;
    }

    static KernelView snapshot(Path root) throws IOException {
        Attrs r = lstat(root);
        KernelView v = new KernelView(root, r.ino);
        v.attrs.put(r.ino, r);
        v.parentOf.put(r.ino, r.ino);
        v.walk(root, "", r.ino);
        v.readStats();
        v.readLinks();
        v.readXattrs();
        return v;
    }

    static Attrs lstat(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        return new Attrs((Long) a.get("ino"), (Integer) a.get("mode"), (Integer) a.get("uid") & 0xFFFF_FFFFL,
                (Integer) a.get("gid") & 0xFFFF_FFFFL, (Integer) a.get("nlink"), (Long) a.get("size"),
                (Long) a.get("rdev"));
    }

    private void walk(Path dir, String rel, long dirIno) throws IOException {
        List<Entry> list = new ArrayList<>();
        children.put(dirIno, list);
        List<Entry> subdirs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path child : ds) {
                byte[] name = nameBytes(child);
                Attrs a = lstat(child);
                String childRel = (rel.isEmpty() ? "" : rel + "/") + new String(name, StandardCharsets.ISO_8859_1);
                Entry e = new Entry(childRel, name, child, dirIno, a.ino);
                list.add(e);
                entries.add(e);
                attrs.put(a.ino, a);
                if (a.type() == 0x4000) {
                    subdirs.add(e);
                    parentOf.put(a.ino, dirIno);
                }
            }
        }
        for (Entry e : subdirs) {
            walk(e.path, e.rel, e.ino);
        }
    }

    /**
     * The raw bytes of a path's last name. A Path listed from a directory keeps the kernel's bytes;
     * {@link Path#toUri} percent-encodes them losslessly whatever the JVM's file name encoding.
     */
    static byte[] nameBytes(Path p) {
        String raw = p.toUri().getRawPath();
        if (raw.endsWith("/")) {
            raw = raw.substring(0, raw.length() - 1);
        }
        raw = raw.substring(raw.lastIndexOf('/') + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                out.write(Integer.parseInt(raw.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toByteArray();
    }

    private void readStats() throws IOException {
        Tools.Result r = Tools.run("find", root.toString(), "-exec", "stat", "-c", "%i|%h|%b|%.9X|%.9Y|%.9Z|%.9W|%w",
                "{}", "+").ok();
        for (String line : r.stdout().split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\|");
            long ino = Long.parseLong(f[0]);
            Instant crtime = f[7].equals("-") ? null : instant(f[6]);
            stats.put(ino, new Stat(ino, Integer.parseInt(f[1]), Long.parseLong(f[2]), instant(f[3]), instant(f[4]),
                    instant(f[5]), crtime));
        }
    }

    static Instant instant(String decimal) {
        BigDecimal d = new BigDecimal(decimal);
        BigDecimal secs = d.setScale(0, RoundingMode.FLOOR);
        int nanos = d.subtract(secs).movePointRight(9).intValueExact();
        return Instant.ofEpochSecond(secs.longValueExact(), nanos);
    }

    private void readLinks() throws IOException {
        Tools.Result r = Tools.run("find", root.toString(), "-type", "l", "-printf", "%i\\0%l\\0").ok();
        String[] f = r.stdout().split("\0", -1);
        for (int i = 0; i + 1 < f.length; i += 2) {
            linkTargets.put(Long.parseLong(f[i]), f[i + 1].getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    private void readXattrs() throws IOException {
        Map<String, Long> inoByAbsPath = new HashMap<>();
        inoByAbsPath.put(root.toString(), rootIno);
        for (Entry e : entries) {
            inoByAbsPath.put(root + "/" + e.rel, e.ino);
        }
        Tools.Result r = Tools.run("getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names",
                root.toString());
        if (r.exit() != 0) {
            throw new IOException("getfattr failed: " + r.stderr());
        }
        Map<String, byte[]> cur = null;
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("# file: ")) {
                String path = unquote(line.substring(8));
                Long ino = inoByAbsPath.get(path);
                if (ino == null) {
                    throw new IOException("getfattr names a path the walk did not see: " + path);
                }
                cur = xattrs.computeIfAbsent(ino, k -> new TreeMap<>());
            } else if (!line.isEmpty() && cur != null) {
                int eq = line.indexOf('=');
                if (eq < 0) {
                    cur.put(line, new byte[0]);
                } else {
                    String val = line.substring(eq + 1);
                    if (!val.startsWith("0x")) {
                        throw new IOException("getfattr printed a value that is not hex: " + line);
                    }
                    cur.put(line.substring(0, eq), unhex(val.substring(2)));
                }
            }
        }
    }

    /** Undoes getfattr's quoting: a backslash and three octal digits stand for one byte. */
    static String unquote(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static final Pattern FIEMAP_LINE = Pattern.compile(
            "^\\s*\\d+:\\s+(\\d+)\\.\\.\\s*(\\d+):\\s+(\\d+)\\.\\.\\s*(\\d+):\\s+(\\d+):\\s*(?:\\d+:)?\\s*(.*)$");
    private static final Pattern FIEMAP_HEAD = Pattern.compile("\\((\\d+) blocks? of (\\d+) bytes\\)");

    /** The kernel's block map of a file (filefrag -v, i.e. FIEMAP), in file-system blocks. */
    static Fiemap fiemap(Path file) throws IOException {
        Tools.Result r = Tools.run("filefrag", "-v", file.toString()).ok();
        int blockSize = -1;
        boolean inline = false;
        List<Run> runs = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            Matcher h = FIEMAP_HEAD.matcher(line);
            if (line.startsWith("File size of") && h.find()) {
                blockSize = Integer.parseInt(h.group(2));
                continue;
            }
            Matcher m = FIEMAP_LINE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            String flags = m.group(6);
            inline |= flags.contains("inline");
            long lStart = Long.parseLong(m.group(1));
            long lEnd = Long.parseLong(m.group(2));
            long pStart = Long.parseLong(m.group(3));
            long len = Long.parseLong(m.group(5));
            if (lEnd - lStart + 1 != len) {
                throw new IOException("unexpected filefrag line: " + line);
            }
            runs.add(new Run(lStart, pStart, len, flags.contains("unwritten")));
        }
        if (blockSize <= 0) {
            throw new IOException("no block size in filefrag output: " + r.stdout());
        }
        return new Fiemap(blockSize, merge(runs), inline);
    }

    /** Joins runs that continue each other logically and physically in the same state. */
    static List<Run> merge(List<Run> runs) {
        List<Run> out = new ArrayList<>();
        for (Run r : runs) {
            if (!out.isEmpty()) {
                Run last = out.get(out.size() - 1);
                if (last.logicalEnd() == r.logical && last.physical + last.length == r.physical
                        && last.unwritten == r.unwritten) {
                    out.set(out.size() - 1, new Run(last.logical, last.physical, last.length + r.length, r.unwritten));
                    continue;
                }
            }
            out.add(r);
        }
        return out;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
