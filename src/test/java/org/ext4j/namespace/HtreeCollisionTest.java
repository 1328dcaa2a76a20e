package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.ext4j.format.DxHash;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Hash collisions in htree directories: names that share one major hash, split across leaves by
 * {@code do_split} (the new leaf's index hash gets the collision bit), and across index nodes. A
 * lookup must go on from the leaf its probe lands on into each following leaf whose index hash,
 * the collision bit stripped, is the name's hash, climbing the index and down again when the run
 * goes on in the next index node ({@code ext4_htree_next_block}). The colliding names are found by
 * brute force (a birthday search with {@link DxHash} under the image's fixed hash seed and hash
 * version); they are 250 bytes long, so a 1 KiB leaf holds three and a pair of them often straddles
 * two leaves. Every name must then be found by ext4j's lookup, by the writer's "exists" check and by
 * the kernel's, listed exactly once, and the image be clean to e2fsck; the writer's removals (its
 * lookup again) are judged the same way. The directories are built by ext4j (a small debug index
 * capacity, so index nodes fill after a few leaves) and by the kernel (real capacity: about 120
 * leaves per index node, so two thousand pairs are used to meet a few runs at node boundaries).
 */
class HtreeCollisionTest {
    static final int BS = 1024;
    static final int NAME_LEN = 250;

    @TempDir
    Path tmp;

    /** A 1 KiB-block image holding an empty /d and the hard-link target /target; a fixed hash seed. */
    private Path image(boolean largeDir) throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck", "xargs", "stat");
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("target"), new byte[0]);
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(BS), "-N", "8192"));
        if (largeDir) {
            opts.addAll(List.of("-O", "large_dir"));
        }
        opts.addAll(DirectoryWriterTest.REPRODUCIBLE);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 64L << 20, opts, src);
        return img;
    }

    /** The hash version new directories of {@code image} get, unsigned where the superblock says. */
    private static int hashVersion(Superblock sb) {
        int v = sb.defHashVersion;
        return v <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0 ? v + 3 : v;
    }

    /**
     * Groups of distinct {@link #NAME_LEN}-byte names with one major hash each, from a birthday
     * search over {@code candidates} names tagged {@code tag}: about candidates² / 2³² pairs.
     */
    static List<List<String>> collisions(Path image, String tag, int candidates) throws IOException {
        int version;
        int[] seed;
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            version = hashVersion(fs.superblock());
            seed = fs.superblock().hashSeed;
        }
        long[] keys = new long[candidates];
        for (int i = 0; i < candidates; i++) {
            byte[] b = DirFixture.bytes(candidate(tag, i));
            long h = DxHash.hash(b, 0, b.length, version, seed).major() & 0xFFFFFFFFL;
            keys[i] = h << 32 | i;
        }
        Arrays.sort(keys);
        List<List<String>> out = new ArrayList<>();
        for (int i = 0; i < candidates;) {
            int j = i + 1;
            while (j < candidates && keys[j] >>> 32 == keys[i] >>> 32) {
                j++;
            }
            if (j - i > 1) {
                List<String> group = new ArrayList<>();
                for (int k = i; k < j; k++) {
                    group.add(candidate(tag, (int) keys[k]));
                }
                out.add(group);
            }
            i = j;
        }
        for (List<String> g : out) { // the search's own check: each group does share one hash
            long h = -1;
            for (String n : g) {
                byte[] b = DirFixture.bytes(n);
                long hn = DxHash.hash(b, 0, b.length, version, seed).major() & 0xFFFFFFFFL;
                assertTrue(h < 0 || h == hn, "a group of one hash: " + g);
                h = hn;
            }
        }
        return out;
    }

    private static String candidate(String tag, int i) {
        StringBuilder s = new StringBuilder(NAME_LEN).append(tag).append(Integer.toString(i, 36)).append('-');
        while (s.length() < NAME_LEN) {
            s.append('x');
        }
        return s.toString();
    }

    /** Every name of the groups, in an order shuffled by {@code seed}. */
    private static List<String> shuffled(List<List<String>> groups, long seed) {
        List<String> names = new ArrayList<>();
        groups.forEach(names::addAll);
        Collections.shuffle(names, new Random(seed));
        return names;
    }

    /**
     * Judges the directory against {@code model}: e2fsck, debugfs, the kernel's readdir and ext4j's
     * listing (each name once) and lookup ({@link DirFixture#verify}), and the kernel's lookup of
     * every name.
     */
    private static void judge(Path img, Map<String, Long> model) throws IOException {
        DirFixture.verify(img, "/d", model);
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            DirFixture.assertSame(model, KernelNames.stat(m.dir().resolve("d"), model.keySet()),
                    "the kernel's lookup of every name");
        }
    }

    /**
     * The writer's lookup: adding any name again is refused as existing; then the second name of
     * every group is removed (found through the index) and the rest judged again.
     */
    private static void writerFindsEveryName(Path img, List<List<String>> groups, int dxCapacity)
            throws IOException {
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/d", "/target", dxCapacity, 7)) {
            for (String n : new ArrayList<>(f.model.keySet())) {
                assertThrows(EntryExistsException.class, () -> f.add(n, false), "the writer finds " + n);
            }
            for (List<String> g : groups) {
                f.remove(g.get(1));
            }
            f.commit();
            model = new TreeMap<>(f.model);
        }
        judge(img, model);
    }

    /**
     * ext4j writes the directory with index nodes counted full at {@code dxCapacity} entries, so
     * that collision runs cross leaf and index node boundaries with a few hundred names (the second
     * variant: three index levels, with large_dir).
     */
    @ParameterizedTest(name = "index capacity {0}, large_dir {1}")
    @CsvSource({"16, false", "6, true"})
    void writtenByExt4j(int dxCapacity, boolean largeDir) throws IOException {
        Path img = image(largeDir);
        List<List<String>> groups = collisions(img, "c", 1 << 20);
        groups = groups.subList(0, Math.min(groups.size(), 110));
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/d", "/target", dxCapacity, 1)) {
            int i = 0;
            for (String n : shuffled(groups, 1)) {
                f.add(n, i++ % 2 == 0);
            }
            f.commit();
            model = new TreeMap<>(f.model);
        }
        HtreeShape shape = HtreeShape.of(img, "/d");
        System.out.println(groups.size() + " groups of colliding names: " + shape);
        assertEquals(largeDir ? 2 : 1, shape.levels(), "index levels below the root: " + shape);
        assertTrue(shape.continuedInNode() > 0, "a run continues into the next leaf of its node: " + shape);
        assertTrue(shape.continuedAcrossNodes() > 0, "a run continues into the next index node: " + shape);
        judge(img, model);
        writerFindsEveryName(img, groups, dxCapacity);
    }

    /**
     * The kernel writes the directory (a loop mount creating the names in a shuffled order) at its
     * real index capacity; two thousand pairs meet a few index node boundaries (six, with this
     * image's hash seed and today's kernel: the count is printed).
     */
    @Test
    void writtenByTheKernel() throws IOException {
        Path img = image(false);
        List<List<String>> groups = collisions(img, "k", 3 << 20);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            KernelNames.create(m.dir().resolve("d"), shuffled(groups, 2));
        }
        Map<String, Long> model = DirFixture.debugfsList(img, "/d");
        assertEquals(groups.stream().mapToInt(List::size).sum(), model.size(), "debugfs lists the kernel's names");
        HtreeShape shape = HtreeShape.of(img, "/d");
        System.out.println(groups.size() + " groups of colliding names: " + shape);
        assertTrue(shape.continuedInNode() > 0, "a run continues into the next leaf of its node: " + shape);
        assertTrue(shape.continuedAcrossNodes() > 0, "a run continues into the next index node: " + shape);
        judge(img, model);
        writerFindsEveryName(img, groups, Integer.MAX_VALUE);
    }
}
