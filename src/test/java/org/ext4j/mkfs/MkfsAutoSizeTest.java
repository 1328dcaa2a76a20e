package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.TreeGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code mkfs -d SRCDIR IMAGE} without SIZE: the size is chosen from the tree and printed (the only
 * line on a non-terminal stdout with {@code -q}: no progress bar there); e2fsck is clean, the kernel
 * shows the tree, and the space left over is small but not negative.
 */
@ExtendWith(SkippedChecks.class)
class MkfsAutoSizeTest {
    private static final Pattern SIZE_LINE = Pattern.compile("size (\\d+) KiB \\((\\d+) blocks\\)\n");

    @TempDir
    Path tmp;

    /** Many small files in nested directories, one directory of 2000 names, long symlinks. */
    private Path smallFiles() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("small"));
        Random r = new Random(5);
        for (int d = 0; d < 20; d++) {
            Path dir = Files.createDirectories(root.resolve("d" + d).resolve("sub"));
            for (int i = 0; i < 60; i++) {
                byte[] b = new byte[r.nextInt(3000)];
                r.nextBytes(b);
                Files.write(dir.resolve("f" + i), b);
            }
            Files.createSymbolicLink(root.resolve("d" + d).resolve("long"), Path.of("x".repeat(200)));
        }
        Path big = Files.createDirectories(root.resolve("bigdir"));
        for (int i = 0; i < 2000; i++) {
            Files.writeString(big.resolve("entry-with-a-longish-name-" + i), Integer.toString(i));
        }
        return root;
    }

    /** A 24 MiB file, a 1 GiB sparse file with 1 MiB of data, hard links to both. */
    private Path largeAndSparse() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("large"));
        byte[] b = new byte[1 << 20];
        new Random(6).nextBytes(b);
        try (FileChannel c = FileChannel.open(root.resolve("big"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 24; i++) {
                c.write(java.nio.ByteBuffer.wrap(b));
            }
        }
        try (FileChannel c = FileChannel.open(root.resolve("sparse"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            c.write(java.nio.ByteBuffer.wrap(b, 0, 512 << 10), 300L << 20);
            c.write(java.nio.ByteBuffer.wrap(b, 0, 512 << 10), (1L << 30) - (512 << 10));
        }
        Files.createLink(root.resolve("big-link"), root.resolve("big"));
        Files.createLink(root.resolve("sparse-link"), root.resolve("sparse"));
        return root;
    }

    /** One tiny file: a file system too small for mke2fs's smallest journal (it gets none, as mke2fs's). */
    private Path tiny() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("tiny"));
        Files.writeString(root.resolve("hello"), "hello\n");
        return root;
    }

    private static long field(String dump, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ":\\s+(\\d+)").matcher(dump);
        assertTrue(m.find(), name + " missing from dumpe2fs");
        return Long.parseLong(m.group(1));
    }

    /** Builds {@code src} with SIZE omitted and checks the printed size, e2fsck, the spare room and the kernel's view. */
    private void buildAndCheck(Path src, String... options) throws Exception {
        Tools.requireTools("e2fsck", "dumpe2fs");
        Path img = tmp.resolve(src.getFileName() + ".img");
        List<String> args = new ArrayList<>(List.of("mkfs", "-q"));
        args.addAll(List.of(options));
        args.addAll(List.of("-d", src.toString(), img.toString()));
        Tools.Result r = Tools.ext4j(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        Matcher m = SIZE_LINE.matcher(r.stdout());
        assertTrue(m.matches(), "stdout is exactly the size line: [" + r.stdout() + "]");
        long blocks = Long.parseLong(m.group(2));
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        String sb = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        assertEquals(blocks, field(sb, "Block count"));
        long bs = field(sb, "Block size");
        assertEquals(Long.parseLong(m.group(1)), blocks * bs / 1024);
        assertEquals(blocks * bs, Files.size(img), "the image is as large as the file system");
        long free = field(sb, "Free blocks");
        long reserved = field(sb, "Reserved block count");
        long used = blocks - free;
        long spare = free - reserved;
        System.out.printf("%s %s: %d blocks of %d, %d used, %d spare over the %d reserved%n", src.getFileName(),
                String.join(" ", options), blocks, bs, used, spare, reserved);
        assertTrue(spare >= 256, "the tree took reserved blocks or the write margin");
        // the margin is 10% of the tree's estimated need, the estimate an upper bound (directories half full)
        assertTrue(spare <= used / 3 + 256 + 64, spare + " spare blocks for " + used + " used: the size is not near the smallest");
        boolean nanos = !List.of(options).contains("128"); // 128-byte inodes keep whole seconds
        String expected = dump(src, nanos);
        Tools.kernelCheck("the tree in an automatically sized image", () -> {
            try (Tools.Mount mnt = Tools.Mount.of(img, true)) {
                assertEquals(expected, dump(mnt.dir(), nanos), "the kernel's view of the image differs from the source");
            }
        });
    }

    /** The tree as the namespace tests' script lists it: modes, owners, links, mtimes, contents' hashes, xattrs. */
    private String dump(Path dir, boolean nanos) throws Exception {
        Tools.requireTools("python3");
        Path p = tmp.resolve("nsops.py");
        if (!Files.exists(p)) {
            try (java.io.InputStream in = MkfsAutoSizeTest.class.getResourceAsStream("/org/ext4j/testing/nsops.py")) {
                Files.write(p, in.readAllBytes());
            }
        }
        String out = Tools.run("python3", p.toString(), "dump", dir.toString(), "times").ok().stdout();
        return nanos ? out : out.replaceAll("(?m) m(-?\\d+)\\d{9}(?= |$)", " m$1");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "-b 4096", "-t ext2", "-O ^has_journal", "-m 0", "-I 128"})
    void smallFilesFit(String options) throws Exception {
        buildAndCheck(smallFiles(), options.isEmpty() ? new String[0] : options.split(" "));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "-t ext3"})
    void largeAndSparseFilesFit(String options) throws Exception {
        buildAndCheck(largeAndSparse(), options.isEmpty() ? new String[0] : options.split(" "));
    }

    @Test
    void aTreeTooSmallForAJournalFits() throws Exception {
        buildAndCheck(tiny());
        String sb = Tools.run("dumpe2fs", "-h", tmp.resolve("tiny.img").toString()).ok().stdout();
        assertFalse(sb.contains("has_journal"), "a file system under 2048 blocks has no journal, as mke2fs's");
    }

    /** The generated tree of every file type (root: devices, owners), 4 KiB blocks for its 4000-byte symlink. */
    @Test
    void everyFileTypeFits() throws Exception {
        Tools.requireRoot("the generated tree has devices, owners and trusted.* xattrs");
        TreeGenerator.Tree t = TreeGenerator.generate(Files.createDirectories(tmp.resolve("gen")),
                new TreeGenerator.Options(3, 4096, false, 3000, true));
        buildAndCheck(t.root(), "-b", "4096");
    }

    @Test
    void tooFewInodesIsNamed() throws Exception {
        Path img = tmp.resolve("n.img");
        Tools.Result r = Tools.ext4j("mkfs", "-q", "-N", "100", "-d", smallFiles().toString(), img.toString());
        assertEquals(2, r.exit(), r.stdout() + r.stderr());
        assertTrue(r.stderr().contains("-N 100"), r.stderr());
        assertFalse(Files.exists(img));
    }

    /** Without -q, a non-terminal stdout gets the size line and the summary, and nothing of a progress bar. */
    @Test
    void noProgressBarWithoutATerminal() throws Exception {
        Path img = tmp.resolve("p.img");
        Tools.Result r = Tools.ext4j("mkfs", "-d", tiny().toString(), img.toString());
        assertEquals(0, r.exit(), r.stderr());
        List<String> lines = r.stdout().lines().toList();
        assertEquals(2, lines.size(), r.stdout());
        assertTrue(SIZE_LINE.matcher(lines.get(0) + "\n").matches(), lines.get(0));
        assertTrue(lines.get(1).startsWith(img + ": "), lines.get(1));
        assertFalse(r.stdout().contains("\r"));
        assertEquals("", r.stderr());
    }
}
