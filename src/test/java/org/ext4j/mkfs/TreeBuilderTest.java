package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.cli.Main;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.TreeGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * mkfs {@code -d}'s one-pass builder ({@link TreeBuilder}), judged by e2fsck and the kernel: the
 * mounted image shows exactly the source tree across block sizes and features (every name looked up
 * by the listing script's lstat, through the htree), including htrees of two levels and extent trees
 * with index blocks; the kernel then fills and empties it and e2fsck
 * stays clean; all-zero blocks become holes as mke2fs makes them, so the image uses no more blocks
 * than mke2fs's apart from the htree roots; and a tree the image cannot hold fails by name and
 * leaves nothing.
 */
@ExtendWith(SkippedChecks.class)
class TreeBuilderTest {
    @TempDir
    Path tmp;

    private static Tools.Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(out, err, args);
        return new Tools.Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void fsckClean(Path img, String when) throws Exception {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn " + when + ":\n" + r.stdout() + r.stderr());
    }

    private Path script() throws Exception {
        Path p = tmp.resolve("nsops.py");
        if (!Files.exists(p)) {
            try (java.io.InputStream in = TreeBuilderTest.class.getResourceAsStream("/org/ext4j/testing/nsops.py")) {
                Files.write(p, in.readAllBytes());
            }
        }
        return p;
    }

    /**
     * The tree as the namespace tests' script lists it, directory sizes left out (they depend on
     * the block size), with mtimes to the nanosecond where {@code times} (a 128-byte inode has no
     * room for nanoseconds or times past 2038).
     */
    private String dump(Path dir, boolean times) throws Exception {
        return Tools.run("python3", script().toString(), "dump", dir.toString(), times ? "times" : "").ok().stdout()
                .lines().filter(l -> !l.startsWith("lost+found"))
                .map(l -> l.matches("\\S+ 4\\d{4} .*") ? l.replaceAll(" s\\d+ ", " ") : l)
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
    }

    /**
     * Every kind of entry (TreeGenerator: holes, hard links, xattrs and ACLs, devices, deep paths,
     * a directory of thousands of names) under each option row; the kernel's view equals the source,
     * then the kernel writes a few thousand files, deletes them, and e2fsck stays clean.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 2048 -O ^metadata_csum,^64bit", "-b 4096 -O ^flex_bg,^has_journal,^dir_index",
        "-b 4096 -I 128 -O ^huge_file"})
    void theKernelSeesTheTreeAndWritesOnIt(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        List<String> opts = Arrays.asList(row.split(" "));
        int bs = Integer.parseInt(opts.get(opts.indexOf("-b") + 1));
        // at 1 KiB blocks 12,000 names need a second htree level (123 leaves under the root)
        TreeGenerator.Tree tree = TreeGenerator.generate(Files.createDirectories(tmp.resolve("src")),
                new TreeGenerator.Options(11, bs, false, bs == 1024 ? 12_000 : 3000, true));
        tree.notes().forEach(n -> System.out.println("note: " + n));
        Path img = tmp.resolve("t.img");
        List<String> args = new ArrayList<>(List.of("mkfs", "-q"));
        args.addAll(opts);
        args.addAll(List.of("-d", tree.root().toString(), img.toString(), "160M"));
        Tools.Result r = cli(args.toArray(new String[0]));
        assertEquals(0, r.exit(), r.stderr());
        fsckClean(img, "after mkfs -d " + row);
        boolean times = !row.contains("-I 128");
        String expected = dump(tree.root(), times);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Tools.assertSameLines(expected, dump(m.dir(), times), "the kernel's view of the image (+) differs from the source (-)");
            Path fill = Files.createDirectory(m.dir().resolve("fill"));
            byte[] data = new byte[3000];
            for (int i = 0; i < 3000; i++) {
                Files.write(fill.resolve("f" + i), data);
                Files.writeString(m.dir().resolve(tree.htreeDir().substring(1)).resolve("k" + i), "x");
            }
            for (int i = 0; i < 3000; i += 2) {
                Files.delete(fill.resolve("f" + i));
                Files.delete(m.dir().resolve(tree.htreeDir().substring(1)).resolve("k" + i));
            }
        }
        fsckClean(img, "after the kernel wrote to the image of " + row);
    }

    /**
     * A file whose blocks alternate between data and zeros is written as holes where the zeros are
     * (mke2fs -d does the same), which gives it hundreds of extents: at 1 KiB blocks a two-level
     * extent tree. The bytes read back through the kernel, the file uses exactly its data blocks
     * plus its tree, and the image uses no more blocks than mke2fs's of the same tree.
     */
    @Test
    void zeroBlocksBecomeHolesAndManyExtentsAnIndexedTree() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("e2fsck", "mkfs.ext4", "dumpe2fs");
        Path src = Files.createDirectories(tmp.resolve("z"));
        int bs = 1024;
        byte[] striped = new byte[900 * bs];
        for (int b = 0; b < 900; b += 2) {
            Arrays.fill(striped, b * bs, b * bs + bs, (byte) (1 + b % 250));
        }
        Files.write(src.resolve("striped"), striped);
        byte[] tail = new byte[5 * bs + 100]; // data, then zeros to the end (a partial last block too)
        Arrays.fill(tail, 0, bs, (byte) 7);
        Files.write(src.resolve("zero-tail"), tail);
        Files.write(src.resolve("all-zero"), new byte[64 * bs]);
        for (int i = 0; i < 50; i++) {
            Files.writeString(src.resolve("small" + i), "file " + i + "\n");
        }
        Path img = tmp.resolve("z.img");
        Tools.Result r = cli("mkfs", "-q", "-b", "1024", "-d", src.toString(), img.toString(), "32M");
        assertEquals(0, r.exit(), r.stderr());
        fsckClean(img, "after mkfs -d");
        Tools.Result ex = Tools.run("debugfs", "-R", "ex /striped", img.toString());
        assertTrue(ex.stdout().lines().anyMatch(l -> l.trim().startsWith("2/ 2")), "a two-level tree:\n" + ex.stdout());
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            assertArrayEquals(striped, Files.readAllBytes(m.dir().resolve("striped")));
            assertArrayEquals(tail, Files.readAllBytes(m.dir().resolve("zero-tail")));
            assertArrayEquals(new byte[64 * bs], Files.readAllBytes(m.dir().resolve("all-zero")));
            long blocks = ((Number) Files.getAttribute(m.dir().resolve("striped"), "unix:size")).longValue();
            assertEquals(900 * bs, blocks);
            assertEquals(0L, stBlocks(m.dir().resolve("all-zero")));
            assertEquals(2L, stBlocks(m.dir().resolve("zero-tail")), "one data block of 1 KiB");
        }
        Path theirs = tmp.resolve("m.img");
        Tools.run("mkfs.ext4", "-q", "-F", "-b", "1024", "-d", src.toString(), theirs.toString(), "32M").ok();
        assertTrue(used(img) <= used(theirs), "ext4j uses " + used(img) + " blocks, mke2fs " + used(theirs));
    }

    private static long stBlocks(Path p) throws Exception {
        return Long.parseLong(Tools.run("stat", "-c", "%b", p.toString()).ok().stdout().strip());
    }

    private static long used(Path img) throws Exception {
        long count = 0;
        long free = 0;
        for (String l : Tools.run("dumpe2fs", "-h", img.toString()).stdout().lines().toList()) {
            if (l.startsWith("Block count:")) {
                count = Long.parseLong(l.substring(12).strip());
            } else if (l.startsWith("Free blocks:")) {
                free = Long.parseLong(l.substring(12).strip());
            }
        }
        return count - free;
    }

    /** Too few inodes, too little space, a source lost+found with something in it: exit status, a named cause, no image. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"inodes", "space", "lost+found"})
    void aTreeTheImageCannotHoldFailsByNameAndLeavesNothing(String what) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("s"));
        for (int i = 0; i < 300; i++) {
            Files.writeString(src.resolve("f" + i), "x".repeat(i));
        }
        String size = "16M";
        List<String> extra = new ArrayList<>();
        int exit = 1;
        String named;
        switch (what) {
            case "inodes" -> {
                extra.addAll(List.of("-N", "128"));
                named = "inode";
            }
            case "space" -> {
                byte[] big = new byte[20 << 20];
                new java.util.Random(5).nextBytes(big);
                Files.write(src.resolve("big"), big);
                named = "big";
            }
            default -> {
                Files.createDirectories(src.resolve("lost+found/inside"));
                exit = 2;
                named = "lost+found";
            }
        }
        Path img = tmp.resolve("x.img");
        Files.writeString(img, "old");
        List<String> args = new ArrayList<>(List.of("mkfs", "-q"));
        args.addAll(extra);
        args.addAll(List.of("-d", src.toString(), img.toString(), size));
        Tools.Result r = cli(args.toArray(new String[0]));
        assertEquals(exit, r.exit(), r.stderr());
        assertTrue(r.stderr().contains(named), r.stderr());
        assertEquals("old", Files.readString(img));
        try (var s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".mkfs")), "no temporary image is left");
        }
    }

    /**
     * Creation times come from the source where its file system records them: a tree made on a
     * kernel ext4 mount (statx gives btime there), and the kernel's view of the image shows each
     * name's btime to the nanosecond.
     */
    @Test
    void creationTimesComeFromTheSource() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "stat");
        Path srcImg = tmp.resolve("src.img");
        Tools.mkfs(srcImg, 32L << 20, List.of(), null);
        Path img = tmp.resolve("b.img");
        String expected;
        try (Tools.Mount m = Tools.Mount.of(srcImg, false)) {
            Path top = Files.createDirectories(m.dir().resolve("top/sub"));
            Files.writeString(top.resolve("f"), "f");
            Files.createSymbolicLink(top.resolve("l"), Path.of("f"));
            Thread.sleep(20);
            Files.writeString(m.dir().resolve("top/g"), "g");
            expected = btimes(m.dir().resolve("top"));
            assertFalse(expected.contains(" 0.000000000"), expected);
            Tools.Result r = cli("mkfs", "-q", "-d", m.dir().resolve("top").toString(), img.toString(), "16M");
            assertEquals(0, r.exit(), r.stderr());
        }
        fsckClean(img, "after mkfs -d");
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            assertEquals(expected, btimes(m.dir()));
        }
    }

    /** "path btime" of every name under {@code top} but lost+found, sorted, from the kernel's statx. */
    private static String btimes(Path top) throws Exception {
        List<String> out = new ArrayList<>();
        try (var s = Files.walk(top)) {
            for (Path p : s.filter(p -> !p.equals(top) && !p.getFileName().toString().equals("lost+found")).toList()) {
                out.add(top.relativize(p) + " " + Tools.run("stat", "-c", "%.9W", p.toString()).ok().stdout().strip());
            }
        }
        out.sort(null);
        return String.join("\n", out);
    }

    /** An empty lost+found in the source is the image's own (mke2fs -d merges them the same way). */
    @Test
    void anEmptySourceLostAndFoundIsTheImages() throws Exception {
        Tools.requireTools("e2fsck");
        Path src = Files.createDirectories(tmp.resolve("s"));
        Files.createDirectories(src.resolve("lost+found"));
        Files.writeString(src.resolve("a"), "a");
        Path img = tmp.resolve("l.img");
        Tools.Result r = cli("mkfs", "-q", "-d", src.toString(), img.toString(), "16M");
        assertEquals(0, r.exit(), r.stderr());
        fsckClean(img, "after mkfs -d");
        Tools.Result ls = cli("ls", img.toString(), "/");
        assertEquals(0, ls.exit(), ls.stderr());
        assertEquals(List.of("a", "lost+found"), ls.stdout().lines().sorted().toList());
    }
}
