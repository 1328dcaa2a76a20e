package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import org.ext4j.error.NotFoundException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.format.Le;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Ext4FileSystem#unlink} judged by e2fsprogs and the kernel: after unlinking files of every
 * kind, {@code e2fsck -fn} is clean, the free block and inode counts (dumpe2fs and the kernel's
 * statfs) are those from before the files were created, the kernel sees every other file intact,
 * and an {@code rm} of the same names on a kernel mount of a copy leaves the same bitmaps and the
 * same deleted inodes.
 */
@ExtendWith(SkippedChecks.class)
class UnlinkTest {
    private static final String XATTR_VALUE = "shared-value-".repeat(16); // 208 bytes: too big for the inode body

    // ------------------------------------------------------------------ judges

    record Counts(long freeBlocks, long freeInodes) {
    }

    /** The superblock's free counts as dumpe2fs reports them. */
    static Counts counts(Path img) throws IOException {
        String out = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        return new Counts(field(out, "Free blocks:"), field(out, "Free inodes:"));
    }

    private static long field(String text, String label) {
        return text.lines().filter(l -> l.startsWith(label)).map(l -> Long.parseLong(l.substring(label.length()).strip()))
                .findFirst().orElseThrow(() -> new AssertionError("no " + label + " in\n" + text));
    }

    /** What the kernel's statfs reports on a read-only mount: free blocks and free inodes. */
    static Counts kernelCounts(Path img) throws IOException {
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            String[] f = Tools.run("stat", "-f", "-c", "%f %d", m.dir().toString()).ok().stdout().strip().split(" ");
            return new Counts(Long.parseLong(f[0]), Long.parseLong(f[1]));
        }
    }

    /** Every group's counts and free block and inode lists, as dumpe2fs prints them (no checksums or flags). */
    static List<String> groupState(Path img) throws IOException {
        List<String> out = new ArrayList<>();
        boolean groups = false;
        for (String line : Tools.run("dumpe2fs", img.toString()).ok().stdout().split("\n")) {
            if (line.startsWith("Group ")) {
                groups = true;
                out.add(line.replaceAll("\\).*", ")")); // without checksum and flags
            } else if (groups && (line.contains("free blocks,") || line.strip().startsWith("Free blocks:")
                    || line.strip().startsWith("Free inodes:"))) {
                out.add(line.strip());
            }
        }
        return out;
    }

    /** {@code debugfs stat} and i_block of an inode, without times, checksum and i_version. */
    static String inodeState(Path img, long ino) throws IOException {
        String stat = Tools.run("debugfs", "-R", "stat <" + ino + ">", img.toString()).ok().stdout();
        StringBuilder sb = new StringBuilder();
        for (String l : stat.split("\n")) {
            if (l.contains("time:") || l.contains("checksum")) {
                continue;
            }
            sb.append(l.replaceAll("Version: \\S+", "")).append('\n');
        }
        String iBlock = Tools.run("debugfs", "-R", "inode_dump -b <" + ino + ">", img.toString()).ok().stdout();
        if (stat.contains("EXTENTS:")) {
            // the header only: the kernel leaves removed entries' bytes behind it, ext4j zeroes them
            iBlock = iBlock.lines().findFirst().orElse("").substring(0, 35);
        }
        return sb.append(iBlock).toString();
    }

    static void assertClean(Path img) throws IOException {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn:\n" + r.stdout() + r.stderr());
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    static List<String> mkfsOptions(int blockSize, String extra) {
        List<String> o = new ArrayList<>(List.of("-b", Integer.toString(blockSize)));
        if (!extra.isBlank()) {
            o.addAll(Arrays.asList(extra.strip().split("\\s+")));
        }
        return o;
    }

    /** Writes one random block at every other block: {@code n} extents, enough to make the tree deep. */
    static void writeFragmented(Path file, int blockSize, int n, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] block = new byte[blockSize];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int i = 0; i < n; i++) {
                rnd.nextBytes(block);
                ch.write(ByteBuffer.wrap(block), 2L * i * blockSize);
            }
            ch.force(true);
        }
    }

    /** Extent fragments that make a depth of at least 2 (the root holds 4 indexes, a leaf block (bs - 12) / 12 extents). */
    static int deepFragments(int blockSize) {
        return 4 * ((blockSize - 12) / 12) + 40;
    }

    static void makeSocket(Path p) throws IOException {
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(p));
        }
    }

    static int depth(Ext4FileSystem fs, String path) throws IOException {
        byte[] iBlock = fs.inode(fs.lookup(path)).record().iBlock();
        return Le.u16(iBlock, 6);
    }

    static long fileAcl(Ext4FileSystem fs, String path) throws IOException {
        return fs.inode(fs.lookup(path)).record().fileAcl;
    }

    static void sh(Path dir, String script) throws IOException {
        Tools.run("sh", "-c", "cd '" + dir + "' && " + script).ok();
    }

    // ------------------------------------------------------------------ every kind, against the kernel's rm

    @ParameterizedTest(name = "{0}-byte blocks, mkfs {1}")
    @CsvSource({"4096, ''", "1024, ''", "4096, '-O ^metadata_csum,^64bit'", "1024, '-I 128'"})
    void everyKindIsFreedAsTheKernelFreesIt(int blockSize, String extra, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("setfattr", "getfattr", "mkfifo", "mknod", "dumpe2fs", "debugfs");
        Path src = Files.createDirectories(tmp.resolve("src/k_dir"));
        byte[] kFile = random(50_000, 1);
        byte[] kInner = random(3_000, 2);
        byte[] kHl = random(20_000, 3);
        Files.write(src.getParent().resolve("k_file"), kFile);
        Files.write(src.resolve("k_inner"), kInner);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 64L << 20, mkfsOptions(blockSize, extra), src.getParent());
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Files.write(m.dir().resolve("k_hl"), kHl);
            Files.write(m.dir().resolve("k_xa2"), random(700, 4));
            sh(m.dir(), "setfattr -n user.big -v " + XATTR_VALUE + " k_xa2");
        }
        Counts before = counts(img);

        // the victims, made by the kernel in the root directory (which keeps its one block)
        String[] victims = {"v_empty", "v_small", "v_large", "v_frag", "v_fast", "v_slow", "v_fastx", "v_fifo", "v_chr",
            "v_blk", "v_sock", "v_hl", "v_xa1", "v_xb"};
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path d = m.dir();
            Files.write(d.resolve("v_empty"), new byte[0]);
            Files.write(d.resolve("v_small"), random(100, 5));
            Files.write(d.resolve("v_large"), random(3_000_000, 6));
            writeFragmented(d.resolve("v_frag"), blockSize, deepFragments(blockSize), 7);
            makeSocket(d.resolve("v_sock"));
            Files.write(d.resolve("v_xa1"), random(5_000, 8));
            Files.write(d.resolve("v_xb"), random(10, 9));
            sh(d, "ln -s target v_fast && ln -s " + "t".repeat(200) + " v_slow && ln -s t2 v_fastx"
                    + " && setfattr -h -n trusted.t -v " + "y".repeat(200) + " v_fastx"
                    + " && mkfifo v_fifo && mknod v_chr c 1 3 && mknod v_blk b 7 0 && ln k_hl v_hl"
                    + " && getfattr -d k_xa2 >/dev/null" // the block enters the kernel's cache, so the next one shares it
                    + " && setfattr -n user.big -v " + XATTR_VALUE + " v_xa1"
                    + " && setfattr -n user.own -v " + "o".repeat(200) + " v_xb");
        }
        assertClean(img);
        Map<String, Long> inodes = new LinkedHashMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertTrue(depth(fs, "/v_frag") >= 2, "the fragmented file's extent tree has depth 2 or more");
            assertTrue(fileAcl(fs, "/v_xa1") != 0 && fileAcl(fs, "/v_xa1") == fileAcl(fs, "/k_xa2"),
                    "v_xa1 and k_xa2 share one xattr block");
            assertNotEquals(0, fileAcl(fs, "/v_xb"));
            assertNotEquals(0, fileAcl(fs, "/v_fastx"));
            for (String v : victims) {
                inodes.put(v, fs.lookup("/" + v));
            }
        }
        Path theirs = tmp.resolve("kernel.img");
        Files.copy(img, theirs);

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (String v : victims) {
                fs.unlink("/" + v);
                assertThrows(NotFoundException.class, () -> fs.stat("/" + v));
            }
            assertEquals(1, fs.stat("/k_hl").linkCount());
        }
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            sh(m.dir(), "rm -f " + String.join(" ", victims));
        }

        assertClean(img);
        assertEquals(before, counts(img), "dumpe2fs: the counts from before the victims were made");
        assertEquals(before, kernelCounts(img), "kernel statfs: the counts from before the victims were made");
        assertEquals(groupState(theirs), groupState(img), "the same blocks and inodes free as after the kernel's rm");
        for (var e : inodes.entrySet()) {
            assertEquals(inodeState(theirs, e.getValue()), inodeState(img, e.getValue()),
                    e.getKey() + " (inode " + e.getValue() + ") as the kernel leaves it");
        }
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            try (var names = Files.list(m.dir())) {
                assertEquals(List.of("k_dir", "k_file", "k_hl", "k_xa2", "lost+found"),
                        names.map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertArrayEquals(kFile, Files.readAllBytes(m.dir().resolve("k_file")));
            assertArrayEquals(kInner, Files.readAllBytes(m.dir().resolve("k_dir/k_inner")));
            assertArrayEquals(kHl, Files.readAllBytes(m.dir().resolve("k_hl")));
            assertEquals(1, Files.getAttribute(m.dir().resolve("k_hl"), "unix:nlink"));
            String xattr = Tools.run("getfattr", "--only-values", "-n", "user.big", m.dir().resolve("k_xa2").toString())
                    .ok().stdout();
            assertEquals(XATTR_VALUE, xattr);
        }
    }

    // ------------------------------------------------------------------ files packed by mkfs, every geometry

    @ParameterizedTest(name = "{0}-byte blocks, mkfs {1}")
    @CsvSource({"4096, ''", "1024, ''", "2048, '-O ^metadata_csum'", "1024, '-O ^extents,^64bit'",
        "4096, '-O ^extents,^64bit'"})
    void filesPackedByMkfsGoBackToTheCountsBefore(int blockSize, String extra, @TempDir Path tmp) throws Exception {
        Tools.requireTools("mkfifo", "dumpe2fs", "debugfs");
        Path keep = Files.createDirectories(tmp.resolve("keep/k_dir"));
        byte[] kFile = random(40_000, 11);
        Files.write(keep.getParent().resolve("k_file"), kFile);
        Files.write(keep.resolve("k_inner"), random(5_000, 12));
        Path all = tmp.resolve("all");
        Tools.run("cp", "-a", keep.getParent().toString(), all.toString()).ok();
        Files.write(all.resolve("v_empty"), new byte[0]);
        Files.write(all.resolve("v_small"), random(300, 13));
        Files.write(all.resolve("v_large"), random(2_500_000, 14)); // indirect: double indirect blocks with 1 KiB
        writeFragmented(all.resolve("v_frag"), blockSize, deepFragments(blockSize), 15);
        try (FileChannel ch = FileChannel.open(all.resolve("v_far"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(blockSize, 16)), 70L << 20); // triple indirect with 1 KiB blocks
        }
        Files.createSymbolicLink(all.resolve("v_fast"), Path.of("target"));
        Files.createSymbolicLink(all.resolve("v_slow"), Path.of("s".repeat(150)));
        Files.write(all.resolve("v_hl1"), random(9_000, 17));
        Files.createLink(all.resolve("v_hl2"), all.resolve("v_hl1"));
        Tools.run("mkfifo", all.resolve("v_fifo").toString()).ok();
        makeSocket(all.resolve("v_sock"));
        String[] victims = {"v_empty", "v_small", "v_large", "v_frag", "v_far", "v_fast", "v_slow", "v_hl1", "v_hl2",
            "v_fifo", "v_sock"};

        Path before = tmp.resolve("before.img");
        Tools.mkfs(before, 96L << 20, mkfsOptions(blockSize, extra), keep.getParent());
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 96L << 20, mkfsOptions(blockSize, extra), all);
        assertClean(img);
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertEquals(fs.lookup("/v_hl1"), fs.lookup("/v_hl2"), "mkfs kept the hard link");
            if (!extra.contains("^extents")) {
                assertTrue(depth(fs, "/v_frag") >= 2, "the fragmented file's extent tree has depth 2 or more");
            }
        }
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (String v : victims) {
                fs.unlink("/" + v);
            }
        }
        assertClean(img);
        assertEquals(counts(before), counts(img), "the counts of the same image made without the victims");
        String ls = Tools.run("debugfs", "-R", "ls /", img.toString()).ok().stdout();
        for (String v : victims) {
            assertTrue(!ls.contains(v), v + " still listed:\n" + ls);
        }
        Path out = tmp.resolve("k_file.out");
        Tools.run("debugfs", "-R", "dump /k_file " + out, img.toString()).ok();
        assertArrayEquals(kFile, Files.readAllBytes(out), "debugfs: k_file intact");
    }

    // ------------------------------------------------------------------ htree directories

    @ParameterizedTest(name = "{0}-byte blocks")
    @CsvSource({"1024", "4096"})
    void namesLeaveAnHtreeDirectoryAsWithTheKernel(int blockSize, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 64L << 20, List.of("-b", Integer.toString(blockSize)), null);
        int n = 2500;
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path h = Files.createDirectories(m.dir().resolve("h"));
            for (int i = 0; i < n; i++) {
                Files.write(h.resolve(name(i)), i % 7 == 0 ? random(3 * blockSize, i) : new byte[0]);
            }
        }
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertTrue(fs.stat("/h").flags() != 0 && (fs.stat("/h").flags() & 0x1000) != 0, "the kernel made an htree");
        }
        Path theirs = tmp.resolve("kernel.img");
        Files.copy(img, theirs);
        TreeSet<String> left = new TreeSet<>();
        StringBuilder rm = new StringBuilder("rm -f");
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (int i = 0; i < n; i++) {
                if (i % 3 == 0) {
                    left.add(name(i));
                } else {
                    fs.unlink("/h/" + name(i));
                    rm.append(' ').append(name(i));
                }
            }
        }
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            sh(m.dir().resolve("h"), rm.toString());
        }
        assertClean(img);
        assertEquals(groupState(theirs), groupState(img), "the same blocks and inodes free as after the kernel's rm");
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            try (var names = Files.list(m.dir().resolve("h"))) {
                assertEquals(left, new TreeSet<>(names.map(p -> p.getFileName().toString()).toList()));
            }
            for (int i = 0; i < n; i += 7) {
                Path p = m.dir().resolve("h").resolve(name(i));
                if (i % 3 == 0) {
                    assertArrayEquals(random(3 * blockSize, i), Files.readAllBytes(p), p.toString());
                } else {
                    assertTrue(!Files.exists(p), p + " still found by the kernel's lookup");
                }
            }
        }
    }

    private static String name(int i) {
        return String.format("entry-%05d-%s", i, "n".repeat(i % 40));
    }

    // ------------------------------------------------------------------ open files

    @ParameterizedTest(name = "closed by {0}, aggressive writeback {1}")
    @CsvSource({"the file, false", "the file system, false", "the file, true"})
    void anOpenFileOutlivesItsNameAndIsFreedAtClose(String closer, boolean aggressive, @TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] kept = random(30_000, 21);
        Files.write(src.resolve("kept"), kept);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 32L << 20, List.of(), src);
        Counts before = counts(img);
        WriteOptions options = aggressive ? WriteOptions.aggressive() : WriteOptions.defaults();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, options)) {
            Ext4File f = fs.createFile("/victim", 0644);
            byte[] first = random(1_000_000, 22);
            f.pwrite(0, first, 0, first.length);
            f.fsync();
            fs.unlink("/victim");
            assertThrows(NotFoundException.class, () -> fs.stat("/victim"));
            assertThrows(NotFoundException.class, () -> fs.openFile("/victim"));
            byte[] second = random(2_000_000, 23);
            f.pwrite(first.length, second, 0, second.length); // still writable
            byte[] got = new byte[first.length + second.length];
            assertEquals(got.length, f.pread(0, got, 0, got.length));
            byte[] both = Arrays.copyOf(first, got.length);
            System.arraycopy(second, 0, both, first.length, second.length);
            assertArrayEquals(both, got, "still readable");
            f.fsync();
            if (closer.equals("the file")) {
                f.close();
            }
        }
        assertClean(img);
        assertEquals(before, counts(img), "inode and blocks freed at the last close");
        Tools.Result ls = Tools.run("debugfs", "-R", "ls -l /", img.toString()).ok();
        assertTrue(!ls.stdout().contains("victim"), ls.stdout());
    }

    @Test
    void anOpenHardLinkKeepsItsDataThroughTheOtherName(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = random(20_000, 31);
        Files.write(src.resolve("a"), data);
        Files.createLink(src.resolve("b"), src.resolve("a"));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 16L << 20, List.of(), src);
        byte[] more = random(5_000, 32);
        long ino;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            Ext4File f = fs.openFile("/a");
            ino = f.inode();
            assertEquals(2, fs.stat("/b").linkCount());
            fs.unlink("/a");
            assertEquals(1, fs.stat("/b").linkCount(), "stat sees the link gone while the file is open");
            assertEquals(f, fs.openFile("/b"), "the same open file through the other name");
            f.pwrite(data.length, more, 0, more.length);
            f.close();
            assertEquals(1, fs.stat("/b").linkCount());
        }
        assertClean(img);
        String stat = Tools.run("debugfs", "-R", "stat <" + ino + ">", img.toString()).ok().stdout();
        assertTrue(stat.contains("Links: 1 "), stat);
        byte[] both = Arrays.copyOf(data, data.length + more.length);
        System.arraycopy(more, 0, both, data.length, more.length);
        Path out = tmp.resolve("b.out");
        Tools.run("debugfs", "-R", "dump /b " + out, img.toString()).ok();
        assertArrayEquals(both, Files.readAllBytes(out));
        Tools.kernelCheck("/b's bytes and /a's absence", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertArrayEquals(both, Files.readAllBytes(m.dir().resolve("b")), "kernel: /b");
                assertTrue(!Files.exists(m.dir().resolve("a")), "kernel: /a is gone");
            }
        });
    }

    // ------------------------------------------------------------------ space reuse, refusals

    @ParameterizedTest(name = "{0}-byte blocks")
    @CsvSource({"1024", "4096"})
    void spaceFreedByUnlinkIsUsedAgain(int blockSize, @TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", Integer.toString(blockSize)), null);
        long free = counts(img).freeBlocks() * blockSize;
        int size = (int) (free * 2 / 3); // two of these never fit at once
        byte[] last = null;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (int round = 0; round < 3; round++) {
                byte[] data = random(size, 40 + round);
                try (Ext4File f = fs.createFile("/big", 0600)) {
                    assertEquals(size, f.pwrite(0, data, 0, size));
                }
                last = data;
                if (round < 2) {
                    fs.unlink("/big");
                }
            }
        }
        assertClean(img);
        byte[] expected = last;
        Tools.kernelCheck("/big's bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertArrayEquals(expected, Files.readAllBytes(m.dir().resolve("big")), "kernel: /big");
            }
        });
    }

    @Test
    void withoutExtentsFilesAreCreatedBlockMappedAndUnlinked(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("f"), random(300_000, 71));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 16L << 20, List.of("-b", "1024", "-O", "^extents,^64bit"), null);
        Counts before = counts(img);
        Tools.mkfs(img, 16L << 20, List.of("-b", "1024", "-O", "^extents,^64bit"), src);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            try (Ext4File g = fs.createFile("/g", 0644)) {
                byte[] data = random(400_000, 72); // into the double-indirect range of 1 KiB blocks
                g.pwrite(0, data, 0, data.length);
                g.fsync();
                fs.unlink("/g"); // open: evicted at its close
            }
            fs.unlink("/f");
        }
        assertClean(img);
        assertEquals(before, counts(img));
    }

    @Test
    void aReadOnlyOpenRefusesAndChangesNothing(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("f"), random(5_000, 51));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8L << 20, List.of(), src);
        String sum = sha256(img);
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertThrows(java.nio.file.ReadOnlyFileSystemException.class, () -> fs.unlink("/f"));
            assertEquals(5_000, fs.stat("/f").size());
        }
        assertEquals(sum, sha256(img), "the image's bytes");
    }

    @Test
    void missingNamesDirectoriesAndTrailingSlashesAreRefused(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/dir"));
        byte[] data = random(5_000, 61);
        Files.write(src.getParent().resolve("f"), data);
        Files.createSymbolicLink(src.getParent().resolve("link-to-dir"), Path.of("dir"));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8L << 20, List.of(), src.getParent());
        Counts before = counts(img);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            assertThrows(NotFoundException.class, () -> fs.unlink("/nope"));
            assertThrows(NotFoundException.class, () -> fs.unlink("/nodir/x"));
            assertThrows(NotFoundException.class, () -> fs.unlink(""));
            for (String p : List.of("/", "//", "/dir", "/dir/", "/dir/.", "/dir/..", ".", "/lost+found")) {
                WrongTypeException e = assertThrows(WrongTypeException.class, () -> fs.unlink(p), p);
                assertTrue(e.getMessage().contains("is a directory"), p + ": " + e.getMessage());
            }
            for (String p : List.of("/f/", "/f/x")) {
                WrongTypeException e = assertThrows(WrongTypeException.class, () -> fs.unlink(p), p);
                assertTrue(e.getMessage().contains("not a directory"), p + ": " + e.getMessage());
            }
            assertArrayEquals(data, fs.readAll("/f"));
            fs.unlink("/link-to-dir"); // the symlink goes, not what it points at
            assertTrue(fs.stat("/dir").linkCount() >= 2);
            fs.unlink("link-to-dir/../f".replace("link-to-dir", "dir")); // through "..", relative
            assertThrows(NotFoundException.class, () -> fs.stat("/f"));
        }
        assertClean(img);
        assertEquals(before.freeInodes() + 2, counts(img).freeInodes());
    }
}
