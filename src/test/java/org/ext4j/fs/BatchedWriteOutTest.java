package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Completed operations are written out together ({@link org.ext4j.txn.NoJournal}), so metadata
 * buffers wait dirty in the cache across operations. Judged by e2fsprogs and the kernel:
 * a directory block freed while its last changes still wait, then given to file data, must not
 * have those changes written over the data (the kernel's {@code clean_bdev_aliases}).
 */
@ExtendWith(SkippedChecks.class)
class BatchedWriteOutTest {
    @TempDir
    Path tmp;

    @Test
    void theFlusherWritesOutCompletedOperationsOnceTheyAreOldWithoutAClose() throws Exception {
        Path img = tmp.resolve("idle.img");
        Tools.mkfs(img, 8L << 20, List.of(), null);
        WriteOptions d = WriteOptions.defaults();
        WriteOptions quick = new WriteOptions(d.pageCacheBytes(), d.dirtyBackgroundBytes(), d.dirtyLimitBytes(),
                d.statusTreeEntries(), 20, 200);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, quick)) {
            fs.mkdir("/made-while-open", 0755);
            String listing = "";
            for (int i = 0; i < 100 && !listing.contains("made-while-open"); i++) {
                Thread.sleep(50);
                listing = Tools.run("debugfs", "-R", "ls /", img.toString()).stdout();
            }
            assertTrue(listing.contains("made-while-open"),
                    "a completed mkdir reaches the image within the dirty age, the session still open: " + listing);
        }
        assertEquals(0, Tools.fsck(img).exit());
    }

    @Test
    void aFreedDirectoryBlockWaitingToBeWrittenNeverLandsOnTheDataThatReusesIt() throws Exception {
        Path img = tmp.resolve("reuse.img");
        Tools.mkfs(img, 4L << 20, List.of("-b", "1024", "-O", "^has_journal"), null);
        Set<Long> dirBlocks = new HashSet<>();
        byte[] data;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/d", 0755);
            for (int i = 0; i < 300; i++) {
                fs.createFile("/d/a-rather-long-name-to-fill-directory-blocks-" + i, 0644).close();
            }
            fs.sync();
            for (String b : Tools.run("debugfs", "-R", "blocks /d", img.toString()).ok().stdout().trim().split("\\s+")) {
                dirBlocks.add(Long.parseLong(b));
            }
            assertTrue(dirBlocks.size() > 10, "the directory spans blocks: " + dirBlocks);
            for (int i = 0; i < 300; i++) { // each removal dirties a leaf; none is written before the rmdir
                fs.unlink("/d/a-rather-long-name-to-fill-directory-blocks-" + i);
            }
            fs.rmdir("/d");
            // a file as large as the free space takes every free block, the directory's among them
            StatFs st = fs.statfs();
            int len = (int) ((st.availableBlocks() - 64) * st.blockSize());
            data = new byte[len];
            new Random(7).nextBytes(data);
            try (Ext4File f = fs.createFile("/f", 0644)) {
                f.pwrite(0, data, 0, data.length);
            }
        }
        Set<Long> fileBlocks = new HashSet<>();
        String blocks = Tools.run("debugfs", "-R", "blocks /f", img.toString()).ok().stdout().trim();
        for (String b : blocks.split("\\s+")) {
            fileBlocks.add(Long.parseLong(b));
        }
        fileBlocks.retainAll(dirBlocks);
        assertFalse(fileBlocks.isEmpty(), "the file reuses the directory's blocks (else this test shows nothing)");
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
        Path out = tmp.resolve("f.out");
        Tools.run("debugfs", "-R", "dump /f " + out, img.toString()).ok();
        assertArrayEquals(data, Files.readAllBytes(out), "the file's bytes as e2fsprogs reads them");
        Tools.kernelCheck("the kernel reads the file's bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertArrayEquals(data, Files.readAllBytes(m.dir().resolve("f")));
            }
        });
    }
}
