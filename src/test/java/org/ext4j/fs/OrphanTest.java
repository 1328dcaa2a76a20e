package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.fs.UnlinkTest.Counts;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The orphan list ({@link OrphanList}, {@code fs/ext4/orphan.c}) judged by e2fsprogs and the kernel,
 * with the classic list (s_last_orphan through i_dtime) and with the orphan file:
 * <ul>
 * <li>a copy of the image taken while an unlinked file is open (the state a crash leaves) holds the
 * inode with no links on the orphan list: e2fsck frees it as an orphan ("Clearing orphaned inode"),
 * as it does for the kernel's own crash copies, instead of reconnecting it to lost+found, and so does
 * a kernel mount;</li>
 * <li>orphans the kernel left (a file held open and unlinked on a kernel mount, the image copied
 * while frozen) are freed at ext4j's read-write open, exactly as the kernel frees them; a read-only
 * open writes nothing;</li>
 * <li>an orphan with links is truncated to its size;</li>
 * <li>the last close of an unlinked file drops its dirty data instead of writing it back.</li>
 * </ul>
 *
 * <p>What e2fsck -fn says of a crash copy: e2fsck 1.47 processes orphans only when it may write, so
 * {@code -n} reports a kernel-made orphan as damage ("Deleted inode N has zero dtime", the blocks
 * and inode in the bitmaps, "Orphan file ... block is not clean"). The judge of a crash copy is
 * therefore {@code e2fsck -fp}, which processes the orphan list and must find nothing else, followed
 * by a clean {@code e2fsck -fn}.
 */
@ExtendWith(SkippedChecks.class)
class OrphanTest {

    private static Path image(Path tmp, int blockSize, String features) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("kept"), UnlinkTest.random(30_000, 1));
        Path img = tmp.resolve("fs.img");
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(blockSize), "-O", features));
        Tools.mkfs(img, 32L << 20, opts, src);
        return img;
    }

    /** {@code dumpe2fs -h}'s "First orphan inode", 0 when absent. */
    private static long firstOrphan(Path img) throws IOException {
        String out = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        return out.lines().filter(l -> l.startsWith("First orphan inode:"))
                .map(l -> Long.parseLong(l.substring("First orphan inode:".length()).strip())).findFirst().orElse(0L);
    }

    private static boolean orphanPresent(Path img) throws IOException {
        String out = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        return out.lines().anyMatch(l -> l.startsWith("Filesystem features:") && l.contains("orphan_present"));
    }

    private static String debugfsStat(Path img, long ino) throws IOException {
        return Tools.run("debugfs", "-R", "stat <" + ino + ">", img.toString()).ok().stdout();
    }

    /**
     * A crash copy judged as a crash copy: e2fsck -fp frees exactly the {@code orphans} as orphans
     * and finds nothing else to ask about (exit 0 or 1, never "UNEXPECTED INCONSISTENCY"), then the
     * image is clean and has the {@code expected} free counts.
     */
    private static void assertRecoverable(Path crash, Path tmp, Counts expected, long... orphans) throws IOException {
        Path copy = tmp.resolve("fsck-" + crash.getFileName());
        Files.copy(crash, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Tools.Result p = Tools.run("e2fsck", "-fp", copy.toString());
        String out = p.stdout() + p.stderr();
        assertTrue(p.exit() <= 1, "e2fsck -fp exit " + p.exit() + ":\n" + out);
        for (long ino : orphans) {
            assertTrue(out.contains("Clearing orphaned inode " + ino + " "), "inode " + ino + " freed as an orphan:\n" + out);
        }
        assertEquals(orphans.length, out.lines().filter(l -> l.contains("orphaned inode")).count(), out);
        assertFalse(out.contains("Unattached") || out.contains("lost+found"), out);
        UnlinkTest.assertClean(copy);
        assertEquals(expected, UnlinkTest.counts(copy), "the orphans' inodes and blocks are free");
    }

    // ------------------------------------------------------------------ crash copies of ext4j's orphans

    @ParameterizedTest(name = "{0}-byte blocks, -O {1}")
    @CsvSource({"1024, ^orphan_file", "4096, ^orphan_file", "1024, orphan_file", "4096, orphan_file"})
    void aCrashWhileAnUnlinkedFileIsOpenLeavesAnOrphanNotALeak(int blockSize, String features, @TempDir Path tmp)
            throws Exception {
        Path img = image(tmp, blockSize, features);
        boolean file = !features.startsWith("^");
        Counts before = UnlinkTest.counts(img);
        Path crash = tmp.resolve("crash.img");
        Path crashAfterWrite = tmp.resolve("crash2.img");
        long ino;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            Ext4File f = fs.createFile("/victim", 0644);
            ino = f.inode();
            byte[] data = UnlinkTest.random(500_000, 2);
            f.pwrite(0, data, 0, data.length);
            f.fsync();
            f.pwrite(data.length, data, 0, 100_000); // dirty, never written back
            fs.unlink("/victim");
            assertEquals(0, fs.stat(ino).linkCount(), "the last link is gone on disk too");
            fs.commitMetadata();
            Files.copy(img, crash);
            // writes to the open orphan rewrite its inode: the orphan link must survive them
            f.pwrite(0, data, 0, data.length);
            f.fsync();
            fs.commitMetadata();
            Files.copy(img, crashAfterWrite);
            byte[] got = new byte[data.length];
            f.pread(0, got, 0, got.length);
            assertArrayEquals(data, got, "still readable");
        }
        UnlinkTest.assertClean(img);
        assertEquals(before, UnlinkTest.counts(img), "freed at close");
        assertEquals(0, firstOrphan(img));
        assertFalse(orphanPresent(img), "orphan_present cleared at a clean close");

        for (Path c : List.of(crash, crashAfterWrite)) {
            String stat = debugfsStat(c, ino);
            assertTrue(stat.contains("Links: 0 "), stat);
            if (file) {
                assertTrue(orphanPresent(c), "orphan_present while the session runs");
                assertEquals(0, firstOrphan(c), "in the orphan file, not the list");
            } else {
                assertEquals(ino, firstOrphan(c), "s_last_orphan");
            }
            assertRecoverable(c, tmp, before, ino);
        }
        Tools.kernelCheck("a kernel mount frees ext4j's orphan", () -> {
            Path k = tmp.resolve("kernel.img");
            Files.copy(crash, k);
            try (Tools.Mount m = Tools.Mount.of(k, false)) {
                assertTrue(Files.exists(m.dir().resolve("kept")));
            }
            UnlinkTest.assertClean(k);
            assertEquals(before, UnlinkTest.counts(k), "the kernel's orphan cleanup freed the inode and its blocks");
        });
    }

    /**
     * Three open orphans on one list; the middle one closes first, so its predecessor, itself open,
     * takes its successor through its in-memory inode, and keeps it across its own later writes.
     */
    @ParameterizedTest(name = "-O {0}")
    @CsvSource({"^orphan_file", "orphan_file"})
    void anOrphanLeavesTheMiddleOfTheList(String features, @TempDir Path tmp) throws Exception {
        Path img = image(tmp, 1024, features);
        Counts before = UnlinkTest.counts(img);
        Path crash = tmp.resolve("crash.img");
        long[] inos = new long[3];
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            Ext4File[] f = new Ext4File[3];
            for (int i = 0; i < 3; i++) {
                f[i] = fs.createFile("/o" + i, 0644);
                inos[i] = f[i].inode();
                byte[] d = UnlinkTest.random(40_000 + i, 10 + i);
                f[i].pwrite(0, d, 0, d.length);
                f[i].fsync();
                fs.unlink("/o" + i);
            }
            f[1].close();
            byte[] more = UnlinkTest.random(70_000, 20);
            f[2].pwrite(0, more, 0, more.length);
            f[0].pwrite(0, more, 0, more.length);
            f[2].fsync();
            f[0].fsync();
            fs.commitMetadata();
            Files.copy(img, crash);
        }
        UnlinkTest.assertClean(img);
        assertEquals(before, UnlinkTest.counts(img));
        assertRecoverable(crash, tmp, before, inos[0], inos[2]);
    }

    /** A full orphan file (one 1 KiB block: 254 slots) sends the next orphan to the classic list, as the kernel's. */
    @Test
    void aFullOrphanFileFallsBackToTheList(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", "1024", "-N", "1024", "-O", "orphan_file", "-E",
                "orphan_file_size=1"), src); // in blocks
        Counts before = UnlinkTest.counts(img);
        Path crash = tmp.resolve("crash.img");
        int n = 256;
        long[] inos = new long[n];
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            List<Ext4File> open = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Ext4File f = fs.createFile("/f" + i, 0644);
                f.pwrite(0, new byte[] {1, 2, 3}, 0, 3);
                inos[i] = f.inode();
                open.add(f);
                fs.unlink("/f" + i);
            }
            fs.commitMetadata();
            Files.copy(img, crash);
        }
        UnlinkTest.assertClean(img);
        assertEquals(before, UnlinkTest.counts(img));
        assertEquals(inos[n - 1], firstOrphan(crash), "the last two went to the list");
        assertRecoverable(crash, tmp, before, inos);
    }

    // ------------------------------------------------------------------ orphans the kernel left

    /**
     * The kernel's crash copy: a file held open and unlinked on a kernel mount, the image copied while
     * the file system is frozen (its journal checkpointed, so the copy is clean and needs no
     * recovery, with the orphan on the list or in the orphan file).
     */
    private static Path kernelOrphan(Path tmp, String features, Path frozenCopy) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("fsfreeze");
        Path img = tmp.resolve("kernel.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", "1024", "-O", features), null);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Files.write(m.dir().resolve("keep"), UnlinkTest.random(50_000, 3));
            Path gone = m.dir().resolve("gone");
            Files.write(gone, UnlinkTest.random(300_000, 4));
            Path gone2 = m.dir().resolve("gone2");
            Files.write(gone2, UnlinkTest.random(20_000, 5));
            Tools.run("sync").ok();
            try (FileChannel a = FileChannel.open(gone, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    FileChannel b = FileChannel.open(gone2, StandardOpenOption.READ)) {
                Files.delete(gone);
                Files.delete(gone2);
                a.write(ByteBuffer.wrap(new byte[4096]), 400_000); // grows after the unlink
                Tools.run("sync").ok();
                Tools.run("fsfreeze", "-f", m.dir().toString()).ok();
                try {
                    Files.copy(img, frozenCopy);
                } finally {
                    Tools.run("fsfreeze", "-u", m.dir().toString()).ok();
                }
            }
        }
        return img;
    }

    @ParameterizedTest(name = "-O {0}")
    @CsvSource({"^orphan_file", "orphan_file"})
    void kernelOrphansAreFreedAtAReadWriteOpen(String features, @TempDir Path tmp) throws Exception {
        Path copy = tmp.resolve("crash.img");
        Path kernel = kernelOrphan(tmp, features, copy); // the kernel freed its orphans at the last close
        boolean file = !features.startsWith("^");
        assertTrue(file ? orphanPresent(copy) : firstOrphan(copy) != 0, "the copy holds the kernel's orphans");
        // a read-only open processes nothing
        byte[] raw = Files.readAllBytes(copy);
        try (Ext4FileSystem fs = Ext4FileSystem.open(copy)) {
            assertEquals(50_000, fs.stat("/keep").size());
        }
        assertArrayEquals(raw, Files.readAllBytes(copy), "a read-only open writes nothing");

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(copy, WriteOptions.defaults())) {
            assertEquals(UnlinkTest.counts(kernel).freeBlocks(), fs.freeBlocks(), "freed at open");
        }
        UnlinkTest.assertClean(copy);
        assertEquals(0, firstOrphan(copy));
        assertFalse(orphanPresent(copy));
        assertEquals(UnlinkTest.counts(kernel), UnlinkTest.counts(copy));
        assertEquals(UnlinkTest.groupState(kernel), UnlinkTest.groupState(copy), "the same blocks and inodes free");
        try (Tools.Mount m = Tools.Mount.of(copy, true)) {
            assertArrayEquals(UnlinkTest.random(50_000, 3), Files.readAllBytes(m.dir().resolve("keep")));
        }
    }

    /**
     * An orphan with links (a truncate the kernel did not finish): blocks past i_size are freed and
     * the inode leaves the list, as the kernel's mount does it; made with debugfs (i_size lowered,
     * s_last_orphan set).
     */
    @Test
    void anOrphanWithLinksIsTruncatedToItsSize(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = UnlinkTest.random(600_000, 6);
        Files.write(src.resolve("f"), data);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", "1024", "-O", "^orphan_file"), src);
        long ino;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            ino = fs.stat("/f").inode();
        }
        Tools.run("debugfs", "-w", "-R", "sif /f size 10000", img.toString()).ok();
        Tools.run("debugfs", "-w", "-R", "ssv last_orphan " + ino, img.toString()).ok();
        assertEquals(ino, firstOrphan(img));
        Path kernelCopy = tmp.resolve("kernel.img");
        Files.copy(img, kernelCopy);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            assertEquals(1, fs.stat("/f").linkCount());
        }
        UnlinkTest.assertClean(img);
        assertEquals(0, firstOrphan(img));
        String stat = debugfsStat(img, ino);
        assertTrue(stat.contains("Links: 1 ") && stat.contains("Size: 10000"), stat);
        Path out = tmp.resolve("f.out");
        Tools.run("debugfs", "-R", "dump /f " + out, img.toString()).ok();
        assertArrayEquals(Arrays.copyOf(data, 10_000), Files.readAllBytes(out));
        Tools.kernelCheck("the kernel's orphan truncate frees the same blocks", () -> {
            try (Tools.Mount m = Tools.Mount.of(kernelCopy, false)) {
                assertEquals(10_000, Files.size(m.dir().resolve("f")));
            }
            UnlinkTest.assertClean(kernelCopy);
            assertEquals(UnlinkTest.groupState(kernelCopy), UnlinkTest.groupState(img));
        });
    }

    // ------------------------------------------------------------------ dirty data of an unlinked file

    /** Counts the bytes written to a file image. */
    private static final class CountingDevice implements BlockDevice {
        private final BlockDevice inner;
        final AtomicLong written = new AtomicLong();

        CountingDevice(BlockDevice inner) {
            this.inner = inner;
        }

        @Override
        public long size() throws IOException {
            return inner.size();
        }

        @Override
        public int read(long offset, ByteBuffer dst) throws IOException {
            return inner.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            written.addAndGet(src.remaining());
            inner.write(offset, src);
        }

        @Override
        public void flush() throws IOException {
            inner.flush();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }

    @Test
    void theLastCloseOfAnUnlinkedFileDropsItsDirtyData(@TempDir Path tmp) throws Exception {
        Path img = image(tmp, 4096, "^orphan_file");
        Counts before = UnlinkTest.counts(img);
        CountingDevice dev = new CountingDevice(FileBlockDevice.openReadWrite(img));
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(dev, WriteOptions.defaults())) {
            Ext4File f = fs.createFile("/scratch", 0600);
            byte[] data = UnlinkTest.random(8 << 20, 7);
            f.pwrite(0, data, 0, data.length); // delayed: nothing written back yet
            fs.unlink("/scratch");
            long at = dev.written.get();
            f.close();
            long closeBytes = dev.written.get() - at;
            assertTrue(closeBytes < 256 << 10, "the close wrote " + closeBytes + " bytes: the data was written back");
            assertEquals(0, fs.reservedBlocks(), "the delayed blocks' reservations came back");
        }
        UnlinkTest.assertClean(img);
        assertEquals(before, UnlinkTest.counts(img));
    }
}
