package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An empty xattr value's offset is never checked by the kernel ({@code ext4_xattr_check_entries}
 * checks offsets only of values with a size) nor used; ext4j reads such an entry as the empty value
 * whatever its offset. Found by the random-damage harness: the empty system.data of an inline file
 * with its e_value_offs flipped made stat and get exit 70.
 */
class XattrDamageTest {
    @TempDir
    Path tmp;

    @Test
    void anEmptyValueWithAWildOffsetIsEmpty() throws Exception {
        Tools.requireTools("mkfs.ext4", "debugfs");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("file"), "short inline"); // all in i_block: system.data is empty
        Path img = tmp.resolve("fs.img");
        // without metadata_csum: the raw edit below needs no inode checksum
        Tools.mkfs(img, 8 << 20, List.of("-O", "inline_data,^metadata_csum", "-I", "256"), src);
        String imap = Tools.run("debugfs", "-R", "imap /file", img.toString()).ok().stdout();
        long block = Long.parseLong(imap.replaceAll("(?s).*located at block (\\d+),.*", "$1"));
        int offset = Integer.parseInt(imap.replaceAll("(?s).*offset 0x([0-9a-fA-F]+).*", "$1"), 16);
        int blockSize;
        try (org.ext4j.fs.Ext4FileSystem fs = org.ext4j.fs.Ext4FileSystem.open(img)) {
            blockSize = fs.superblock().blockSize;
        }
        String stat = Tools.run("debugfs", "-R", "stat /file", img.toString()).ok().stdout();
        assertTrue(stat.contains("system.data (0)"), stat);
        assertTrue(stat.contains("Size of extra inode fields: 32"), stat);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            long entry = block * blockSize + offset + 128 + 32 + 4; // i_extra_isize 32, then the ibody magic
            f.seek(entry + 2); // e_value_offs
            f.write(new byte[] {0, (byte) 0x80});
        }
        Tools.Result st = Tools.ext4j("stat", img.toString(), "/file");
        assertEquals(0, st.exit(), st.stderr());
        assertEquals("short inline", Tools.ext4j("cat", img.toString(), "/file").ok().stdout());
        Path out = tmp.resolve("out");
        Tools.ext4j("get", img.toString(), "/", out.toString()).ok();
        assertEquals("short inline", Files.readString(out.resolve("file")));
    }
}
