package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.ext4j.cli.Main;
import org.ext4j.error.MalformedArchiveException;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.TreeGenerator;
import org.ext4j.tree.Entry;
import org.ext4j.tree.Entry.Contents.DataRange;
import org.ext4j.tree.EntrySource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Images built from entries rather than a host directory: a model made in memory (every type,
 * holes, xattrs, ACLs, nanosecond times, hard links, a large directory) through
 * {@code Mkfs.builder().source(...)}, and tar archives made by GNU tar through {@code ext4j mkfs
 * --tar}; e2fsck finds nothing and the kernel's mount shows exactly the model or the source tree.
 * Bad archives fail naming the member, and leave no image behind.
 */
@ExtendWith(SkippedChecks.class)
class MkfsEntrySourceTest {
    @TempDir
    Path tmp;

    private static final String WALK = String.join("\n",
            "import hashlib, os, sys",
            "root = sys.argv[1]",
            "out = []",
            "def esc(s):",
            "    return s.encode('utf-8', 'surrogateescape').decode('latin-1').encode('unicode_escape').decode('ascii')",
            "for d, dirs, files in os.walk(root):",
            "    for n in dirs + files:",
            "        full = os.path.join(d, n)",
            "        rel = os.path.relpath(full, root)",
            "        if rel == 'lost+found' or rel.startswith('lost+found/'):",
            "            continue",
            "        st = os.lstat(full)",
            "        t = st.st_mode & 0o170000",
            "        line = [esc(rel), '%o' % st.st_mode, '%d:%d' % (st.st_uid, st.st_gid), 'a%d' % st.st_atime_ns,",
            "                'm%d' % st.st_mtime_ns]",
            "        if t != 0o040000:",
            "            line.append('n%d' % st.st_nlink)",
            "        if t == 0o100000:",
            "            with open(full, 'rb') as fh:",
            "                line += ['s%d' % st.st_size, hashlib.sha256(fh.read()).hexdigest()]",
            "        elif t == 0o120000:",
            "            line.append('->' + esc(os.readlink(full)))",
            "        elif t in (0o020000, 0o060000):",
            "            line.append('dev%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)))",
            "        for x in sorted(os.listxattr(full, follow_symlinks=False)):",
            "            line.append('%s=%s' % (x, os.getxattr(full, x, follow_symlinks=False).hex()))",
            "        out.append('\\t'.join(line))",
            "print('\\n'.join(sorted(out)))",
            "");

    private static int cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(out, err, args);
        lastErr = err.toString(StandardCharsets.UTF_8);
        System.out.print(lastErr);
        return exit;
    }

    private static String lastErr;

    private static void fsckClean(Path img) throws Exception {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn:\n" + r.stdout() + r.stderr());
    }

    // ---- the in-memory model --------------------------------------------------------------

    /** What the kernel should show of one entry, in {@link #WALK}'s form. */
    private static final class Expected {
        final Map<String, String> lines = new TreeMap<>();
        final Set<String> madeParents = new LinkedHashSet<>();
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static long ns(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private static String line(Entry e, int nlink, byte[] contents) throws Exception {
        StringBuilder s = new StringBuilder(e.path()).append('\t')
                .append(Integer.toOctalString(e.type().ifmt | e.mode())).append('\t')
                .append(e.uid()).append(':').append(e.gid())
                .append("\ta").append(ns(e.atime())).append("\tm").append(ns(e.mtime()));
        if (e.type() != Entry.Type.DIRECTORY) {
            s.append("\tn").append(nlink);
        }
        switch (e.type()) {
            case REGULAR -> s.append("\ts").append(contents.length).append('\t').append(sha256(contents));
            case SYMLINK -> s.append("\t->").append(new String(e.symlinkTarget(), StandardCharsets.UTF_8));
            case CHAR_DEVICE, BLOCK_DEVICE -> s.append("\tdev").append(e.major()).append(':').append(e.minor());
            default -> {
            }
        }
        for (Map.Entry<String, byte[]> x : new TreeMap<>(e.xattrs()).entrySet()) {
            s.append('\t').append(x.getKey()).append('=').append(HexFormat.of().formatHex(x.getValue()));
        }
        return s.toString();
    }

    /** A POSIX ACL in its xattr form ({@code posix_acl_xattr}): version 2, then (tag, perm, id) entries. */
    private static byte[] acl(int... tagPermId) {
        ByteBuffer b = ByteBuffer.allocate(4 + tagPermId.length / 3 * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(2);
        for (int i = 0; i < tagPermId.length; i += 3) {
            b.putShort((short) tagPermId[i]).putShort((short) tagPermId[i + 1]).putInt(tagPermId[i + 2]);
        }
        return b.array();
    }

    private static final int UNDEFINED = -1;

    private static Instant t(long s, int n) {
        return Instant.ofEpochSecond(s, n);
    }

    private List<Entry> model(Expected exp) throws Exception {
        List<Entry> all = new ArrayList<>();
        Random rnd = new Random(10);
        int[] seq = {0};
        java.util.function.Supplier<Instant> at = () -> t(1_600_000_000L + seq[0]++ * 977, 100_000_007 + seq[0] * 13);

        all.add(Entry.directory("etc").mode(0755).owner(0, 0).times(at.get(), at.get()).build());
        byte[] passwd = "root:x:0:0:root:/root:/bin/sh\n".getBytes(StandardCharsets.US_ASCII);
        all.add(Entry.file("etc/passwd", Entry.Contents.of(passwd)).mode(0644).times(at.get(), at.get())
                .xattr("user.x", "1".getBytes(StandardCharsets.US_ASCII))
                .xattr("security.selinux", "system_u:object_r:etc_t:s0\0".getBytes(StandardCharsets.US_ASCII))
                .build());
        // set-user-ID and a file capability (v2: magic|effective, permitted, inheritable for two words)
        byte[] cap = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putInt(0x0200_0001).putInt(1 << 10)
                .putInt(0).putInt(0).putInt(0).array();
        byte[] tool = new byte[70_000];
        rnd.nextBytes(tool);
        all.add(Entry.file("/bin/tool", Entry.Contents.of(tool)).mode(04755).owner(0, 0).times(at.get(), at.get())
                .xattr("security.capability", cap).build());
        all.add(Entry.hardLink("bin/tool2", "bin/tool").build());
        all.add(Entry.symlink("etc/link", "../bin/tool").times(t(-1_000_000_000L, 5), t(4_200_000_000L, 999_999_999))
                .owner(7, 8).xattr("security.selinux", "l\0".getBytes(StandardCharsets.US_ASCII)).build());
        all.add(Entry.charDevice("dev/null", 1, 3).mode(0666).times(at.get(), at.get()).build());
        all.add(Entry.blockDevice("dev/sda", 8, 0).mode(0660).owner(0, 6).times(at.get(), at.get()).build());
        all.add(Entry.blockDevice("dev/big", 4000, 1_000_000).mode(0600).times(at.get(), at.get()).build());
        all.add(Entry.fifo("run/fifo").mode(0600).owner(1000, 1000).times(at.get(), at.get()).build());
        all.add(Entry.socket("run/sock").mode(0755).owner(3_000_000_000L, 4_000_000_000L).times(at.get(), at.get())
                .build());
        // holes given as data ranges, not block-aligned; a hole at the end
        long size = 10L << 20;
        byte[] sparse = new byte[(int) size];
        List<DataRange> ranges = List.of(new DataRange(0, 5000), new DataRange((5 << 20) + 100, 8192));
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (DataRange r : ranges) {
            byte[] d = new byte[(int) r.length()];
            rnd.nextBytes(d);
            System.arraycopy(d, 0, sparse, (int) r.offset(), d.length);
            stream.write(d);
        }
        byte[] streamed = stream.toByteArray();
        all.add(Entry.file("data/sparse", Entry.Contents.of(size, () -> new ByteArrayInputStream(streamed))
                .withDataRanges(ranges)).mode(0640).times(at.get(), at.get()).build());
        // holes found as all-zero blocks
        byte[] zeros = new byte[2 << 20];
        for (int i = 0; i < 4096; i++) {
            zeros[(1 << 20) + i] = (byte) (i | 1);
        }
        zeros[zeros.length - 1] = 9;
        all.add(Entry.file("data/zeros", Entry.Contents.of(zeros).detectingHoles()).times(at.get(), at.get()).build());
        all.add(Entry.file("data/empty", Entry.Contents.of(new byte[0])).mode(0400).owner(5, 6)
                .times(at.get(), at.get()).build());
        // ACLs: an access ACL (mode's group bits = the mask) and a default ACL on a directory
        byte[] access = acl(0x01, 6, UNDEFINED, 0x02, 4, 1000, 0x04, 4, UNDEFINED, 0x10, 4, UNDEFINED, 0x20, 0, UNDEFINED);
        byte[] dflt = acl(0x01, 7, UNDEFINED, 0x02, 7, 1000, 0x04, 5, UNDEFINED, 0x10, 7, UNDEFINED, 0x20, 0, UNDEFINED);
        all.add(Entry.directory("home/user").mode(02750).owner(1000, 1000).times(at.get(), at.get())
                .xattr("system.posix_acl_default", dflt).xattr("user.on-dir", new byte[] {1, 2}).build());
        all.add(Entry.file("home/user/acl", Entry.Contents.of(new byte[] {1})).mode(0640).owner(1000, 1000)
                .times(at.get(), at.get()).xattr("system.posix_acl_access", access)
                .xattr("trusted.t", new byte[0]).build());
        exp.madeParents.addAll(List.of("bin", "dev", "run", "data", "home", "big"));
        all.add(Entry.directory("big/d").mode(0700).times(at.get(), at.get()).build());
        for (int i = 0; i < 2000; i++) {
            all.add(Entry.file(String.format("big/d/file-with-a-longish-name-%04d", i),
                    Entry.Contents.of(("x" + i).getBytes(StandardCharsets.US_ASCII))).mode(0600 + (i % 64))
                    .owner(i, 2000 - i).times(at.get(), at.get()).build());
        }

        Map<String, Integer> links = new TreeMap<>();
        for (Entry e : all) {
            if (e.type() == Entry.Type.HARD_LINK) {
                links.merge(e.linkTarget(), 1, Integer::sum);
            }
        }
        for (Entry e : all) {
            String rel = e.path().replaceFirst("^/", "");
            switch (e.type()) {
                case HARD_LINK -> {
                }
                case REGULAR -> {
                    byte[] c = rel.equals("data/sparse") ? sparse : e.contents().open().readAllBytes();
                    int n = 1 + links.getOrDefault(rel, 0);
                    exp.lines.put(rel, line(e, n, c).replaceFirst("^/", ""));
                    for (Entry l : all) {
                        if (l.type() == Entry.Type.HARD_LINK && l.linkTarget().equals(rel)) {
                            exp.lines.put(l.path(), l.path() + line(e, n, c).substring(e.path().length()));
                        }
                    }
                }
                default -> exp.lines.put(rel, line(e, 1, null));
            }
        }
        for (String p : exp.madeParents) {
            exp.lines.put(p, p + "\t40755\t0:0\ta*\tm*");
        }
        return all;
    }

    private String walk(Path dir) throws Exception {
        Path script = tmp.resolve("walk.py");
        Files.writeString(script, WALK);
        return Tools.run("python3", script.toString(), dir.toString()).ok().stdout();
    }

    private static void assertSameLines(Map<String, String> expected, String actualText, Set<String> anyTimes) {
        List<String> e = new ArrayList<>(expected.values());
        List<String> a = new ArrayList<>();
        for (String l : actualText.lines().toList()) {
            String name = l.substring(0, l.indexOf('\t'));
            a.add(anyTimes.contains(name) ? l.replaceAll("\ta-?\\d+\tm-?\\d+", "\ta*\tm*") : l);
        }
        Set<String> es = new LinkedHashSet<>(e);
        Set<String> as = new LinkedHashSet<>(a);
        StringBuilder diff = new StringBuilder();
        es.stream().filter(l -> !as.contains(l)).limit(20).forEach(l -> diff.append("- ").append(l).append('\n'));
        as.stream().filter(l -> !es.contains(l)).limit(20).forEach(l -> diff.append("+ ").append(l).append('\n'));
        if (diff.length() > 0 || e.size() != a.size()) {
            throw new AssertionError("the kernel's view (+) differs from the model (-), " + a.size() + " names against "
                    + e.size() + ":\n" + diff);
        }
    }

    /** An in-memory source of every kind of entry: the kernel shows exactly the model. */
    @ParameterizedTest(name = "{0}-byte blocks")
    @ValueSource(ints = {4096, 1024})
    void anInMemoryModelIsWhatTheKernelShows(int blockSize) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck", "stat");
        Expected exp = new Expected();
        List<Entry> entries = model(exp);
        Path img = tmp.resolve("model.img");
        Mkfs.builder().blockSize(blockSize).size(96L << 20).source(EntrySource.of(entries)).build(img);
        fsckClean(img);
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            assertSameLines(exp.lines, walk(m.dir()), exp.madeParents);
            long sparseBlocks = Long.parseLong(Tools.run("stat", "-c", "%b", m.dir().resolve("data/sparse").toString())
                    .ok().stdout().strip());
            long zerosBlocks = Long.parseLong(Tools.run("stat", "-c", "%b", m.dir().resolve("data/zeros").toString())
                    .ok().stdout().strip());
            assertTrue(sparseBlocks * 512 <= 64 << 10, "data/sparse keeps its holes: " + sparseBlocks + " sectors");
            assertTrue(zerosBlocks * 512 <= 64 << 10, "data/zeros has its zero blocks as holes: " + zerosBlocks + " sectors");
        }
    }

    // ---- GNU tar -------------------------------------------------------------------------

    /** A generated tree archived by GNU tar (pax, xattrs): the kernel's view of the image is the tree. */
    @Test
    void aGnuTarArchiveIsTheTree() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("tar", "python3", "e2fsck");
        String version = Tools.run("tar", "--version").stdout();
        if (!version.contains("GNU tar")) {
            Tools.skipCheck("the tar archive", "tar is not GNU tar: " + version.lines().findFirst().orElse(""));
            return;
        }
        TreeGenerator.Tree tree = TreeGenerator.generate(Files.createDirectories(tmp.resolve("src")),
                new TreeGenerator.Options(11, 4096, false, 1500, true));
        Path tar = tmp.resolve("tree.tar");
        Tools.Result made = Tools.run("tar", "--xattrs", "--xattrs-include=*", "--format=pax", "--numeric-owner",
                "-C", tree.root().toString(), "-cf", tar.toString(), ".");
        assertTrue(made.exit() == 0 || made.exit() == 1 && made.stderr().contains("socket ignored"), made.stderr());
        Path img = tmp.resolve("tar.img");
        assertEquals(0, cli("mkfs", "-q", "-b", "4096", "--tar", tar.toString(), img.toString(), "128M"));
        fsckClean(img);
        String expected = walk(tree.root()).lines().filter(l -> !l.split("\t")[1].startsWith("14"))
                .map(MkfsEntrySourceTest::noAtime).collect(Collectors.joining("\n"));
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            Map<String, String> exp = new TreeMap<>();
            expected.lines().forEach(l -> exp.put(l.substring(0, l.indexOf('\t')), l));
            String actual = walk(m.dir()).lines().map(MkfsEntrySourceTest::noAtime).collect(Collectors.joining("\n"));
            assertSameLines(exp, actual, Set.of());
        }
    }

    /**
     * GNU tar's sparse members ({@code --sparse}: old GNU type S, pax formats 0.1 and 1.0) keep their
     * holes: the same bytes, few blocks.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"--format=gnu", "--format=pax --sparse-version=0.1", "--format=pax --sparse-version=1.0"})
    void gnuSparseMembersKeepTheirHoles(String format) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("tar", "e2fsck", "stat");
        Path src = Files.createDirectories(tmp.resolve("sparse-src"));
        Random rnd = new Random(12);
        byte[] whole = new byte[6 << 20];
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(src.resolve("holes"),
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            // more than the 4 + 21 map entries of one old GNU header and extension block
            for (int i = 0; i < 40; i++) {
                byte[] d = new byte[1000 + i];
                rnd.nextBytes(d);
                long at = i * 150_000L + 7 * i;
                System.arraycopy(d, 0, whole, (int) at, d.length);
                f.write(java.nio.ByteBuffer.wrap(d), at);
            }
            f.truncate(whole.length);
            f.write(java.nio.ByteBuffer.wrap(new byte[1]), whole.length - 1); // ends on a zero byte of data
        }
        Files.write(src.resolve("dense"), java.util.Arrays.copyOf(whole, 10_000));
        Path tar = tmp.resolve("sparse.tar");
        List<String> cmd = new ArrayList<>(List.of("tar", "--sparse"));
        cmd.addAll(List.of(format.split(" ")));
        cmd.addAll(List.of("-C", src.toString(), "-cf", tar.toString(), "."));
        Tools.Result made = Tools.run(cmd);
        if (made.exit() != 0) {
            Tools.skipCheck("tar " + format, "tar refused it: " + made.stderr().strip());
            return;
        }
        Path img = tmp.resolve("sparse.img");
        assertEquals(0, cli("mkfs", "-q", "--tar", tar.toString(), img.toString(), "32M"));
        fsckClean(img);
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            assertArrayEquals(whole, Files.readAllBytes(m.dir().resolve("holes")));
            assertArrayEquals(java.util.Arrays.copyOf(whole, 10_000), Files.readAllBytes(m.dir().resolve("dense")));
            long sectors = Long.parseLong(Tools.run("stat", "-c", "%b", m.dir().resolve("holes").toString()).ok()
                    .stdout().strip());
            assertTrue(sectors * 512 <= 40 * 8192 + 65536, "the holes are kept: " + sectors + " sectors");
        }
    }

    /** GNU tar stores atime in pax headers, but reading the tree to archive it moves the atimes it stores. */
    private static String noAtime(String l) {
        return l.replaceFirst("\ta-?\\d+\t", "\t");
    }

    /** The same archive through standard input ("--tar -") gives an image e2fsck accepts. */
    @Test
    void standardInputIsRead() throws Exception {
        Tools.requireTools("e2fsck");
        Path tar = tmp.resolve("s.tar");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(header("dir/", '5', 0, 0755));
        b.write(header("dir/f", '0', 3, 0600));
        b.write(pad("abc".getBytes(StandardCharsets.US_ASCII)));
        b.write(new byte[1024]);
        Files.write(tar, b.toByteArray());
        Path img = tmp.resolve("s.img");
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream(b.toByteArray()));
            assertEquals(0, cli("mkfs", "-q", "--tar", "-", img.toString(), "8M"));
        } finally {
            System.setIn(stdin);
        }
        fsckClean(img);
        try (org.ext4j.fs.Ext4FileSystem fs = org.ext4j.fs.Ext4FileSystem.open(img)) {
            assertArrayEquals("abc".getBytes(StandardCharsets.US_ASCII), fs.readAll("/dir/f"));
            assertEquals(0100600, fs.stat("/dir/f").mode());
        }
    }

    // ---- tar headers made here ---------------------------------------------------------

    private static void octal(byte[] h, int off, int len, long v) {
        String s = String.format("%0" + (len - 1) + "o", v);
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    /** A ustar header with a right checksum. */
    static byte[] header(String name, char type, long size, int mode) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(100, n.length));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1_700_000_000L);
        h[156] = (byte) type;
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
        h[263] = '0';
        h[264] = '0';
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte x : h) {
            sum += x & 0xFF;
        }
        octal(h, 148, 7, sum);
        return h;
    }

    static byte[] pad(byte[] data) {
        return java.util.Arrays.copyOf(data, (data.length + 511) / 512 * 512);
    }

    static byte[] paxMember(String name, String... records) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String r : records) {
            byte[] kv = (" " + r + "\n").getBytes(StandardCharsets.UTF_8);
            int len = kv.length + 1;
            while (Integer.toString(len).length() + kv.length != len) {
                len++;
            }
            body.write((len + new String(kv, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        m.write(header("PaxHeaders/" + name, 'x', body.size(), 0644));
        m.write(pad(body.toByteArray()));
        return m.toByteArray();
    }

    /** pax keys (path, fractional mtime, LIBARCHIVE.xattr in base64) and GNU long names, read without a kernel. */
    @Test
    void paxAndGnuLongNamesAreRead() throws Exception {
        String longName = "d/" + "n".repeat(200) + "/" + "m".repeat(150);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(paxMember("f", "path=dir/pax-name", "mtime=1700000000.123456789", "atime=-5.25", "uid=4000000000",
                "LIBARCHIVE.xattr.user.a%3Db=" + java.util.Base64.getEncoder().encodeToString(new byte[] {0, 1, 2}),
                "SCHILY.xattr.user.raw=\u00e9"));
        b.write(header("ignored", '0', 2, 0640));
        b.write(pad(new byte[] {7, 8}));
        byte[] ln = (longName + "\0").getBytes(StandardCharsets.UTF_8);
        b.write(header("././@LongLink", 'L', ln.length, 0));
        b.write(pad(ln));
        b.write(header("short", '2', 0, 0777));
        b.write(new byte[1024]);
        try (EntrySource s = EntrySource.tar(new ByteArrayInputStream(b.toByteArray()), "t.tar")) {
            Entry f = s.next();
            assertEquals("dir/pax-name", f.path());
            assertEquals(Instant.ofEpochSecond(1_700_000_000L, 123_456_789), f.mtime());
            assertEquals(Instant.ofEpochSecond(-6, 750_000_000), f.atime());
            assertEquals(4_000_000_000L, f.uid());
            assertEquals(0640, f.mode());
            assertArrayEquals(new byte[] {0, 1, 2}, f.xattrs().get("user.a=b"));
            assertArrayEquals("\u00e9".getBytes(StandardCharsets.UTF_8), f.xattrs().get("user.raw"));
            assertArrayEquals(new byte[] {7, 8}, f.contents().open().readAllBytes());
            Entry l = s.next();
            assertEquals(Entry.Type.SYMLINK, l.type());
            assertEquals(longName, l.path());
            assertNull(s.next());
        }
    }

    // ---- bad archives ----------------------------------------------------------------------

    private byte[] goodTar() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(header("a/", '5', 0, 0755));
        byte[] data = new byte[5000];
        new Random(4).nextBytes(data);
        b.write(header("a/first", '0', data.length, 0644));
        b.write(pad(data));
        b.write(header("a/second", '0', data.length, 0644));
        b.write(pad(data));
        b.write(new byte[1024]);
        return b.toByteArray();
    }

    private void refused(byte[] tar, String member, String reason) throws Exception {
        Path file = tmp.resolve("bad.tar");
        Files.write(file, tar);
        Path img = tmp.resolve("bad.img");
        Files.writeString(img, "old");
        int exit = cli("mkfs", "-q", "--tar", file.toString(), img.toString(), "8M");
        assertTrue(exit == 1 || exit == 2, "exit " + exit);
        assertTrue(lastErr.contains("\"" + member + "\"") && lastErr.contains(reason), lastErr);
        assertEquals("old", Files.readString(img), "the existing image is left as it was");
        try (var s = Files.list(tmp)) {
            assertEquals(2, s.count(), "no temporary image is left");
        }
    }

    @Test
    void aTruncatedArchiveNamesTheMember() throws Exception {
        byte[] good = goodTar();
        refused(java.util.Arrays.copyOf(good, 512 * 13 + 100), "a/second", "ends inside");
    }

    @Test
    void aBadChecksumNamesTheMember() throws Exception {
        byte[] bad = goodTar();
        bad[512 * 12 + 101] ^= 1; // the mode of a/second
        refused(bad, "a/second", "bad header checksum");
    }

    @Test
    void aDotDotPathIsRefused() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(header("ok", '0', 0, 0644));
        b.write(header("x/../../etc/evil", '0', 0, 0644));
        b.write(new byte[1024]);
        refused(b.toByteArray(), "x/../../etc/evil", "\"..\"");
    }

    @Test
    void aNameOver255BytesIsRefused() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(paxMember("long", "path=d/" + "n".repeat(256)));
        b.write(header("long", '0', 0, 0644));
        b.write(new byte[1024]);
        refused(b.toByteArray(), "d/" + "n".repeat(256), "256 bytes");
    }

    @Test
    void anAbsolutePathIsMadeRelative() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(header("/abs/f", '0', 0, 0644));
        b.write(new byte[1024]);
        try (EntrySource s = EntrySource.tar(new ByteArrayInputStream(b.toByteArray()), "t.tar")) {
            assertEquals("abs/f", org.ext4j.tree.EntryImporter.normalize(s.next().path()));
        }
        MalformedArchiveException e = assertThrows(MalformedArchiveException.class, () -> {
            byte[] h = header("f", '0', 0, 0644);
            h[0] ^= 1;
            EntrySource.tar(new ByteArrayInputStream(h), "t.tar").next();
        });
        assertEquals(0, e.offset());
    }
}
