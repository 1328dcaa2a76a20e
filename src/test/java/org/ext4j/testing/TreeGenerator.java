package org.ext4j.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * Builds a host directory tree, deterministically from a seed, that exercises every kind of object
 * {@code mkfs.ext4 -d} can pack: empty, small (inline-sized), large and sparse files (holes made by
 * seeking, so the host file really is sparse: mkfs copies only what {@code SEEK_DATA} reports), a
 * directory of {@link Options#htreeEntries} names, long and odd names, fast, slow, dangling, absolute
 * and directory symlinks, hard links across directories, user/trusted/security xattrs and POSIX ACLs,
 * fifos, character and block devices (old and new device number encodings), a unix socket,
 * set-id/sticky/0000 modes, owners above 16 bits, and nanosecond times including pre-1970 and
 * post-2038 ones.
 *
 * <p>Files, directories, symlinks and hard links are made with the JDK; everything that needs a
 * system call the JDK lacks (mknod, lchown, set-id chmod, xattrs in every namespace, utimensat with
 * nanoseconds and negative seconds without following symlinks) is collected in a plan and applied by
 * one {@code python3} process at the end, times last and children before parents so that creating
 * an entry does not disturb its directory's mtime afterwards. POSIX ACLs are set with
 * {@code setfacl}; without it they are left out and {@link Tree#leftOut()} says so.
 *
 * <p>Needs root (devices, owners, trusted.* xattrs). Names that are not ASCII are created only when
 * the JVM's file name encoding ({@code sun.jnu.encoding}) is UTF-8; otherwise they are left out and
 * {@link Tree#leftOut()} says so (run the JVM under a UTF-8 locale, e.g. {@code LC_ALL=C.UTF-8}).
 */
public final class TreeGenerator {

    /**
     * What to generate.
     *
     * @param seed          makes the tree reproducible
     * @param blockSize     block size of the image the tree is meant for: mkfs.ext4 1.47.0 refuses
     *                      symlinks of {@code blockSize} bytes or more and xattr sets that do not fit
     *                      one block (unless {@code eaInode})
     * @param eaInode       the image has ea_inode: one xattr value is made larger than a block
     * @param htreeEntries  number of names in {@code /htree}
     * @param holes         make sparse files; off for inline_data images, where mkfs.ext4 1.47.0
     *                      mangles them (it allocates a zeroed block 0 for a file that starts with a
     *                      hole and sets i_size to the end of the last data block, dropping a
     *                      trailing hole)
     */
    public record Options(long seed, int blockSize, boolean eaInode, int htreeEntries, boolean holes) {
        public static Options forBlockSize(long seed, int blockSize) {
            return new Options(seed, blockSize, false, 10_000, true);
        }
    }

    /**
     * The generated tree and the facts the tests need about it.
     *
     * @param root        the tree's root directory
     * @param notes       what the options left out and why (printed by the tests)
     * @param leftOut     what this machine could not make (a tool missing, a locale): the tests
     *                    report each as a skipped check
     * @param htreeDir    path, from the root, of the big directory ("/htree")
     * @param htreeNames  the names in it (raw bytes)
     * @param catSamples  paths (from the root) of files worth checking with {@code ext4j cat}
     * @param largeXattrSize size of the largest xattr value in the tree
     * @param timePlan    the steps that set every entry's times, for {@link #resetTimes}
     */
    public record Tree(Path root, List<String> notes, List<LeftOut> leftOut, String htreeDir,
            List<byte[]> htreeNames, List<String> catSamples, int largeXattrSize, List<String> timePlan) {
    }

    /** A part of the tree this machine could not make, and why. */
    public record LeftOut(String what, String why) {
    }

    /**
     * Sets every entry's atime and mtime back to the generated values: reading a file (mkfs.ext4
     * does) moves its atime under relatime, so a tree packed twice is reset in between.
     */
    public static void resetTimes(Tree tree) throws IOException {
        runPlan(tree.root(), tree.timePlan());
    }

    /** Owners used across the tree: root, a typical user, nobody, and ids needing the high 16 bits. */
    public static final long[] OWNERS = {0, 1000, 65534, 123456, 3_000_000_000L};

    private final Options opts;
    private final Path root;
    private final Random rnd;
    private final boolean unicode;
    private final List<String> notes = new ArrayList<>();
    private final List<LeftOut> leftOut = new ArrayList<>();
    private final List<String> plan = new ArrayList<>();
    /** Every created path (relative, "/"-rooted), in creation order; times are set in reverse. */
    private final List<String> created = new ArrayList<>();
    private final List<byte[]> htreeNames = new ArrayList<>();
    private final List<String> catSamples = new ArrayList<>();
    private final List<String[]> acls = new ArrayList<>();
    private int largeXattrSize;

    private TreeGenerator(Path root, Options opts) {
        this.root = root;
        this.opts = opts;
        this.rnd = new Random(opts.seed());
        Charset jnu = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        this.unicode = jnu.equals(StandardCharsets.UTF_8);
        if (!unicode) {
            leftOut.add(new LeftOut("names that are not ASCII", "sun.jnu.encoding is " + jnu
                    + ", not UTF-8 (run the JVM with LC_ALL=C.UTF-8)"));
        }
    }

    /** Generates the tree under {@code root}, which must be an empty directory. */
    public static Tree generate(Path root, Options opts) throws IOException {
        Tools.requireTools("python3", "mknod");
        TreeGenerator g = new TreeGenerator(root, opts);
        g.build();
        List<String> times = g.plan.stream().filter(l -> l.startsWith("utime ")).toList();
        return new Tree(root, List.copyOf(g.notes), List.copyOf(g.leftOut), "/htree", List.copyOf(g.htreeNames),
                List.copyOf(g.catSamples), g.largeXattrSize, times);
    }

    private void build() throws IOException {
        file("/empty-file", new byte[0]);
        dir("/empty-dir");
        smallFiles();
        tinyDirs();
        bigFiles();
        sparseFiles();
        names();
        hardLinks();
        symlinks();
        xattrs();
        specials();
        modes();
        deep();
        htree();
        ownersAndTimes();
        applyPlan();
    }

    // ---- regular files --------------------------------------------------------------------

    /** Sizes around the inline limits: i_block is 60 bytes, system.data adds what the inode has left. */
    private void smallFiles() throws IOException {
        dir("/small");
        int[] sizes = {1, 2, 3, 10, 31, 58, 59, 60, 61, 62, 80, 100, 120, 150, 160, 200, 255, 256, 1000,
                opts.blockSize() - 1, opts.blockSize(), opts.blockSize() + 1, 4095, 4096, 4097, 10_000};
        for (int s : sizes) {
            file(String.format("/small/s%05d", s), random(s));
        }
        // a small text file, for cat
        file("/small/hello.txt", "hello, ext4j\n".getBytes(StandardCharsets.US_ASCII));
        catSamples.add("/small/hello.txt");
        catSamples.add("/small/s00059");
    }

    /** Directories small enough to be inline with inline_data (0, 1, 2 and 3 entries). */
    private void tinyDirs() throws IOException {
        dir("/tiny");
        dir("/tiny/d0");
        dir("/tiny/d1");
        file("/tiny/d1/a", random(5));
        dir("/tiny/d2");
        file("/tiny/d2/a", new byte[0]);
        symlink("/tiny/d2/b", "a");
        dir("/tiny/d3");
        dir("/tiny/d3/sub");
        file("/tiny/d3/sub/x", random(40));
        file("/tiny/d3/y", random(1));
        file("/tiny/d3/zz", random(2));
    }

    private void bigFiles() throws IOException {
        dir("/big");
        file("/big/large-3MiB", random(3 * 1024 * 1024 + 123));
        // > 16 MiB: with 1 KiB blocks block-mapped files reach the double indirect blocks
        file("/big/huge-17MiB", random(17 * 1024 * 1024 + 1));
        catSamples.add("/big/large-3MiB");
    }

    /**
     * Sparse files: holes made by writing at offsets past the end and by truncating up, so the host
     * file has no blocks there (checked by the comparator with SEEK_DATA).
     */
    private void sparseFiles() throws IOException {
        dir("/sparse");
        // explicit zero blocks between data (written, not holes, on the host)
        byte[] z = new byte[3 * 65536];
        byte[] a = random(65536);
        System.arraycopy(a, 0, z, 0, a.length);
        byte[] b = random(65536);
        System.arraycopy(b, 0, z, 2 * 65536, b.length);
        file("/sparse/written-zeros", z);
        if (!opts.holes()) {
            notes.add("sparse files left out (mkfs.ext4 1.47.0 -O inline_data mangles leading and trailing holes)");
            return;
        }
        long mib = 1024 * 1024;
        sparse("/sparse/leading-hole", mib + 5000, new long[][] {{mib, 5000}});
        sparse("/sparse/trailing-hole", 8 * mib, new long[][] {{0, 10_000}});
        sparse("/sparse/all-hole", 3 * mib, new long[0][]);
        sparse("/sparse/both-ends", 9 * mib + 77, new long[][] {{2 * mib + 17, 1}, {5 * mib - 3, 70_000}});
        List<long[]> islands = new ArrayList<>();
        long off = 100_000;
        while (off < 60 * mib) {
            int len = 1 + rnd.nextInt(3 * 4096);
            islands.add(new long[] {off, len});
            off += len + 4096 + rnd.nextInt(1024 * 1024);
        }
        sparse("/sparse/islands", 64 * mib, islands.toArray(new long[0][]));
        // many small extents: forces an extent tree of depth > 0 (an index block)
        List<long[]> many = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            many.add(new long[] {i * 3L * 65536 + 11, 3000});
        }
        sparse("/sparse/many-extents", 500L * 3 * 65536, many.toArray(new long[0][]));
        // past 4 GiB: triple indirect blocks on block-mapped files, 64-bit sizes
        sparse("/sparse/far", 4500 * mib + 5000, new long[][] {{100, 10}, {70 * mib, 5000}, {4500 * mib, 100}});
        catSamples.add("/sparse/islands");
    }

    private void sparse(String rel, long size, long[][] islands) throws IOException {
        Path p = host(rel);
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw"); FileChannel ch = raf.getChannel()) {
            for (long[] is : islands) {
                byte[] data = random((int) is[1]);
                ByteBuffer bb = ByteBuffer.wrap(data);
                long pos = is[0];
                while (bb.hasRemaining()) {
                    pos += ch.write(bb, pos);
                }
            }
            raf.setLength(size);
        }
        created.add(rel);
    }

    // ---- names ----------------------------------------------------------------------------

    private void names() throws IOException {
        dir("/names");
        List<String> n = new ArrayList<>();
        n.add("a".repeat(255));
        n.add("with space");
        n.add(" leading space");
        n.add("trailing space ");
        n.add("new\nline");
        n.add("tab\there");
        n.add("-leading-dash");
        n.add("--");
        n.add("back\\slash");
        n.add("quote'double\"");
        n.add("*?[glob]{a,b}");
        n.add("#hash%percent:colon;semi");
        n.add("del\u007f");
        n.add("ctrl\u0001\u001f");
        n.add(".hidden");
        n.add("...");
        n.add("..x");
        n.add("x");
        n.add("UPPER");
        n.add("upper");
        if (unicode) {
            n.add("\u00fcn\u00efc\u00f8d\u00e9");
            n.add("\u65e5\u672c\u8a9e\u306e\u540d\u524d");
            n.add("emoji \ud83d\ude00\ud83c\udf89");
            n.add("nfc-\u00e9");
            n.add("nfd-e\u0301");
            n.add("rtl-\u05e9\u05dc\u05d5\u05dd");
            // 255 bytes of multi-byte UTF-8: 2-, 3- and 4-byte characters mixed
            n.add(utf8Exactly255());
            n.add("\u20ac".repeat(85)); // 85 x 3 bytes = 255
        }
        for (String name : n) {
            byte[] nb = name.getBytes(StandardCharsets.UTF_8);
            if (nb.length > 255) {
                throw new IllegalStateException("name longer than 255 bytes: " + nb.length);
            }
            file("/names/" + name, nb);
        }
        dir("/names/dir with space");
        file("/names/dir with space/inner\nname", random(33));
        if (unicode) {
            dir("/names/\u00e9t\u00e9");
            file("/names/\u00e9t\u00e9/\u00e0", random(77));
            catSamples.add("/names/\u00e9t\u00e9/\u00e0");
        }
    }

    private static String utf8Exactly255() {
        StringBuilder s = new StringBuilder();
        String[] pieces = {"\u00e9", "\u4e2d", "\ud83d\ude80"}; // 2, 3, 4 bytes
        int bytes = 0;
        for (int i = 0; bytes < 255; i++) {
            int left = 255 - bytes;
            String piece = left >= 9 ? pieces[i % 3] : left % 3 == 0 ? "\u4e2d" : left == 1 ? "a" : "\u00e9";
            s.append(piece);
            bytes += piece.getBytes(StandardCharsets.UTF_8).length;
        }
        return s.toString();
    }

    // ---- links ----------------------------------------------------------------------------

    private void hardLinks() throws IOException {
        dir("/hard");
        dir("/hard/other");
        file("/hard/target", random(5000));
        link("/hard/target-2", "/hard/target");
        link("/hard/other/target-3", "/hard/target");
        link("/names/target-4", "/hard/target");
        file("/hard/small", random(20));
        link("/hard/other/small-2", "/hard/small");
        file("/hard/empty", new byte[0]);
        link("/tiny/d3/empty-link", "/hard/empty");
    }

    private void symlinks() throws IOException {
        dir("/links");
        int max = Math.min(4000, opts.blockSize() - 1);
        int[] lengths = {1, 2, 30, 58, 59, 60, 61, 62, 100, 200, 1000, max};
        for (int len : lengths) {
            StringBuilder t = new StringBuilder();
            while (t.length() < len) {
                t.append("seg").append(t.length()).append('/');
            }
            t.setLength(len);
            if (t.charAt(len - 1) == '/') {
                t.setCharAt(len - 1, 'z');
            }
            symlink(String.format("/links/len%04d", len), t.toString());
        }
        symlink("/links/dangling", "does/not/exist");
        symlink("/links/to-dir", "../names");
        symlink("/links/to-file", "../small/hello.txt");
        symlink("/links/to-link", "to-file");
        symlink("/links/absolute", "/etc/passwd");
        symlink("/links/root", "/");
        symlink("/links/dot", ".");
        symlink("/links/self-loop", "self-loop");
        symlink("/links/odd target", "new\nline target with spaces\\");
        if (unicode) {
            symlink("/links/unicode", "\u00fcber/\u65e5\u672c/\ud83d\ude00");
            String u = "\u00e9".repeat(40); // 80 bytes: a slow symlink that is not ASCII
            symlink("/links/unicode-slow", u);
        }
        catSamples.add("/links/to-file");
    }

    // ---- xattrs ---------------------------------------------------------------------------

    private void xattrs() throws IOException {
        dir("/xattr");
        file("/xattr/small", random(10));
        xattr("/xattr/small", "user.a", "1".getBytes(StandardCharsets.US_ASCII));
        xattr("/xattr/small", "user.empty", new byte[0]);
        xattr("/xattr/small", "user.binary", new byte[] {0, 1, 2, (byte) 0xff, 0});
        xattr("/xattr/small", "trusted.t", "trusted value".getBytes(StandardCharsets.US_ASCII));
        xattr("/xattr/small", "security.s", "security value".getBytes(StandardCharsets.US_ASCII));

        file("/xattr/large", random(100));
        // xattr values must fit one block unless ea_inode stores them in their own inode
        largeXattrSize = opts.eaInode() ? Math.max(3000, opts.blockSize() + 500) : Math.min(3000, opts.blockSize() * 3 / 4);
        xattr("/xattr/large", "user.big", random(largeXattrSize));

        file("/xattr/medium", new byte[0]);
        xattr("/xattr/medium", "user.mid", random(300));
        xattr("/xattr/medium", "trusted.mid", random(200));

        file("/xattr/many", random(3));
        int count = opts.blockSize() >= 2048 ? 24 : 10;
        for (int i = 0; i < count; i++) {
            xattr("/xattr/many", "user.attr" + i, random(1 + rnd.nextInt(20)));
        }
        String longName = "user." + "n".repeat(250); // 255-byte name
        file("/xattr/long-name", new byte[0]);
        xattr("/xattr/long-name", longName, random(8));

        dir("/xattr/dir");
        xattr("/xattr/dir", "user.on-dir", "d".getBytes(StandardCharsets.US_ASCII));
        xattr("/xattr/dir", "trusted.on-dir", "t".getBytes(StandardCharsets.US_ASCII));
        symlink("/xattr/link", "small");
        xattr("/xattr/link", "trusted.on-link", "l".getBytes(StandardCharsets.US_ASCII));

        // small inline-sized file with xattrs: inline_data shares the in-inode xattr space
        file("/xattr/inline-and-xattr", random(70));
        xattr("/xattr/inline-and-xattr", "user.x", random(16));

        if (Tools.onPath("setfacl")) {
            file("/xattr/acl-file", random(10));
            acls.add(new String[] {"-m", "u:1000:rw-,g:65534:r--,m::rw-", "/xattr/acl-file"});
            dir("/xattr/acl-dir");
            acls.add(new String[] {"-m", "u:123456:rwx,g:1000:r-x", "/xattr/acl-dir"});
            acls.add(new String[] {"-d", "-m", "u:1000:r-x,g::r--,o::---", "/xattr/acl-dir"});
            file("/xattr/acl-dir/inherits", random(5)); // created before the default ACL: no inheritance
        } else {
            leftOut.add(new LeftOut("POSIX ACLs", "setfacl is not installed (package acl)"));
        }
    }

    // ---- special files --------------------------------------------------------------------

    private void specials() throws IOException {
        dir("/special");
        mknod("/special/fifo", 0010644, 0, 0);
        mknod("/special/null-like", 0020666, 1, 3);
        mknod("/special/chr-big", 0020600, 300, 70_000); // new (large) encoding
        mknod("/special/chr-max", 0020600, 4095, 1_048_575);
        mknod("/special/blk", 0060660, 8, 1);
        mknod("/special/blk-big", 0060660, 259, 123_456);
        mknod("/special/blk-zero", 0060600, 0, 0);
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(host("/special/socket")));
        }
        created.add("/special/socket");
        xattr("/special/fifo", "trusted.on-fifo", "f".getBytes(StandardCharsets.US_ASCII));
    }

    private void modes() throws IOException {
        dir("/modes");
        int[] fileModes = {00000, 00777, 00400, 04755, 02755, 06777, 01644, 07777, 04000, 02000, 00111};
        for (int m : fileModes) {
            String p = String.format("/modes/f%04o", m);
            file(p, random(3));
            plan.add("chmod " + hex(p) + " " + m);
        }
        int[] dirModes = {01777, 00700, 00555, 02775, 00000, 07777};
        for (int m : dirModes) {
            String p = String.format("/modes/d%04o", m);
            dir(p);
            file(p + "/inside", random(2));
            plan.add("chmod " + hex(p) + " " + m);
        }
    }

    private void deep() throws IOException {
        StringBuilder p = new StringBuilder("/deep");
        dir(p.toString());
        for (int i = 0; i < 20; i++) {
            p.append("/d").append(i);
            dir(p.toString());
        }
        file(p + "/bottom", random(123));
    }

    /**
     * The big directory: mostly short names (mkfs.ext4 -d inserts each name with a linear scan, so its
     * run time grows with entries x blocks), some long ones, a few symlinks and hard links.
     */
    private void htree() throws IOException {
        dir("/htree");
        file("/htree-target", random(64));
        int n = opts.htreeEntries();
        for (int i = 0; i < n; i++) {
            String name;
            if (i % 100 == 7) {
                int len = 20 + rnd.nextInt(236);
                StringBuilder s = new StringBuilder(String.format("long%05d-", i));
                while (s.length() < len) {
                    s.append((char) ('a' + rnd.nextInt(26)));
                }
                name = s.toString();
            } else {
                name = String.format("e%05d", i);
            }
            String rel = "/htree/" + name;
            if (i % 1000 == 3) {
                symlink(rel, "../htree-target");
            } else if (i % 1000 == 5) {
                link(rel, "/htree-target");
            } else if (i % 250 == 1) {
                file(rel, random(1 + rnd.nextInt(100)));
            } else {
                Files.createFile(host(rel));
                created.add(rel);
            }
            htreeNames.add(name.getBytes(StandardCharsets.UTF_8));
        }
    }

    // ---- metadata -------------------------------------------------------------------------

    /**
     * Owners for a third of the entries; times for every entry but the root. mtimes are any second
     * in the signed 32-bit range plus edge cases (negative, epoch, 2^31-1, and past 2038), each with
     * random nanoseconds; atimes likewise.
     */
    private void ownersAndTimes() {
        for (String rel : created) {
            if (rnd.nextInt(3) == 0) {
                long uid = OWNERS[rnd.nextInt(OWNERS.length)];
                long gid = OWNERS[rnd.nextInt(OWNERS.length)];
                plan.add("chown " + hex(rel) + " " + uid + " " + gid); // before chmod: chown clears set-id bits
            }
        }
        for (String[] acl : acls) {
            plan.add("setfacl " + String.join(" ", Arrays.stream(acl).map(TreeGenerator::hex).toList()));
        }
        long[] edges = {-1_000_000_000L, -1, 0, 1, Integer.MAX_VALUE, (1L << 31) + 1000, 4_102_444_800L};
        List<String> rev = new ArrayList<>(created);
        java.util.Collections.reverse(rev);
        int i = 0;
        for (String rel : rev) {
            long m = i < edges.length || rnd.nextInt(10) == 0 ? edges[i % edges.length] : rnd.nextInt(Integer.MAX_VALUE);
            long a = rnd.nextInt(4) == 0 ? edges[rnd.nextInt(edges.length)] : rnd.nextInt(Integer.MAX_VALUE);
            long mns = m * 1_000_000_000L + rnd.nextInt(1_000_000_000);
            long ans = a * 1_000_000_000L + rnd.nextInt(1_000_000_000);
            plan.add("utime " + hex(rel) + " " + ans + " " + mns);
            i++;
        }
    }

    private static final String APPLY = """
            import os, sys
            root = os.fsencode(sys.argv[1])
            def p(h):
                return root + bytes.fromhex(h)
            for line in open(sys.argv[2], 'rb'):
                f = line.decode('ascii').split()
                op = f[0]
                if op == 'chown':
                    os.chown(p(f[1]), int(f[2]), int(f[3]), follow_symlinks=False)
                elif op == 'chmod':
                    os.chmod(p(f[1]), int(f[2]))
                elif op == 'mknod':
                    os.mknod(p(f[1]), int(f[2]), os.makedev(int(f[3]), int(f[4])))
                elif op == 'xattr':
                    os.setxattr(p(f[1]), bytes.fromhex(f[2]), bytes.fromhex(f[3]) if f[3] != '-' else b'',
                                follow_symlinks=False)
                elif op == 'setfacl':
                    import subprocess
                    args = [bytes.fromhex(a) for a in f[1:]]
                    args[-1] = p(f[-1])
                    subprocess.run([b'setfacl'] + args, check=True)
                elif op == 'utime':
                    os.utime(p(f[1]), ns=(int(f[2]), int(f[3])), follow_symlinks=False)
                else:
                    raise SystemExit('unknown op ' + op)
            """;

    /** Runs the collected plan: mknods first (they are created, so they need their times later too). */
    private void applyPlan() throws IOException {
        List<String> ordered = new ArrayList<>();
        for (String s : plan) {
            if (s.startsWith("mknod ")) {
                ordered.add(s);
            }
        }
        for (String op : List.of("chown ", "chmod ", "xattr ", "setfacl ", "utime ")) {
            for (String s : plan) {
                if (s.startsWith(op)) {
                    ordered.add(s);
                }
            }
        }
        runPlan(root, ordered);
    }

    private static void runPlan(Path root, List<String> ordered) throws IOException {
        Path planFile = Files.createTempFile("ext4j-tree-plan", ".txt");
        try {
            Files.write(planFile, ordered, StandardCharsets.US_ASCII);
            Tools.Result r = Tools.run("python3", "-c", APPLY, root.toString(), planFile.toString());
            if (r.exit() != 0) {
                throw new IOException("applying the tree plan failed: " + r.stderr());
            }
        } finally {
            Files.deleteIfExists(planFile);
        }
    }

    // ---- primitives -----------------------------------------------------------------------

    private Path host(String rel) {
        return root.resolve(rel.substring(1));
    }

    private void file(String rel, byte[] data) throws IOException {
        Files.write(host(rel), data);
        created.add(rel);
    }

    private void dir(String rel) throws IOException {
        Files.createDirectory(host(rel));
        created.add(rel);
    }

    private void symlink(String rel, String target) throws IOException {
        Files.createSymbolicLink(host(rel), Path.of(target));
        created.add(rel);
    }

    private void link(String rel, String existing) throws IOException {
        Files.createLink(host(rel), host(existing));
    }

    private void mknod(String rel, int mode, int major, int minor) {
        plan.add("mknod " + hex(rel) + " " + mode + " " + major + " " + minor);
        created.add(rel);
    }

    private void xattr(String rel, String name, byte[] value) {
        plan.add("xattr " + hex(rel) + " " + hex(name) + " " + (value.length == 0 ? "-" : HexFormat.of().formatHex(value)));
    }

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }
}
