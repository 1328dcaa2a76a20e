package org.ext4j.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.error.NotFoundException;
import org.ext4j.extents.BlockMap;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.inode.Inode;
import org.ext4j.inode.Xattr;

/**
 * Judges ext4j's read path against the host tree an image was packed from with {@code mkfs.ext4 -d},
 * and judges {@code ext4j get}'s output tree against the same source.
 *
 * <h2>Snapshots</h2>
 * Host metadata is taken by one {@code python3} process ({@link #snapshot}): byte-exact names
 * ({@code os.listdir} on bytes), {@code lstat}, {@code readlink}, every xattr namespace
 * ({@code llistxattr}/{@code lgetxattr}, so trusted.*, security.* and ACLs in their user-space
 * format) and the data ranges of regular files from {@code lseek(SEEK_DATA/SEEK_HOLE)}, which the JDK
 * lacks. Holes are judged with those ranges because they are what mkfs.ext4 itself uses to decide
 * what to copy, and because they are exact where allocated-block counts are not (a count says
 * nothing of where the blocks are). The snapshot must record what mkfs sees: with relatime a
 * readlink can move a symlink's atime, so for a source tree it reads first and lstats after
 * ({@code readsFirst}) - mkfs lstats before it reads - and for an extracted tree it lstats first.
 * Directories are listed with O_NOATIME and file data is never read, so neither moves.
 *
 * <h2>What mkfs.ext4 1.47.0 keeps</h2>
 * {@code populate_fs} copies names, types, contents (skipping all-zero blocks, so every source hole
 * is a hole in the image and some written zeros become holes too), mode, uid and gid (32 bits),
 * link counts, symlink targets, device numbers and all xattrs. Times: {@code set_inode_extra}
 * stores only {@code st_atime} and {@code st_mtime} seconds, truncated to 32 bits with zero extra
 * (epoch) bits, so nanoseconds are dropped and a time past 2038-01-19 comes back 2^32 s earlier;
 * ctime and crtime are the time of the mkfs run. The root directory gets none of the source
 * root's metadata. The comparisons below expect exactly that and compare nothing else.
 *
 * <h2>Ground truth for the block map</h2>
 * ext4j's {@code Inode.map} over every block of each file, directory and slow symlink is compared
 * with the mapping {@code debugfs stat} prints (extents or indirect blocks), together with flags,
 * i_blocks and generation.
 */
public final class TreeComparator {
    /** Files up to this size are compared byte for byte over their whole length. */
    static final long FULL_COMPARE_LIMIT = 64L << 20;

    private TreeComparator() {
    }

    /**
     * One host object.
     *
     * @param path   bytes of the path from the tree's root, starting with "/" ("" for the root)
     * @param type   f, d, l, p, c, b or s
     * @param data   [start, end) byte ranges that hold data (regular files)
     * @param xattrs name to value
     */
    public record Entry(byte[] path, char type, int mode, long uid, long gid, long nlink, long size,
            long atimeNs, long mtimeNs, long ino, int major, int minor, long blocks512, byte[] target,
            List<long[]> data, Map<String, byte[]> xattrs) {

        public String key() {
            return new String(path, StandardCharsets.ISO_8859_1);
        }

        public String shown() {
            return new String(path, StandardCharsets.UTF_8).replace("\n", "\\n");
        }
    }

    /**
     * A host tree's entries by path (keys are the path bytes as ISO-8859-1, sorted bytewise), and
     * each directory's child names.
     */
    public record Snapshot(Path root, int hostBlockSize, Map<String, Entry> entries,
            Map<String, List<byte[]>> childIndex) {
        static Snapshot of(Path root, int hostBlockSize, Map<String, Entry> entries) {
            Map<String, List<byte[]>> index = new HashMap<>();
            for (String k : entries.keySet()) {
                if (!k.isEmpty()) {
                    int slash = k.lastIndexOf('/');
                    index.computeIfAbsent(k.substring(0, slash), x -> new ArrayList<>())
                            .add(k.substring(slash + 1).getBytes(StandardCharsets.ISO_8859_1));
                }
            }
            index.values().forEach(l -> l.sort(Arrays::compareUnsigned));
            return new Snapshot(root, hostBlockSize, entries, index);
        }

        public Path hostPath(Entry e) {
            if (e.path().length == 0) {
                return root;
            }
            return root.resolve(new String(e.path(), 1, e.path().length - 1, StandardCharsets.UTF_8));
        }

        /** Children of a directory, by name, sorted bytewise (a fresh list). */
        public List<byte[]> children(String dirKey) {
            return new ArrayList<>(childIndex.getOrDefault(dirKey, List.of()));
        }

        int childCount(String dirKey) {
            return childIndex.getOrDefault(dirKey, List.of()).size();
        }
    }

    /** Problems found, each naming the path and what differs; asserted empty at the end. */
    public static final class Report {
        private final String what;
        private final List<String> problems = new ArrayList<>();
        private int checks;

        public Report(String what) {
            this.what = what;
        }

        void check(boolean ok, Entry e, String message) {
            checks++;
            if (!ok) {
                add(e.shown() + ": " + message);
            }
        }

        void eq(Object expected, Object actual, Entry e, String field) {
            check(java.util.Objects.equals(expected, actual), e, field + ": expected " + expected + ", got " + actual);
        }

        public void add(String problem) {
            problems.add(problem);
        }

        public List<String> problems() {
            return problems;
        }

        public int checks() {
            return checks;
        }

        public void assertClean() {
            if (!problems.isEmpty()) {
                StringBuilder s = new StringBuilder(what + ": " + problems.size() + " problem(s) in " + checks + " checks:");
                problems.stream().limit(60).forEach(p -> s.append("\n  ").append(p));
                if (problems.size() > 60) {
                    s.append("\n  ...");
                }
                throw new AssertionError(s.toString());
            }
        }
    }

    // ---- snapshots ------------------------------------------------------------------------

    private static final String SNAPSHOT = """
            import os, sys, stat, errno
            root = os.fsencode(sys.argv[1])
            reads_first = sys.argv[2] == 'reads-first'
            out = sys.stdout.buffer
            out.write(b'%d\\n' % os.statvfs(root).f_frsize)
            def data_ranges(p, size):
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOATIME)
                try:
                    r, pos = [], 0
                    while pos < size:
                        try:
                            d = os.lseek(fd, pos, os.SEEK_DATA)
                        except OSError as e:
                            if e.errno == errno.ENXIO:
                                break
                            raise
                        h = os.lseek(fd, d, os.SEEK_HOLE)
                        r.append(b'%d-%d' % (d, h))
                        pos = h
                    return b','.join(r) or b'-'
                finally:
                    os.close(fd)
            def xattrs(p):
                r = []
                for n in sorted(os.listxattr(p, follow_symlinks=False)):
                    v = os.getxattr(p, n, follow_symlinks=False)
                    r.append(os.fsencode(n).hex().encode() + b'=' + v.hex().encode())
                return b','.join(r) or b'-'
            def kind(m):
                for t, c in ((stat.S_ISREG, b'f'), (stat.S_ISDIR, b'd'), (stat.S_ISLNK, b'l'), (stat.S_ISFIFO, b'p'),
                             (stat.S_ISCHR, b'c'), (stat.S_ISBLK, b'b'), (stat.S_ISSOCK, b's')):
                    if t(m):
                        return c
                return b'?'
            def visit(rel):
                p = root + rel
                st = os.lstat(p)
                target = b'-'
                names = []
                if stat.S_ISLNK(st.st_mode):
                    t = os.readlink(p)
                    target = t.hex().encode() if t else b'-'
                    if reads_first:
                        st = os.lstat(p)
                elif stat.S_ISDIR(st.st_mode):
                    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOATIME)
                    try:
                        names = sorted(os.fsencode(n) for n in os.listdir(fd))
                    finally:
                        os.close(fd)
                    if reads_first:
                        st = os.lstat(p)
                ranges = data_ranges(p, st.st_size) if stat.S_ISREG(st.st_mode) else b'-'
                dev = st.st_rdev
                fields = [rel.hex().encode() or b'-', kind(st.st_mode), b'%d' % stat.S_IMODE(st.st_mode),
                          b'%d' % st.st_uid, b'%d' % st.st_gid, b'%d' % st.st_nlink, b'%d' % st.st_size,
                          b'%d' % st.st_atime_ns, b'%d' % st.st_mtime_ns, b'%d' % st.st_ino,
                          b'%d' % os.major(dev), b'%d' % os.minor(dev), b'%d' % st.st_blocks, target,
                          ranges, xattrs(p)]
                out.write(b' '.join(fields) + b'\\n')
                for n in names:
                    visit(rel + b'/' + n)
            visit(b'')
            """;

    /**
     * Takes a snapshot of the tree under {@code root}; {@code readsFirst} for a source tree about to
     * be packed (see the class comment), false for a tree ext4j wrote.
     */
    public static Snapshot snapshot(Path root, boolean readsFirst) throws IOException {
        Tools.requireTools("python3");
        Path out = Files.createTempFile("ext4j-snapshot", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder("python3", "-c", SNAPSHOT, root.toString(),
                    readsFirst ? "reads-first" : "lstat-first").redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            Process p = pb.start();
            p.getOutputStream().close();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IOException("snapshot of " + root + " failed: " + err);
            }
            List<String> lines = Files.readAllLines(out, StandardCharsets.US_ASCII);
            int hbs = Integer.parseInt(lines.get(0).trim());
            Map<String, Entry> entries = new TreeMap<>(TreeComparator::compareLatin1);
            for (String line : lines.subList(1, lines.size())) {
                Entry e = parse(line);
                entries.put(e.key(), e);
            }
            return Snapshot.of(root, hbs, entries);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static int compareLatin1(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.ISO_8859_1), b.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Entry parse(String line) {
        String[] f = line.split(" ");
        HexFormat hex = HexFormat.of();
        byte[] path = f[0].equals("-") ? new byte[0] : hex.parseHex(f[0]);
        byte[] target = f[13].equals("-") ? null : hex.parseHex(f[13]);
        List<long[]> data = new ArrayList<>();
        if (!f[14].equals("-")) {
            for (String r : f[14].split(",")) {
                String[] se = r.split("-");
                data.add(new long[] {Long.parseLong(se[0]), Long.parseLong(se[1])});
            }
        }
        Map<String, byte[]> xattrs = new TreeMap<>();
        if (!f[15].equals("-")) {
            for (String x : f[15].split(",")) {
                String[] nv = x.split("=", -1);
                xattrs.put(new String(hex.parseHex(nv[0]), StandardCharsets.UTF_8), hex.parseHex(nv[1]));
            }
        }
        return new Entry(path, f[1].charAt(0), Integer.parseInt(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                Long.parseLong(f[5]), Long.parseLong(f[6]), Long.parseLong(f[7]), Long.parseLong(f[8]),
                Long.parseLong(f[9]), Integer.parseInt(f[10]), Integer.parseInt(f[11]), Long.parseLong(f[12]),
                target, data, xattrs);
    }

    // ---- what mkfs stores ---------------------------------------------------------------------

    /** A source time as mkfs.ext4 1.47.0 stores it: 32-bit seconds, no nanoseconds, no epoch bits. */
    public static Instant storedByMkfs(long ns) {
        long sec = Math.floorDiv(ns, 1_000_000_000L);
        return Instant.ofEpochSecond((int) sec);
    }

    static char typeOf(FileStat st) {
        if (st.isRegularFile()) {
            return 'f';
        } else if (st.isDirectory()) {
            return 'd';
        } else if (st.isSymlink()) {
            return 'l';
        } else if (st.isFifo()) {
            return 'p';
        } else if (st.isCharDevice()) {
            return 'c';
        } else if (st.isBlockDevice()) {
            return 'b';
        } else if (st.isSocket()) {
            return 's';
        }
        return '?';
    }

    static int direntType(char t) {
        return switch (t) {
            case 'f' -> DirEntry.FT_REG_FILE;
            case 'd' -> DirEntry.FT_DIR;
            case 'l' -> DirEntry.FT_SYMLINK;
            case 'p' -> DirEntry.FT_FIFO;
            case 'c' -> DirEntry.FT_CHRDEV;
            case 'b' -> DirEntry.FT_BLKDEV;
            case 's' -> DirEntry.FT_SOCK;
            default -> DirEntry.FT_UNKNOWN;
        };
    }

    // ---- the image through the library API ------------------------------------------------

    /** A run of blocks in one state; {@code physical} is -1 for holes. */
    public record Run(long logical, long length, long physical, boolean unwritten) {
        boolean joins(Run next) {
            return logical + length == next.logical && unwritten == next.unwritten
                    && (physical < 0 ? next.physical < 0 : physical + length == next.physical);
        }

        Run join(Run next) {
            return new Run(logical, length + next.length, physical, unwritten);
        }

        @Override
        public String toString() {
            return "(" + logical + (length > 1 ? "-" + (logical + length - 1) : "") + (unwritten ? "[u]" : "") + "):"
                    + physical + (length > 1 ? "-" + (physical + length - 1) : "");
        }
    }

    /** What {@code debugfs stat} says of one inode. */
    public record DebugfsInode(long flags, long blockcount, long generation, List<Run> mapped, boolean inline) {
    }

    /**
     * Compares every source entry with the image through {@link Ext4FileSystem}: each directory's
     * listing, then each entry found there (stat, xattrs, contents, holes, symlink target, device
     * number), lookups by path, hard-link identity, and the block maps against debugfs. The image's
     * lost+found, which mkfs adds, is ignored unless the source has one.
     */
    public static void compareImage(Snapshot src, Ext4FileSystem fs, Path image, Report r) throws IOException {
        int bs = fs.superblock().blockSize;
        Map<Long, List<Entry>> bySourceIno = new HashMap<>();
        Map<String, Long> imageIno = new HashMap<>();
        Set<Long> needMaps = new java.util.LinkedHashSet<>();
        Map<String, Long> direntInodes = new HashMap<>();
        for (Entry e : src.entries().values()) {
            // entries come parents first: an entry's inode is what its directory's readdir said
            // (every directory's listing was checked when the directory was visited)
            long ino;
            if (e.path().length == 0) {
                ino = Ext4FileSystem.ROOT_INO;
            } else if (direntInodes.containsKey(e.key())) {
                ino = direntInodes.get(e.key());
            } else {
                continue; // its directory was missing or did not list it: reported there
            }
            // and path lookup agrees; in the 10,000-entry directory, where each linear lookup reads
            // the whole directory, for a sample (every name is looked up by the tests of that directory)
            int siblings = src.childCount(parentKey(e.key()));
            if (siblings < 1000 || (e.key().hashCode() & 63) == 0) {
                try {
                    long looked = fs.resolve(e.path().length == 0 ? new byte[] {'/'} : e.path(), false);
                    r.check(looked == ino, e, "lookup says inode " + looked + ", readdir says " + ino);
                } catch (NotFoundException ex) {
                    r.add(e.shown() + ": readdir lists it but lookup does not find it: " + ex.getMessage());
                }
            }
            imageIno.put(e.key(), ino);
            bySourceIno.computeIfAbsent(e.ino(), k -> new ArrayList<>()).add(e);
            FileStat st = fs.stat(ino);
            Inode inode = fs.inode(ino);
            r.eq(e.type(), typeOf(st), e, "type");
            if (e.type() == 'd') {
                compareDirectory(src, fs, e, ino, direntInodes, r);
            }
            if (e.path().length == 0) {
                continue; // mkfs.ext4 1.47.0 gives the root none of the source root's metadata
            }
            compareMetadata(e, st, r);
            r.eq(xattrString(e.xattrs()), xattrString(inode.xattrs()), e, "xattrs");
            switch (e.type()) {
                case 'f' -> {
                    compareContent(e, src.hostPath(e), inode, r);
                    compareSourceHoles(e, inode, bs, r);
                }
                case 'l' -> r.check(Arrays.equals(e.target(), inode.readlinkBytes()), e, "symlink target: expected "
                        + shownBytes(e.target()) + ", got " + shownBytes(inode.readlinkBytes()));
                case 'c', 'b' -> {
                    r.eq(e.major(), st.rdevMajor(), e, "device major");
                    r.eq(e.minor(), st.rdevMinor(), e, "device minor");
                }
                default -> {
                }
            }
            if (e.type() == 'd' || e.size() > 0 && (e.type() == 'f' || e.type() == 'l')) {
                needMaps.add(ino);
            }
        }
        // hard links: names sharing a source inode share an image inode, and only they do
        Map<Long, Long> imageToSource = new HashMap<>();
        for (Map.Entry<Long, List<Entry>> g : bySourceIno.entrySet()) {
            Set<Long> inos = new TreeSet<>();
            for (Entry e : g.getValue()) {
                inos.add(imageIno.get(e.key()));
            }
            Entry first = g.getValue().get(0);
            r.check(inos.size() == 1, first, "names of one source inode map to image inodes " + inos);
            for (long ino : inos) {
                Long prev = imageToSource.put(ino, g.getKey());
                r.check(prev == null || prev.equals(g.getKey()), first,
                        "image inode " + ino + " also holds an unrelated source inode");
            }
        }
        compareBlockMaps(fs, image, needMaps, src, imageIno, r);
    }

    private static void compareMetadata(Entry e, FileStat st, Report r) {
        r.eq(String.format("0%o", e.mode() & 07777), String.format("0%o", st.permissions()), e, "permissions");
        r.eq(e.uid(), st.uid(), e, "uid");
        r.eq(e.gid(), st.gid(), e, "gid");
        r.eq(e.nlink(), (long) st.linkCount(), e, "link count");
        if (e.type() == 'f' || e.type() == 'l') {
            r.eq(e.size(), st.size(), e, "size");
        }
        r.eq(storedByMkfs(e.mtimeNs()), st.mtime(), e, "mtime");
        r.eq(storedByMkfs(e.atimeNs()), st.atime(), e, "atime");
    }

    private static void compareDirectory(Snapshot src, Ext4FileSystem fs, Entry e, long ino,
            Map<String, Long> direntInodes, Report r) throws IOException {
        List<DirEntry> entries = fs.readdir(ino);
        Set<String> names = new TreeSet<>(TreeComparator::compareLatin1);
        long dot = -1;
        long dotdot = -1;
        boolean root = e.path().length == 0;
        for (DirEntry d : entries) {
            String n = new String(d.name(), StandardCharsets.ISO_8859_1);
            if (d.isDot()) {
                dot = d.inode();
            } else if (d.isDotDot()) {
                dotdot = d.inode();
            } else if (!(root && n.equals("lost+found") && !src.entries().containsKey("/lost+found"))) {
                r.check(names.add(n), e, "name listed twice: " + shownBytes(d.name()));
                String childKey = e.key() + "/" + n;
                Entry child = src.entries().get(childKey);
                if (child != null && fs.superblock().hasIncompat(org.ext4j.format.Features.INCOMPAT_FILETYPE)) {
                    r.check(d.fileType() == direntType(child.type()), child,
                            "directory entry file type " + d.fileType() + " for a '" + child.type() + "'");
                }
                if (child != null) {
                    direntInodes.put(childKey, d.inode());
                }
            }
        }
        r.eq(ino, dot, e, "'.' entry");
        long parent = root ? ino : fs.resolve(parentPath(e.path()), false);
        r.eq(parent, dotdot, e, "'..' entry");
        Set<String> expected = new TreeSet<>(TreeComparator::compareLatin1);
        for (byte[] c : src.children(e.key())) {
            expected.add(new String(c, StandardCharsets.ISO_8859_1));
        }
        if (!expected.equals(names)) {
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(names);
            Set<String> extra = new TreeSet<>(names);
            extra.removeAll(expected);
            r.add(e.shown() + ": readdir differs: missing " + shownNames(missing) + ", unexpected " + shownNames(extra));
        }
    }

    private static String parentKey(String key) {
        int i = key.lastIndexOf('/');
        return i <= 0 ? "" : key.substring(0, i);
    }

    private static byte[] parentPath(byte[] path) {
        int i = path.length - 1;
        while (i > 0 && path[i] != '/') {
            i--;
        }
        return i == 0 ? new byte[] {'/'} : Arrays.copyOf(path, i);
    }

    /** Contents, byte for byte: whole files up to 64 MiB, else every source data range plus probes of the holes. */
    private static void compareContent(Entry e, Path host, Inode inode, Report r) throws IOException {
        List<long[]> ranges = new ArrayList<>();
        if (e.size() <= FULL_COMPARE_LIMIT) {
            ranges.add(new long[] {0, e.size()});
        } else {
            ranges.addAll(e.data());
            long prev = 0;
            for (long[] d : e.data()) {
                probeZeros(e, inode, prev, d[0], r);
                prev = d[1];
            }
            probeZeros(e, inode, prev, e.size(), r);
        }
        try (RandomAccessFile raf = new RandomAccessFile(host.toFile(), "r")) {
            byte[] a = new byte[1 << 20];
            byte[] b = new byte[1 << 20];
            for (long[] range : ranges) {
                long pos = range[0];
                long end = Math.min(range[1], e.size());
                while (pos < end) {
                    int n = (int) Math.min(a.length, end - pos);
                    raf.seek(pos);
                    raf.readFully(a, 0, n);
                    int got = inode.read(pos, b, 0, n);
                    if (got != n) {
                        r.add(e.shown() + ": read at " + pos + " returned " + got + " of " + n + " bytes");
                        return;
                    }
                    int mismatch = Arrays.mismatch(a, 0, n, b, 0, n);
                    if (mismatch >= 0) {
                        r.add(e.shown() + ": contents differ at byte " + (pos + mismatch) + ": expected 0x"
                                + Integer.toHexString(a[mismatch] & 0xff) + ", got 0x" + Integer.toHexString(b[mismatch] & 0xff));
                        return;
                    }
                    pos += n;
                }
            }
            r.checks++;
        }
        byte[] tail = new byte[16];
        r.eq(-1, inode.read(e.size(), tail, 0, tail.length), e, "read at end of file");
    }

    private static void probeZeros(Entry e, Inode inode, long from, long to, Report r) throws IOException {
        if (to <= from) {
            return;
        }
        byte[] buf = new byte[8192];
        for (long at : new long[] {from, from + (to - from) / 2, Math.max(from, to - buf.length)}) {
            int n = (int) Math.min(buf.length, to - at);
            inode.read(at, buf, 0, n);
            for (int i = 0; i < n; i++) {
                if (buf[i] != 0) {
                    r.add(e.shown() + ": hole at " + (at + i) + " reads as non-zero");
                    return;
                }
            }
        }
    }

    /** Every image block that ext4j says is written must hold source data (mkfs copies only SEEK_DATA ranges). */
    private static void compareSourceHoles(Entry e, Inode inode, int bs, Report r) throws IOException {
        for (Run run : mapRuns(inode, bs)) {
            if (run.physical() < 0) {
                continue;
            }
            for (long b = run.logical(); b < run.logical() + run.length(); b++) {
                long s = b * bs;
                long t = Math.min(s + bs, e.size());
                if (!intersects(e.data(), s, t)) {
                    r.add(e.shown() + ": image block " + b + " is mapped (" + run + ") but the source has a hole at ["
                            + s + ", " + t + ")");
                    return;
                }
            }
        }
        r.checks++;
    }

    private static boolean intersects(List<long[]> ranges, long s, long t) {
        for (long[] d : ranges) {
            if (d[0] < t && s < d[1]) {
                return true;
            }
        }
        return false;
    }

    /** ext4j's mapping of a file's blocks, holes left out, adjacent runs merged. */
    public static List<Run> mapRuns(Inode inode, int bs) throws IOException {
        List<Run> out = new ArrayList<>();
        if (inode.isInline()) {
            return out;
        }
        long blocks = (inode.size() + bs - 1) / bs;
        long lblk = 0;
        while (lblk < blocks) {
            BlockMap.Mapping m = inode.map(lblk, blocks - lblk);
            if (m.length() <= 0 || m.logical() != lblk) {
                throw new AssertionError("inode " + inode.number() + ": map(" + lblk + ") returned " + m);
            }
            long len = Math.min(m.length(), blocks - lblk);
            if (m.state() != BlockMap.State.HOLE) {
                add(out, new Run(lblk, len, m.physical(), m.state() == BlockMap.State.UNWRITTEN));
            }
            lblk += len;
        }
        return out;
    }

    private static void add(List<Run> runs, Run r) {
        if (!runs.isEmpty() && runs.get(runs.size() - 1).joins(r)) {
            runs.set(runs.size() - 1, runs.get(runs.size() - 1).join(r));
        } else {
            runs.add(r);
        }
    }

    private static void compareBlockMaps(Ext4FileSystem fs, Path image, Collection<Long> inos, Snapshot src,
            Map<String, Long> imageIno, Report r) throws IOException {
        Map<Long, DebugfsInode> truth = debugfsStat(image, inos);
        Map<Long, Entry> byIno = new HashMap<>();
        for (Entry e : src.entries().values()) {
            Long ino = imageIno.get(e.key());
            if (ino != null) {
                byIno.putIfAbsent(ino, e);
            }
        }
        int bs = fs.superblock().blockSize;
        for (long ino : inos) {
            Entry e = byIno.get(ino);
            DebugfsInode d = truth.get(ino);
            if (d == null) {
                r.add(e.shown() + ": debugfs printed nothing for inode " + ino);
                continue;
            }
            Inode inode = fs.inode(ino);
            FileStat st = fs.stat(ino);
            r.eq("0x" + Long.toHexString(d.flags()), "0x" + Long.toHexString(st.flags()), e, "inode flags (debugfs)");
            // stat's st_blocks is i_blocks, plus, for inline regular files, their bytes as sectors
            // (ext4_file_getattr, so that tar and rsync do not take them for sparse files)
            long sectors = d.blockcount() + (d.inline() && e.type() == 'f' ? (st.size() + 511) >> 9 : 0);
            r.eq(sectors, st.blocks512(), e, "st_blocks (debugfs Blockcount" + (d.inline() ? " + inline sectors)" : ")"));
            r.eq(d.generation(), st.generation(), e, "generation (debugfs)");
            r.eq(d.inline(), inode.isInline(), e, "inline data (debugfs)");
            boolean fastSymlink = e.type() == 'l' && d.mapped().isEmpty() && !d.inline();
            if (fastSymlink || d.inline()) {
                continue;
            }
            long blocks = (st.size() + bs - 1) / bs;
            List<Run> expected = new ArrayList<>();
            for (Run run : d.mapped()) {
                if (run.logical() < blocks) {
                    add(expected, new Run(run.logical(), Math.min(run.length(), blocks - run.logical()),
                            run.physical(), run.unwritten()));
                }
            }
            List<Run> actual = mapRuns(inode, bs);
            if (!expected.equals(actual)) {
                r.add(e.shown() + ": block map (inode " + ino + ") differs from debugfs:\n      debugfs " + clip(expected)
                        + "\n      ext4j   " + clip(actual));
            } else {
                r.checks++;
            }
        }
    }

    private static String clip(List<Run> runs) {
        String s = runs.toString();
        return s.length() > 600 ? s.substring(0, 600) + "... (" + runs.size() + " runs)" : s;
    }

    private static final Pattern RUN = Pattern.compile("\\((\\d+)(?:-(\\d+))?(\\[u\\])?\\):(\\d+)(?:-(\\d+))?");
    private static final Pattern FLAGS = Pattern.compile("Flags: 0x([0-9a-f]+)");
    private static final Pattern BLOCKCOUNT = Pattern.compile("Blockcount: (\\d+)");
    private static final Pattern GENERATION = Pattern.compile("Generation: (\\d+)");

    /** {@code debugfs stat <ino>} for every inode, in one debugfs run. */
    public static Map<Long, DebugfsInode> debugfsStat(Path image, Collection<Long> inos) throws IOException {
        Tools.requireTools("debugfs");
        Path cmds = Files.createTempFile("ext4j-debugfs", ".cmd");
        try {
            StringBuilder s = new StringBuilder();
            for (long ino : inos) {
                s.append("stat <").append(ino).append(">\n");
            }
            Files.writeString(cmds, s.toString());
            Tools.Result res = Tools.run("debugfs", "-f", cmds.toString(), image.toString());
            Map<Long, DebugfsInode> out = new HashMap<>();
            String[] blocks = res.stdout().split("(?m)^debugfs: ");
            for (String b : blocks) {
                Matcher head = Pattern.compile("^stat <(\\d+)>").matcher(b);
                if (!head.find()) {
                    continue;
                }
                long ino = Long.parseLong(head.group(1));
                long flags = find(FLAGS, b, 16);
                long count = find(BLOCKCOUNT, b, 10);
                long gen = find(GENERATION, b, 10);
                boolean inline = (flags & 0x10000000L) != 0; // EXT4_INLINE_DATA_FL
                List<Run> runs = new ArrayList<>();
                int at = Math.max(b.indexOf("\nEXTENTS:"), b.indexOf("\nBLOCKS:"));
                if (at >= 0) {
                    Matcher m = RUN.matcher(b.substring(at));
                    while (m.find()) {
                        long l0 = Long.parseLong(m.group(1));
                        long l1 = m.group(2) == null ? l0 : Long.parseLong(m.group(2));
                        long p0 = Long.parseLong(m.group(4));
                        add(runs, new Run(l0, l1 - l0 + 1, p0, m.group(3) != null));
                    }
                }
                out.put(ino, new DebugfsInode(flags, count, gen, runs, inline));
            }
            return out;
        } finally {
            Files.deleteIfExists(cmds);
        }
    }

    private static long find(Pattern p, String s, int radix) {
        Matcher m = p.matcher(s);
        return m.find() ? Long.parseLong(m.group(1), radix) : -1;
    }

    // ---- the tree written by `ext4j get` ------------------------------------------------------

    /**
     * Compares the tree {@code ext4j get IMAGE / DEST} wrote with the source: names, types, contents,
     * holes (the output's data blocks are exactly the image's written blocks rounded out to the host's
     * block size), permissions, owners, times (as the image holds them), symlinks, device numbers,
     * xattrs and hard links.
     */
    public static void compareExtracted(Snapshot src, Snapshot out, Ext4FileSystem fs, Report r) throws IOException {
        int bs = fs.superblock().blockSize;
        Set<String> expectedKeys = new TreeSet<>(TreeComparator::compareLatin1);
        expectedKeys.addAll(src.entries().keySet());
        Set<String> actualKeys = new TreeSet<>(TreeComparator::compareLatin1);
        actualKeys.addAll(out.entries().keySet());
        if (!src.entries().containsKey("/lost+found")) {
            actualKeys.remove("/lost+found");
        }
        if (!expectedKeys.equals(actualKeys)) {
            Set<String> missing = new TreeSet<>(expectedKeys);
            missing.removeAll(actualKeys);
            Set<String> extra = new TreeSet<>(actualKeys);
            extra.removeAll(expectedKeys);
            r.add("extracted tree differs in names: missing " + shownNames(missing) + ", unexpected " + shownNames(extra));
        }
        Map<String, Long> imageIno = imageInodes(fs);
        Map<Long, Set<Long>> srcToOut = new HashMap<>();
        Map<Long, Set<Long>> outToSrc = new HashMap<>();
        for (Entry e : src.entries().values()) {
            Entry o = out.entries().get(e.key());
            if (o == null || e.path().length == 0) {
                continue;
            }
            srcToOut.computeIfAbsent(e.ino(), k -> new TreeSet<>()).add(o.ino());
            outToSrc.computeIfAbsent(o.ino(), k -> new TreeSet<>()).add(e.ino());
            r.eq(e.type(), o.type(), e, "extracted type");
            r.eq(String.format("0%o", e.mode()), String.format("0%o", o.mode()), e, "extracted permissions");
            r.eq(e.uid(), o.uid(), e, "extracted uid");
            r.eq(e.gid(), o.gid(), e, "extracted gid");
            r.eq(e.nlink(), o.nlink(), e, "extracted link count");
            if (e.type() != 'd') {
                r.eq(e.size(), o.size(), e, "extracted size");
            }
            r.eq(storedByMkfs(e.mtimeNs()), Instant.ofEpochSecond(0, o.mtimeNs()), e, "extracted mtime");
            r.eq(storedByMkfs(e.atimeNs()), Instant.ofEpochSecond(0, o.atimeNs()), e, "extracted atime");
            r.eq(xattrString(e.xattrs()), xattrString(o.xattrs()), e, "extracted xattrs");
            if (e.type() == 'l') {
                r.check(Arrays.equals(e.target(), o.target()), e, "extracted symlink target: "
                        + shownBytes(o.target()));
            }
            if (e.type() == 'c' || e.type() == 'b') {
                r.eq(e.major() + ":" + e.minor(), o.major() + ":" + o.minor(), e, "extracted device number");
            }
            if (e.type() == 'f' && o.type() == 'f') {
                compareHostFiles(e, src.hostPath(e), o, out.hostPath(o), r);
                Long ino = imageIno.get(e.key());
                if (ino == null) {
                    r.add(e.shown() + ": not listed in the image");
                    continue;
                }
                Inode inode = fs.inode(ino);
                List<long[]> expected = hostBlocks(imageWritten(inode, bs), out.hostBlockSize());
                List<long[]> actual = hostBlocks(o.data(), out.hostBlockSize());
                r.check(rangesEqual(expected, actual), e, "extracted file's data blocks (host " + out.hostBlockSize()
                        + "-byte blocks) " + ranges(actual) + " are not the image's written blocks " + ranges(expected));
            }
        }
        for (Map.Entry<Long, Set<Long>> m : srcToOut.entrySet()) {
            if (m.getValue().size() != 1) {
                r.add("names of source inode " + m.getKey() + " were extracted as separate inodes " + m.getValue());
            }
        }
        for (Map.Entry<Long, Set<Long>> m : outToSrc.entrySet()) {
            if (m.getValue().size() != 1) {
                r.add("extracted inode " + m.getKey() + " joins unrelated source inodes " + m.getValue());
            }
        }
    }

    /** Every path in the image (keys as in a snapshot) and its inode, by walking readdir from the root. */
    static Map<String, Long> imageInodes(Ext4FileSystem fs) throws IOException {
        Map<String, Long> out = new HashMap<>();
        java.util.ArrayDeque<Map.Entry<String, Long>> todo = new java.util.ArrayDeque<>();
        todo.add(Map.entry("", Ext4FileSystem.ROOT_INO));
        out.put("", Ext4FileSystem.ROOT_INO);
        while (!todo.isEmpty()) {
            Map.Entry<String, Long> dir = todo.poll();
            for (DirEntry d : fs.readdir(dir.getValue())) {
                if (d.isDot() || d.isDotDot()) {
                    continue;
                }
                String key = dir.getKey() + "/" + new String(d.name(), StandardCharsets.ISO_8859_1);
                out.put(key, d.inode());
                if (d.fileType() == DirEntry.FT_DIR || d.fileType() == DirEntry.FT_UNKNOWN && fs.stat(d.inode()).isDirectory()) {
                    todo.add(Map.entry(key, d.inode()));
                }
            }
        }
        return out;
    }

    private static List<long[]> imageWritten(Inode inode, int bs) throws IOException {
        List<long[]> out = new ArrayList<>();
        if (inode.isInline()) {
            if (inode.size() > 0) {
                out.add(new long[] {0, inode.size()});
            }
            return out;
        }
        for (Run run : mapRuns(inode, bs)) {
            if (!run.unwritten()) {
                out.add(new long[] {run.logical() * bs, Math.min(inode.size(), (run.logical() + run.length()) * bs)});
            }
        }
        return out;
    }

    /** Byte ranges as merged [first, end) host block ranges. */
    private static List<long[]> hostBlocks(List<long[]> byteRanges, int hbs) {
        List<long[]> out = new ArrayList<>();
        for (long[] r : byteRanges) {
            long s = r[0] / hbs;
            long t = (r[1] + hbs - 1) / hbs;
            if (t <= s) {
                continue;
            }
            if (!out.isEmpty() && out.get(out.size() - 1)[1] >= s) {
                out.get(out.size() - 1)[1] = Math.max(out.get(out.size() - 1)[1], t);
            } else {
                out.add(new long[] {s, t});
            }
        }
        return out;
    }

    private static boolean rangesEqual(List<long[]> a, List<long[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    private static String ranges(List<long[]> rs) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < rs.size() && i < 20; i++) {
            s.append(i > 0 ? " " : "").append(rs.get(i)[0]).append('-').append(rs.get(i)[1]);
        }
        return s.append(rs.size() > 20 ? " ...]" : "]").toString();
    }

    private static void compareHostFiles(Entry e, Path a, Entry o, Path b, Report r) throws IOException {
        List<long[]> ranges = new ArrayList<>();
        if (e.size() <= FULL_COMPARE_LIMIT) {
            ranges.add(new long[] {0, e.size()});
        } else {
            ranges.addAll(e.data());
            ranges.addAll(o.data());
        }
        try (RandomAccessFile fa = new RandomAccessFile(a.toFile(), "r");
                RandomAccessFile fb = new RandomAccessFile(b.toFile(), "r")) {
            byte[] x = new byte[1 << 20];
            byte[] y = new byte[1 << 20];
            for (long[] range : ranges) {
                long pos = range[0];
                long end = Math.min(range[1], Math.min(e.size(), o.size()));
                while (pos < end) {
                    int n = (int) Math.min(x.length, end - pos);
                    fa.seek(pos);
                    fa.readFully(x, 0, n);
                    fb.seek(pos);
                    fb.readFully(y, 0, n);
                    int mm = Arrays.mismatch(x, 0, n, y, 0, n);
                    if (mm >= 0) {
                        r.add(e.shown() + ": extracted contents differ at byte " + (pos + mm));
                        return;
                    }
                    pos += n;
                }
            }
            r.checks++;
        }
    }

    // ---- ls -R --------------------------------------------------------------------------------

    /**
     * What {@code ext4j ls -R IMAGE /} must print for an image of this source: each directory as
     * "PATH:" and its names in bytewise order, then its subdirectories, a blank line before each.
     * mkfs adds an empty /lost+found.
     */
    public static byte[] expectedLsR(Snapshot src) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        lsDir(src, "", "/".getBytes(StandardCharsets.US_ASCII), true, out);
        return out.toByteArray();
    }

    private static void lsDir(Snapshot src, String key, byte[] shown, boolean root, ByteArrayOutputStream out) {
        List<byte[]> names = src.children(key);
        boolean addLostFound = root && !src.entries().containsKey("/lost+found");
        if (addLostFound) {
            names.add("lost+found".getBytes(StandardCharsets.US_ASCII));
            names.sort(Arrays::compareUnsigned);
        }
        out.writeBytes(shown);
        out.writeBytes(":\n".getBytes(StandardCharsets.US_ASCII));
        for (byte[] n : names) {
            out.writeBytes(n);
            out.write('\n');
        }
        for (byte[] n : names) {
            String childKey = key + "/" + new String(n, StandardCharsets.ISO_8859_1);
            Entry child = src.entries().get(childKey);
            boolean isDir = child == null ? addLostFound : child.type() == 'd';
            if (isDir) {
                out.write('\n');
                byte[] cs = new byte[shown.length + (root ? 0 : 1) + n.length];
                System.arraycopy(shown, 0, cs, 0, shown.length);
                if (!root) {
                    cs[shown.length] = '/';
                }
                System.arraycopy(n, 0, cs, cs.length - n.length, n.length);
                lsDir(src, childKey, cs, false, out);
            }
        }
    }

    // ---- formatting ---------------------------------------------------------------------------

    static String xattrString(Map<String, byte[]> xattrs) {
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<String, byte[]> x : new TreeMap<>(xattrs).entrySet()) {
            s.append(s.length() > 1 ? ", " : "").append(x.getKey()).append('=').append(HexFormat.of().formatHex(x.getValue()));
        }
        return s.append('}').toString();
    }

    static String xattrString(List<Xattr> xattrs) {
        Map<String, byte[]> m = new TreeMap<>();
        for (Xattr x : xattrs) {
            if (m.put(x.name(), x.value()) != null) {
                return "duplicate attribute " + x.name() + " in " + xattrs.size() + " attributes";
            }
        }
        return xattrString(m);
    }

    static String shownBytes(byte[] b) {
        return b == null ? "null" : "\"" + new String(b, StandardCharsets.UTF_8).replace("\n", "\\n") + "\" (" + b.length + " bytes)";
    }

    private static String shownNames(Set<String> keys) {
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            out.add(new String(k.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8).replace("\n", "\\n"));
            if (out.size() == 10) {
                out.add("... (" + keys.size() + " in all)");
                break;
            }
        }
        return out.toString();
    }
}
