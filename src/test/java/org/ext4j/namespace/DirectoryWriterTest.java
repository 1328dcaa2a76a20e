package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.ext4j.alloc.NoSpaceException;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link DirectoryWriter} on images from mkfs.ext4, e2fsck -D and the kernel, over 1, 2 and 4 KiB
 * blocks, with and without metadata_csum and dir_index: thousands of names added (new inodes and
 * hard links) and hundreds removed, judged after each workload by e2fsck -fn, debugfs, a kernel
 * mount and ext4j's own reader (see {@link DirFixture#verify}).
 */
class DirectoryWriterTest {

    /** Geometries and features under test. */
    enum Variant {
        CSUM_4K(4096, true, true, List.of("-b", "4096")),
        CSUM_1K(1024, true, true, List.of("-b", "1024")),
        NOCSUM_2K(2048, false, true, List.of("-b", "2048", "-O", "^metadata_csum")),
        NO_DIR_INDEX_4K(4096, true, false, List.of("-b", "4096", "-O", "^dir_index"));

        final int blockSize;
        final boolean csum;
        final boolean dirIndex;
        final List<String> mkfs;

        Variant(int blockSize, boolean csum, boolean dirIndex, List<String> mkfs) {
            this.blockSize = blockSize;
            this.csum = csum;
            this.dirIndex = dirIndex;
            List<String> all = new ArrayList<>(mkfs);
            all.addAll(REPRODUCIBLE);
            this.mkfs = List.copyOf(all);
        }
    }

    /** A fixed UUID (checksum seed) and htree hash seed: the same names split the same way every run. */
    static final List<String> REPRODUCIBLE = List.of("-U", "6c1d3e5f-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "-E",
            "hash_seed=2f4e6d8c-0b1a-4938-8776-655443322110");

    static final long IMAGE_BYTES = 96L << 20;

    /** An image made by mkfs -d from {@code src}, which holds /target (the hard-link target) too. */
    static Path image(Path tmp, Variant v, Path src) throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck");
        Files.createDirectories(src);
        Files.write(src.resolve("target"), new byte[0]);
        Path img = tmp.resolve("fs-" + v + ".img");
        Tools.mkfs(img, IMAGE_BYTES, v.mkfs, src);
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "fresh image: " + fsck.stdout());
        return img;
    }

    /** A name length: mostly short as real names are, some of every length up to 255. */
    static int someLength(java.util.Random rnd) {
        return rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(255) : 4 + rnd.nextInt(28);
    }

    /** Adds {@code n} new names, every third a new file, the rest links to the target. */
    static void addMany(DirFixture f, int n, int first, boolean longNames) throws IOException {
        for (int i = first; i < first + n; i++) {
            int len = longNames ? 1 + f.rnd.nextInt(255) : someLength(f.rnd);
            String name = DirFixture.name(i, Math.max(len, Integer.toString(i, 36).length()));
            f.add(name, i % 3 == 0);
        }
    }

    static void removeMany(DirFixture f, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            f.remove(f.randomName());
        }
    }

    /**
     * A multi-block linear directory from mkfs -d (mke2fs never indexes): it stays linear,
     * reusing slack in its blocks and appending new ones; removals free space that later adds reuse.
     */
    @ParameterizedTest
    @EnumSource(Variant.class)
    void linearDirectoryFromMkfs(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("lin"));
        for (int i = 0; i < 150; i++) {
            Files.write(src.resolve("lin").resolve("mkfs-file-" + i + "-" + "y".repeat(30 + i % 90)), new byte[0]);
        }
        Path img = image(tmp, v, src);
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/lin", "/target", Integer.MAX_VALUE, 1)) {
            long blocksBefore = f.dirRecord().size / v.blockSize;
            assertTrue(blocksBefore > 1, "mkfs made a one-block directory");
            addMany(f, 1200, 0, false);
            f.commit();
            assertFalse(f.dirRecord().hasFlag(org.ext4j.format.InodeRecord.FL_INDEX), "a linear directory stays linear");
            assertTrue(f.dirRecord().size / v.blockSize > blocksBefore, "blocks were appended");
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/lin", model);
        try (DirFixture f = new DirFixture(img, "/lin", "/target", Integer.MAX_VALUE, 2)) {
            long size = f.dirRecord().size;
            removeMany(f, 400);
            addMany(f, 200, 5000, false);
            f.commit();
            assertEquals(size, f.dirRecord().size, "the freed room takes the new names");
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/lin", model);
    }

    /**
     * An empty directory grows to thousands of names: with dir_index it becomes an htree at its
     * first overflow (make_indexed_dir) and splits leaves (and with 1 KiB blocks index nodes and a
     * second level); without, it grows linearly.
     */
    @ParameterizedTest
    @EnumSource(Variant.class)
    void emptyDirectoryGrows(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Path img = image(tmp, v, src);
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/d", "/target", Integer.MAX_VALUE, 3)) {
            addMany(f, 2000, 0, true);
            f.commit();
            int levels = f.htreeLevels();
            if (v.dirIndex) {
                assertTrue(levels >= 0, "indexed");
                if (v.blockSize == 1024) {
                    assertEquals(1, levels, "a second index level with 1 KiB blocks");
                }
            } else {
                assertEquals(-1, levels, "linear without dir_index");
            }
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/d", model);
        try (DirFixture f = new DirFixture(img, "/d", "/target", Integer.MAX_VALUE, 4)) {
            removeMany(f, 700);
            addMany(f, 300, 9000, true);
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/d", model);
    }

    /** An htree built by e2fsck -D from a big mkfs -d directory: ext4j adds to it and removes from it. */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_4K", "CSUM_1K", "NOCSUM_2K"})
    void htreeFromE2fsckRehash(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("big"));
        for (int i = 0; i < 2500; i++) {
            Files.write(src.resolve("big").resolve("e2fsck-" + i + "-" + "z".repeat(i % 40)), new byte[0]);
        }
        Path img = image(tmp, v, src);
        Tools.Result rehash = Tools.run("e2fsck", "-fyD", img.toString());
        assertTrue(rehash.exit() == 0 || rehash.exit() == 1, "e2fsck -fyD: " + rehash.stdout());
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/big", "/target", Integer.MAX_VALUE, 5)) {
            assertTrue(f.htreeLevels() >= 0, "e2fsck -D indexed the directory");
            addMany(f, 1500, 0, false);
            removeMany(f, 1000);
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/big", model);
    }

    /**
     * The kernel builds an htree, ext4j changes it, then the kernel changes it again (creates and
     * unlinks through a read-write mount): e2fsck must be clean after each side's turn.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_4K", "CSUM_1K"})
    void kernelAndExt4jTakeTurns(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Path img = image(tmp, v, src);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path k = Files.createDirectory(m.dir().resolve("k"));
            for (int i = 0; i < 2500; i++) {
                Files.write(k.resolve("kernel-" + i + "-" + "q".repeat(i % 50)), new byte[0]);
            }
        }
        assertEquals(0, Tools.fsck(img).exit());
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/k", "/target", Integer.MAX_VALUE, 6)) {
            assertTrue(f.htreeLevels() >= 0, "the kernel indexed the directory");
            addMany(f, 1500, 0, true);
            removeMany(f, 1000);
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/k", model);
        // the kernel's turn: unlink some of every kind of name, create new ones
        List<String> names = new ArrayList<>(model.keySet());
        java.util.Random rnd = new java.util.Random(7);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path k = m.dir().resolve("k");
            for (int i = 0; i < 300; i++) {
                String gone = names.remove(rnd.nextInt(names.size()));
                Files.delete(k.resolve(gone));
                model.remove(gone);
            }
            for (int i = 0; i < 300; i++) {
                String name = "kernel-again-" + i + "-" + "w".repeat(rnd.nextInt(200));
                Path p = Files.write(k.resolve(name), new byte[0]);
                model.put(name, ((Number) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue());
            }
        }
        DirFixture.verify(img, "/k", model);
    }

    /**
     * With index nodes counted as full at 4 entries (the on-disk limits stay real), names go in until
     * every level is full: the root gains a level, nodes split, and at the largest depth the add fails
     * with NoSpaceException, leaving the directory as it was.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_1K", "NOCSUM_2K"})
    void indexGrowsUntilFull(Variant v, @TempDir Path tmp) throws IOException {
        indexGrowsUntilFull(v, List.of(), 2, tmp);
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_1K"})
    void indexGrowsUntilFullWithLargeDir(Variant v, @TempDir Path tmp) throws IOException {
        indexGrowsUntilFull(v, List.of("-O", "large_dir"), 3, tmp);
    }

    private void indexGrowsUntilFull(Variant v, List<String> extra, int maxLevels, Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("target"), new byte[0]);
        Path img = tmp.resolve("fs.img");
        List<String> opts = new ArrayList<>(v.mkfs);
        opts.addAll(extra);
        Tools.mkfs(img, IMAGE_BYTES, opts, src);
        Map<String, Long> model;
        int added = 0;
        try (DirFixture f = new DirFixture(img, "/d", "/target", 4, 8)) {
            String failed = null;
            for (int i = 0; i < 20000 && failed == null; i++) {
                String name = DirFixture.name(i, 60 + f.rnd.nextInt(120));
                try {
                    f.add(name, i % 4 == 0);
                    added++;
                } catch (NoSpaceException e) {
                    assertTrue(e.getMessage().contains("index full"), e.getMessage());
                    failed = name;
                }
            }
            if (failed == null) {
                fail("the index never filled");
            }
            assertEquals(maxLevels - 1, f.htreeLevels(), "indirect levels when full");
            assertFalse(f.model.containsKey(failed));
            f.commit();
            model = new TreeMap<>(f.model);
        }
        assertTrue(added > 50, "added " + added);
        System.out.println("index full after " + added + " names (" + v + ", " + maxLevels + " levels)");
        DirFixture.verify(img, "/d", model);
        try (DirFixture f = new DirFixture(img, "/d", "/target", 4, 9)) {
            removeMany(f, added / 3);
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/d", model);
    }
}
