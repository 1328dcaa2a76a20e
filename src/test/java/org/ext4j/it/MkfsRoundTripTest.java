package org.ext4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import org.ext4j.cli.Main;
import org.ext4j.error.NotFoundException;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.TreeComparator;
import org.ext4j.testing.TreeComparator.Report;
import org.ext4j.testing.TreeComparator.Snapshot;
import org.ext4j.testing.TreeGenerator;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Round trip through {@code mkfs.ext4 -d}: a generated host tree ({@link TreeGenerator}) is packed
 * into an image for each feature set, e2fsck must find the image clean, and then the image is
 * judged against the source ({@link TreeComparator}) through the library API, through
 * {@code ext4j get} (the extracted tree against the source), {@code ext4j ls -R} and
 * {@code ext4j cat}, and by looking up every name of the 10,000-entry directory, first in the
 * linear directory mkfs writes and then after {@code e2fsck -fyD} has indexed it (htree).
 *
 * <p>Each feature set is a container of steps sharing one fixture, built by the first step; a
 * failing step names what differs. Needs root, mkfs.ext4/e2fsck/debugfs (e2fsprogs), python3 and
 * mknod; skips with a printed reason otherwise.
 */
@ExtendWith(SkippedChecks.class)
class MkfsRoundTripTest {
    private static final long IMAGE_BYTES = 600L << 20; // >= 512 MiB: mkfs's "default" type, 4 KiB blocks
    private static final long SEED = 0x5eed_e4f4L;

    @TempDir
    static Path base;

    /** Source trees by generator options: feature sets with the same block size share one. */
    private static final java.util.Map<TreeGenerator.Options, TreeGenerator.Tree> trees = new java.util.HashMap<>();

    /**
     * One mkfs configuration.
     *
     * @param repair   run {@code e2fsck -fy} before judging: mkfs.ext4 1.47.0 leaves i_blocks of an
     *                 inode whose xattr lives in an EA inode without the EA inode's blocks, which
     *                 e2fsck reports ("i_blocks is 4, should be 10")
     * @param expected a check on the superblock that the options took effect
     */
    record FeatureSet(String name, List<String> options, int blockSize, boolean eaInode, boolean repair,
            Predicate<Superblock> expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<FeatureSet> featureSets() {
        return List.of(
                new FeatureSet("defaults", List.of(), 4096, false, false,
                        sb -> sb.hasIncompat(Features.INCOMPAT_EXTENTS) && sb.hasIncompat(Features.INCOMPAT_64BIT)
                                && sb.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM)),
                new FeatureSet("no-metadata_csum", List.of("-O", "^metadata_csum"), 4096, false, false,
                        sb -> !sb.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM)),
                new FeatureSet("no-64bit", List.of("-O", "^64bit"), 4096, false, false,
                        sb -> !sb.hasIncompat(Features.INCOMPAT_64BIT)),
                new FeatureSet("no-flex_bg", List.of("-O", "^flex_bg"), 4096, false, false,
                        sb -> !sb.hasIncompat(Features.INCOMPAT_FLEX_BG)),
                new FeatureSet("inline_data", List.of("-O", "inline_data"), 4096, false, false,
                        sb -> sb.hasIncompat(Features.INCOMPAT_INLINE_DATA)),
                new FeatureSet("1k-blocks", List.of("-b", "1024"), 1024, false, false, sb -> sb.blockSize == 1024),
                new FeatureSet("2k-blocks", List.of("-b", "2048"), 2048, false, false, sb -> sb.blockSize == 2048),
                new FeatureSet("ext2", List.of("-t", "ext2"), 4096, false, false,
                        sb -> !sb.hasIncompat(Features.INCOMPAT_EXTENTS) && !sb.hasCompat(Features.COMPAT_HAS_JOURNAL)),
                // ext3: a journal, and block maps instead of extents (covers -O ^extent, which mkfs
                // refuses together with 64bit)
                new FeatureSet("ext3", List.of("-t", "ext3"), 4096, false, false,
                        sb -> !sb.hasIncompat(Features.INCOMPAT_EXTENTS) && sb.hasCompat(Features.COMPAT_HAS_JOURNAL)),
                new FeatureSet("128-byte-inodes", List.of("-I", "128"), 4096, false, false, sb -> sb.inodeSize == 128),
                new FeatureSet("ea_inode-1k", List.of("-b", "1024", "-O", "ea_inode"), 1024, true, true,
                        sb -> sb.hasIncompat(Features.INCOMPAT_EA_INODE)));
    }

    /** Built by the first step of a feature set, shared by the rest. */
    static final class Fixture {
        final FeatureSet set;
        final Path dir;
        Path srcDir;
        Path image;
        TreeGenerator.Tree tree;
        Snapshot src;
        private Throwable failed;
        private boolean built;

        Fixture(FeatureSet set) {
            this.set = set;
            this.dir = base.resolve(set.name());
        }

        synchronized Fixture get() throws Exception {
            if (failed instanceof org.opentest4j.TestAbortedException skipped) {
                throw skipped;
            }
            if (failed != null) {
                fail("fixture for " + set.name() + " could not be built", failed);
            }
            if (!built) {
                try {
                    build();
                    built = true;
                } catch (Throwable t) {
                    failed = t;
                    throw t;
                }
            }
            return this;
        }

        private void build() throws Exception {
            Tools.requireTools("mkfs.ext4", "e2fsck", "debugfs", "python3", "mknod");
            Tools.requireRoot("the tree has devices, foreign owners and trusted.* xattrs");
            Files.createDirectories(dir);
            long t0 = System.nanoTime();
            boolean inlineData = set.options().contains("inline_data");
            TreeGenerator.Options opts = new TreeGenerator.Options(SEED, set.blockSize(), set.eaInode(), 10_000, !inlineData);
            tree = trees.get(opts);
            if (tree == null) {
                Path treeDir = base.resolve("tree-" + trees.size());
                Files.createDirectory(treeDir);
                tree = TreeGenerator.generate(treeDir, opts);
                trees.put(opts, tree);
            } else {
                TreeGenerator.resetTimes(tree); // the last mkfs moved atimes; put them back
            }
            srcDir = tree.root();
            tree.notes().forEach(n -> System.out.println("NOTE (" + set.name() + "): " + n));
            for (TreeGenerator.LeftOut l : tree.leftOut()) {
                Tools.skipCheck(l.what() + " in " + set.name() + "'s tree", l.why());
            }
            src = TreeComparator.snapshot(srcDir, true);
            long t1 = System.nanoTime();
            image = dir.resolve("image");
            Tools.mkfs(image, IMAGE_BYTES, set.options(), srcDir);
            long t2 = System.nanoTime();
            if (set.repair()) {
                Tools.Result r = Tools.run("e2fsck", "-fy", image.toString());
                assertTrue(r.exit() <= 1, "e2fsck -fy: " + r.stdout() + r.stderr());
            }
            System.out.printf("%s: tree %d entries in %d ms, mkfs %d ms%n", set.name(), src.entries().size(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
        }

        void cleanUp() throws IOException {
            String keep = System.getProperty("ext4j.roundtrip.keep"); // a directory to move the image to
            if (keep != null && Files.exists(dir)) {
                Files.createDirectories(Path.of(keep));
                Files.move(dir, Path.of(keep, set.name()));
                System.out.println("kept " + set.name() + " in " + Path.of(keep, set.name()));
            } else if (Files.exists(dir)) {
                deleteTree(dir);
            }
        }
    }

    @TestFactory
    Stream<DynamicNode> roundTrip() {
        // -Dext4j.roundtrip.only=NAME,NAME runs just those feature sets (while debugging one)
        String only = System.getProperty("ext4j.roundtrip.only", "");
        return featureSets().stream()
                .filter(s -> only.isEmpty() || List.of(only.split(",")).contains(s.name()))
                .map(MkfsRoundTripTest::steps);
    }

    private static DynamicNode steps(FeatureSet set) {
        Fixture f = new Fixture(set);
        return dynamicContainer(set.name(), Stream.of(
                dynamicTest("e2fsck finds the fixture clean", () -> fsckClean(f.get())),
                dynamicTest("superblock has the feature set", () -> superblock(f.get())),
                dynamicTest("API matches the source tree", () -> api(f.get())),
                dynamicTest("every name of the big linear directory is found", () -> bigDirLookups(f.get(), false)),
                dynamicTest("get extracts the source tree", () -> get(f.get())),
                dynamicTest("ls -R lists the source tree", () -> lsR(f.get())),
                dynamicTest("cat prints file contents", () -> cat(f.get())),
                dynamicTest("after e2fsck -D: htree lookups and the API", () -> afterIndexing(f.get())),
                dynamicTest("clean up", f::cleanUp)));
    }

    // ---- steps ----------------------------------------------------------------------------

    private static void fsckClean(Fixture f) throws IOException {
        Tools.Result r = Tools.fsck(f.image);
        assertEquals(0, r.exit(), "e2fsck -fn on the fixture: " + r.stdout() + r.stderr());
    }

    private static void superblock(Fixture f) throws IOException {
        try (Ext4FileSystem fs = Ext4FileSystem.open(f.image)) {
            assertTrue(f.set.expected().test(fs.superblock()), "mkfs options " + f.set.options() + " did not take effect");
            assertEquals(List.of(), fs.warnings());
            if (fs.superblock().hasIncompat(Features.INCOMPAT_INLINE_DATA)) {
                // the tree must really exercise inline data: small files and tiny directories
                assertTrue(fs.inode(fs.lookup("/small/s00010")).isInline(), "/small/s00010 is not inline");
                assertTrue(fs.inode(fs.lookup("/tiny/d2")).isInline(), "/tiny/d2 is not inline");
            }
        }
    }

    private static void api(Fixture f) throws IOException {
        Report r = new Report(f.set.name() + ": API vs source");
        try (Ext4FileSystem fs = Ext4FileSystem.open(f.image)) {
            TreeComparator.compareImage(f.src, fs, f.image, r);
        }
        r.assertClean();
    }

    /** Every name of /htree is found by {@code lookup}, names that are not there are not. */
    private static void bigDirLookups(Fixture f, boolean indexed) throws IOException {
        try (Ext4FileSystem fs = Ext4FileSystem.open(f.image)) {
            long dirIno = fs.lookup(f.tree.htreeDir());
            FileStat st = fs.stat(dirIno);
            boolean hasIndexFlag = (st.flags() & InodeRecord.FL_INDEX) != 0;
            if (indexed) {
                assertTrue(hasIndexFlag, "e2fsck -D did not index " + f.tree.htreeDir());
            }
            List<String> problems = new ArrayList<>();
            byte[] prefix = (f.tree.htreeDir() + "/").getBytes(StandardCharsets.UTF_8);
            java.util.Set<Long> inos = new java.util.HashSet<>();
            for (byte[] name : f.tree.htreeNames()) {
                byte[] path = concat(prefix, name);
                try {
                    long ino = fs.resolve(path, false);
                    TreeComparator.Entry e = f.src.entries().get(new String(path, StandardCharsets.ISO_8859_1));
                    if (e.type() != 'f' || e.nlink() == 1) {
                        if (!inos.add(ino)) {
                            problems.add(new String(name, StandardCharsets.UTF_8) + " resolves to inode " + ino
                                    + " which another name already had");
                        }
                    }
                } catch (NotFoundException ex) {
                    problems.add(new String(name, StandardCharsets.UTF_8) + ": not found");
                }
            }
            List<String> missing = new ArrayList<>(List.of("e99999", "E00001", "e0000", "e000010", "e00001 ",
                    "long", "x".repeat(255), "lost+found", "htree-target"));
            for (byte[] name : f.tree.htreeNames()) {
                if (name.length > 6 && missing.size() < 40) {
                    byte[] changed = name.clone();
                    changed[changed.length - 1] ^= 1; // same length, same prefix, different hash
                    missing.add(new String(changed, StandardCharsets.UTF_8));
                }
            }
            for (String m : missing) {
                byte[] path = concat(prefix, m.getBytes(StandardCharsets.UTF_8));
                if (f.src.entries().containsKey(new String(path, StandardCharsets.ISO_8859_1))) {
                    continue;
                }
                try {
                    long ino = fs.resolve(path, false);
                    problems.add("\"" + m + "\" is not in the directory but resolves to inode " + ino);
                } catch (NotFoundException expected) {
                    // right
                }
            }
            if (!problems.isEmpty()) {
                fail(problems.size() + " lookup problem(s) in " + f.tree.htreeDir() + " ("
                        + (indexed ? "htree" : "linear") + "):\n  " + String.join("\n  ", problems.subList(0, Math.min(40, problems.size()))));
            }
        }
    }

    private static void get(Fixture f) throws IOException {
        Path dest = f.dir.resolve("extracted");
        Files.createDirectory(dest);
        try {
            long t0 = System.nanoTime();
            int status = Main.run("get", f.image.toString(), "/", dest.toString());
            assertEquals(0, status, "ext4j get exit status");
            long t1 = System.nanoTime();
            Snapshot out = TreeComparator.snapshot(dest, false);
            long t2 = System.nanoTime();
            Report r = new Report(f.set.name() + ": get output vs source");
            try (Ext4FileSystem fs = Ext4FileSystem.open(f.image)) {
                TreeComparator.compareExtracted(f.src, out, fs, r);
            }
            System.out.printf("%s: get %d ms, snapshot %d ms, compare %d ms%n", f.set.name(), (t1 - t0) / 1_000_000,
                    (t2 - t1) / 1_000_000, (System.nanoTime() - t2) / 1_000_000);
            r.assertClean();
        } finally {
            deleteTree(dest);
        }
    }

    private static void lsR(Fixture f) throws IOException {
        Cli ls = cli(f, "ls", "-R", f.image.toString(), "/");
        assertEquals(0, ls.exit(), "ext4j ls -R: " + ls.stderr());
        byte[] expected = TreeComparator.expectedLsR(f.src);
        if (!Arrays.equals(expected, ls.stdout())) {
            int at = Arrays.mismatch(expected, ls.stdout());
            fail("ls -R output differs at byte " + at + ": expected ..." + around(expected, at) + "... got ..."
                    + around(ls.stdout(), at) + "...");
        }
    }

    private static void cat(Fixture f) throws IOException {
        for (String p : f.tree.catSamples()) {
            Cli c = cli(f, "cat", f.image.toString(), p);
            assertEquals(0, c.exit(), "ext4j cat " + p + ": " + c.stderr());
            byte[] expected = Files.readAllBytes(f.srcDir.resolve(p.substring(1)));
            assertTrue(Arrays.equals(expected, c.stdout()), "ext4j cat " + p + ": " + c.stdout().length
                    + " bytes differ from the source's " + expected.length + " at byte " + Arrays.mismatch(expected, c.stdout()));
        }
        Cli missing = cli(f, "cat", f.image.toString(), "/no/such/file");
        assertEquals(Main.EXIT_CORRUPT, missing.exit(), "cat of a missing path");
        Cli dir = cli(f, "cat", f.image.toString(), "/small");
        assertEquals(Main.EXIT_CORRUPT, dir.exit(), "cat of a directory");
    }

    /**
     * mkfs.ext4 -d writes every directory linear; {@code e2fsck -fyD} rebuilds the multi-block ones as
     * hashed trees with the file system's hash. Then lookups go by hash.
     */
    private static void afterIndexing(Fixture f) throws IOException {
        Tools.Result d = Tools.run("e2fsck", "-fyD", f.image.toString());
        assertTrue(d.exit() <= 1, "e2fsck -fyD: exit " + d.exit() + " " + d.stdout() + d.stderr());
        fsckClean(f);
        bigDirLookups(f, true);
        api(f);
    }

    // ---- helpers --------------------------------------------------------------------------

    record Cli(int exit, byte[] stdout, String stderr) {
    }

    /** Runs the CLI in a child JVM: ls and cat write to file descriptor 1, which this JVM must keep. */
    private static Cli cli(Fixture f, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xshare:auto", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = f.dir.resolve("cli.out");
        Path err = f.dir.resolve("cli.err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        p.getOutputStream().close();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("timed out: " + cmd);
            }
            return new Cli(p.exitValue(), Files.readAllBytes(out), Files.readString(err, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String around(byte[] b, int at) {
        int s = Math.max(0, at - 40);
        int e = Math.min(b.length, at + 40);
        return new String(b, s, e - s, StandardCharsets.UTF_8).replace("\n", "\\n");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
