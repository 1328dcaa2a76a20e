package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every verb with bad arguments (issue 8): one row per case, run in-process through
 * {@link Main#run(java.io.OutputStream, java.io.OutputStream, String...)} (the same command line objects and exit
 * mapping as {@code main}; a handful of rows also run in a child JVM below). Each row asserts the
 * exit status (2 for a malformed command line, 1 for a request the file system refuses, as
 * {@link Main} documents), one line on stderr naming the bad argument and no stack trace, nothing
 * on stdout, and that no image changed by a byte (hashed before and after).
 */
class BadArgumentsTest {
    @TempDir
    static Path tmp;

    /** The fixture files a row can name, by placeholder. */
    private static final Map<String, Path> FILES = new LinkedHashMap<>();
    private static Path image;
    private static byte[] pristine;
    private static boolean immutable;

    private static final String NAME_256 = "a".repeat(256);
    private static final String NAME_300 = "b".repeat(300);
    private static final String PATH_4200 = "/" + "x/".repeat(2100);

    @BeforeAll
    static void images() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello, ext4\n");
        Files.createDirectories(src.resolve("dir"));
        Files.writeString(src.resolve("dir/f"), "f\n");
        Files.createSymbolicLink(src.resolve("link"), Path.of("hello.txt"));
        image = tmp.resolve("fs.img");
        Tools.mkfs(image, 4 << 20, List.of("-b", "1024"), src);
        pristine = Files.readAllBytes(image);
        FILES.put("{IMG}", image);
        FILES.put("{DIR}", Files.createDirectories(tmp.resolve("a-directory")));
        FILES.put("{EMPTY}", Files.createFile(tmp.resolve("empty.img")));
        FILES.put("{NULLDEV}", Path.of("/dev/null"));
        FILES.put("{MISSING}", tmp.resolve("missing.img"));
        Path fifo = tmp.resolve("fifo.img");
        Tools.run("mkfifo", fifo.toString()).ok();
        FILES.put("{FIFO}", fifo);
        byte[] noise = new byte[1 << 16];
        new Random(8).nextBytes(noise);
        FILES.put("{GARBAGE}", Files.write(tmp.resolve("garbage.img"), noise));
        Path ro = Files.write(tmp.resolve("unwritable.img"), pristine);
        if (Tools.isRoot()) {
            // a file's mode does not stop root; the immutable attribute does
            immutable = Tools.onPath("chattr") && Tools.run("chattr", "+i", ro.toString()).exit() == 0;
        } else {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r--r--r--"));
            immutable = true;
        }
        FILES.put("{RO}", ro);
        Path unreadable = Files.write(tmp.resolve("unreadable.img"), pristine);
        Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("---------"));
        FILES.put("{UNREADABLE}", unreadable);
    }

    @AfterAll
    static void mutableAgain() throws IOException {
        if (Tools.isRoot() && immutable) {
            Tools.run("chattr", "-i", FILES.get("{RO}").toString());
        }
    }

    /** One bad command line: its arguments (with placeholders), the exit status, and a fragment stderr must hold. */
    record Row(List<String> args, int exit, String mentions) {
        @Override
        public String toString() {
            String s = String.join(" ", args).replace("\0", "\\0").replace("\n", "\\n");
            return (s.length() > 110 ? s.substring(0, 110) + "..." : s) + " -> " + exit;
        }
    }

    private static Row row(int exit, String mentions, String... args) {
        return new Row(List.of(args), exit, mentions);
    }

    static Stream<Arguments> rows() {
        List<Row> rows = new ArrayList<>();
        imageRows(rows);
        pathRows(rows);
        commandLineRows(rows);
        ioCommandRows(rows);
        return rows.stream().map(r -> Arguments.of(r.toString(), r));
    }

    /** Verb forms that take an IMAGE, with a placeholder for it. */
    private static List<List<String>> imageForms() {
        return List.of(List.of("info", "@"), List.of("info", "-h", "@"), List.of("ls", "@"), List.of("ls", "-l", "@", "/dir"),
                List.of("stat", "@", "/hello.txt"), List.of("cat", "@", "/hello.txt"),
                List.of("get", "@", "/hello.txt", "{OUT}"), List.of("io", "@", "/hello.txt", "-c", "pread 0 1"),
                List.of("io", "-f", "@", "/new", "-c", "pwrite 0 1"), List.of("rm", "@", "/hello.txt"));
    }

    private static void imageRows(List<Row> rows) {
        Map<String, String[]> bad = new LinkedHashMap<>(); // placeholder -> {exit, fragment}
        bad.put("{MISSING}", new String[] {"1", "missing.img: no such image file"});
        bad.put("{DIR}", new String[] {"1", "a-directory: is a directory"});
        bad.put("{EMPTY}", new String[] {"1", "empty.img is 0 bytes"});
        bad.put("{NULLDEV}", new String[] {"1", "/dev/null: not a regular file or block device"});
        bad.put("{FIFO}", new String[] {"1", "fifo.img: not a regular file or block device"});
        bad.put("{GARBAGE}", new String[] {"1", "magic"});
        bad.put("{IMG}\0x", new String[] {"2", "IMAGE"});
        for (List<String> form : imageForms()) {
            for (Map.Entry<String, String[]> b : bad.entrySet()) {
                List<String> args = form.stream().map(a -> a.equals("@") ? b.getKey() : a).toList();
                rows.add(new Row(args, Integer.parseInt(b.getValue()[0]), b.getValue()[1]));
            }
            if (form.get(0).equals("io") || form.get(0).equals("rm")) {
                rows.add(new Row(form.stream().map(a -> a.equals("@") ? "{RO}" : a).toList(), 1,
                        "unwritable.img: permission denied"));
            } else {
                rows.add(new Row(form.stream().map(a -> a.equals("@") ? "{UNREADABLE}" : a).toList(), 1,
                        "unreadable.img: permission denied"));
            }
        }
    }

    /** Verb forms that take a PATH inside the image. */
    private static List<List<String>> pathForms() {
        return List.of(List.of("ls", "{IMG}", "@"), List.of("ls", "-l", "{IMG}", "@"), List.of("stat", "{IMG}", "@"),
                List.of("cat", "{IMG}", "@"), List.of("get", "{IMG}", "@", "{OUT}"),
                List.of("io", "{IMG}", "@", "-c", "pread 0 1"), List.of("io", "-f", "{IMG}", "@", "-c", "pwrite 0 1"),
                List.of("rm", "{IMG}", "@"));
    }

    private static void pathRows(List<Row> rows) {
        Map<String, String[]> bad = new LinkedHashMap<>();
        bad.put("", new String[] {"1", "\"\": no such file or directory"});
        bad.put("/hel\0lo.txt", new String[] {"2", "NUL byte at offset 4"});
        bad.put("/" + NAME_256, new String[] {"2", "is 256 bytes, a name holds at most 255"});
        bad.put("/dir/" + NAME_300 + "/f", new String[] {"2", "is 300 bytes, a name holds at most 255"});
        bad.put(PATH_4200, new String[] {"2", "is 4201 bytes, a path holds at most 4095"});
        bad.put("/hello.txt/", new String[] {"1", "/hello.txt/: not a directory"});
        bad.put("/hello.txt/x", new String[] {"1", "/hello.txt/x: not a directory"});
        bad.put("/link/", new String[] {"1", "/link/: not a directory"});
        bad.put("/nodir/x", new String[] {"1", "/nodir/x: no such file or directory"});
        bad.put("/new\nline", new String[] {"1", "/new\\x0aline: no such file or directory"});
        for (List<String> form : pathForms()) {
            for (Map.Entry<String, String[]> b : bad.entrySet()) {
                if (form.contains("-f") && b.getKey().equals("/new\nline")) {
                    continue; // io -f creates it: not a bad argument
                }
                List<String> args = form.stream().map(a -> a.equals("@") ? b.getKey() : a).toList();
                rows.add(new Row(args, Integer.parseInt(b.getValue()[0]), b.getValue()[1]));
            }
        }
        // wrong types, as the kernel answers them (EISDIR, EEXIST, ENOTDIR): exit 1
        rows.add(row(1, "/dir: is a directory", "cat", "{IMG}", "/dir"));
        rows.add(row(1, "/dir: is a directory", "io", "{IMG}", "/dir", "-c", "pread 0 1"));
        rows.add(row(1, "/: is a directory", "io", "-f", "{IMG}", "/", "-c", "pwrite 0 1"));
        rows.add(row(1, "/dir/.: is a directory", "io", "-f", "{IMG}", "/dir/.", "-c", "pwrite 0 1"));
        rows.add(row(1, "/dir/..: is a directory", "io", "-f", "{IMG}", "/dir/..", "-c", "pwrite 0 1"));
        rows.add(row(1, "/new/: is a directory", "io", "-f", "{IMG}", "/new/", "-c", "pwrite 0 1"));
        rows.add(row(1, "/nope: no such file or directory", "io", "{IMG}", "/nope", "-c", "pwrite 0 1"));
        rows.add(row(1, "/dir: is a directory", "rm", "{IMG}", "/dir"));
        rows.add(row(1, "/dir/: is a directory", "rm", "{IMG}", "/dir/"));
        rows.add(row(1, "/dir/.: is a directory", "rm", "{IMG}", "/dir/."));
        rows.add(row(1, "/dir/..: is a directory", "rm", "{IMG}", "/dir/.."));
        rows.add(row(1, "/: is a directory", "rm", "{IMG}", "/"));
        rows.add(row(1, "/nope: no such file or directory", "rm", "{IMG}", "/nope"));
        rows.add(row(1, "/nope: no such file or directory", "stat", "{IMG}", "/nope"));
        rows.add(row(1, "/nope: no such file or directory", "get", "{IMG}", "/nope", "{OUT}"));
        rows.add(row(1, "no such file or directory", "get", "{IMG}", "/hello.txt", "{MISSING}/deeper/out"));
        rows.add(row(2, "DEST", "get", "{IMG}", "/hello.txt", "out\0x"));
    }

    private static void commandLineRows(List<Row> rows) {
        // missing arguments
        rows.add(row(2, "Missing required parameter: 'IMAGE'", "info"));
        rows.add(row(2, "Missing required parameters: 'IMAGE'", "ls"));
        rows.add(row(2, "Missing required parameters: 'IMAGE', 'PATH'", "stat"));
        rows.add(row(2, "Missing required parameter: 'PATH'", "stat", "{IMG}"));
        rows.add(row(2, "Missing required parameter: 'PATH'", "cat", "{IMG}"));
        rows.add(row(2, "Missing required parameter: 'DEST'", "get", "{IMG}", "/hello.txt"));
        rows.add(row(2, "Missing required parameters: 'IMAGE', 'PATH', 'DEST'", "get"));
        rows.add(row(2, "Missing required parameter: 'PATH'", "io", "{IMG}", "-c", "fsync"));
        rows.add(row(2, "Missing required option: '-c=CMD'", "io", "{IMG}", "/hello.txt"));
        rows.add(row(2, "Missing required option: '-c=CMD'", "io", "-f", "{IMG}", "/new"));
        rows.add(row(2, "Missing required parameter: 'PATH'", "rm", "{IMG}"));
        rows.add(row(2, "Missing required parameters: 'IMAGE', 'PATH'", "rm"));
        rows.add(row(2, "-c", "io", "{IMG}", "/hello.txt", "-c"));
        // extra arguments
        rows.add(row(2, "'extra'", "info", "{IMG}", "extra"));
        rows.add(row(2, "'extra'", "ls", "{IMG}", "/", "extra"));
        rows.add(row(2, "'extra'", "stat", "{IMG}", "/hello.txt", "extra"));
        rows.add(row(2, "'extra'", "cat", "{IMG}", "/hello.txt", "extra"));
        rows.add(row(2, "'extra'", "get", "{IMG}", "/hello.txt", "{OUT}", "extra"));
        rows.add(row(2, "'extra'", "io", "{IMG}", "/hello.txt", "extra", "-c", "fsync"));
        // rm takes several paths; each is checked before the first is removed
        rows.add(row(1, "extra: no such file or directory", "rm", "{IMG}", "/hello.txt", "extra"));
        rows.add(row(2, "'extra'", "race", "R1", "extra"));
        // unknown options, for every verb and before the verb
        for (List<String> form : List.of(List.of("info", "{IMG}"), List.of("ls", "{IMG}"), List.of("stat", "{IMG}", "/hello.txt"),
                List.of("cat", "{IMG}", "/hello.txt"), List.of("get", "{IMG}", "/hello.txt", "{OUT}"),
                List.of("io", "{IMG}", "/hello.txt", "-c", "fsync"), List.of("rm", "{IMG}", "/hello.txt"), List.of("race", "R1"))) {
            for (String opt : List.of("--bogus", "-Z")) {
                List<String> args = new ArrayList<>(form);
                args.add(1, opt);
                rows.add(new Row(args, 2, "Unknown option: '" + opt + "'"));
            }
        }
        rows.add(row(2, "Unknown option: '--bogus'", "--bogus", "ls", "{IMG}"));
        rows.add(row(2, "'frobnicate'", "frobnicate", "{IMG}"));
        // race's own arguments (the scenario never runs)
        rows.add(row(2, "no scenario R99", "race", "R99"));
        rows.add(row(2, "block size must be 1024, 2048 or 4096", "race", "R1", "-b", "512"));
        rows.add(row(2, "'abc'", "race", "R1", "-b", "abc"));
        rows.add(row(2, "'99999999999'", "race", "R1", "-b", "99999999999"));
        rows.add(row(2, "no protection nothing", "race", "R1", "--without", "nothing"));
        rows.add(row(2, "--without", "race", "R1", "--without"));
    }

    private static List<String> io(String... commands) {
        List<String> args = new ArrayList<>(List.of("io", "{IMG}", "/hello.txt"));
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        return args;
    }

    private static void ioCommandRows(List<Row> rows) {
        for (String cmd : List.of("pwrite", "pread", "falloc", "fzero", "fpunch")) {
            rows.add(new Row(io(cmd), 2, cmd + ": missing argument: offset"));
            rows.add(new Row(io(cmd + " 0"), 2, cmd + ": missing argument: length"));
            rows.add(new Row(io(cmd + " 0 1 2"), 2, cmd + ": unexpected argument 2"));
            rows.add(new Row(io(cmd + " x 1"), 2, cmd + ": non-numeric offset -- x"));
            rows.add(new Row(io(cmd + " 0 1x"), 2, cmd + ": non-numeric length -- 1x"));
            rows.add(new Row(io(cmd + " -1 1"), 2, cmd + ": negative offset -- -1"));
            rows.add(new Row(io(cmd + " 0 -5"), 2, cmd + ": negative length -- -5"));
            rows.add(new Row(io(cmd + " 0 9e99"), 2, cmd + ": non-numeric length -- 9e99"));
            rows.add(new Row(io(cmd + " 0 99999999999999999999"), 2, cmd + ": length out of range -- 99999999999999999999"));
            rows.add(new Row(io(cmd + " 8e 1"), 2, cmd + ": offset out of range (past 2^63 - 1) -- 8e"));
            rows.add(new Row(io(cmd + " 0x 1"), 2, cmd + ": non-numeric offset -- 0x"));
            rows.add(new Row(io(cmd + " 0 k"), 2, cmd + ": non-numeric length -- k"));
            // a bad command after a good one: nothing runs
            rows.add(new Row(io("pwrite 0 1", cmd + " 0 1 extra"), 2, cmd + ": unexpected argument extra"));
        }
        for (String cmd : List.of("falloc", "fzero", "fpunch")) {
            rows.add(new Row(io(cmd + " 0 0"), 2, cmd + ": length 0"));
            // vfs_fallocate: EFBIG past the largest file (4 TiB with 1 KiB blocks), or past 2^63 - 1
            rows.add(new Row(io(cmd + " 4t 1"), 1, "file too large (the largest file here is 4398046510080 bytes)"));
            rows.add(new Row(io(cmd + " 1 0x7fffffffffffffff"), 1, "file too large"));
        }
        rows.add(new Row(io("falloc -x 0 1"), 2, "falloc: unsupported option -x"));
        rows.add(new Row(io("fzero -q 0 1"), 2, "fzero: unsupported option -q"));
        rows.add(new Row(io("fpunch -k 0 1"), 2, "fpunch: non-numeric offset -- -k"));
        // rw_verify_area: offset plus length past 2^63 - 1
        rows.add(new Row(io("pwrite 0x7fffffffffffffff 2"), 2, "pwrite: offset 9223372036854775807 plus length 2"));
        rows.add(new Row(io("pread 0x7fffffffffffffff 2"), 2, "pread: offset 9223372036854775807 plus length 2"));
        // generic_write_checks: EFBIG at or past the largest file
        rows.add(new Row(io("pwrite 4398046510080 1"), 1, "pwrite at offset 4398046510080: file too large"));
        rows.add(new Row(io("pwrite 5t 10"), 1, "file too large"));
        rows.add(new Row(io("pwrite -R -b 1k 5t 10"), 1, "file too large"));
        rows.add(new Row(io("pwrite -b 0 0 10"), 2, "pwrite: block size must be 1.."));
        rows.add(new Row(io("pwrite -b -1 0 10"), 2, "pwrite: negative block size -- -1"));
        rows.add(new Row(io("pwrite -b x 0 10"), 2, "pwrite: non-numeric block size -- x"));
        rows.add(new Row(io("pwrite -b 3g 0 10"), 2, "pwrite: block size must be 1.."));
        rows.add(new Row(io("pwrite -b"), 2, "pwrite: missing argument: -b value"));
        rows.add(new Row(io("pwrite -S x 0 1"), 2, "pwrite: non-numeric fill byte -- x"));
        rows.add(new Row(io("pwrite -Z seed 0 1"), 2, "pwrite: non-numeric seed -- seed"));
        rows.add(new Row(io("pwrite -x 0 1"), 2, "pwrite: unsupported option -x"));
        rows.add(new Row(io("pread -x 0 1"), 2, "pread: unsupported option -x"));
        // truncate: inode_newsize_ok's EFBIG past the largest file
        rows.add(new Row(io("truncate"), 2, "truncate: missing argument: size"));
        rows.add(new Row(io("truncate 1 2"), 2, "truncate: unexpected argument 2"));
        rows.add(new Row(io("truncate -5"), 2, "truncate: negative size -- -5"));
        rows.add(new Row(io("truncate x"), 2, "truncate: non-numeric size -- x"));
        rows.add(new Row(io("truncate 9e99"), 2, "truncate: non-numeric size -- 9e99"));
        rows.add(new Row(io("truncate 4398046510081"), 1, "truncate 4398046510081: file too large"));
        rows.add(new Row(io("truncate 1p"), 1, "file too large"));
        // seek
        rows.add(new Row(io("seek"), 2, "seek: missing argument: -d or -h"));
        rows.add(new Row(io("seek -d"), 2, "seek: missing argument: offset"));
        rows.add(new Row(io("seek -x 0"), 2, "seek: -d or -h expected, not -x"));
        rows.add(new Row(io("seek -d x"), 2, "seek: non-numeric offset -- x"));
        rows.add(new Row(io("seek -h -1"), 2, "seek: negative offset -- -1"));
        rows.add(new Row(io("seek -d 0 1"), 2, "seek: unexpected argument 1"));
        // commands without arguments
        for (String cmd : List.of("fsync", "fdatasync", "stat", "fiemap")) {
            rows.add(new Row(io(cmd + " extra"), 2, cmd + ": unexpected argument extra"));
        }
        rows.add(new Row(io("fiemap -x"), 2, "fiemap: unsupported option -x"));
        rows.add(new Row(io("frob 1"), 2, "unknown command frob"));
        rows.add(new Row(io(""), 2, "empty command"));
        rows.add(new Row(io("   "), 2, "empty command"));
        rows.add(new Row(io("fsync", "pwrite 0 1", "nonsense"), 2, "unknown command nonsense"));
    }

    private static String expand(String arg) {
        String s = arg;
        for (Map.Entry<String, Path> e : FILES.entrySet()) {
            s = s.replace(e.getKey(), e.getValue().toString());
        }
        return s.replace("{OUT}", tmp.resolve("out-" + System.nanoTime()).toString());
    }

    private static byte[] sha256(Path p) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    @Timeout(60)
    void badArgumentIsRefusedWithoutChangingAByte(String shown, Row row) throws IOException {
        if (row.args().contains("{RO}")) {
            if (!immutable) {
                System.out.println("SKIP: " + shown + ": chattr +i is not available here, so root can write any image");
            }
            assumeTrue(immutable, "chattr +i is not available here");
        }
        if (row.args().contains("{UNREADABLE}") && Tools.isRoot()) {
            System.out.println("SKIP: " + shown + ": running as root, which reads a file whatever its mode");
            assumeTrue(false, "root reads a file whatever its mode");
        }
        List<Path> images = List.of(image, FILES.get("{RO}"), FILES.get("{GARBAGE}"));
        List<byte[]> before = new ArrayList<>();
        for (Path p : images) {
            before.add(sha256(p));
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status = Main.run(out, err, row.args().stream().map(BadArgumentsTest::expand).toArray(String[]::new));
        String stderr = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        try {
            assertEquals(row.exit(), status, "exit status; stderr: " + stderr);
            assertFalse(stderr.contains("\tat "), "no stack trace: " + stderr);
            assertEquals(1, stderr.lines().count(), "one line on stderr: " + stderr);
            assertTrue(stderr.contains(row.mentions()), "stderr names the bad argument (" + row.mentions() + "): " + stderr);
            assertEquals("", out.toString(), "nothing ran, so nothing on stdout");
            for (int i = 0; i < images.size(); i++) {
                assertArrayEquals(before.get(i), sha256(images.get(i)), images.get(i) + " changed");
            }
        } finally {
            if (!java.util.Arrays.equals(before.get(0), sha256(image))) {
                Files.write(image, pristine); // the next rows start from the pristine image
            }
        }
    }

    /**
     * Issue 8, defect 7: a 256-byte name ended in exit 70 (an IllegalArgumentException from the
     * directory writer) after the inode was allocated, leaving it unattached. Now a usage error
     * before anything is opened: e2fsck finds the image clean and not a byte changed. Run as a
     * user runs it, in a child JVM.
     */
    @Test
    void defect7NameOf256BytesIsAUsageErrorAndAllocatesNothing() throws IOException {
        Path img = tmp.resolve("defect7.img");
        Files.write(img, pristine);
        byte[] before = Files.readAllBytes(img);
        Tools.Result r = Tools.ext4j("io", "-f", img.toString(), "/" + NAME_256, "-c", "pwrite 0 10");
        assertEquals(2, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("is 256 bytes, a name holds at most 255"), r.stderr());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertArrayEquals(before, Files.readAllBytes(img), "image changed");
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout() + fsck.stderr());
        // 255 bytes is a name ext4 holds: created, and the kernel's e2fsck agrees
        String name255 = "c".repeat(255);
        Tools.ext4j("io", "-f", img.toString(), "/" + name255, "-c", "pwrite 0 10").ok();
        assertEquals(List.of(name255, "dir", "hello.txt", "link", "lost+found"),
                Tools.ext4j("ls", img.toString(), "/").ok().stdout().lines().toList());
        fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout() + fsck.stderr());
    }

    /** A few rows as a user's script sees them: the JVM's exit status and stderr, not the in-process mapping. */
    @Test
    void childProcessAgreesWithTheInProcessRows() throws IOException {
        Path img = tmp.resolve("child.img");
        Files.write(img, pristine);
        byte[] before = Files.readAllBytes(img);
        record Case(int exit, String mentions, String... args) {
        }
        for (Case c : List.of(new Case(2, "pread: non-numeric length -- 9e99", "io", img.toString(), "/hello.txt", "-c", "pread 0 9e99"),
                new Case(2, "pwrite: block size must be", "io", img.toString(), "/hello.txt", "-c", "pwrite -b 0 0 10"),
                new Case(1, "file too large", "io", img.toString(), "/hello.txt", "-c", "truncate 5t"),
                new Case(1, "not a regular file or block device", "ls", "/dev/null"),
                new Case(2, "Missing required parameter: 'PATH'", "cat", img.toString()),
                new Case(1, "/hello.txt/: not a directory", "rm", img.toString(), "/hello.txt/"))) {
            Tools.Result r = Tools.ext4j(c.args());
            assertEquals(c.exit(), r.exit(), String.join(" ", c.args()) + ": " + r.stderr());
            assertEquals(1, r.stderr().lines().count(), r.stderr());
            assertTrue(r.stderr().contains(c.mentions()), r.stderr());
            assertFalse(r.stderr().contains("\tat "), r.stderr());
        }
        assertArrayEquals(before, Files.readAllBytes(img), "image changed");
    }

    /**
     * {@code pread 0 100g} reads in bounded pieces: the in-process run shares the test JVM's heap
     * (1 GiB), so a buffer of the length asked for would fail here. Reading stops at the end of
     * file, as xfs_io's "read 12/107374182400".
     */
    @Test
    void hugeReadLengthStreams() throws IOException {
        Path img = tmp.resolve("huge-read.img");
        Files.write(img, pristine);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status = Main.run(out, err, "io", img.toString(), "/hello.txt",
                "-c", "pread 0 100g", "-c", "pread -v 0 7e", "-c", "pread 1t 100g");
        assertEquals(0, status, err.toString());
        assertEquals(List.of("read 12/107374182400 bytes at offset 0",
                "00000000:  68 65 6c 6c 6f 2c 20 65 78 74 34 0a  hello..ext4.",
                "read 12/8070450532247928832 bytes at offset 0", "read 0/107374182400 bytes at offset 1099511627776"),
                out.toString().lines().toList());
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
    }
}
