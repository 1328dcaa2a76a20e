package org.ext4j.txn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The metadata write pipeline end to end, judged by e2fsprogs: an inode changed through
 * {@link InodeWriter}, a handle and the buffer cache, committed by {@link NoJournal}, is what
 * debugfs shows, with valid checksums (e2fsck -fn clean).
 */
class MetadataWriteTest {

    @ParameterizedTest
    @ValueSource(strings = {"defaults", "^metadata_csum", "128-byte inodes"})
    void inodeUpdateReachesDiskWithChecksum(String variant, @TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "data");
        Path img = tmp.resolve("fs.img");
        List<String> opts = switch (variant) {
            case "^metadata_csum" -> List.of("-O", "^metadata_csum");
            case "128-byte inodes" -> List.of("-I", "128");
            default -> List.of();
        };
        Tools.mkfs(img, 16 << 20, opts, src);
        long ino = Long.parseLong(Tools.run("debugfs", "-R", "stat /f", img.toString()).ok().stdout()
                .lines().filter(l -> l.startsWith("Inode:")).findFirst().orElseThrow().split("\\s+")[1]);

        try (FileBlockDevice dev = FileBlockDevice.openReadWrite(img)) {
            Superblock sb = Volume.readSuperblock(dev);
            Volume v = Volume.open(dev, sb);
            InodeRecord before = v.readInode(ino);
            NoJournal journal = new NoJournal(v.bufferCache(), dev);
            try (Handle h = journal.start(1)) {
                byte[] raw = before.raw();
                new InodeWriter(sb, ino, raw).mtime(2_000_000_000L, 123_456_700).uid(100_000).gid(4242)
                        .setChecksum();
                v.writeInode(h, ino, raw);
            }
            journal.commit();
            assertEquals(0, v.bufferCache().dirtyCount());
        }
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
        String stat = Tools.run("debugfs", "-R", "stat /f", img.toString()).ok().stdout();
        assertTrue(stat.contains("User: 100000   Group:  4242"), stat);
        assertTrue(stat.contains("mtime: 0x77359400"), stat);
        if (!variant.equals("128-byte inodes")) {
            assertTrue(stat.contains("mtime: 0x77359400:1d6f32f0"), stat); // 123456700 << 2, epoch bits 0
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void handleCreditsAreEnforced(int credits, @TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8 << 20, List.of(), null);
        try (FileBlockDevice dev = FileBlockDevice.openReadWrite(img)) {
            Volume v = Volume.open(dev, Volume.readSuperblock(dev));
            NoJournal journal = new NoJournal(v.bufferCache(), dev);
            Handle h = journal.start(credits);
            h.markDirty(v.buffer(v.group(0).inodeTable(), -1));
            h.markDirty(v.buffer(v.group(0).inodeTable(), -1)); // the same buffer again: no new credit
            assertThrows(IllegalStateException.class, () -> h.markDirty(v.buffer(v.group(0).inodeTable() + 1, -1)));
            h.close();
            assertThrows(IllegalStateException.class, () -> h.markDirty(v.buffer(v.group(0).inodeTable(), -1)));
        }
    }
}
