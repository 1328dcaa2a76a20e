package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.cli.Main;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Inode;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Journals the kernel wrote, read and replayed as e2fsprogs reads and replays them: an image is
 * mounted, written in three fsynced transactions (files created, a directory removed, so revoke
 * records, more created), and its backing file copied while still mounted, so the copy's journal
 * holds committed transactions whose home blocks are not written yet. {@link JournalLog} must find the transactions, their log blocks, every
 * logged block with its flags and every revoked block that {@code debugfs -R "logdump -a"} lists,
 * with tags of every size (32- and 64-bit, no checksum, checksum v3) and at 1 and 4 KiB blocks;
 * the data checksums (v3) must all verify; {@code ext4j journal} must leave the image as it was.
 */
@ExtendWith(SkippedChecks.class)
class JournalLogTest {
    @TempDir
    Path tmp;

    private static final Pattern FOUND = Pattern.compile("Found expected sequence (\\d+), type (\\d+) \\(.*\\) at block (\\d+)");
    private static final Pattern TAG = Pattern.compile("\\s+FS block (\\d+) logged at journal block (\\d+) \\(flags 0x([0-9a-f]+)\\)");
    private static final Pattern REVOKE = Pattern.compile("\\s+Revoke FS block (\\d+)");

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 1024 -O ^64bit", "-b 4096 -O ^metadata_csum", "-b 4096 -O ^metadata_csum,^64bit"})
    void theLogOfAKernelJournalIsReadAsDebugfsReadsIt(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "debugfs");
        Path img = tmp.resolve("j.img");
        Path crash = crashImage(row, img);
        String expected = debugfs(crash);
        assertTrue(expected.contains(" 2 "), "a journal with no commit:\n" + expected);
        String actual;
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash, org.ext4j.fs.OpenOptions.readOnlyDefaults().withoutRecovery())) {
            Superblock sb = fs.superblock();
            JournalLog log = JournalLog.read(Inode.load(fs.volume(), sb.journalInum), sb.journalInum, sb.blockSize);
            assertTrue(log.header().needsRecovery());
            actual = listing(log);
            for (JournalLog.Transaction t : log.transactions()) {
                for (JournalLog.Tag tag : t.tags()) {
                    assertTrue(tag.checksumOk(), "the copy of block " + tag.fsBlock() + " in transaction " + t.sequence());
                }
            }
            assertTrue(log.transactions().size() >= 2, actual);
            assertTrue(log.transactions().stream().anyMatch(t -> !t.revoked().isEmpty()), "no revoke record:\n" + actual);
        }
        Tools.assertSameLines(expected, actual, "ext4j's reading of the log (+) differs from debugfs logdump -a (-)");

        byte[] before = Files.readAllBytes(crash);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(out, err, "journal", "-a", crash.toString()), err.toString(StandardCharsets.UTF_8));
        String said = out.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("transactions to replay"), said);
        assertArrayEquals(before, Files.readAllBytes(crash), "ext4j journal changed the image");

        out.reset();
        assertEquals(0, Main.run(out, err, "journal", img.toString()));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("Journal is clean"), out.toString(StandardCharsets.UTF_8));
    }

    /**
     * An image made with {@code row}'s options at {@code img}, mounted and written in three fsynced
     * transactions (300 files, their directory removed: revoke records, two more files, one of 40 MiB
     * over the freed blocks), and its
     * backing file copied while still mounted: the returned copy needs recovery.
     */
    private Path crashImage(String row, Path img) throws Exception {
        Path crash = tmp.resolve("crash.img");
        Tools.mkfs(img, 64L << 20, Arrays.asList(row.split(" ")), null);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path d = Files.createDirectory(m.dir().resolve("d"));
            for (int i = 0; i < 300; i++) {
                Files.writeString(d.resolve("f" + i), "file " + i + "\n");
            }
            fsync(d.resolve("f0"));
            Tools.run("rm", "-rf", d.toString()).ok();
            Files.writeString(Files.createDirectory(m.dir().resolve("e")).resolve("x"), "x\n");
            fsync(m.dir().resolve("e/x"));
            // data over the blocks the removal freed (revoked in the log: a replay of their old
            // logged copies would write directory blocks over this file's bytes)
            Files.write(m.dir().resolve("e/big"), big());
            fsync(m.dir().resolve("e/big"));
            // fsync commits the transaction without writing the metadata home: the copy's home
            // blocks are stale, as after a crash, and only a replay brings them up to date
            Files.copy(img, crash);
        }
        return crash;
    }

    private static void fsync(Path p) throws Exception {
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
            c.force(true);
        }
    }

    private static byte[] big() {
        byte[] b = new byte[40 << 20];
        new java.util.Random(9).nextBytes(b);
        return b;
    }

    /**
     * {@code ext4j recover} leaves the image {@code e2fsck -E journal_only} leaves, byte for byte
     * but for the superblock's times, lifetime kbytes written and checksum; e2fsck is then
     * clean and the kernel mounts it without a replay and shows the last transaction's file. A
     * clean journal is left alone.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 1024 -O ^64bit", "-b 4096 -O ^metadata_csum", "-b 4096 -O ^metadata_csum,^64bit"})
    void recoverLeavesWhatE2fsckJournalOnlyLeaves(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path img = tmp.resolve("j.img");
        Path ours = crashImage(row, img);
        JournalOnlyComparison.Outcome o = JournalOnlyComparison.run(ours, tmp);
        assertEquals(0, o.ext4jExit(), o.ext4jSaid());
        assertTrue(o.ext4jSaid().startsWith("replayed "), o.ext4jSaid());
        JournalOnlyComparison.assertSameBytes(o);
        Files.copy(tmp.resolve("ext4j.img"), ours, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn after ext4j recover:\n" + fsck.stdout());
        try (Tools.Mount m = Tools.Mount.of(ours, true)) {
            assertEquals("x\n", Files.readString(m.dir().resolve("e/x")));
            assertArrayEquals(big(), Files.readAllBytes(m.dir().resolve("e/big")), "e/big after ext4j recover");
            assertFalse(Files.exists(m.dir().resolve("d")));
        }
        out.reset();
        byte[] before = Files.readAllBytes(img);
        assertEquals(0, Main.run(out, err, "recover", img.toString()));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("nothing to recover"), out.toString(StandardCharsets.UTF_8));
        assertArrayEquals(before, Files.readAllBytes(img), "recover of a clean journal changed the image");
    }

    /**
     * A read-write open replays the journal first, as a kernel mount does: the file system then
     * holds the last transaction's files, takes a write, and e2fsck is clean after close. An open
     * the write path refuses for another reason (meta_bg, which ext4j does not write) is refused
     * before the replay writes anything.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096 -O meta_bg,^resize_inode"})
    void aReadWriteOpenReplaysFirst(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path crash = crashImage(row, tmp.resolve("j.img"));
        byte[] before = Files.readAllBytes(crash);
        if (row.contains("meta_bg")) {
            org.junit.jupiter.api.Assertions.assertThrows(org.ext4j.error.UnsupportedFeatureException.class,
                    () -> Ext4FileSystem.openReadWrite(crash, org.ext4j.fs.WriteOptions.defaults()).close());
            assertArrayEquals(before, Files.readAllBytes(crash), "a refused open replayed the journal");
            return;
        }
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(crash, org.ext4j.fs.WriteOptions.defaults())) {
            assertEquals(40L << 20, fs.stat("/e/big").size());
            try (org.ext4j.fs.Ext4File f = fs.createFile("/e/after", 0644)) {
                f.pwrite(0, new byte[] {1, 2, 3}, 0, 3);
            }
        }
        Tools.Result fsck = Tools.fsck(crash);
        assertEquals(0, fsck.exit(), "e2fsck -fn after a replaying open:\n" + fsck.stdout());
        try (Tools.Mount m = Tools.Mount.of(crash, true)) {
            assertArrayEquals(big(), Files.readAllBytes(m.dir().resolve("e/big")));
            assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(m.dir().resolve("e/after")));
        }
    }

    /**
     * A read-only open replays into memory: the last transactions' files, whose directory entries
     * are only in the journal, read back whole, and the image's bytes stay as they were.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096 -O ^metadata_csum,^64bit"})
    void aReadOnlyOpenReplaysInMemory(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "debugfs");
        Path crash = crashImage(row, tmp.resolve("j.img"));
        byte[] before = Files.readAllBytes(crash);
        String unreplayed = Tools.run("debugfs", "-R", "ls -l /e", crash.toString()).stdout();
        assertFalse(unreplayed.contains("big"), "e/big is on disk before the replay:\n" + unreplayed);
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash)) {
            assertTrue(fs.warnings().stream().anyMatch(w -> w.contains("journal needs recovery")), fs.warnings().toString());
            byte[] got = new byte[40 << 20];
            long ino = fs.stat("/e/big").inode();
            int n = 0;
            while (n < got.length) {
                int k = fs.read(ino, n, got, n, got.length - n);
                assertTrue(k > 0);
                n += k;
            }
            assertArrayEquals(big(), got);
        }
        assertArrayEquals(before, Files.readAllBytes(crash), "a read-only open wrote the image");
    }

    /**
     * {@code ext4j info -h} lists the journal as {@code dumpe2fs -h} does, on the image mkfs made
     * and the kernel cleanly unmounted and on its crash copy, and counts the transactions waiting
     * as {@code debugfs logdump} finds them (none in the clean journal).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096 -O ^metadata_csum,^64bit"})
    void infoListsTheJournalAsDumpe2fs(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "dumpe2fs", "debugfs");
        Path img = tmp.resolve("j.img");
        Path fresh = tmp.resolve("fresh.img");
        Tools.mkfs(fresh, 64L << 20, Arrays.asList(row.split(" ")), null);
        assertEquals(0, Dumpe2fsJournal.assertInfoListsTheJournalAsDumpe2fs(fresh));
        Path crash = crashImage(row, img);
        assertEquals(0, Dumpe2fsJournal.assertInfoListsTheJournalAsDumpe2fs(img));
        long commits = debugfs(crash).lines().filter(l -> l.contains(" type 2 ")).count();
        assertTrue(commits >= 2, "commits " + commits);
        assertEquals(commits, Dumpe2fsJournal.assertInfoListsTheJournalAsDumpe2fs(crash));
    }

    /**
     * A logged copy that fails its checksum (v3): a read-write open and a read-only open refuse
     * with the journal's corruption and write nothing (the kernel would write the good copies and
     * then fail the mount); {@code ext4j recover} does what {@code e2fsck -E journal_only} does,
     * byte for byte (the good copies written, the journal emptied, needs_recovery cleared, the
     * file system marked not clean) and exits 1 naming the copy.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096 -O ^64bit"})
    void aCopyFailingItsChecksumIsRefusedByAnOpenAndRecoveredAsE2fsckDoes(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path crash = crashImage(row, tmp.resolve("j.img"));
        JournalLog.Tag damaged = damageOneCopy(crash);
        byte[] before = Files.readAllBytes(crash);
        org.ext4j.error.CorruptionException rw = org.junit.jupiter.api.Assertions.assertThrows(
                org.ext4j.error.CorruptionException.class,
                () -> Ext4FileSystem.openReadWrite(crash, org.ext4j.fs.WriteOptions.defaults()).close());
        assertTrue(rw.getMessage().contains("copy of block " + damaged.fsBlock()), rw.getMessage());
        assertArrayEquals(before, Files.readAllBytes(crash), "a refused read-write open wrote the image");
        org.junit.jupiter.api.Assertions.assertThrows(org.ext4j.error.CorruptionException.class,
                () -> Ext4FileSystem.open(crash).close());
        assertArrayEquals(before, Files.readAllBytes(crash), "a refused read-only open wrote the image");

        JournalOnlyComparison.Outcome o = JournalOnlyComparison.run(crash, tmp);
        assertEquals(1, o.ext4jExit(), o.ext4jSaid());
        assertTrue(o.ext4jSaid().contains("the copy of block " + damaged.fsBlock() + " at journal block "
                + damaged.logBlock()), o.ext4jSaid());
        assertTrue(o.e2fsckSaid().contains("Journal checksum error"), o.e2fsckSaid());
        JournalOnlyComparison.assertSameBytes(o);
        try (Ext4FileSystem fs = Ext4FileSystem.open(tmp.resolve("ext4j.img"))) {
            assertEquals(0, fs.superblock().state & Superblock.STATE_VALID, "the file system is still marked clean");
        }
    }

    /**
     * Flips a byte of one logged copy of {@code crash}'s last transaction (one no later revoke
     * record skips) and returns its tag.
     */
    private static JournalLog.Tag damageOneCopy(Path crash) throws Exception {
        JournalLog.Tag[] victim = new JournalLog.Tag[1];
        flipByteOfLogBlock(crash, 100, log -> {
            JournalLog.Transaction last = log.transactions().get(log.transactions().size() - 1);
            for (JournalLog.Tag t : last.tags()) {
                if (!last.revoked().contains(t.fsBlock())) {
                    victim[0] = t;
                }
            }
            assertTrue(victim[0] != null && victim[0].checksumOk(), "no copy to damage in transaction " + last.sequence());
            return victim[0].logBlock();
        });
        return victim[0];
    }

    /** Flips the byte at {@code offset} of the journal block {@code pick} chooses from {@code crash}'s log. */
    private static void flipByteOfLogBlock(Path crash, int offset, java.util.function.ToLongFunction<JournalLog> pick)
            throws Exception {
        long at;
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash, org.ext4j.fs.OpenOptions.readOnlyDefaults().withoutRecovery())) {
            Superblock sb = fs.superblock();
            Inode journal = Inode.load(fs.volume(), sb.journalInum);
            JournalLog log = JournalLog.read(journal, sb.journalInum, sb.blockSize);
            at = journal.blockMap().map(pick.applyAsLong(log), 1).physical() * sb.blockSize + offset;
        }
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(crash,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            c.read(one, at);
            one.put(0, (byte) ~one.get(0)).rewind();
            c.write(one, at);
        }
    }

    /**
     * The last transaction's commit block fails its checksum (v3, no async_commit), its header
     * included: the log ends
     * before it and the transaction is corrupt ({@code j_failed_commit}), which the kernel refuses
     * to mount after replaying the rest. Both opens refuse and write nothing; {@code ext4j recover}
     * does what {@code e2fsck -E journal_only} does, byte for byte: the transactions before it
     * replayed, the file system marked with errors; exit 1.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096 -O ^64bit"})
    void aCommitFailingItsChecksumIsACorruptTransaction(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path crash = crashImage(row, tmp.resolve("j.img"));
        long[] corrupt = new long[1];
        // in h_commit_nsec, inside the commit header: a newer kernel accepts a commit block whose
        // header alone checks out (jbd2_commit_block_csum_verify_partial, a torn write), e2fsck not
        flipByteOfLogBlock(crash, 0x38, log -> {
            JournalLog.Transaction last = log.transactions().get(log.transactions().size() - 1);
            corrupt[0] = last.sequence();
            return last.blocks().get(last.blocks().size() - 1).logBlock();
        });
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash, org.ext4j.fs.OpenOptions.readOnlyDefaults().withoutRecovery())) {
            Superblock sb = fs.superblock();
            JournalLog log = JournalLog.read(Inode.load(fs.volume(), sb.journalInum), sb.journalInum, sb.blockSize);
            assertEquals(corrupt[0], log.failedCommit(), log.end());
            assertEquals(corrupt[0], log.endSequence());
            assertTrue(log.transactions().stream().allMatch(t -> t.sequence() < corrupt[0]));
        }
        byte[] before = Files.readAllBytes(crash);
        org.ext4j.error.CorruptionException rw = org.junit.jupiter.api.Assertions.assertThrows(
                org.ext4j.error.CorruptionException.class,
                () -> Ext4FileSystem.openReadWrite(crash, org.ext4j.fs.WriteOptions.defaults()).close());
        assertTrue(rw.getMessage().contains("journal transaction " + corrupt[0] + " is corrupt"), rw.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(org.ext4j.error.CorruptionException.class,
                () -> Ext4FileSystem.open(crash).close());
        assertArrayEquals(before, Files.readAllBytes(crash), "a refused open wrote the image");
        Tools.kernelCheck("a mount refused", () -> {
            Path copy = tmp.resolve("kernel.img");
            Files.copy(crash, copy); // read-write: a read-only loop device cannot be recovered at all
            org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> Tools.Mount.of(copy, false).close(),
                    "the kernel mounted a journal with a corrupt transaction");
        });

        JournalOnlyComparison.Outcome o = JournalOnlyComparison.run(crash, tmp);
        assertEquals(1, o.ext4jExit(), o.ext4jSaid());
        assertTrue(o.e2fsckSaid().contains("Journal transaction " + corrupt[0] + " was corrupt"), o.e2fsckSaid());
        JournalOnlyComparison.assertSameBytes(o);
        try (Ext4FileSystem fs = Ext4FileSystem.open(tmp.resolve("ext4j.img"))) {
            assertTrue((fs.superblock().state & Superblock.STATE_ERROR) != 0, "the file system is not marked with errors");
        }
    }

    /**
     * A journal recording an error ({@code s_errno}, as the kernel leaves an aborted journal): a
     * read-write open refuses before writing (the replay would leave the file system with errors,
     * which writing refuses); {@code ext4j recover} replays and moves the error to the file system's
     * superblock, as {@code e2fsck -E journal_only} does, byte for byte.
     */
    @org.junit.jupiter.api.Test
    void aJournalRecordingAnErrorLeavesTheFileSystemWithErrors() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path crash = crashImage("-b 4096 -O ^metadata_csum,^64bit", tmp.resolve("j.img"));
        flipByteOfLogBlock(crash, 0x20, log -> 0); // s_errno 0 -> 0xFF000000 (no journal checksum here)
        byte[] before = Files.readAllBytes(crash);
        org.ext4j.error.CorruptionException rw = org.junit.jupiter.api.Assertions.assertThrows(
                org.ext4j.error.CorruptionException.class,
                () -> Ext4FileSystem.openReadWrite(crash, org.ext4j.fs.WriteOptions.defaults()).close());
        assertTrue(rw.getMessage().contains("s_errno"), rw.getMessage());
        assertArrayEquals(before, Files.readAllBytes(crash), "a refused read-write open wrote the image");
        JournalOnlyComparison.Outcome o = JournalOnlyComparison.run(crash, tmp);
        assertEquals(1, o.ext4jExit(), o.ext4jSaid());
        JournalOnlyComparison.assertSameBytes(o);
        try (Ext4FileSystem fs = Ext4FileSystem.open(tmp.resolve("ext4j.img"))) {
            assertTrue((fs.superblock().state & Superblock.STATE_ERROR) != 0, "the file system is not marked with errors");
        }
    }

    /** logdump -a's blocks, tags and revokes, one transaction after another, in log order. */
    private static String debugfs(Path img) throws Exception {
        String dump = Tools.run("debugfs", "-R", "logdump -a", img.toString()).ok().stdout();
        List<String> lines = new ArrayList<>();
        for (String l : dump.lines().toList()) {
            Matcher f = FOUND.matcher(l);
            Matcher t = TAG.matcher(l);
            Matcher r = REVOKE.matcher(l);
            if (f.find()) {
                lines.add("seq " + f.group(1) + " type " + f.group(2) + " at " + f.group(3));
            } else if (t.matches()) {
                lines.add("  block " + t.group(1) + " at " + t.group(2) + " flags " + Integer.parseInt(t.group(3), 16));
            } else if (r.matches()) {
                lines.add("  revoke " + r.group(1));
            }
        }
        // debugfs goes on past the last commit into an unfinished transaction's blocks: only committed ones count
        int lastCommit = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(" type 2 ")) {
                lastCommit = i;
            }
        }
        return String.join("\n", lines.subList(0, lastCommit + 1)) + "\n";
    }

    private static String listing(JournalLog log) {
        List<String> lines = new ArrayList<>();
        for (JournalLog.Transaction t : log.transactions()) {
            TreeMap<Long, JournalLog.LogBlock> byBlock = new TreeMap<>();
            int tag = 0;
            int revoke = 0;
            for (JournalLog.LogBlock b : t.blocks()) {
                lines.add("seq " + t.sequence() + " type " + b.type() + " at " + b.logBlock());
                byBlock.put(b.logBlock(), b);
                if (b.type() == JournalLog.DESCRIPTOR_BLOCK) {
                    for (; tag < t.tags().size(); tag++) {
                        JournalLog.Tag g = t.tags().get(tag);
                        lines.add("  block " + g.fsBlock() + " at " + g.logBlock() + " flags " + g.flags());
                        if ((g.flags() & JournalLog.FLAG_LAST_TAG) != 0) {
                            tag++;
                            break;
                        }
                    }
                } else if (b.type() == JournalLog.REVOKE_BLOCK) {
                    for (; revoke < t.revoked().size(); revoke++) {
                        lines.add("  revoke " + t.revoked().get(revoke));
                    }
                }
            }
            assertFalse(byBlock.isEmpty());
        }
        return String.join("\n", lines) + "\n";
    }
}
