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
 * Journals the kernel wrote, read as e2fsprogs reads them: an image is mounted, written in three
 * synced transactions (files created, a directory removed, so revoke records, more created), and
 * its backing file copied while still mounted, so the copy's journal holds committed transactions
 * not yet checkpointed. {@link JournalLog} must find the transactions, their log blocks, every
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
        Path crash = tmp.resolve("crash.img");
        Tools.mkfs(img, 64L << 20, Arrays.asList(row.split(" ")), null);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path d = Files.createDirectory(m.dir().resolve("d"));
            for (int i = 0; i < 300; i++) {
                Files.writeString(d.resolve("f" + i), "file " + i + "\n");
            }
            Tools.run("sync", "-f", m.dir().toString()).ok();
            Tools.run("rm", "-rf", d.toString()).ok();
            Tools.run("sync", "-f", m.dir().toString()).ok();
            Files.writeString(Files.createDirectory(m.dir().resolve("e")).resolve("x"), "x\n");
            Tools.run("sync", "-f", m.dir().toString()).ok();
            Files.copy(img, crash);
        }
        String expected = debugfs(crash);
        assertTrue(expected.contains(" 2 "), "a journal with no commit:\n" + expected);
        String actual;
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash)) {
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
