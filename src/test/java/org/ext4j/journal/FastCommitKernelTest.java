package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fast commits the kernel wrote: a small fast_commit image, files created and appended to and
 * fsynced after a full commit (each fsync a fast commit), the backing file copied while mounted.
 * {@code ext4j recover} must leave what {@code e2fsck -E journal_only} leaves ({@link
 * JournalOnlyComparison}), e2fsck -fn must then be clean, and the fsynced bytes must read back
 * through ext4j's read-only open (which replays into memory only) and a kernel mount.
 */
class FastCommitKernelTest {
    @TempDir
    Path tmp;

    private static final byte[] NEW = "hello\nmore\n".getBytes(StandardCharsets.UTF_8);

    private static byte[] appended() {
        byte[] b = new byte[3002];
        Arrays.fill(b, (byte) 'x');
        b[0] = 'a';
        b[1] = '\n';
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 1024", "-b 4096"})
    void kernelFastCommitsReplayAsE2fsck(String row) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("mkfs.ext4", "e2fsck", "debugfs");
        Path img = tmp.resolve("fc.img");
        Path crash = tmp.resolve("crash.img");
        List<String> opts = new java.util.ArrayList<>(Arrays.asList(row.split(" ")));
        opts.addAll(List.of("-O", "fast_commit"));
        Tools.mkfs(img, 16L << 20, opts, null);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path d = Files.createDirectory(m.dir().resolve("d"));
            Files.writeString(d.resolve("a"), "a\n");
            Tools.run("sync").ok(); // a full commit, then fast commits only
            Files.write(d.resolve("new"), "hello\n".getBytes(StandardCharsets.UTF_8));
            Files.write(d.resolve("new"), "more\n".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
            fsync(d.resolve("new"));
            byte[] more = new byte[3000];
            Arrays.fill(more, (byte) 'x');
            Files.write(d.resolve("a"), more, StandardOpenOption.APPEND);
            fsync(d.resolve("a"));
            Files.copy(img, crash);
        }
        String dump = Tools.run("debugfs", "-R", "logdump", crash.toString()).stdout();
        assertTrue(dump.contains("*** Fast Commit Area ***") && dump.contains("tag TAIL"),
                "the kernel wrote no fast commit:\n" + dump);

        // a read-only open replays into memory only
        byte[] before = Files.readAllBytes(crash);
        try (Ext4FileSystem fs = Ext4FileSystem.open(crash, OpenOptions.readOnlyDefaults())) {
            assertArrayEquals(NEW, fs.readAll("/d/new"));
            assertArrayEquals(appended(), fs.readAll("/d/a"));
        }
        assertArrayEquals(before, Files.readAllBytes(crash), "the read-only open wrote the image");

        JournalOnlyComparison.Outcome o = JournalOnlyComparison.run(crash, tmp);
        assertEquals(0, o.ext4jExit(), o.ext4jSaid());
        JournalOnlyComparison.assertSameBytes(o);
        Path ours = tmp.resolve("ext4j.img");
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn after ext4j recover:\n" + fsck.stdout());
        try (Tools.Mount m = Tools.Mount.of(ours, true)) {
            assertArrayEquals(NEW, Files.readAllBytes(m.dir().resolve("d/new")));
            assertArrayEquals(appended(), Files.readAllBytes(m.dir().resolve("d/a")));
        }
        assertFalse(o.ext4jSaid().isEmpty());
    }

    private static void fsync(Path p) throws Exception {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.WRITE)) {
            c.force(true);
        }
    }
}
