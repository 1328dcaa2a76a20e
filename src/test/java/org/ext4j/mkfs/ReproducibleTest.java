package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.TreeGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reproducible images ({@code SOURCE_DATE_EPOCH}, {@code --reproducible}): two builds of the same
 * tree at different wall-clock times, with the source's access times moved in between, give the same
 * bytes; a different epoch gives different bytes (so the comparison can fail); e2fsck finds nothing
 * and the kernel shows the tree with its times clamped to the epoch.
 */
@ExtendWith(SkippedChecks.class)
class ReproducibleTest {
    /** 2023-11-14: after most of the generated times, before the post-2038 ones. */
    private static final long EPOCH = 1_700_000_000L;

    @TempDir
    Path tmp;

    private TreeGenerator.Tree tree(int blockSize) throws IOException {
        Tools.requireRoot("the generated tree has devices, owners and trusted.* xattrs");
        return TreeGenerator.generate(Files.createDirectories(tmp.resolve("src")),
                new TreeGenerator.Options(11, blockSize, false, 2000, true));
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = new byte[1 << 20];
            for (int n; (n = in.read(b)) > 0;) {
                md.update(b, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Moves every source entry's access time to now, symlinks and fifos included (what reading the
     * tree under strictatime does); {@code touch -a -h} leaves the modification times exactly as
     * they are (the JDK's setTimes would round them to microseconds).
     */
    private static void touchAtimes(Path root) throws IOException {
        Tools.run("find", root.toString(), "-exec", "touch", "-a", "-h", "{}", "+").ok();
    }

    /** Where two images differ: the first differing blocks, their byte offsets, and whose they are (debugfs icheck). */
    private static String differences(Path a, Path b, int blockSize) {
        StringBuilder out = new StringBuilder();
        try (InputStream ia = Files.newInputStream(a); InputStream ib = Files.newInputStream(b)) {
            byte[] x = new byte[blockSize];
            byte[] y = new byte[blockSize];
            List<String> blocks = new ArrayList<>();
            for (long blk = 0; ia.readNBytes(x, 0, blockSize) == blockSize && ib.readNBytes(y, 0, blockSize) == blockSize
                    && blocks.size() < 16; blk++) {
                if (!java.util.Arrays.equals(x, y)) {
                    blocks.add(Long.toString(blk));
                    out.append("block ").append(blk).append(" bytes");
                    for (int i = 0, n = 0; i < blockSize && n < 12; i++) {
                        if (x[i] != y[i]) {
                            out.append(' ').append(Integer.toHexString(i));
                            n++;
                        }
                    }
                    out.append('\n');
                }
            }
            out.append(Tools.run("debugfs", "-R", "icheck " + String.join(" ", blocks), a.toString()).stdout());
        } catch (IOException e) {
            out.append(e);
        }
        return out.toString();
    }

    private static Mkfs.Builder builder(Path src, int blockSize) {
        return Mkfs.builder().blockSize(blockSize).size(96L << 20).sourceDir(src).warnings(w -> { });
    }

    @ParameterizedTest(name = "{0}-byte blocks")
    @ValueSource(ints = {1024, 4096})
    void twoBuildsAtDifferentTimesAreByteIdentical(int blockSize) throws Exception {
        TreeGenerator.Tree t = tree(blockSize);
        Path a = tmp.resolve("a.img");
        Path b = tmp.resolve("b.img");
        builder(t.root(), blockSize).reproducible(EPOCH).build(a);
        Thread.sleep(1500); // a later second: every clock-derived field would move
        touchAtimes(t.root());
        builder(t.root(), blockSize).reproducible(EPOCH).build(b);
        assertEquals(sha256(a), sha256(b), () -> "two reproducible builds of one tree differ:\n" + differences(a, b, blockSize));
        Tools.Result r = Tools.fsck(a);
        assertEquals(0, r.exit(), "e2fsck -fn:\n" + r.stdout() + r.stderr());
    }

    @Test
    void aDifferentEpochOrNoEpochGivesDifferentBytes() throws Exception {
        TreeGenerator.Tree t = tree(4096);
        Path a = tmp.resolve("a.img");
        builder(t.root(), 4096).reproducible(EPOCH).build(a);
        Path b = tmp.resolve("b.img");
        builder(t.root(), 4096).reproducible(EPOCH + 1).build(b);
        assertFalse(sha256(a).equals(sha256(b)), "the epoch is not in the image");
        Path c = tmp.resolve("c.img");
        builder(t.root(), 4096).build(c);
        assertFalse(sha256(a).equals(sha256(c)), "a build without an epoch came out reproducible");
    }

    /** The command line: SOURCE_DATE_EPOCH from the environment, SIZE chosen, --reproducible alone meaning 0. */
    @Test
    void theCommandLineReadsSourceDateEpoch() throws Exception {
        TreeGenerator.Tree t = tree(4096);
        Path a = tmp.resolve("a.img");
        Path b = tmp.resolve("b.img");
        Tools.Result ra = ext4j(Map.of("SOURCE_DATE_EPOCH", Long.toString(EPOCH)), "mkfs", "-q", "-b", "4096", "-d",
                t.root().toString(), a.toString());
        assertEquals(0, ra.exit(), ra.stdout() + ra.stderr());
        Thread.sleep(1500);
        touchAtimes(t.root());
        Tools.Result rb = ext4j(Map.of("SOURCE_DATE_EPOCH", Long.toString(EPOCH)), "mkfs", "-q", "-b", "4096", "-d",
                t.root().toString(), b.toString());
        assertEquals(0, rb.exit(), rb.stdout() + rb.stderr());
        assertEquals(ra.stdout(), rb.stdout());
        assertEquals(sha256(a), sha256(b), () -> differences(a, b, 4096));

        Path c = tmp.resolve("c.img");
        Path d = tmp.resolve("d.img");
        assertEquals(0, ext4j(Map.of(), "mkfs", "-q", "--reproducible", c.toString(), "8M").exit());
        assertEquals(0, ext4j(Map.of("SOURCE_DATE_EPOCH", "0"), "mkfs", "-q", d.toString(), "8M").exit());
        assertEquals(sha256(c), sha256(d), "--reproducible without SOURCE_DATE_EPOCH is epoch 0");
        assertTrue(Tools.run("dumpe2fs", "-h", c.toString()).stdout().contains("Thu Jan  1 00:00:00 1970"));

        Tools.Result bad = ext4j(Map.of("SOURCE_DATE_EPOCH", "yesterday"), "mkfs", "-q", d.toString(), "8M");
        assertEquals(2, bad.exit());
        assertTrue(bad.stderr().contains("SOURCE_DATE_EPOCH"), bad.stderr());
    }

    /**
     * Entries from code (and so from tar, which comes through the same source) are clamped as a
     * host tree is: a modification time past the epoch becomes the epoch, the access time that
     * mtime, so entries whose atimes differ between two builds give the same bytes.
     */
    @Test
    void entriesFromASourceAreClampedToo() throws Exception {
        Instant late = Instant.ofEpochSecond(EPOCH + 86_400, 5);
        Instant early = Instant.ofEpochSecond(EPOCH - 86_400, 7);
        java.util.function.LongFunction<List<org.ext4j.tree.Entry>> entries = atime -> List.of(
                org.ext4j.tree.Entry.directory("d").mode(0755).times(Instant.ofEpochSecond(atime), late).build(),
                org.ext4j.tree.Entry.file("d/new", org.ext4j.tree.Entry.Contents.of(new byte[] {1, 2, 3}))
                        .times(Instant.ofEpochSecond(atime), late).build(),
                org.ext4j.tree.Entry.file("old", org.ext4j.tree.Entry.Contents.of(new byte[] {4}))
                        .times(Instant.ofEpochSecond(atime), early).build());
        Path a = tmp.resolve("a.img");
        Path b = tmp.resolve("b.img");
        Mkfs.builder().size(16L << 20).source(org.ext4j.tree.EntrySource.of(entries.apply(EPOCH + 999)))
                .reproducible(EPOCH).build(a);
        Mkfs.builder().size(16L << 20).source(org.ext4j.tree.EntrySource.of(entries.apply(1)))
                .reproducible(EPOCH).build(b);
        assertEquals(sha256(a), sha256(b), () -> differences(a, b, 1024));
        try (org.ext4j.fs.Ext4FileSystem fs = org.ext4j.fs.Ext4FileSystem.open(a)) {
            assertEquals(Instant.ofEpochSecond(EPOCH), fs.stat("/d/new").mtime());
            assertEquals(Instant.ofEpochSecond(EPOCH), fs.stat("/d/new").atime());
            assertEquals(early, fs.stat("/old").mtime());
            assertEquals(early, fs.stat("/old").atime());
        }
    }

    /** e2fsck is clean; the superblock's times are the epoch; the kernel shows the tree with clamped times. */
    @Test
    void theKernelSeesClampedTimes() throws Exception {
        TreeGenerator.Tree t = tree(4096);
        Path img = tmp.resolve("k.img");
        builder(t.root(), 4096).reproducible(EPOCH).build(img);
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn:\n" + r.stdout() + r.stderr());
        String sb = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        String when = "Tue Nov 14 22:13:20 2023";
        for (String field : List.of("Filesystem created:", "Last mount time:", "Last write time:", "Last checked:")) {
            String line = sb.lines().filter(l -> l.startsWith(field)).findFirst().orElse(field + " missing");
            assertTrue(line.endsWith(when), line);
        }
        // what the kernel must show: every entry's mtime clamped, its atime equal to that, its ctime and btime the epoch
        List<String[]> expected = new ArrayList<>();
        try (Stream<Path> s = Files.walk(t.root())) {
            for (Path p : s.filter(p -> !p.equals(t.root())).toList()) {
                Instant m = Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant();
                Instant clamped = m.isAfter(Instant.ofEpochSecond(EPOCH)) ? Instant.ofEpochSecond(EPOCH) : m;
                expected.add(new String[] {t.root().relativize(p).toString(), clamped.toString()});
            }
        }
        assertTrue(expected.stream().anyMatch(e -> !e[1].equals(Instant.ofEpochSecond(EPOCH).toString())),
                "some times are kept");
        Tools.kernelCheck("the clamped times of the tree", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (String[] e : expected) {
                    Path p = m.dir().resolve(e[0]);
                    Map<String, Object> a = Files.readAttributes(p, "unix:lastModifiedTime,lastAccessTime,ctime",
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    assertEquals(e[1], ((FileTime) a.get("lastModifiedTime")).toInstant().toString(), e[0] + " mtime");
                    assertEquals(e[1], ((FileTime) a.get("lastAccessTime")).toInstant().toString(), e[0] + " atime");
                    assertEquals(Instant.ofEpochSecond(EPOCH), ((FileTime) a.get("ctime")).toInstant(), e[0] + " ctime");
                    String btime = Tools.run("stat", "-c", "%.9W", p.toString()).ok().stdout().strip();
                    assertEquals(EPOCH + ".000000000", btime, e[0] + " btime");
                }
            }
        });
    }

    /** The command line in a child JVM with {@code env} added to the environment. */
    private static Tools.Result ext4j(Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.ext4j.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("SOURCE_DATE_EPOCH");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("ext4j-cmd", ".out");
        Path err = Files.createTempFile("ext4j-cmd", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            p.waitFor();
            return new Tools.Result(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                    Files.readString(err, StandardCharsets.ISO_8859_1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
