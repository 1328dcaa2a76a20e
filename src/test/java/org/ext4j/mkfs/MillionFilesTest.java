package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.ext4j.cli.Main;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory bound: a generated tree of 1,000,000 files (1,000 directories of 1,000 small
 * files each) becomes an image through {@code ext4j mkfs -d} in a child JVM with {@code -Xmx512m}
 * and the size chosen for it; e2fsck is clean and the kernel counts every file and reads them back.
 * Slow (minutes, a million host files): {@code -Pstress}.
 */
@ExtendWith(SkippedChecks.class)
class MillionFilesTest {
    private static final int DIRS = 1000;
    private static final int FILES = 1000;
    private static final int LIMIT_SECONDS = 1800;

    @Test
    @Tag("slow")
    void aMillionFilesBuildInAHalfGibHeap(@TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        Path src = tmp.resolve("src");
        Tools.run(List.of("python3", "-c", String.join("\n",
                "import os, sys",
                "top = sys.argv[1]",
                "for d in range(" + DIRS + "):",
                "    p = os.path.join(top, 'd%04d' % d)",
                "    os.makedirs(p)",
                "    for f in range(" + FILES + "):",
                "        fd = os.open(os.path.join(p, 'file-%06d' % f), os.O_WRONLY | os.O_CREAT, 0o644)",
                "        os.write(fd, b'%d/%d\\n' % (d, f))",
                "        os.close(fd)"), src.toString()), LIMIT_SECONDS).ok();
        Path img = tmp.resolve("million.img");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "mkfs", "-q", "-d", src.toString(),
                img.toString());
        Path out = tmp.resolve("child.out");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("ext4j mkfs did not finish within " + LIMIT_SECONDS + " s");
        }
        String said = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), said);
        System.out.printf("mkfs -d of %d files with -Xmx512m: %.1f s; %s%n", DIRS * FILES,
                (System.nanoTime() - t0) / 1e9, said.strip());
        Tools.Result fsck = Tools.run(List.of("e2fsck", "-fn", img.toString()), LIMIT_SECONDS);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            long files;
            try (var s = Files.walk(m.dir())) {
                files = s.filter(Files::isRegularFile).count();
            }
            assertEquals((long) DIRS * FILES, files);
            for (int d : new int[] {0, 517, DIRS - 1}) {
                for (int f : new int[] {0, 333, FILES - 1}) {
                    assertEquals(d + "/" + f + "\n",
                            Files.readString(m.dir().resolve(String.format("d%04d/file-%06d", d, f))));
                }
            }
        }
    }
}
