package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.ext4j.cli.Main;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file much larger than the heap is written with the default options: {@code ext4j io} in a child
 * JVM with {@code -Xmx512m} writes 4 GiB and fsyncs, so the page cache and dirty limits that
 * {@link WriteOptions#defaults()} derives from the heap keep it within 512 MiB (an
 * OutOfMemoryError would end the child with a failure). The image must then pass {@code e2fsck -fn}
 * and read back as the 4 GiB of 0xcd that xfs_io's pwrite writes. Slow (4 GiB on disk): {@code -Pstress}.
 */
class SmallHeapWriteTest {
    private static final long SIZE = 4L << 30;
    private static final int LIMIT_SECONDS = 900;

    @Test
    @Tag("slow")
    void fourGibWithAHalfGibHeap(@TempDir Path tmp) throws Exception {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path img = tmp.resolve("big.img");
        Tools.mkfs(img, SIZE + (512L << 20), List.of(), null);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "io", "-f", img.toString(), "/f",
                "-c", "pwrite -b 1m 0 4g", "-c", "fsync");
        Path out = tmp.resolve("child.out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("ext4j io did not finish within " + LIMIT_SECONDS + " s");
        }
        String said = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), said);
        assertTrue(said.contains("wrote 4294967296/4294967296 bytes"), said);

        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            FileStat st = fs.stat("/f");
            assertEquals(SIZE, st.size());
            byte[] buf = new byte[1 << 20];
            for (long pos = 0; pos < SIZE; pos += buf.length) {
                assertEquals(buf.length, fs.read(st.inode(), pos, buf, 0, buf.length));
                for (int i = 0; i < buf.length; i++) {
                    if (buf[i] != (byte) 0xcd) {
                        throw new AssertionError("byte " + (pos + i) + " is " + (buf[i] & 0xFF) + ", not 0xcd");
                    }
                }
            }
        }
    }
}
