package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.LongPredicate;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.error.FileSystemErrorException;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Validate, then change (issue 8): a write refused on damage leaves the image byte for byte as it
 * was, a read-write open writes nothing until the first change, and damage met only after a change
 * aborts the operation, records the error in the superblock as the kernel does and makes the session
 * read-only. Judged by comparing image bytes, {@code e2fsck -fn} and {@code dumpe2fs -h}.
 */
class ValidateThenChangeTest {
    @TempDir
    Path tmp;

    private Path source() throws IOException {
        Path src = tmp.resolve("src");
        if (!Files.exists(src)) {
            Files.createDirectories(src.resolve("dir"));
            Files.writeString(src.resolve("hello.txt"), "hello, ext4\n");
            byte[] big = new byte[300_000];
            new Random(3).nextBytes(big); // not zeros: mkfs -d would leave a hole
            Files.write(src.resolve("big.bin"), big);
            Files.writeString(src.resolve("dir/inner.txt"), "inner\n");
        }
        return src;
    }

    private Path image(String name, List<String> options) throws IOException {
        Path img = tmp.resolve(name);
        Tools.mkfs(img, 16 << 20, options, source());
        return img;
    }

    /** Runs {@code requests} in one {@code debugfs -w} session (a second session may refuse to open what the first left). */
    private static void debugfsWrite(Path img, String... requests) throws IOException {
        Path cmds = Files.createTempFile("ext4j-debugfs", ".cmd");
        try {
            Files.write(cmds, List.of(requests));
            Result res = Tools.run("debugfs", "-w", "-f", cmds.toString(), img.toString()).ok();
            assertFalse(res.stderr().contains("Usage") || res.stderr().contains("not found")
                    || res.stderr().contains("not open"), String.join("; ", requests) + ": " + res.stderr());
        } finally {
            Files.deleteIfExists(cmds);
        }
    }

    /** The first block of {@code path}'s data, as debugfs maps it. */
    private static long firstBlock(Path img, String path) throws IOException {
        String out = Tools.run("debugfs", "-R", "bmap " + path + " 0", img.toString()).ok().stdout().strip();
        return Long.parseLong(out);
    }

    private static void assertRefusedUnchanged(Path img, int exit, String expect, String... args) throws IOException {
        byte[] before = Files.readAllBytes(img);
        String fsckBefore = Tools.fsck(img).stdout();
        Result r = Tools.ext4j(args);
        assertEquals(exit, r.exit(), String.join(" ", args) + ": " + r.stderr());
        assertTrue(r.stderr().contains(expect), "stderr should name the problem (" + expect + "): " + r.stderr());
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.stderr());
        assertArrayEquals(before, Files.readAllBytes(img), "a refused " + args[0] + " must not change a byte");
        assertEquals(fsckBefore, Tools.fsck(img).stdout(), "e2fsck must find what it found before");
    }

    // ------------------------------------------------------------------ opens that write nothing

    @Test
    void aWriteRefusedOnAnExt3ImageChangesNothing() throws IOException {
        // issue 8, defect 6: the refusal used to bump the mount count and times
        Path img = image("ext3.img", List.of("-t", "ext3"));
        // block-mapped files are writable now; what stays refused on them is unwritten allocation
        assertRefusedUnchanged(img, 3, "EOPNOTSUPP", "io", img.toString(), "/hello.txt", "-c", "falloc 0 10");
        assertRefusedUnchanged(img, 3, "EOPNOTSUPP", "io", img.toString(), "/hello.txt", "-c", "fzero 0 10");
    }

    @Test
    void aRefusalOnDamagedCountsLeavesTheCountsAlone() throws IOException {
        // issue 8, defect 6: closing a refused session synced the free counts into the superblock
        Path img = image("ext3-counts.img", List.of("-t", "ext3"));
        debugfsWrite(img, "ssv free_blocks_count 17", "ssv free_inodes_count 5");
        assertRefusedUnchanged(img, 3, "EOPNOTSUPP", "io", img.toString(), "/big.bin", "-c", "falloc -k 0 1m");
    }

    @Test
    void refusedRequestsOnExt4WriteNothing() throws IOException {
        Path img = image("ext4.img", List.of());
        assertRefusedUnchanged(img, 1, "no such file", "rm", img.toString(), "/missing");
        assertRefusedUnchanged(img, 1, "is a directory", "rm", img.toString(), "/dir");
        assertRefusedUnchanged(img, 1, "no such file", "io", img.toString(), "/missing", "-c", "pread 0 1");
    }

    @Test
    void readingThroughIoWritesNothing() throws IOException {
        Path img = image("read.img", List.of());
        byte[] before = Files.readAllBytes(img);
        Result r = Tools.ext4j("io", img.toString(), "/hello.txt", "-c", "pread 0 5", "-c", "fsync", "-c", "stat").ok();
        assertTrue(r.stdout().contains("read 5/5 bytes"), r.stdout());
        assertArrayEquals(before, Files.readAllBytes(img), "a session that changed nothing writes nothing");
    }

    // ------------------------------------------------------------------ rm refused before its first change

    /** issue 8, defect 4 and its relatives: damage the eviction would meet refuses rm at once. */
    @ParameterizedTest
    @ValueSource(strings = {"block-group-free-count", "inode-group-free-count", "block-already-free", "inode-already-free",
        "xattr-block-checksum"})
    void rmRefusedBeforeItsFirstChange(String damage) throws IOException {
        Path img = image("rm-" + damage + ".img", List.of());
        String target = "/big.bin";
        Superblock sb;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            sb = fs.superblock();
        }
        long blk = firstBlock(img, target);
        long blockGroup = (blk - sb.firstDataBlock) / sb.blocksPerGroup;
        String expect;
        switch (damage) {
            case "block-group-free-count" -> {
                // issue 8, defect 4: an impossible free count made rm fail after the entry was gone
                debugfsWrite(img, "set_bg " + blockGroup + " free_blocks_count " + (sb.blocksPerGroup - 1),
                        "set_bg " + blockGroup + " checksum calc");
                expect = "free blocks";
            }
            case "inode-group-free-count" -> {
                debugfsWrite(img, "set_bg 0 free_inodes_count 3", "set_bg 0 checksum calc");
                expect = "free inodes";
            }
            case "block-already-free" -> {
                // the bitmap says a block of the file is free, the counts agree with the bitmap
                long free = groupFree(img, blockGroup, true);
                debugfsWrite(img, "freeb " + (blk + 7), "set_bg " + blockGroup + " free_blocks_count " + (free + 1),
                        "set_bg " + blockGroup + " checksum calc");
                expect = "already has free";
            }
            case "inode-already-free" -> {
                long free = groupFree(img, 0, false);
                debugfsWrite(img, "freei " + target, "set_bg 0 free_inodes_count " + (free + 1), "set_bg 0 checksum calc");
                expect = "already has free";
            }
            case "xattr-block-checksum" -> {
                debugfsWrite(img, "ea_set " + target + " user.big " + "v".repeat(500));
                long xattr = Long.parseLong(Tools.run("debugfs", "-R", "stat " + target, img.toString()).ok().stdout()
                        .lines().filter(l -> l.contains("File ACL:")).findFirst().orElseThrow()
                        .replaceAll(".*File ACL: *([0-9]+).*", "$1"));
                assertTrue(xattr > 0, "the value went to an xattr block");
                // one byte of the value changed without its checksum: the block no longer verifies
                debugfsWrite(img, "zap_block -o 100 -l 1 -p 0x41 " + xattr);
                expect = "checksum";
            }
            default -> throw new AssertionError(damage);
        }
        assertRefusedUnchanged(img, 1, expect, "rm", img.toString(), target);
    }

    /**
     * A buffered write that meets a damaged extent leaf (an entry mapping past the end of the file
     * system, as the kernel's {@code __ext4_ext_check} checks every entry of a leaf it reads) is
     * refused before it changes anything: not even the file's times (random damage: they were
     * stamped first and written at close).
     */
    @Test
    void aWriteThatMeetsADamagedExtentLeafChangesNothing() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("sparse-src"));
        byte[] data = new byte[4096];
        new Random(5).nextBytes(data);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(src.resolve("sparse").toFile(), "rw")) {
            for (int i = 0; i < 40; i++) {
                f.seek(i * 16L * 4096);
                f.write(data); // 40 extents: past the 4 of the inode, so a leaf block holds them
            }
        }
        Path img = tmp.resolve("leaf.img");
        Tools.mkfs(img, 16 << 20, List.of("-b", "4096", "-O", "^metadata_csum"), src); // a raw edit needs no checksum
        String ex = Tools.run("debugfs", "-R", "ex /sparse", img.toString()).ok().stdout();
        long leaf = ex.lines().map(String::strip).filter(l -> l.startsWith("0/ 1")).findFirst()
                .map(l -> Long.parseLong(l.split("\\s+")[7])).orElseThrow(() -> new AssertionError("no leaf: " + ex));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.seek(leaf * 4096 + 12 + 2 * 12 + 8); // entry 2's ee_start_lo
            f.write(new byte[] {(byte) 0x88, 0x13, 0, 0}); // block 5000 of 4096
        }
        assertRefusedUnchanged(img, 1, "past the end of the file system", "io", img.toString(), "/sparse",
                "-c", "pwrite -S 0x5a " + (20 * 16L * 4096 + 100) + " 7000");
    }

    /**
     * The only group with free space has a bitmap that disagrees with its descriptor's free count:
     * the group is corrupt and none of its blocks may be allocated. A buffered write into a hole is
     * refused for lack of space when it reserves, before it changes anything; the kernel, which
     * checks the bitmap only at writeback, accepts the write and loses it there (random damage:
     * ext4j did the same, exit 1 after the write had changed the file's times).
     */
    @Test
    void aWriteIsRefusedWhenTheOnlyFreeSpaceIsInAGroupWhoseBitmapDisagrees() throws IOException {
        Path img = image("bitmap-count.img", List.of("-b", "4096")); // 16 MiB: one group
        long free = groupFree(img, 0, true);
        debugfsWrite(img, "set_bg 0 free_blocks_count " + (free - 5), "set_bg 0 checksum calc");
        assertRefusedUnchanged(img, 1, "no space", "io", img.toString(), "/hello.txt", "-c", "pwrite 8192 5000");
    }

    /**
     * A descriptor whose bg_itable_unused exceeds the inodes of a group: e2fsck calls it invalid and
     * skips the group's inodes as unused, so a name ext4j added to a directory there would be lost to
     * it ("Unattached inode", found by the random-damage harness). A read-write open refuses it,
     * before anything is written; reading works.
     */
    @Test
    void aWriteIsRefusedOnAnInvalidUnusedInodesCount() throws IOException {
        Path img = image("itable-unused.img", List.of("-b", "4096"));
        Superblock sb;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            sb = fs.superblock();
        }
        debugfsWrite(img, "set_bg 0 itable_unused " + (sb.inodesPerGroup + 1), "set_bg 0 checksum calc");
        assertRefusedUnchanged(img, 1, "bg_itable_unused", "io", "-f", img.toString(), "/dir/new", "-c", "pwrite 0 10");
        assertEquals("hello, ext4\n", Tools.ext4j("cat", img.toString(), "/hello.txt").ok().stdout());
    }

    private static String field(String text, String label) {
        return text.lines().filter(l -> l.startsWith(label + ":")).map(l -> l.substring(label.length() + 1).strip())
                .findFirst().orElse("<missing>");
    }

    private static long groupFree(Path img, long g, boolean blocks) throws IOException {
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            var d = fs.groups().get((int) g);
            return blocks ? d.freeBlocksCount() : d.freeInodesCount();
        }
    }

    // ------------------------------------------------------------------ allocation never takes metadata

    @Test
    void theAllocatorNeverHandsOutJournalBlocksABitmapCallsFree() throws IOException {
        Path img = image("journal-free.img", List.of());
        List<Long> journal = Tools.run("debugfs", "-R", "blocks <8>", img.toString()).ok().stdout().strip().lines()
                .flatMap(l -> Arrays.stream(l.strip().split("\\s+"))).map(Long::parseLong).toList();
        Superblock sb;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            sb = fs.superblock();
        }
        long first = journal.get(0);
        long g = (first - sb.firstDataBlock) / sb.blocksPerGroup;
        long count = journal.stream().filter(b -> (b - sb.firstDataBlock) / sb.blocksPerGroup == g).count();
        // the bitmap and the counts agree that the journal's blocks in group g are free
        long free = groupFree(img, g, true);
        debugfsWrite(img, "freeb " + first + " " + count, "set_bg " + g + " free_blocks_count " + (free + count),
                "set_bg " + g + " checksum calc");
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            WriteSession s = fs.session();
            // allocations aimed right at the journal, as a file growing next to it would ask
            for (long want : new long[] {1, 8, count}) {
                org.ext4j.alloc.BlockAllocator.Run run = s.change("ext4_test_alloc", () -> {
                    try (org.ext4j.txn.Handle h = s.journal.start(org.ext4j.alloc.BlockAllocator.ALLOC_CREDITS)) {
                        return s.allocator.blocks().allocate(h, first, 1, want);
                    }
                });
                for (long b = run.start(); b < run.end(); b++) {
                    assertFalse(journal.contains(b), "journal block " + b + " handed out for " + want + " block(s)");
                    assertFalse(fs.volume().systemZone().contains(b), "metadata block " + b + " handed out");
                }
            }
            assertTrue(s.allocator.corruptGroups().containsKey(g), "group " + g + " is reported: "
                    + s.allocator.corruptGroups());
            assertTrue(s.allocator.corruptGroups().get(g).contains("free"), s.allocator.corruptGroups().get(g));
        }
        String fsck = Tools.fsck(img).stdout();
        assertFalse(fsck.contains("Multiply-claimed") || fsck.contains("multiply-claimed"), fsck);
    }

    // ------------------------------------------------------------------ damage after a change

    /** A memory device whose reads of chosen blocks fail once armed: an I/O error in the middle of an operation. */
    private static final class FailingDevice implements BlockDevice {
        private final MemoryBlockDevice inner;
        private final int blockSize;
        volatile LongPredicate failRead = b -> false;

        FailingDevice(byte[] data, int blockSize) {
            this.inner = new MemoryBlockDevice(data, false);
            this.blockSize = blockSize;
        }

        @Override
        public long size() {
            return inner.size();
        }

        @Override
        public int read(long offset, ByteBuffer dst) throws IOException {
            long first = offset / blockSize;
            long last = (offset + Math.max(1, dst.remaining()) - 1) / blockSize;
            for (long b = first; b <= last; b++) {
                if (failRead.test(b)) {
                    throw new IOException("injected read error at block " + b);
                }
            }
            return inner.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            inner.write(offset, src);
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void damageAfterTheFirstChangeAbortsRecordsTheErrorAndGoesReadOnly() throws IOException {
        Path img = image("abort.img", List.of());
        byte[] bytes = Files.readAllBytes(img);
        byte[] original = bytes.clone();
        int bs;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            bs = fs.superblock().blockSize;
        }
        FailingDevice dev = new FailingDevice(bytes, bs);
        long gdt = Superblock.OFFSET / bs + 1; // read at open without the cache, again at the first descriptor update
        Ext4FileSystem fs = Ext4FileSystem.openReadWrite(dev, WriteOptions.defaults());
        try {
            // the descriptor block is read for the first descriptor update, after the inode bitmap
            // took the new inode: an I/O error there strikes after the create's first change
            dev.failRead = b -> b == gdt;
            IOException e = assertThrows(IOException.class, () -> fs.createFile("/victim", 0644));
            assertTrue(e.getMessage().contains("injected"), e.getMessage());
            dev.failRead = b -> false;
            FileSystemErrorException ro = assertThrows(FileSystemErrorException.class,
                    () -> fs.createFile("/other", 0644));
            assertTrue(ro.getMessage().contains("injected"), ro.getMessage());
            assertThrows(FileSystemErrorException.class, () -> fs.unlink("/hello.txt"));
            assertEquals("hello, ext4\n", new String(fs.readAll("/hello.txt"))); // reads go on
        } finally {
            FileSystemErrorException atClose = assertThrows(FileSystemErrorException.class, fs::close);
            assertTrue(atClose.getMessage().contains("injected"), atClose.getMessage());
        }
        // only the primary superblock changed: the bitmap change of the aborted create never landed
        byte[] after = bytes;
        int sbEnd = Superblock.OFFSET + Superblock.SIZE;
        assertArrayEquals(Arrays.copyOfRange(original, 0, Superblock.OFFSET), Arrays.copyOfRange(after, 0, Superblock.OFFSET));
        assertArrayEquals(Arrays.copyOfRange(original, sbEnd, original.length), Arrays.copyOfRange(after, sbEnd, after.length),
                "nothing but the superblock may change");
        Path out = tmp.resolve("abort-after.img");
        Files.write(out, after);
        String header = Tools.run("dumpe2fs", "-h", out.toString()).ok().stdout();
        // with a journal the state stays valid while in use and needs_recovery says so, as the kernel keeps them
        assertTrue(header.contains("Filesystem state:         clean with errors"), header);
        assertTrue(header.contains(" needs_recovery "), header);
        assertTrue(header.contains("FS Error count:           1"), header);
        assertTrue(header.contains("First error function:     ext4_create"), header);
        assertTrue(header.contains("Last error function:      ext4_create"), header);
        assertTrue(header.contains("First error err:          EIO"), header);
        // ext4j info shows the record with dumpe2fs's labels
        String info = Tools.ext4j("info", "-h", out.toString()).ok().stdout();
        for (String label : List.of("Filesystem state", "FS Error count", "First error function", "First error line #",
                "First error err", "Last error function", "Last error line #", "Last error err")) {
            assertEquals(field(header, label), field(info, label), label);
        }
        // e2fsck checks the file system because of the error state, and finds nothing else
        Result fsck = Tools.fsck(out);
        assertFalse(fsck.stdout().lines().anyMatch(l -> l.contains("Fix?") || l.contains("differences")), fsck.stdout());
        // and ext4j refuses to write it until e2fsck has run
        assertThrows(org.ext4j.error.UnsupportedFeatureException.class,
                () -> Ext4FileSystem.openReadWrite(out, WriteOptions.defaults()).close());
    }

    @Test
    void theAbortedOperationsChangesAreThrownAwayButEarlierOnesStay() throws IOException {
        Path img = image("boundary.img", List.of());
        Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults());
        try {
            fs.unlink("/dir/inner.txt"); // completed operations: kept (and written) when a later one aborts
            fs.createFile("/made", 0644).close();
            WriteSession s = fs.session();
            org.ext4j.error.CorruptionException e = assertThrows(org.ext4j.error.CorruptionException.class,
                    () -> s.change("ext4_test_op", () -> {
                        try (org.ext4j.txn.Handle h = s.journal.start(org.ext4j.alloc.InodeAllocator.ALLOC_CREDITS)) {
                            s.allocator.inodes().allocate(h, Ext4FileSystem.ROOT_INO, false); // a first change
                        }
                        throw org.ext4j.error.CorruptionException.of(org.ext4j.error.CorruptionException.Kind.BAD_INODE)
                                .inode(99).block(1234).build("damage met after the first change");
                    }));
            assertTrue(e.getMessage().contains("after the first change"), e.getMessage());
            assertThrows(FileSystemErrorException.class, () -> fs.createFile("/later", 0644));
        } finally {
            assertThrows(FileSystemErrorException.class, fs::close);
        }
        String root = Tools.run("debugfs", "-R", "ls -l /", img.toString()).ok().stdout();
        String dir = Tools.run("debugfs", "-R", "ls -l /dir", img.toString()).ok().stdout();
        assertFalse(dir.contains("inner.txt"), "the completed unlink reached the disk: " + dir);
        assertTrue(root.contains("made"), "the completed create reached the disk: " + root);
        assertFalse(root.contains("later"), root);
        // the aborted operation's inode allocation never reached the bitmap: e2fsck finds nothing
        Result fsck = Tools.fsck(img);
        assertFalse(fsck.stdout().lines().anyMatch(l -> l.contains("Fix?") || l.contains("differences")), fsck.stdout());
        String header = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        // with a journal the state stays valid while in use and needs_recovery says so, as the kernel keeps them
        assertTrue(header.contains("Filesystem state:         clean with errors"), header);
        assertTrue(header.contains(" needs_recovery "), header);
        assertTrue(header.contains("First error function:     ext4_test_op"), header);
        assertTrue(header.contains("First error inode #:      99"), header);
        assertTrue(header.contains("First error block #:      1234"), header);
        assertTrue(header.contains("First error err:          EFSCORRUPTED"), header);
    }
}
