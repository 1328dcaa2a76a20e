package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.blockdev.LogWritesBlockDevice;
import org.ext4j.cli.Main;
import org.ext4j.format.Features;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ext4j's own jbd2 log, judged by the kernel and e2fsprogs. A workload of creates (a directory
 * split into an htree), fsyncs, renames, unlinks, an extent tree split by a file of hundreds of
 * one-block extents, and a truncate runs on a device that stops keeping writes after a chosen
 * flush ({@link LogWritesBlockDevice}'s log replayed up to flush k onto the image it started from):
 * the image then holds the log up to a commit whose blocks were never written home. The kernel replays it at mount; e2fsck -fn is
 * clean after; every file fsynced before the crash has its bytes; ext4j's replay
 * ({@code ext4j recover}) leaves the bytes {@code e2fsck -E journal_only} leaves and the tree the
 * kernel's replay gives. A clean close leaves the journal empty and needs_recovery clear.
 */
@ExtendWith(SkippedChecks.class)
class JbdJournalTest {
    @TempDir
    Path tmp;

    /** What the workload fsynced, with the flush count when the fsync returned. */
    record Synced(String path, byte[] bytes, long flushesDone) {
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + (i >> 9));
        }
        return b;
    }

    /** The workload; returns what it fsynced and is not touched again. */
    private static List<Synced> workload(Ext4FileSystem fs, LogWritesBlockDevice dev, int bs) throws IOException {
        List<Synced> synced = new ArrayList<>();
        fs.mkdir("/d", 0755);
        for (int i = 0; i < 400; i++) {
            byte[] b = pattern(1 + (i * 997) % 9000, i);
            try (Ext4File f = fs.createFile("/d/file-with-a-long-name-" + i, 0644)) {
                f.pwrite(0, b, 0, b.length);
                if (i % 9 == 0) {
                    f.fsync();
                    int later = i % 40; // 35 is unlinked, 37 renamed over 38 later
                    if (later != 35 && later != 37 && later != 38) {
                        synced.add(new Synced("/d/file-with-a-long-name-" + i, b, dev.flushCount()));
                    }
                }
            }
            if (i % 40 == 39) {
                fs.rename("/d/file-with-a-long-name-" + (i - 2), "/d/file-with-a-long-name-" + (i - 1));
                fs.unlink("/d/file-with-a-long-name-" + (i - 4));
            }
        }
        fs.fsync("/d"); // the directory's names are durable from here: recorded as an empty path's entry
        List<String> names = new ArrayList<>();
        for (org.ext4j.format.DirEntry e : fs.readdir("/d")) {
            String n = new String(e.name(), StandardCharsets.UTF_8);
            if (!n.equals(".") && !n.equals("..")) {
                names.add("/d/" + n);
            }
        }
        java.util.Collections.sort(names);
        synced.add(new Synced("", String.join("\n", names).getBytes(StandardCharsets.UTF_8), dev.flushCount()));
        byte[] one = pattern(bs, 77);
        try (Ext4File f = fs.createFile("/sparse", 0644)) {
            for (int k = 0; k < 600; k += 2) {
                f.pwrite((long) k * bs, one, 0, bs);
                if (k % 100 == 0) {
                    f.fsync();
                }
            }
            f.fsync();
            f.truncate(300L * bs);
            f.fsync();
        }
        byte[] tail = pattern(50_000, 5);
        try (Ext4File f = fs.createFile("/last", 0600)) {
            f.pwrite(0, tail, 0, tail.length);
            f.fsync();
            synced.add(new Synced("/last", tail, dev.flushCount()));
        }
        return synced;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 4096", "-b 1024", "-b 1024 -O ^metadata_csum", "-b 1024 -O ^metadata_csum,^64bit",
            "-b 4096 -J size=4"})
    void theKernelAndE2fsckReplayExt4jsJournal(String row) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path base = tmp.resolve("base.img");
        Tools.mkfs(base, 48L << 20, List.of(row.split(" ")), null);
        int bs = row.contains("4096") ? 4096 : 1024;
        // the workload runs once on a device that logs every write and flush; each crash image is
        // the base image plus the writes before flush k
        Path full = tmp.resolve("full.img");
        Files.copy(base, full);
        LogWritesBlockDevice dev = new LogWritesBlockDevice(FileBlockDevice.openReadWrite(full));
        List<Synced> synced;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(dev, options())) {
            synced = workload(fs, dev, bs);
        }
        long total = dev.flushCount();
        assertEquals(0, Tools.fsck(full).exit(), "e2fsck -fn after a clean close:\n" + Tools.fsck(full).stdout());
        Superblock sb = Superblock.decode(java.util.Arrays.copyOfRange(Files.readAllBytes(full), Superblock.OFFSET, Superblock.OFFSET + Superblock.SIZE));
        assertTrue(!sb.hasIncompat(Features.INCOMPAT_RECOVER), "needs_recovery after a clean close");
        String dump = Tools.run("dumpe2fs", "-h", full.toString()).stdout();
        assertTrue(dump.contains("Journal start:            0"), dump);
        assertTrue(total > 40, "the workload flushed only " + total + " times");
        int checked = 0;
        for (long crashAfter = 2; crashAfter < total; crashAfter += Math.max(2, total / 9)) {
            Path crash = tmp.resolve("crash-" + crashAfter + ".img");
            Files.copy(base, crash);
            try (BlockDevice target = FileBlockDevice.openReadWrite(crash)) {
                dev.replay(target, (int) crashAfter, List.of());
            }
            checkCrashImage(crash, crashAfter, synced);
            checked++;
        }
        assertTrue(checked >= 5, "only " + checked + " crash points");
    }

    private static WriteOptions options() {
        return WriteOptions.defaults().withFixedTime(Instant.parse("2026-01-01T00:00:00Z"));
    }

    private void checkCrashImage(Path crash, long crashAfter, List<Synced> synced) throws Exception {
        String at = "crash after flush " + crashAfter + ": ";
        Path ours = tmp.resolve("ours.img");
        Path e2 = tmp.resolve("e2fsck.img");
        Files.copy(crash, ours, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(crash, e2, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(out, err, "recover", ours.toString()), at + err.toString(StandardCharsets.UTF_8));
        Tools.Result r = Tools.run("e2fsck", "-E", "journal_only", "-y", e2.toString());
        assertTrue(r.exit() <= 1, at + "e2fsck -E journal_only: " + r.stdout() + r.stderr());
        assertSameBytesButTimes(Files.readAllBytes(e2), Files.readAllBytes(ours), at);
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), at + "e2fsck -fn after the replay:\n" + fsck.stdout());
        Map<String, byte[]> oursTree = tree(ours);
        for (Synced s : synced) {
            if (s.path().isEmpty() && s.flushesDone() <= crashAfter) {
                List<String> names = oursTree.keySet().stream().filter(p -> p.startsWith("/d/")).sorted().toList();
                assertEquals(new String(s.bytes(), StandardCharsets.UTF_8), String.join("\n", names),
                        at + "the names of /d, fsynced before the crash");
            } else if (!s.path().isEmpty() && s.flushesDone() <= crashAfter) {
                assertArrayEquals(s.bytes(), oursTree.get(s.path()), at + s.path() + " was fsynced before the crash");
            }
        }
        if (Tools.kernelUnavailable() != null) {
            Tools.skipCheck("the kernel's replay of ext4j's journal", Tools.kernelUnavailable());
            return;
        }
        Path kernel = tmp.resolve("kernel.img");
        Files.copy(crash, kernel, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Tools.Mount.of(kernel, false).close(); // the kernel replays at mount
        Tools.Result kfsck = Tools.fsck(kernel);
        assertEquals(0, kfsck.exit(), at + "e2fsck -fn after the kernel's replay:\n" + kfsck.stdout());
        Map<String, byte[]> kernelTree = tree(kernel);
        assertEquals(kernelTree.keySet(), oursTree.keySet(), at + "names after the kernel's and ext4j's replays");
        for (Map.Entry<String, byte[]> e : kernelTree.entrySet()) {
            assertArrayEquals(e.getValue(), oursTree.get(e.getKey()), at + e.getKey() + " after the two replays");
        }
    }

    /** Every regular file's bytes, by path, as ext4j reads the image. */
    private static Map<String, byte[]> tree(Path img) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            walk(fs, "/", out);
        }
        return out;
    }

    private static void walk(Ext4FileSystem fs, String dir, Map<String, byte[]> out) throws IOException {
        for (org.ext4j.format.DirEntry e : fs.readdir(dir)) {
            String name = new String(e.name(), StandardCharsets.UTF_8);
            if (name.equals(".") || name.equals("..") || name.equals("lost+found")) {
                continue;
            }
            String p = dir.equals("/") ? "/" + name : dir + "/" + name;
            if (fs.stat(p).isDirectory()) {
                walk(fs, p, out);
            } else {
                out.put(p, fs.readAll(p));
            }
        }
    }

    private static void assertSameBytesButTimes(byte[] e2fsck, byte[] ours, String at) {
        assertEquals(e2fsck.length, ours.length);
        List<String> differ = new ArrayList<>();
        for (int i = 0; i < ours.length && differ.size() < 20; i++) {
            if (ours[i] != e2fsck[i]) {
                int sbOff = i - Superblock.OFFSET;
                boolean allowed = sbOff >= 0x30 && sbOff < 0x34 || sbOff >= 0x178 && sbOff < 0x180
                        || sbOff >= 0x3FC && sbOff < 0x400;
                if (!allowed) {
                    differ.add("byte " + i + ": ext4j " + (ours[i] & 0xFF) + ", e2fsck " + (e2fsck[i] & 0xFF));
                }
            }
        }
        assertTrue(differ.isEmpty(), at + "ext4j recover and e2fsck -E journal_only differ:\n" + String.join("\n", differ));
    }

    /** An ext3 image (block-mapped files) is journaled too, and the kernel mounts it clean after. */
    @Test
    void anExt3ImageIsJournaled() throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path img = tmp.resolve("ext3.img");
        Tools.mkfs(img, 32L << 20, List.of("-t", "ext3", "-b", "1024"), null);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/a", 0755);
            for (int i = 0; i < 50; i++) {
                try (Ext4File f = fs.createFile("/a/f" + i, 0644)) {
                    byte[] b = pattern(3000 + i, i);
                    f.pwrite(0, b, 0, b.length);
                    f.fsync();
                }
            }
        }
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
        String dump = Tools.run("dumpe2fs", "-h", img.toString()).stdout();
        assertTrue(dump.contains("Journal start:            0"), dump);
        assertTrue(!dump.contains("Journal sequence:         0x00000001"), "no transaction was committed:\n" + dump);
    }

    /**
     * {@code ext4j recover} frees what a crash left on the orphan list, as the kernel's mount does
     * after its replay: a file unlinked while still open, in a copy of the kernel's image taken
     * while mounted (after sync), is gone after recover, and e2fsck -fn is clean; a second recover
     * finds nothing to do and leaves the bytes alone.
     */
    @Test
    void recoverFreesTheOrphansACrashLeft() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path img = tmp.resolve("o.img");
        Path crash = tmp.resolve("o-crash.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", "1024"), null);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path f = m.dir().resolve("open-then-unlinked");
            try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(f,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
                c.write(ByteBuffer.wrap(pattern(200_000, 3)));
                c.force(true);
                Files.delete(f);
                Tools.run("sync").ok();
                Files.copy(img, crash);
            }
        }
        Superblock before = Superblock.decode(java.util.Arrays.copyOfRange(Files.readAllBytes(crash),
                Superblock.OFFSET, Superblock.OFFSET + Superblock.SIZE));
        assertTrue(before.lastOrphan != 0, "the crash copy has no orphan");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(out, err, "recover", crash.toString()), err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("orphans processed"), out.toString(StandardCharsets.UTF_8));
        Tools.Result fsck = Tools.fsck(crash);
        assertEquals(0, fsck.exit(), "e2fsck -fn after recover:\n" + fsck.stdout());
        byte[] done = Files.readAllBytes(crash);
        out.reset();
        assertEquals(0, Main.run(out, err, "recover", crash.toString()));
        assertArrayEquals(done, Files.readAllBytes(crash), "a second recover changed the image");
    }
}
