package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.ext4j.format.InodeRecord;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writing inline_data images ({@link InlineFile}, {@code namespace.InlineDirectory}) on
 * {@code mkfs.ext4 -O inline_data} images over 4 KiB and 1 KiB blocks, with and without
 * metadata_csum: files written across the inline/extent boundary, truncated and unlinked;
 * directories grown past the inode, emptied, renamed across; and files and directories the kernel
 * made inline, changed by ext4j. Each result: the inline flag where the kernel puts it (checked
 * against the kernel doing the same on a copy), {@code e2fsck -fn} clean, and a kernel mount
 * showing exactly the model's names and bytes.
 */
@ExtendWith(SkippedChecks.class)
class InlineDataWriteTest {
    @TempDir
    Path dir;

    private Path image(String options) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path img = dir.resolve("inline.img");
        List<String> opts = new ArrayList<>(List.of("-O", "inline_data", "-I", "256"));
        opts.addAll(List.of(options.split(" ")));
        Tools.mkfs(img, 32L << 20, opts, null);
        return img;
    }

    /** e2fsck clean, and the kernel shows exactly the model: every file's bytes, every directory's names. */
    private static void check(Path img, Map<String, byte[]> files, Map<String, TreeSet<String>> dirs) throws Exception {
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());
        Tools.kernelCheck("the model's names and bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (Map.Entry<String, byte[]> f : files.entrySet()) {
                    assertArrayEquals(f.getValue(), Files.readAllBytes(m.dir().resolve(f.getKey().substring(1))),
                            "kernel's bytes of " + f.getKey());
                }
                for (Map.Entry<String, TreeSet<String>> d : dirs.entrySet()) {
                    TreeSet<String> names = new TreeSet<>();
                    try (Stream<Path> s = Files.list(m.dir().resolve(d.getKey().substring(1)))) {
                        s.forEach(p -> names.add(p.getFileName().toString()));
                    }
                    names.remove("lost+found");
                    assertEquals(d.getValue(), names, "kernel's names in " + d.getKey());
                }
            }
        });
    }

    private static boolean inline(Ext4FileSystem fs, String path) throws Exception {
        return (fs.stat(path).flags() & InodeRecord.FL_INLINE_DATA) != 0;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024", "-b 4096 -O ^metadata_csum", "-b 1024 -O ^metadata_csum"})
    void filesAcrossTheInlineBoundary(String options) throws Exception {
        Path img = image(options);
        Random rnd = new Random(options.hashCode());
        Map<String, byte[]> model = new TreeMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (int i = 0; i < 40; i++) {
                String p = "/f" + i;
                byte[] b = new byte[rnd.nextInt(201)];
                rnd.nextBytes(b);
                try (Ext4File f = fs.createFile(p, 0644)) {
                    if (b.length > 0) {
                        f.pwrite(0, b, 0, b.length);
                    }
                }
                model.put(p, b);
                // the kernel keeps a first write of at most 128 bytes (256-byte inode) in the inode
                assertEquals(b.length > 0 && b.length <= 128, inline(fs, p), p + " of " + b.length + " bytes");
            }
            // small writes inside and past the inline size, truncates down and up, growth to blocks
            for (int i = 0; i < 40; i++) {
                String p = "/f" + i;
                byte[] cur = model.get(p);
                try (Ext4File f = fs.openFile(p)) {
                    switch (i % 5) {
                        case 0 -> { // a small write that may still fit
                            int pos = rnd.nextInt(100);
                            byte[] w = new byte[rnd.nextInt(40) + 1];
                            rnd.nextBytes(w);
                            f.pwrite(pos, w, 0, w.length);
                            cur = Arrays.copyOf(cur, Math.max(cur.length, pos + w.length));
                            System.arraycopy(w, 0, cur, pos, w.length);
                        }
                        case 1 -> { // truncate down
                            int n = cur.length == 0 ? 0 : rnd.nextInt(cur.length);
                            f.truncate(n);
                            cur = Arrays.copyOf(cur, n);
                        }
                        case 2 -> { // truncate up
                            int n = cur.length + rnd.nextInt(100);
                            f.truncate(n);
                            cur = Arrays.copyOf(cur, n);
                        }
                        case 3 -> { // growth to several blocks
                            byte[] w = new byte[3 * f.blockSize() + 77];
                            rnd.nextBytes(w);
                            f.pwrite(cur.length, w, 0, w.length);
                            byte[] n = Arrays.copyOf(cur, cur.length + w.length);
                            System.arraycopy(w, 0, n, cur.length, w.length);
                            cur = n;
                        }
                        default -> { // fallocate converts
                            f.fallocate(0, 0, 10);
                            cur = Arrays.copyOf(cur, Math.max(cur.length, 10));
                        }
                    }
                    byte[] back = new byte[cur.length + 10];
                    int n = Math.max(0, f.pread(0, back, 0, back.length));
                    assertArrayEquals(cur, Arrays.copyOf(back, n), "ext4j's bytes of " + p + " (case " + i % 5 + ")");
                }
                model.put(p, cur);
            }
            for (int i = 0; i < 40; i += 3) {
                fs.unlink("/f" + i);
                model.remove("/f" + i);
            }
        }
        check(img, model, Map.of("/", new TreeSet<>(model.keySet().stream().map(s -> s.substring(1)).toList())));
    }

    /**
     * The same writes by the kernel and by ext4j on copies of one image leave the same inodes
     * ({@code debugfs stat}: flags, size, the size of the inline data, or the extent mapping's
     * length): the boundary sizes of the first write, a write after a truncate of an empty new file
     * (inline with i_size past the inline data), truncates inside and past the inline size, a
     * fallocate, and new directories with names added up to and past the inode.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024 -O ^metadata_csum"})
    void sameInodesAsTheKernel(String options) throws Exception {
        Path base = image(options);
        Tools.requireRootAndLoop();
        Path theirs = dir.resolve("kernel.img");
        Files.copy(base, theirs);
        int[] sizes = {0, 1, 59, 60, 61, 100, 127, 128, 129, 200};
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            for (int n : sizes) {
                Files.write(m.dir().resolve("s" + n), pattern(n));
            }
            Files.write(m.dir().resolve("t"), new byte[0]);
            Tools.run("truncate", "-s", "100", m.dir().resolve("t").toString()).ok();
            try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(m.dir().resolve("t"),
                    java.nio.file.StandardOpenOption.WRITE)) {
                c.write(java.nio.ByteBuffer.wrap(pattern(3)), 0);
            }
            Tools.run("truncate", "-s", "70", m.dir().resolve("s100").toString()).ok();
            Tools.run("truncate", "-s", "90", m.dir().resolve("s61").toString()).ok();
            Tools.run("truncate", "-s", "5", m.dir().resolve("s59").toString()).ok();
            Tools.run("fallocate", "-l", "10", m.dir().resolve("s1").toString()).ok();
            for (int d = 0; d < 3; d++) {
                Files.createDirectory(m.dir().resolve("d" + d));
                for (int i = 0; i < 4 * d + 2; i++) {
                    Files.write(m.dir().resolve("d" + d + "/n" + i), new byte[0]);
                }
            }
        }
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(base, WriteOptions.defaults())) {
            for (int n : sizes) {
                try (Ext4File f = fs.createFile("/s" + n, 0644)) {
                    if (n > 0) {
                        f.pwrite(0, pattern(n), 0, n);
                    }
                }
            }
            try (Ext4File f = fs.createFile("/t", 0644)) {
                f.truncate(100);
                f.pwrite(0, pattern(3), 0, 3);
            }
            fs.truncate("/s100", 70);
            fs.truncate("/s61", 90);
            fs.truncate("/s59", 5);
            try (Ext4File f = fs.openFile("/s1")) {
                f.fallocate(0, 0, 10);
            }
            for (int d = 0; d < 3; d++) {
                fs.mkdir("/d" + d, 0755);
                for (int i = 0; i < 4 * d + 2; i++) {
                    fs.createFile("/d" + d + "/n" + i, 0644).close();
                }
            }
        }
        Tools.Result fsck = Tools.fsck(base);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());
        List<String> names = new ArrayList<>(List.of("t", "d0", "d1", "d2"));
        for (int n : sizes) {
            names.add("s" + n);
        }
        for (String name : names) {
            assertEquals(shape(theirs, name), shape(base, name), "debugfs stat " + name + " (kernel, ext4j)");
        }
    }

    /**
     * Unlink and rmdir of inline inodes the kernel made leave the freed inodes as the kernel's
     * {@code rm} and {@code rmdir} leave them on a copy ({@code debugfs stat} of each, times left
     * out): links 0, the inline bytes and size kept, no blocks; and the same bitmaps.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024 -O ^metadata_csum"})
    void freedInlineInodesAsTheKernelLeavesThem(String options) throws Exception {
        Path ours = image(options);
        Tools.requireRootAndLoop();
        try (Tools.Mount m = Tools.Mount.of(ours, false)) {
            Files.write(m.dir().resolve("small"), pattern(20));
            Files.write(m.dir().resolve("mid"), pattern(110));
            Files.createDirectory(m.dir().resolve("d"));
            Files.createDirectory(m.dir().resolve("full"));
            for (int i = 0; i < 6; i++) {
                Files.write(m.dir().resolve("full/n" + i), new byte[0]);
            }
        }
        Path theirs = dir.resolve("kernel.img");
        Files.copy(ours, theirs);
        List<String> gone = List.of("small", "mid", "d", "full/n0", "full/n1", "full/n2", "full/n3", "full/n4", "full/n5",
                "full");
        List<Long> inodes = new ArrayList<>();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(ours, WriteOptions.defaults())) {
            assertTrue(inline(fs, "/small") && inline(fs, "/mid") && inline(fs, "/d") && inline(fs, "/full"));
            for (String g : gone) {
                inodes.add(fs.lookup("/" + g));
                if (g.equals("d") || g.equals("full")) {
                    fs.rmdir("/" + g);
                } else {
                    fs.unlink("/" + g);
                }
            }
        }
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            for (String g : gone) {
                Files.delete(m.dir().resolve(g));
            }
        }
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());
        for (long ino : inodes) {
            assertEquals(deleted(theirs, ino), deleted(ours, ino), "debugfs stat <" + ino + "> (kernel, ext4j)");
        }
        assertEquals(UnlinkTest.counts(theirs), UnlinkTest.counts(ours), "free counts (kernel, ext4j)");
    }

    /** {@code debugfs stat <ino>} and {@code id <ino>} of a freed inode without its times (and the checksum they change). */
    private static String deleted(Path img, long ino) throws Exception {
        String stat = Tools.run("debugfs", "-R", "stat <" + ino + ">", img.toString()).ok().stdout().lines()
                .filter(l -> !l.matches("^ *(ctime|atime|mtime|crtime|dtime|Inode checksum|Generation).*"))
                .map(l -> l.replaceAll("Generation: \\d+ +", ""))
                .reduce("", (x, y) -> x + y + "\n");
        String id = Tools.run("debugfs", "-R", "id <" + ino + ">", img.toString()).ok().stdout();
        // i_block (octal offsets 0050..0143) and the attribute area (0240 on): the inline bytes
        StringBuilder body = new StringBuilder();
        for (String l : id.split("\n")) {
            if (l.matches("^0(0[5-9]|1[0-4]|2[4-9]|3[0-7]).*") || l.equals("*")) {
                body.append(l, 0, Math.min(l.length(), 45)).append('\n');
            }
        }
        return stat + body;
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    /** What {@code debugfs stat} says of an inode's layout: type, flags, size, inline data size, mapping lengths. */
    private static String shape(Path img, String name) throws Exception {
        String out = Tools.run("debugfs", "-R", "stat /" + name, img.toString()).ok().stdout();
        StringBuilder s = new StringBuilder();
        for (String line : out.split("\n")) {
            line = line.strip();
            if (line.startsWith("Inode:")) {
                s.append(line.replaceAll("^Inode: \\d+ +", "").replaceAll("Mode: +\\d+ +", "")).append(" | ");
            } else if (line.startsWith("User:")) {
                s.append(line.replaceAll(".*Size: ", "size ")).append(" | ");
            } else if (line.startsWith("Size of inline data") || line.startsWith("system.data")
                    || line.matches("^\\(\\d.*")) {
                s.append(line.replaceAll("\\):.*", "):N")).append(" | ");
            }
        }
        return s.toString();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024", "-b 4096 -O ^metadata_csum", "-b 1024 -O ^metadata_csum"})
    void directoriesGrowShrinkAndMove(String options) throws Exception {
        Path img = image(options);
        Map<String, TreeSet<String>> dirs = new TreeMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/a", 0755);
            fs.mkdir("/b", 0755);
            assertTrue(inline(fs, "/a"), "a new directory is inline, as ext4_init_new_dir makes it");
            TreeSet<String> a = new TreeSet<>();
            for (int i = 0; i < 4; i++) { // four 12-byte records fit the 56 bytes of i_block
                fs.createFile("/a/n" + i, 0644).close();
                a.add("n" + i);
            }
            assertTrue(inline(fs, "/a"));
            assertEquals(60, fs.stat("/a").size());
            for (int i = 4; i < 9; i++) { // the value takes the rest of the inode (68 bytes): five more
                fs.createFile("/a/n" + i, 0644).close();
                a.add("n" + i);
            }
            assertTrue(inline(fs, "/a"));
            assertEquals(128, fs.stat("/a").size());
            fs.mkdir("/a/sub", 0755); // past the inode: one block
            a.add("sub");
            assertTrue(!inline(fs, "/a"), "a full inline directory is converted to a block");
            assertEquals(fs.superblock().blockSize, fs.stat("/a").size());
            // b: names in and out, an inline directory moved across (its ".." follows)
            TreeSet<String> b = new TreeSet<>();
            for (int i = 0; i < 5; i++) {
                fs.createFile("/b/m" + i, 0644).close();
                b.add("m" + i);
            }
            fs.unlink("/b/m0");
            fs.unlink("/b/m3");
            b.remove("m0");
            b.remove("m3");
            fs.mkdir("/b/inner", 0755);
            fs.createFile("/b/inner/x", 0644).close();
            fs.rename("/b/inner", "/a/sub/inner");
            fs.rename("/a/n1", "/b/n1");
            a.remove("n1");
            b.add("n1");
            fs.rename("/b/m1", "/b/m1-with-a-longer-name");
            b.remove("m1");
            b.add("m1-with-a-longer-name");
            checkDotDot(fs, "/a/sub/inner");
            fs.mkdir("/gone", 0755);
            fs.createFile("/gone/y", 0644).close();
            fs.unlink("/gone/y");
            fs.rmdir("/gone");
            dirs.put("/a", a);
            dirs.put("/b", b);
            dirs.put("/a/sub", new TreeSet<>(List.of("inner")));
            dirs.put("/a/sub/inner", new TreeSet<>(List.of("x")));
            dirs.put("/", new TreeSet<>(List.of("a", "b")));
        }
        check(img, Map.of(), dirs);
        Tools.kernelCheck("\"..\" of the moved inline directory", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertEquals(Files.getAttribute(m.dir().resolve("a/sub"), "unix:ino"),
                        Files.getAttribute(m.dir().resolve("a/sub/inner/.."), "unix:ino"));
            }
        });
    }

    private static void checkDotDot(Ext4FileSystem fs, String path) throws Exception {
        long parent = fs.lookup(path.substring(0, path.lastIndexOf('/')));
        assertEquals(parent, fs.lookup(path + "/.."), "ext4j's \"..\" of " + path);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024 -O ^metadata_csum"})
    void whatTheKernelMadeInlineChangedByExt4j(String options) throws Exception {
        Path img = image(options);
        Tools.requireRootAndLoop();
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Files.write(m.dir().resolve("small"), "hello inline".getBytes());
            Files.write(m.dir().resolve("big"), new byte[100]);
            Files.write(m.dir().resolve("gone"), "bye".getBytes());
            Files.createDirectory(m.dir().resolve("d"));
            Files.write(m.dir().resolve("d/one"), new byte[] {1});
            Files.createDirectory(m.dir().resolve("e"));
        }
        Map<String, byte[]> files = new TreeMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            assertTrue(inline(fs, "/small") && inline(fs, "/big") && inline(fs, "/d"));
            try (Ext4File f = fs.openFile("/small")) {
                f.pwrite(6, "INLINE, still".getBytes(), 0, 13); // 19 bytes: stays inline
            }
            assertTrue(inline(fs, "/small"));
            files.put("/small", "hello INLINE, still".getBytes());
            try (Ext4File f = fs.openFile("/big")) {
                f.pwrite(120, new byte[] {7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, 0, 10); // ends at 130: converted
            }
            byte[] big = new byte[130];
            Arrays.fill(big, 120, 130, (byte) 7);
            files.put("/big", big);
            assertTrue(!inline(fs, "/big"));
            fs.unlink("/gone");
            fs.createFile("/d/two", 0644).close();
            fs.rmdir("/e");
            fs.rename("/d/one", "/d/uno");
        }
        check(img, files, Map.of("/d", new TreeSet<>(List.of("two", "uno")), "/", new TreeSet<>(List.of("big", "d", "small"))));
    }
}
