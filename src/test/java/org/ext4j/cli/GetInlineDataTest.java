package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ext4j get} of an inline-data file whose i_size runs past its inline bytes: the kernel reads
 * the inline bytes, then zeros; get writes the inline bytes and leaves the rest a hole, as it does
 * for the holes of a mapped file. Found by the random-damage harness: an empty inline file given
 * i_size 4 GiB was extracted by writing 4 GiB of zeros.
 */
class GetInlineDataTest {
    @TempDir
    Path tmp;

    @Test
    void bytesPastTheInlineDataStayAHole() throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "stat");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "hello, inline");
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8 << 20, List.of("-O", "inline_data"), src);
        long size = 1L << 30;
        Tools.run("debugfs", "-w", "-R", "sif /f size " + size, img.toString()).ok();
        Path out = tmp.resolve("out");
        Tools.ext4j("get", img.toString(), "/", out.toString()).ok();
        Path f = out.resolve("f");
        assertEquals(size, Files.size(f));
        byte[] head = new byte[4096];
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "r")) {
            r.readFully(head);
        }
        byte[] want = new byte[4096];
        byte[] inline = "hello, inline".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(inline, 0, want, 0, inline.length);
        assertArrayEquals(want, head, "the inline bytes, then zeros");
        long blocks = Long.parseLong(Tools.run("stat", "-c", "%b", f.toString()).ok().stdout().trim());
        assertTrue(blocks * 512 < (1 << 20), "the rest is a hole: " + blocks + " 512-byte blocks allocated");
    }
}
