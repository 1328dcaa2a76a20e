package org.ext4j.it;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.ext4j.testing.Tools;

/**
 * Makes the Linux kernel write a varied tree into a read-write loop mount: everything is created
 * through system calls on the mount (Java I/O, coreutils, util-linux fallocate, attr/acl tools), so
 * the on-disk layout is whatever the kernel chose. Paths it creates are listed in
 * {@link KernelWrittenTest}'s class comment.
 */
final class KernelPopulator {
    /** Paths (relative, raw bytes in ISO-8859-1 form) that were created and then deleted. */
    final List<String> deletedPaths = new ArrayList<>();

    private final Path root;
    private final KernelVariant v;
    private final int bs;
    private final Random rnd;

    KernelPopulator(Path root, KernelVariant v) {
        this.root = root;
        this.v = v;
        this.bs = v.blockSize();
        this.rnd = new Random(0x6578_7434L ^ v.ordinal());
    }

    void populate() throws IOException {
        plainFiles();
        nestedDirs();
        oddNames();
        symlinks();
        hardLinks();
        xattrs();
        acls();
        specialFiles();
        ownersAndModes();
        sparseFiles();
        if (v.extents) {
            fallocated();
        }
        fragmented();
        if (v.inlineData) {
            inline();
        }
        bigDir();
        times(); // last: anything created later in times/ would move its mtime
    }

    // ---- helpers ---------------------------------------------------------------------------

    private Path p(String rel) {
        return root.resolve(rel);
    }

    private Path dir(String rel) throws IOException {
        return Files.createDirectories(p(rel));
    }

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private void write(String rel, byte[] data) throws IOException {
        Files.write(p(rel), data);
    }

    private void writeAt(String rel, long pos, byte[] data) throws IOException {
        try (FileChannel fc = FileChannel.open(p(rel), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                fc.write(b, pos + b.position());
            }
        }
    }

    /** ftruncate: shrinking frees blocks, growing leaves a hole. */
    private void truncate(String rel, long size) throws IOException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p(rel).toFile(), "rw")) {
            f.setLength(size);
        }
    }

    private static void cmd(String... args) throws IOException {
        Tools.run(args).ok();
    }

    /** Runs {@code script} under sh with {@code args} as $1...; raw byte names travel as printf octal escapes. */
    private void sh(String script, String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("sh", "-c", "set -e; " + script, "sh"));
        c.addAll(List.of(args));
        Tools.run(c).ok();
    }

    /** A printf format producing exactly {@code bytes} (every byte as an octal escape). */
    static String octal(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("\\%03o", b & 0xFF));
        }
        return sb.toString();
    }

    private static final String RAW_NAME = "n=$(printf \"$2\"; printf x); n=${n%x}; ";

    // ---- content ---------------------------------------------------------------------------

    private void plainFiles() throws IOException {
        dir("plain");
        int[] sizes = {0, 1, 59, 60, 61, 100, 1023, 1024, 1025, 4095, 4096, 4097, 12 * 1024 + 7, (1 << 20) + 3,
            (3 << 20) + 1};
        for (int s : sizes) {
            write("plain/f" + s, random(s));
        }
        // a file overwritten in place and then shrunk: stale bytes past i_size must not show
        write("plain/shrunk", random(3 * bs + 100));
        truncate("plain/shrunk", bs + 17);
        // appended in many small pieces
        try (FileChannel fc = FileChannel.open(p("plain/appended"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            for (int i = 0; i < 300; i++) {
                fc.write(ByteBuffer.wrap(random(1 + rnd.nextInt(700))));
            }
        }
    }

    private void nestedDirs() throws IOException {
        StringBuilder rel = new StringBuilder("nested");
        for (int i = 0; i < 12; i++) {
            rel.append("/d").append(i);
            dir(rel.toString());
            write(rel + "/file", ("level " + i + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        dir("nested/wide");
        for (int i = 0; i < 40; i++) {
            dir("nested/wide/sub" + i);
        }
        dir("nested/empty");
    }

    private void oddNames() throws IOException {
        dir("names");
        write("names/" + "a".repeat(255), random(10));
        dir("names/" + "D".repeat(255));
        write("names/" + "D".repeat(255) + "/" + "e".repeat(254), random(3));
        for (int len = 1; len <= 24; len++) {
            write("names/" + "n".repeat(len), new byte[] {(byte) len});
        }
        List<byte[]> raw = new ArrayList<>();
        raw.add(new byte[] {(byte) 0xFF, (byte) 0xFE, 'r', 'a', 'w'});
        raw.add("new\nline".getBytes(StandardCharsets.US_ASCII));
        raw.add("sp ace\ttab".getBytes(StandardCharsets.US_ASCII));
        raw.add("back\\slash%25".getBytes(StandardCharsets.US_ASCII));
        raw.add("\u65e5\u672c\u8a9e-\u00e9\u00e8".getBytes(StandardCharsets.UTF_8));
        raw.add("-dash".getBytes(StandardCharsets.US_ASCII));
        raw.add("..." .getBytes(StandardCharsets.US_ASCII));
        byte[] longUtf8 = new byte[255];
        for (int i = 0; i < 127; i++) {
            longUtf8[2 * i] = (byte) 0xC3;
            longUtf8[2 * i + 1] = (byte) 0xA9;
        }
        longUtf8[254] = 'x';
        raw.add(longUtf8);
        byte[] allBytes = new byte[254];
        for (int i = 0; i < allBytes.length; i++) {
            int c = i + 1;
            allBytes[i] = (byte) (c == '/' ? 0xFF : c);
        }
        raw.add(allBytes);
        for (byte[] name : raw) {
            sh("cd \"$1\"; " + RAW_NAME + "printf %s \"$n\" > \"$n\"", p("names").toString(), octal(name));
        }
        sh("cd \"$1\"; " + RAW_NAME + "mkdir \"$n\"; : > \"$n/inside\"", p("names").toString(),
                octal(new byte[] {'d', (byte) 0x80, (byte) 0xC0}));
    }

    private void symlinks() throws IOException {
        dir("links");
        link("links/fast", "../plain/f100");
        link("links/fast59", "../plain/" + "x".repeat(59 - 9));
        link("links/slow60", "../plain/" + "y".repeat(60 - 9));
        link("links/slow200", "z".repeat(200));
        link("links/slowmax", "m/".repeat((bs - 1) / 2) + (bs % 2 == 0 ? "m" : ""));
        link("links/dangling", "does/not/exist");
        link("links/todir", "../nested");
        link("links/absolute", "/plain/f1");
        link("links/loop1", "loop2");
        link("links/loop2", "loop1");
        link("links/one", "a");
        sh("cd \"$1\"; " + RAW_NAME + "ln -s \"$n\" rawtarget", p("links").toString(),
                octal(new byte[] {(byte) 0xFF, 'x', (byte) 0xFE}));
    }

    private void link(String rel, String target) throws IOException {
        Files.createSymbolicLink(p(rel), Path.of(target));
    }

    private void hardLinks() throws IOException {
        dir("hard");
        write("hard/a", random(5000));
        Files.createLink(p("hard/b"), p("hard/a"));
        Files.createLink(p("nested/d0/d1/hard-c"), p("hard/a"));
        write("hard/gone", random(10));
        Files.createLink(p("hard/survivor"), p("hard/gone"));
        Files.delete(p("hard/gone"));
        deletedPaths.add("hard/gone");
    }

    private void setfattr(String rel, String name, byte[] value, boolean noDeref) throws IOException {
        List<String> c = new ArrayList<>(List.of("setfattr"));
        if (noDeref) {
            c.add("-h");
        }
        c.addAll(List.of("-n", name));
        if (value != null) {
            c.add("-v");
            c.add("0x" + KernelView.hex(value));
        }
        c.add(p(rel).toString());
        Tools.run(c).ok();
    }

    private void xattrs() throws IOException {
        Tools.requireTools("setfattr", "getfattr");
        dir("xattr");
        write("xattr/small", random(10));
        setfattr("xattr/small", "user.a", "1".getBytes(StandardCharsets.US_ASCII), false);
        setfattr("xattr/small", "user.b", "hello".getBytes(StandardCharsets.US_ASCII), false);
        setfattr("xattr/small", "trusted.t", new byte[] {0, (byte) 0xFF}, false);
        write("xattr/empty", new byte[0]);
        setfattr("xattr/empty", "user.empty", null, false);
        write("xattr/many", random(100));
        for (int i = 0, n = bs == 1024 ? 18 : 30; i < n; i++) { // 40 bytes each; 1 KiB blocks hold ~24
            setfattr("xattr/many", String.format("user.k%02d", i), random(20), false);
        }
        write("xattr/big", random(3));
        setfattr("xattr/big", "user.big", random(Math.min(800, bs - 200)), false);
        byte[] shared = random(300);
        for (String f : List.of("xattr/shared1", "xattr/shared2", "xattr/shared3")) {
            write(f, random(7));
            setfattr(f, "user.s", shared, false);
            setfattr(f, "trusted.s", shared, false);
        }
        write("xattr/longname", random(1));
        setfattr("xattr/longname", "user." + "q".repeat(250), random(5), false);
        dir("xattr/dir");
        setfattr("xattr/dir", "user.d", "on a directory".getBytes(StandardCharsets.US_ASCII), false);
        link("xattr/link", "small");
        setfattr("xattr/link", "trusted.l", "on a symlink".getBytes(StandardCharsets.US_ASCII), true);
        write("xattr/removed", random(2));
        setfattr("xattr/removed", "user.keep", random(4), false);
        setfattr("xattr/removed", "user.drop", random(40), false);
        cmd("setfattr", "-x", "user.drop", p("xattr/removed").toString());
    }

    private void acls() throws IOException {
        Tools.requireTools("setfacl"); // package acl (.ci/run installs it)
        dir("acl");
        write("acl/file", random(10));
        cmd("setfacl", "-m", "u:1234:rwx,u:4321:r--,g:5678:r-x,m::rwx,o::---", p("acl/file").toString());
        dir("acl/dir");
        cmd("setfacl", "-d", "-m", "u:1234:rwx,g::r-x,o::r--", p("acl/dir").toString());
        write("acl/dir/inherits", random(10));
        dir("acl/dir/subdir");
    }

    private void specialFiles() throws IOException {
        dir("dev");
        cmd("mknod", p("dev/null").toString(), "c", "1", "3");
        cmd("mknod", p("dev/sda1").toString(), "b", "8", "1");
        cmd("mknod", p("dev/old-max").toString(), "c", "255", "255");
        cmd("mknod", p("dev/big").toString(), "c", "300", "70000");
        cmd("mknod", p("dev/new-max").toString(), "b", "4095", "1048575");
        cmd("mknod", p("dev/zero-zero").toString(), "c", "0", "0");
        cmd("mkfifo", p("dev/fifo").toString());
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(p("dev/sock")));
        }
    }

    private void ownersAndModes() throws IOException {
        dir("own");
        String[][] owners = {{"hi", "100000:200000"}, {"mid", "65535:65536"}, {"max", "4294967294:4294967294"},
            {"low", "1:2"}};
        for (String[] o : owners) {
            write("own/" + o[0], random(3));
            cmd("chown", o[1], p("own/" + o[0]).toString());
        }
        String[][] modes = {{"suid", "4755"}, {"sgid", "2750"}, {"none", "0"}, {"all", "7777"}, {"odd", "0421"}};
        for (String[] m : modes) {
            write("own/" + m[0], random(3));
            cmd("chmod", m[1], p("own/" + m[0]).toString());
        }
        dir("own/sticky");
        cmd("chmod", "1777", p("own/sticky").toString());
        dir("own/sgid-dir");
        cmd("chmod", "2775", p("own/sgid-dir").toString());
        dir("own/sgid-dir/child");
        link("own/link", "hi");
        cmd("chown", "-h", "4242:4343", p("own/link").toString());
    }

    private void sparseFiles() throws IOException {
        dir("sparse");
        writeAt("sparse/holes", 0, random(5000));
        writeAt("sparse/holes", (1 << 20) + 5, random(7));
        writeAt("sparse/holes", 10L << 20, random(bs));
        write("sparse/trailing", random(10));
        truncate("sparse/trailing", (3L << 20) + 1);
        truncate("sparse/only-hole", 1L << 20);
        // across the 32-bit i_size boundary, and (4 KiB, block map) into the triple-indirect range
        writeAt("sparse/huge", 0, random(bs));
        writeAt("sparse/huge", (4L << 30) - 2048, random(8192));
        writeAt("sparse/huge", (5L << 30) + 17, random(100));
        // indirect-map boundaries: last direct, first single, first double indirect block
        long[] edges = {11, 12, 12 + bs / 4 - 1, 12 + bs / 4, 12 + bs / 4 + (long) (bs / 4) * (bs / 4) - 1,
            12 + bs / 4 + (long) (bs / 4) * (bs / 4)};
        for (long b : edges) {
            writeAt("sparse/edges", b * bs + 3, random(bs - 6));
        }
    }

    private void fallocated() throws IOException {
        dir("falloc");
        String f = p("falloc").toString() + "/";
        cmd("fallocate", "-l", Long.toString((2L << 20) + 123), f + "whole");

        writeAt("falloc/middle", 0, random(64 << 10));
        writeAt("falloc/middle", 960 << 10, random(64 << 10));
        cmd("fallocate", "-o", Integer.toString(256 << 10), "-l", Integer.toString(256 << 10), f + "middle");

        write("falloc/keep", random(10_000));
        cmd("fallocate", "-n", "-o", Integer.toString(16 << 10), "-l", Integer.toString(1 << 20), f + "keep");

        write("falloc/keep-only", new byte[0]);
        cmd("fallocate", "-n", "-l", Integer.toString(300 << 10), f + "keep-only");

        cmd("fallocate", "-l", Integer.toString(1 << 20), f + "partial");
        writeAt("falloc/partial", 70_000, random(5000));
        writeAt("falloc/partial", (1 << 20) - 10, random(30)); // straddles the end of the allocation

        write("falloc/punch", random(1 << 20));
        cmd("fallocate", "-p", "-o", Integer.toString(100 << 10), "-l", Integer.toString(200 << 10), f + "punch");
        cmd("fallocate", "-p", "-o", "5000", "-l", "3000", f + "punch"); // inside one block: zeroes bytes
        cmd("fallocate", "-p", "-o", Integer.toString(1000 << 10), "-l", Integer.toString(100 << 10), f + "punch");

        write("falloc/zero", random(1 << 20));
        cmd("fallocate", "-z", "-o", Integer.toString(300 << 10), "-l", Integer.toString(400 << 10), f + "zero");
        cmd("fallocate", "-z", "-o", "12345", "-l", "6789", f + "zero");
        cmd("fallocate", "-z", "-o", Integer.toString(1 << 20), "-l", Integer.toString(64 << 10), f + "zero");

        write("falloc/collapse", random(1 << 20));
        cmd("fallocate", "-c", "-o", Integer.toString(64 << 10), "-l", Integer.toString(128 << 10), f + "collapse");

        write("falloc/insert", random(512 << 10));
        cmd("fallocate", "-i", "-o", Integer.toString(128 << 10), "-l", Integer.toString(64 << 10), f + "insert");

        byte[] zeros = random(256 << 10);
        java.util.Arrays.fill(zeros, 16 << 10, 128 << 10, (byte) 0);
        write("falloc/dig", zeros);
        cmd("fallocate", "-d", f + "dig");

        cmd("fallocate", "-l", Long.toString(v.bigFallocBytes), f + "big");
        writeAt("falloc/big", v.bigFallocBytes / 2 + 1, random(3 * bs));
    }

    /**
     * frag/deep: one block at every other logical block, in shuffled order, made durable in batches
     * so the kernel inserts extents out of order (see {@link KernelVariant} for the counts).
     * frag/medium: a depth-1 tree (or an indirect map on ext3) of 120 pieces.
     */
    private void fragmented() throws IOException {
        dir("frag");
        scattered("frag/medium", 120, 7);
        if (v.deepExtents > 0) {
            scattered("frag/deep", v.deepExtents, 100);
        }
    }

    private void scattered(String rel, int pieces, int batch) throws IOException {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < pieces; i++) {
            order.add(i);
        }
        Collections.shuffle(order, rnd);
        byte[] block = new byte[bs];
        try (FileChannel fc = FileChannel.open(p(rel), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            int n = 0;
            for (int i : order) {
                rnd.nextBytes(block);
                ByteBuffer b = ByteBuffer.wrap(block);
                long pos = 2L * i * bs;
                while (b.hasRemaining()) {
                    fc.write(b, pos + b.position());
                }
                if (++n % batch == 0) {
                    fc.force(false);
                }
            }
        }
    }

    private void inline() throws IOException {
        dir("inline");
        write("inline/empty", new byte[0]);
        write("inline/tiny", random(10));
        write("inline/i_block", random(60));
        write("inline/small", random(100));
        write("inline/grown", random(40));
        try (FileChannel fc = FileChannel.open(p("inline/grown"), StandardOpenOption.APPEND)) {
            fc.write(ByteBuffer.wrap(random(10_000)));
        }
        write("inline/with-xattr", random(50));
        setfattr("inline/with-xattr", "user.x", "beside inline data".getBytes(StandardCharsets.US_ASCII), false);
        dir("inline/dir");
        for (String n : List.of("a", "bb", "ccc")) {
            write("inline/dir/" + n, random(5));
        }
        dir("inline/dir-grown");
        for (int i = 0; i < 80; i++) {
            write("inline/dir-grown/entry-" + i, random(1));
        }
        dir("inline/dir-shrunk");
        for (int i = 0; i < 4; i++) {
            write("inline/dir-shrunk/x" + i, random(1));
        }
        Files.delete(p("inline/dir-shrunk/x1"));
        deletedPaths.add("inline/dir-shrunk/x1");
        link("inline/slowlink", "s".repeat(100));
    }

    /** big/: many names of 7 to 106 bytes, then deletions (single gaps and a run), then late additions. */
    private void bigDir() throws IOException {
        Path big = dir("big");
        int n = v.bigDirEntries;
        List<String> names = new ArrayList<>(n);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.setLength(0);
            sb.append(String.format("%05d-", i));
            int pad = rnd.nextInt(101);
            for (int k = 0; k < pad; k++) {
                sb.append((char) ('a' + rnd.nextInt(26)));
            }
            names.add(sb.toString());
            Files.createFile(big.resolve(sb.toString()));
        }
        int runStart = n / 3;
        int runEnd = runStart + n / 30;
        for (int i = 0; i < n; i++) {
            if (i % 7 == 3 || (i >= runStart && i < runEnd)) {
                Files.delete(big.resolve(names.get(i)));
                deletedPaths.add("big/" + names.get(i));
            }
        }
        for (int i = 0; i < n / 150; i++) {
            Files.createFile(big.resolve("late-" + i));
        }
    }

    private void times() throws IOException {
        dir("times");
        String[] stamps = {
            "1901-12-13 20:45:52 UTC", "1901-12-13 20:45:52.000000001 UTC", "1950-06-01 12:00:00.5 UTC",
            "1969-12-31 23:59:59.999999999 UTC", "1970-01-01 00:00:00 UTC", "2000-02-29 01:02:03.123456789 UTC",
            "2038-01-19 03:14:07.999999999 UTC", "2038-01-19 03:14:08 UTC", "2106-02-07 06:28:16.5 UTC",
            "2242-03-16 12:56:32.000000001 UTC", "2300-01-01 00:00:00.987654321 UTC",
            "2446-05-10 22:38:55.999999999 UTC", "2500-01-01 UTC", "1800-01-01 UTC",
        };
        for (int i = 0; i < stamps.length; i++) {
            String rel = "times/t" + i;
            write(rel, random(1));
            cmd("touch", "-m", "-d", stamps[i], p(rel).toString());
            cmd("touch", "-a", "-d", stamps[stamps.length - 1 - i], p(rel).toString());
        }
        link("times/link", "t0");
        dir("times/dir");
        cmd("touch", "-h", "-d", "2001-09-09 01:46:40.000000042 UTC", p("times/link").toString());
        cmd("touch", "-d", "1999-12-31 23:59:59.999999999 UTC", p("times/dir").toString());
    }
}
