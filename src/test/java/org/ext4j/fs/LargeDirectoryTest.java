package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.DxNode;
import org.ext4j.format.InodeRecord;
import org.ext4j.namespace.EntryExistsException;
import org.ext4j.namespace.TooManyLinksException;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Large directories through the public API, judged by e2fsck and the kernel: hundreds of thousands
 * of names in one directory and churn (removals, additions, renames within and across two big
 * directories) over them; three-level htrees with large_dir shared back and forth with the kernel;
 * a lookup's cost counted in directory blocks read (a hash probe, not a scan); the create rate
 * against a kernel loop mount's (printed, not asserted); and dir_nlink past 65,000 subdirectories
 * against the kernel's {@code ext4_inc_count} / {@code ext4_dec_count} and its EMLINK without it.
 *
 * <p>The full-size churn (200,000 names) and 100,000 regular files are tagged "slow" and run with
 * {@code -Pstress}; the default runs use 1 KiB blocks and 250-255 byte names, which give three
 * index levels with about 20,000 names.
 */
@ExtendWith(SkippedChecks.class)
class LargeDirectoryTest {
    static final List<String> REPRODUCIBLE = List.of("-U", "6c1d3e5f-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "-E",
            "hash_seed=2f4e6d8c-0b1a-4938-8776-655443322110");
    /** mknod mode of a fifo (cheaper than a regular file: no extent root, no Ext4File to close). */
    static final int FIFO = InodeRecord.S_IFIFO | 0644;

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ fixtures

    private Path image(String name, long bytes, String... options) throws IOException {
        Tools.requireTools("mkfs.ext4", "e2fsck", "python3");
        Tools.requireRootAndLoop();
        Path img = tmp.resolve(name);
        List<String> opts = new ArrayList<>(List.of(options));
        opts.addAll(REPRODUCIBLE);
        Tools.mkfs(img, bytes, opts, null);
        return img;
    }

    /** Names of one directory and their inodes, with a random pick in constant time. */
    static final class Names {
        final String dir;
        final Map<String, Long> ino = new HashMap<>();
        private final List<String> list = new ArrayList<>();
        private final Map<String, Integer> pos = new HashMap<>();

        Names(String dir) {
            this.dir = dir;
        }

        void put(String name, long inode) {
            if (ino.put(name, inode) == null) {
                pos.put(name, list.size());
                list.add(name);
            }
        }

        void remove(String name) {
            ino.remove(name);
            int i = pos.remove(name);
            String last = list.remove(list.size() - 1);
            if (!last.equals(name)) {
                list.set(i, last);
                pos.put(last, i);
            }
        }

        String random(Random rnd) {
            return list.get(rnd.nextInt(list.size()));
        }

        int size() {
            return list.size();
        }

        String path(String name) {
            return dir + "/" + name;
        }
    }

    /** Unique names: a counter, a tag, and random letters up to a length in [min, max]. */
    static final class NameMaker {
        private final Random rnd;
        private final String tag;
        private final int min;
        private final int max;
        private int next;

        NameMaker(long seed, String tag, int min, int max) {
            this.rnd = new Random(seed);
            this.tag = tag;
            this.min = min;
            this.max = max;
        }

        String next() {
            StringBuilder s = new StringBuilder(tag).append(Integer.toString(next++, 36)).append('.');
            int len = min + rnd.nextInt(max - min + 1);
            while (s.length() < len) {
                s.append((char) ('a' + rnd.nextInt(26)));
            }
            return s.toString();
        }
    }

    /** Makes {@code count} fifos in {@code names.dir} through the API; returns the rate in names per second. */
    private static double mknodAll(Ext4FileSystem fs, Names names, NameMaker maker, int count) throws IOException {
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            String n = maker.next();
            fs.mknod(names.path(n), FIFO, 0, 0);
            names.put(n, fs.lookup(names.path(n)));
        }
        return count / ((System.nanoTime() - t0) / 1e9);
    }

    private static final String PY_LIST = "import os,sys\n"
            + "out=sys.stdout\n"
            + "for e in os.scandir(sys.argv[1]): out.write('%d %s\\n' % (e.inode(), e.name))\n";

    /** The kernel's readdir of {@code dir} (a directory of a mount): name to inode. */
    static Map<String, Long> kernelList(Path dir) throws IOException {
        Map<String, Long> m = new HashMap<>();
        String out = Tools.run("python3", "-c", PY_LIST, dir.toString()).ok().stdout();
        for (String line : out.split("\n")) {
            if (!line.isEmpty()) {
                int sp = line.indexOf(' ');
                m.put(line.substring(sp + 1), Long.parseLong(line.substring(0, sp)));
            }
        }
        return m;
    }

    private static final String PY_MAKE = "import os,sys,time\n"
            + "d=sys.argv[1]; how=sys.argv[3]\n"
            + "names=open(sys.argv[2]).read().split('\\n')[:-1]\n"
            + "t=time.perf_counter()\n"
            + "for n in names:\n"
            + "  p=d+'/'+n\n"
            + "  if how=='fifo': os.mknod(p, 0o10644)\n"
            + "  elif how=='file': os.close(os.open(p, os.O_CREAT|os.O_EXCL|os.O_WRONLY, 0o644))\n"
            + "  elif how=='rm': os.unlink(p)\n"
            + "print(time.perf_counter()-t)\n";

    /** Makes (fifo, file) or removes (rm) each name in {@code dir} through the kernel; returns the seconds taken. */
    static double kernelMake(Path dir, List<String> names, String how) throws IOException {
        Path list = Files.createTempFile("ext4j-names", ".lst");
        try {
            Files.writeString(list, String.join("\n", names) + "\n", StandardCharsets.UTF_8);
            String out = Tools.run("python3", "-c", PY_MAKE, dir.toString(), list.toString(), how).ok().stdout();
            return Double.parseDouble(out.trim());
        } finally {
            Files.delete(list);
        }
    }

    /** Equal maps, or a failure saying how many names differ and showing a few. */
    static void assertSameNames(Map<String, Long> expected, Map<String, Long> actual, String what) {
        if (expected.equals(actual)) {
            return;
        }
        List<String> diff = new ArrayList<>();
        for (Map.Entry<String, Long> e : new TreeMap<>(expected).entrySet()) {
            Long a = actual.get(e.getKey());
            if (!e.getValue().equals(a)) {
                diff.add("- " + e.getKey() + " " + e.getValue() + (a == null ? "" : " (has " + a + ")"));
            }
        }
        for (Map.Entry<String, Long> e : new TreeMap<>(actual).entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                diff.add("+ " + e.getKey() + " " + e.getValue());
            }
        }
        fail(what + ": " + expected.size() + " names expected, " + actual.size() + " found, " + diff.size()
                + " differ:\n" + String.join("\n", diff.subList(0, Math.min(20, diff.size()))));
    }

    static void assertClean(Path img, String what) throws IOException {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn of " + what + ":\n" + r.stdout() + r.stderr());
    }

    /** The kernel's names (a read-only mount) of each directory equal the model's. */
    static void kernelSees(Path img, Names... dirs) throws Exception {
        Tools.kernelCheck("the names of " + img.getFileName(), () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (Names n : dirs) {
                    assertSameNames(n.ino, kernelList(m.dir().resolve(n.dir.substring(1))),
                            "the kernel's readdir of " + n.dir + " in " + img.getFileName());
                }
            }
        });
    }

    /** ext4j's readdir of each directory equals the model, and a sample of names is looked up. */
    static void ext4jSees(Ext4FileSystem fs, Random rnd, Names... dirs) throws IOException {
        for (Names n : dirs) {
            Map<String, Long> listed = new HashMap<>();
            fs.forEachEntry(fs.lookup(n.dir), e -> {
                if (!e.isDot() && !e.isDotDot()) {
                    listed.put(new String(e.name(), StandardCharsets.UTF_8), e.inode());
                }
                return true;
            });
            assertSameNames(n.ino, listed, "ext4j's readdir of " + n.dir);
            for (int i = 0; i < Math.min(500, n.size()); i++) {
                String name = n.random(rnd);
                assertEquals(n.ino.get(name), fs.lookup(n.path(name)), "ext4j's lookup of " + n.path(name));
            }
        }
    }

    /** indirect_levels of an htree directory's root (0: one index level), -1 for a linear directory. */
    static int indirectLevels(Ext4FileSystem fs, String dir) throws IOException {
        if (!fs.isReadOnly()) {
            fs.commitMetadata(); // the root is read as file data, from the device: the journal's commit puts it there
        }
        long ino = fs.lookup(dir);
        if ((fs.volume().readInode(ino).flags & InodeRecord.FL_INDEX) == 0) {
            return -1;
        }
        byte[] root = new byte[fs.superblock().blockSize];
        fs.read(ino, 0, root, 0, root.length);
        return DxNode.rootInfo(root).indirectLevels();
    }

    /**
     * Churn over two directories: a random half of {@code a} removed, then {@code ops} random
     * operations: new names in either, renames within one and across the two (onto fresh names, over
     * existing ones, NOREPLACE refused, EXCHANGE), removals.
     */
    static void churn(Ext4FileSystem fs, Names a, Names b, NameMaker maker, Random rnd, int ops) throws IOException {
        List<String> half = new ArrayList<>(a.ino.keySet());
        Collections.sort(half);
        Collections.shuffle(half, rnd);
        for (String n : half.subList(0, half.size() / 2)) {
            fs.unlink(a.path(n));
            a.remove(n);
        }
        for (int i = 0; i < ops; i++) {
            Names x = rnd.nextBoolean() ? a : b;
            Names y = rnd.nextInt(3) == 0 ? x : x == a ? b : a;
            int r = rnd.nextInt(100);
            if (r < 35 || x.size() < 2 || y.size() < 2) {
                String n = maker.next();
                fs.mknod(x.path(n), FIFO, 0, 0);
                x.put(n, fs.lookup(x.path(n)));
            } else if (r < 45) {
                String n = x.random(rnd);
                fs.unlink(x.path(n));
                x.remove(n);
            } else if (r < 80) {
                String from = x.random(rnd);
                String to = maker.next();
                fs.rename(x.path(from), y.path(to));
                long ino = x.ino.get(from);
                x.remove(from);
                y.put(to, ino);
            } else if (r < 90) {
                String from = x.random(rnd);
                String to = y.random(rnd);
                if (x == y && from.equals(to)) {
                    continue;
                }
                if (rnd.nextBoolean()) {
                    assertThrows(EntryExistsException.class,
                            () -> fs.rename(x.path(from), y.path(to), RenameMode.NOREPLACE));
                    continue;
                }
                fs.rename(x.path(from), y.path(to)); // replaces: the target's fifo is evicted
                long ino = x.ino.get(from);
                x.remove(from);
                y.put(to, ino); // over the old inode
            } else {
                String from = x.random(rnd);
                String to = y.random(rnd);
                if (x == y && from.equals(to)) {
                    continue;
                }
                fs.rename(x.path(from), y.path(to), RenameMode.EXCHANGE);
                long fi = x.ino.get(from);
                long ti = y.ino.get(to);
                x.put(from, ti);
                y.put(to, fi);
            }
        }
    }

    /**
     * The judges after a write workload: e2fsck -fn of the image; the kernel's names; then on a copy,
     * {@code e2fsck -fyD} (the directories rebuilt by e2fsprogs), clean again, the same names for the
     * kernel and for ext4j, which then changes the rebuilt directories, judged once more.
     */
    private void judgeWithRebuiltCopy(Path img, NameMaker maker, Random rnd, Names... dirs) throws Exception {
        assertClean(img, "ext4j's image");
        kernelSees(img, dirs);
        Path copy = tmp.resolve("rebuilt-" + img.getFileName());
        Files.copy(img, copy);
        Tools.Result d = Tools.run("e2fsck", "-fyD", copy.toString());
        assertTrue(d.exit() <= 1, "e2fsck -fyD of a copy (exit " + d.exit() + "):\n" + d.stdout() + d.stderr());
        assertClean(copy, "the copy rebuilt by e2fsck -D");
        kernelSees(copy, dirs);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(copy, WriteOptions.defaults())) {
            ext4jSees(fs, rnd, dirs);
            for (Names n : dirs) {
                for (int i = 0; i < 1000 && n.size() > 0; i++) {
                    String gone = n.random(rnd);
                    fs.unlink(n.path(gone));
                    n.remove(gone);
                }
                mknodAll(fs, n, maker, 1500);
            }
        }
        assertClean(copy, "ext4j's changes to the rebuilt copy");
        kernelSees(copy, dirs);
    }

    // ------------------------------------------------------------------ item 1: churn

    /**
     * Two big directories on 1 KiB blocks with large_dir, names of 200-255 bytes: /a reaches three
     * index levels; half of it removed, then additions, renames and exchanges within and across
     * the two; e2fsck, the kernel, and a copy rebuilt by {@code e2fsck -fyD} that ext4j changes again.
     */
    @Test
    void churnAcrossTwoThreeLevelDirectories() throws Exception {
        Path img = image("churn.img", 256L << 20, "-b", "1024", "-I", "128", "-O", "large_dir", "-N", "60000");
        Names a = new Names("/a");
        Names b = new Names("/b");
        NameMaker maker = new NameMaker(11, "c", 250, 255);
        Random rnd = new Random(12);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/a", 0755);
            fs.mkdir("/b", 0755);
            mknodAll(fs, a, maker, 22_000);
            mknodAll(fs, b, maker, 6_000);
            assertEquals(2, indirectLevels(fs, "/a"), "/a has three index levels");
            churn(fs, a, b, maker, rnd, 20_000);
            ext4jSees(fs, rnd, a, b);
        }
        judgeWithRebuiltCopy(img, maker, rnd, a, b);
    }

    /** Item 1 at full size: 200,000 names in /a (4 KiB blocks), 60,000 in /b, and churn over both. */
    @Test
    @Tag("slow")
    void twoHundredThousandNamesAndChurn() throws Exception {
        Path img = image("big.img", 1L << 30, "-b", "4096", "-N", "400000");
        Names a = new Names("/a");
        Names b = new Names("/b");
        NameMaker maker = new NameMaker(21, "n", 8, 24);
        Random rnd = new Random(22);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/a", 0755);
            fs.mkdir("/b", 0755);
            double rate = mknodAll(fs, a, maker, 200_000);
            System.out.printf("ext4j: 200000 fifos in one directory at %.0f/s, %d index levels%n", rate,
                    indirectLevels(fs, "/a") + 1);
            mknodAll(fs, b, maker, 60_000);
        }
        assertClean(img, "200,000 names by ext4j");
        kernelSees(img, a, b);
        lookupCost(img, a, rnd);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            churn(fs, a, b, maker, rnd, 150_000);
            ext4jSees(fs, rnd, a, b);
        }
        judgeWithRebuiltCopy(img, maker, rnd, a, b);
    }

    // ------------------------------------------------------------------ item 4: large_dir

    /**
     * large_dir, 1 KiB blocks, 250-255 byte names: ext4j grows /d to three index levels; e2fsck and
     * the kernel see every name; the kernel then adds names (and removes some of ext4j's) in that
     * tree; ext4j lists and looks up the result, adds, removes and renames in it again; judged again.
     */
    @Test
    void threeLevelTreeSharedWithTheKernel() throws Exception {
        Path img = image("largedir.img", 192L << 20, "-b", "1024", "-I", "128", "-O", "large_dir", "-N", "40000");
        Names d = new Names("/d");
        NameMaker maker = new NameMaker(51, "l", 250, 255);
        Random rnd = new Random(52);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/d", 0755);
            mknodAll(fs, d, maker, 21_000);
            assertEquals(2, indirectLevels(fs, "/d"), "three index levels");
        }
        assertClean(img, "ext4j's three-level directory");
        kernelSees(img, d);
        Tools.kernelCheck("the kernel's changes to ext4j's three-level directory", () -> {
            List<String> added = new ArrayList<>();
            for (int i = 0; i < 4000; i++) {
                added.add(maker.next());
            }
            List<String> removed = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                String n = d.random(rnd);
                removed.add(n);
                d.remove(n);
            }
            Map<String, Long> listed;
            try (Tools.Mount m = Tools.Mount.of(img, false)) {
                Path dir = m.dir().resolve("d");
                kernelMake(dir, added, "fifo");
                kernelMake(dir, removed, "rm");
                listed = kernelList(dir);
            }
            for (String n : added) {
                d.put(n, listed.get(n));
            }
            assertClean(img, "the kernel's changes");
            try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
                assertEquals(2, indirectLevels(fs, "/d"), "three index levels after the kernel");
                ext4jSees(fs, rnd, d);
                for (String n : added) {
                    assertEquals(d.ino.get(n), fs.lookup(d.path(n)), "ext4j finds the kernel's " + n);
                }
                for (String n : removed) {
                    assertThrows(org.ext4j.error.NotFoundException.class, () -> fs.lookup(d.path(n)));
                }
                mknodAll(fs, d, maker, 3000);
                for (int i = 0; i < 2000; i++) {
                    String n = d.random(rnd);
                    if (i % 4 == 0) {
                        String to = maker.next();
                        fs.rename(d.path(n), d.path(to));
                        long ino = d.ino.get(n);
                        d.remove(n);
                        d.put(to, ino);
                    } else {
                        fs.unlink(d.path(n));
                        d.remove(n);
                    }
                }
            }
            assertClean(img, "ext4j's changes after the kernel's");
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertSameNames(d.ino, kernelList(m.dir().resolve("d")), "the kernel's readdir at the end");
            }
        });
    }

    // ------------------------------------------------------------------ item 2: cost

    /** Counts the reads of a set of blocks while counting is on. */
    static final class CountingDevice implements BlockDevice {
        final BlockDevice inner;
        final int bs;
        final Set<Long> watched = new HashSet<>();
        final AtomicBoolean on = new AtomicBoolean();
        long watchedReads;
        long allReads;

        CountingDevice(BlockDevice inner, int bs) {
            this.inner = inner;
            this.bs = bs;
        }

        @Override
        public long size() throws IOException {
            return inner.size();
        }

        @Override
        public synchronized int read(long offset, ByteBuffer dst) throws IOException {
            if (on.get()) {
                long first = offset / bs;
                long last = (offset + Math.max(1, dst.remaining()) - 1) / bs;
                allReads += last - first + 1;
                for (long blk = first; blk <= last; blk++) {
                    if (watched.contains(blk)) {
                        watchedReads++;
                    }
                }
            }
            return inner.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            inner.write(offset, src);
        }

        @Override
        public void flush() throws IOException {
            inner.flush();
        }

        @Override
        public boolean isReadOnly() {
            return inner.isReadOnly();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }

        long[] take() {
            long[] r = {watchedReads, allReads};
            watchedReads = 0;
            allReads = 0;
            return r;
        }
    }

    /** The physical blocks of directory {@code dir} (its data blocks: leaves and index nodes). */
    static Set<Long> directoryBlocks(Ext4FileSystem fs, String dir) throws IOException {
        Set<Long> out = new HashSet<>();
        org.ext4j.inode.Inode inode = fs.inode(fs.lookup(dir));
        long blocks = fs.stat(dir).size() / fs.superblock().blockSize;
        for (long l = 0; l < blocks;) {
            org.ext4j.extents.BlockMap.Mapping m = inode.blockMap().map(l, blocks - l);
            for (long i = 0; i < m.length(); i++) {
                out.add(m.physical() + i);
            }
            l += m.length();
        }
        return out;
    }

    /**
     * Lookups of present and absent names in {@code a.dir}, each in a cold cache (a fresh read-only
     * open), read at most the index levels, the root and one leaf of the directory: a hash probe,
     * never a scan of its thousands of blocks. Then creates read-write, in a warm cache, read no
     * more. Prints the figures.
     */
    private static void lookupCost(Path img, Names a, Random rnd) throws IOException {
        Set<Long> dirBlocks;
        int levels;
        int bs;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            bs = fs.superblock().blockSize;
            dirBlocks = directoryBlocks(fs, a.dir);
            levels = indirectLevels(fs, a.dir) + 1;
        }
        assertTrue(dirBlocks.size() > 500, "a directory of " + dirBlocks.size() + " blocks");
        int bound = levels + 2; // the root, each index level below it, the leaf; and one collision continuation
        long maxDir = 0;
        long sumDir = 0;
        long maxAll = 0;
        int lookups = 40;
        for (int i = 0; i < lookups; i++) {
            boolean present = i % 2 == 0;
            String name = present ? a.random(rnd) : "absent-" + i;
            CountingDevice c = new CountingDevice(FileBlockDevice.openReadOnly(img), bs);
            try (Ext4FileSystem fs = Ext4FileSystem.open(c, OpenOptions.readOnlyDefaults())) {
                c.watched.addAll(dirBlocks);
                c.on.set(true);
                if (present) {
                    assertEquals(a.ino.get(name), fs.lookup(a.path(name)), "lookup of " + name);
                } else {
                    assertThrows(org.ext4j.error.NotFoundException.class, () -> fs.lookup(a.path(name)));
                }
                long[] r = c.take();
                maxDir = Math.max(maxDir, r[0]);
                sumDir += r[0];
                maxAll = Math.max(maxAll, r[1]);
                assertTrue(r[0] >= 2, "a cold lookup reads the root and a leaf at least: " + r[0]);
                assertTrue(r[0] <= bound, "a lookup of " + (present ? "a present" : "an absent") + " name read "
                        + r[0] + " of the directory's " + dirBlocks.size() + " blocks; its tree has " + levels
                        + " index levels");
            }
        }
        System.out.printf("lookup in %d names (%d directory blocks, %d index levels), cold cache: %.1f directory "
                + "blocks read on average, %d at most, %d blocks read in all at most%n", a.size(), dirBlocks.size(),
                levels, sumDir / (double) lookups, maxDir, maxAll);
        CountingDevice c = new CountingDevice(FileBlockDevice.openReadWrite(img), bs);
        long maxCreate = 0;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(c, WriteOptions.defaults())) {
            c.watched.addAll(dirBlocks);
            NameMaker maker = new NameMaker(99, "cost", 8, 24);
            for (int i = 0; i < 200; i++) {
                String n = maker.next();
                c.take();
                c.on.set(true);
                fs.mknod(a.path(n), FIFO, 0, 0);
                c.on.set(false);
                maxCreate = Math.max(maxCreate, c.take()[0]);
                a.put(n, fs.lookup(a.path(n)));
            }
        }
        System.out.printf("create in %d names: at most %d directory blocks read%n", a.size(), maxCreate);
        assertTrue(maxCreate <= 2 * bound, "a create read " + maxCreate + " directory blocks");
    }

    /**
     * Item 2 in the default run: 200,000 names made by the kernel (a loop mount, in seconds), then
     * ext4j's lookups and creates counted in directory blocks read.
     */
    @Test
    void lookupInTwoHundredThousandNamesIsAHashProbe() throws Exception {
        Path img = image("lookup.img", 512L << 20, "-b", "4096", "-N", "220000");
        Names a = new Names("/d");
        NameMaker maker = new NameMaker(31, "k", 8, 24);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 200_000; i++) {
            names.add(maker.next());
        }
        Map<String, Long> made;
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Files.createDirectory(m.dir().resolve("d"));
            kernelMake(m.dir().resolve("d"), names, "fifo");
            made = kernelList(m.dir().resolve("d"));
        }
        for (Map.Entry<String, Long> e : new TreeMap<>(made).entrySet()) {
            a.put(e.getKey(), e.getValue());
        }
        assertEquals(200_000, a.size());
        lookupCost(img, a, new Random(32));
        assertClean(img, "ext4j's creates in the kernel's directory");
        kernelSees(img, a);
    }

    /**
     * {@code count} names made in one directory through the API and through a kernel loop mount on a
     * copy of the same fresh image, the same operation on both sides: fifos ({@code mknod}) or empty
     * regular files ({@code createFile} and close, against {@code open(O_CREAT|O_EXCL)} and close in
     * Python). The rates and their ratio are printed for the notes, not asserted; ext4j's result is
     * judged by e2fsck and the kernel's names. ext4j's {@code Ext4File.close} is an fsync (a device
     * flush per file), so the default run makes only a few thousand files that way.
     */
    @ParameterizedTest(name = "{1} {0}s")
    @CsvSource({"fifo, 100000", "file, 3000"})
    void createRateAgainstTheKernel(String kind, int count) throws Exception {
        createRate(kind, count);
    }

    /** 100,000 empty regular files through {@code createFile}: several minutes, for the notes. */
    @Test
    @Tag("slow")
    void hundredThousandFilesAgainstTheKernel() throws Exception {
        createRate("file", 100_000);
    }

    private void createRate(String kind, int count) throws Exception {
        Path base = image("rate.img", 512L << 20, "-b", "4096", "-N", Integer.toString(count + 20_000));
        Path theirs = tmp.resolve("rate-kernel.img");
        Files.copy(base, theirs);
        NameMaker maker = new NameMaker(41, "f", 8, 24);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            names.add(maker.next());
        }
        Names d = new Names("/d");
        double ours;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(base, WriteOptions.defaults())) {
            fs.mkdir("/d", 0755);
            long t0 = System.nanoTime();
            for (String n : names) {
                if (kind.equals("fifo")) {
                    fs.mknod(d.path(n), FIFO, 0, 0);
                } else {
                    fs.createFile(d.path(n), 0644).close();
                }
            }
            ours = count / ((System.nanoTime() - t0) / 1e9);
        }
        double kernel;
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            Files.createDirectory(m.dir().resolve("d"));
            kernel = count / kernelMake(m.dir().resolve("d"), names, kind);
        }
        System.out.printf("%d %ss in one directory: ext4j %.0f/s, kernel loop mount %.0f/s (ratio ext4j/kernel %.3f)%n",
                count, kind, ours, kernel, ours / kernel);
        try (Ext4FileSystem fs = Ext4FileSystem.open(base)) {
            for (String n : names) {
                d.put(n, fs.lookup(d.path(n)));
            }
        }
        assertClean(base, count + " " + kind + "s by ext4j");
        kernelSees(base, d);
    }

    // ------------------------------------------------------------------ item 3: dir_nlink

    /**
     * A plan of mkdirs and rmdirs of subdirectories {@code s0, s1, ...} of /p: each step is
     * {@code m} (mkdir the next names) or {@code r} (rmdir the oldest remaining) with a count; the
     * parent's link count is noted after each step, and after each single operation where the step
     * says so ({@code M}/{@code R}); an mkdir refused with EMLINK ends its step and is noted.
     */
    private static final String PY_PLAN = "import os,sys,errno\n"
            + "d=sys.argv[1]; made=0; gone=0; out=[]\n"
            + "for step in sys.argv[2].split(','):\n"
            + "  op=step[0]; n=int(step[1:])\n"
            + "  for k in range(n):\n"
            + "    if op in 'mM':\n"
            + "      try: os.mkdir('%s/s%d' % (d, made))\n"
            + "      except OSError as e:\n"
            + "        if e.errno != errno.EMLINK: raise\n"
            + "        out.append('EMLINK after %d' % (made-gone)); break\n"
            + "      made+=1\n"
            + "    else:\n"
            + "      os.rmdir('%s/s%d' % (d, gone)); gone+=1\n"
            + "    if op in 'MR': out.append('%s %d: %d' % (op, made-gone, os.stat(d).st_nlink))\n"
            + "  out.append('%s %d: %d' % (step, made-gone, os.stat(d).st_nlink))\n"
            + "print('\\n'.join(out))\n";

    /** {@link #PY_PLAN} through ext4j; the same transcript. */
    private static List<String> ext4jPlan(Ext4FileSystem fs, String plan, Names p) throws IOException {
        List<String> out = new ArrayList<>();
        int made = 0;
        int gone = 0;
        for (String step : plan.split(",")) {
            char op = step.charAt(0);
            int n = Integer.parseInt(step.substring(1));
            for (int k = 0; k < n; k++) {
                if (op == 'm' || op == 'M') {
                    String name = "s" + made;
                    try {
                        fs.mkdir(p.path(name), 0755);
                    } catch (TooManyLinksException e) {
                        out.add("EMLINK after " + (made - gone));
                        break;
                    }
                    p.put(name, fs.lookup(p.path(name)));
                    made++;
                } else {
                    String name = "s" + gone;
                    fs.rmdir(p.path(name));
                    p.remove(name);
                    gone++;
                }
                if (op == 'M' || op == 'R') {
                    out.add(op + " " + (made - gone) + ": " + fs.stat(p.dir).linkCount());
                }
            }
            out.add(step + " " + (made - gone) + ": " + fs.stat(p.dir).linkCount());
        }
        return out;
    }

    /**
     * The plan run by ext4j on an image and by the kernel on a copy: the same transcript of the
     * parent's link counts (and EMLINK), e2fsck clean, the kernel's names of /p as ext4j's model.
     */
    private void linkCountsAsTheKernel(String plan, String... mkfs) throws Exception {
        List<String> opts = new ArrayList<>(List.of("-b", "1024", "-I", "128", "-N", "72000"));
        opts.addAll(List.of(mkfs));
        Path ours = image("nlink.img", 160L << 20, opts.toArray(String[]::new));
        Path theirs = tmp.resolve("nlink-kernel.img");
        Names p = new Names("/p");
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(ours, WriteOptions.defaults())) {
            fs.mkdir("/p", 0755);
        }
        Files.copy(ours, theirs);
        long t0 = System.nanoTime();
        List<String> ext4j;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(ours, WriteOptions.defaults())) {
            ext4j = ext4jPlan(fs, plan, p);
        }
        System.out.printf("ext4j ran %s in %.1f s%n", plan, (System.nanoTime() - t0) / 1e9);
        assertClean(ours, "ext4j's image after " + plan);
        kernelSees(ours, p);
        Tools.kernelCheck("the kernel's link counts for " + plan, () -> {
            String kernel;
            try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
                kernel = Tools.run("python3", "-c", PY_PLAN, m.dir().resolve("p").toString(), plan).ok().stdout();
            }
            assertEquals(kernel.strip(), String.join("\n", ext4j), "the parent's link counts, kernel (expected) and ext4j");
            System.out.println(String.join("\n", ext4j));
        });
    }

    /**
     * dir_nlink (mkfs's default): past 65,000 links an htree parent counts 1 ({@code ext4_inc_count});
     * rmdir drops a count above 2 only ({@code ext4_dec_count}), so 1 stays 1 to the last rmdir; e2fsck
     * -fn accepts a count of 1 on an indexed directory. Below the limit the counts are exact. Steps:
     * to 65,000 links, ten rmdirs, the crossing one at a time, rmdirs back under the limit, all gone.
     */
    @Test
    void dirNlinkPastSixtyFiveThousandSubdirectories() throws Exception {
        linkCountsAsTheKernel("m64998,r10,M13,R5,r64996");
    }

    /**
     * Without dir_nlink the parent stops at 65,000 links: the next mkdir is refused with EMLINK
     * ({@link TooManyLinksException}) and changes nothing (e2fsck clean); after three rmdirs three
     * more mkdirs succeed and the fourth is refused again. (The limit is the kernel's constant, so
     * there is no smaller variant; about 15 s.)
     */
    @Test
    void withoutDirNlinkTheLimitIsEmlink() throws Exception {
        linkCountsAsTheKernel("m70000,r3,M5", "-O", "^dir_nlink");
    }
}
