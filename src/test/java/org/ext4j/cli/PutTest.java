package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.TreeGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ext4j put} of real and generated trees into fresh images, judged by the kernel: its mount
 * shows exactly the source (names, types, modes, owners, link counts and hard-link groups, sizes,
 * contents, symlink targets, device numbers, xattrs and ACLs, modification times to the
 * nanosecond), and {@code e2fsck -fn} finds nothing. Directory sizes are the file system's own and
 * are not compared, as {@code cp -a} does not copy them either.
 */
@ExtendWith(SkippedChecks.class)
class PutTest {
    @TempDir
    Path tmp;

    private Path script() throws IOException {
        Path p = tmp.resolve("nsops.py");
        try (InputStream in = PutTest.class.getResourceAsStream("/org/ext4j/testing/nsops.py")) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    private String dump(Path dir) throws IOException {
        return Tools.run("python3", script().toString(), "dump", dir.toString(), "times").ok().stdout()
                .lines().map(l -> l.matches("\\S+ 4\\d{4} .*") ? l.replaceAll(" s\\d+ ", " ") : l) // no directory sizes
                .reduce("", (a, b) -> a + b + "\n");
    }

    private void putAndCompare(Path src, List<String> mkfs, long size, String dest) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        Path img = tmp.resolve("put.img");
        Files.deleteIfExists(img);
        Tools.mkfs(img, size, mkfs, null);
        Tools.Result r = Tools.ext4j("put", "-p", src.toString(), img.toString(), dest);
        assertEquals(0, r.exit(), r.stderr());
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());
        String expected = dump(src);
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            Path copy = m.dir().resolve(dest.substring(1));
            String actual = dump(copy);
            Tools.assertSameLines(expected, actual, "the kernel's view of the copy (+) differs from the source (-)");
        }
    }

    @Test
    void aGeneratedTreeOfEveryKind() throws Exception {
        Tools.requireRootAndLoop();
        TreeGenerator.Tree tree = TreeGenerator.generate(Files.createDirectories(tmp.resolve("src")),
                new TreeGenerator.Options(5, 4096, false, 3000, true));
        putAndCompare(tree.root(), List.of("-b", "4096", "-I", "256"), 96L << 20, "/into/some/where");
    }

    @Test
    void usrShareDoc() throws Exception {
        Path doc = Path.of("/usr/share/doc");
        if (!Files.isDirectory(doc)) {
            Tools.skipCheck("put of /usr/share/doc", "there is no /usr/share/doc on this machine");
            return;
        }
        putAndCompare(doc, List.of(), 512L << 20, "/doc");
    }

    @Test
    void theRunningJdk() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home")).toRealPath();
        putAndCompare(jdk, List.of("-b", "1024"), 768L << 20, "/opt/jdk");
    }

    @Test
    void intoAnExistingDirectoryAndSeveralSources() throws Exception {
        Tools.requireTools("e2fsck");
        Path a = Files.writeString(tmp.resolve("a.txt"), "alpha\n");
        Path b = Files.createDirectories(tmp.resolve("bdir/sub"));
        Files.writeString(b.resolve("x"), "x");
        Path img = tmp.resolve("multi.img");
        Tools.mkfs(img, 16L << 20, List.of(), null);
        Tools.ext4j("mkdir", img.toString(), "/dst").ok();
        Tools.ext4j("put", a.toString(), tmp.resolve("bdir").toString(), img.toString(), "/dst").ok();
        Tools.ext4j("put", a.toString(), img.toString(), "/renamed.txt").ok();
        String ls = Tools.ext4j("ls", "-R", img.toString(), "/").ok().stdout();
        assertTrue(ls.contains("a.txt") && ls.contains("bdir") && ls.contains("renamed.txt") && ls.contains("sub"), ls);
        assertEquals("alpha\n", Tools.ext4j("cat", img.toString(), "/dst/a.txt").ok().stdout());
        Tools.Result several = Tools.ext4j("put", a.toString(), a.toString(), img.toString(), "/renamed.txt");
        assertEquals(1, several.exit(), several.stderr());
        assertTrue(several.stderr().contains("ENOTDIR"), several.stderr());
        Tools.Result missing = Tools.ext4j("put", tmp.resolve("nope").toString(), img.toString(), "/x");
        assertEquals(1, missing.exit(), missing.stderr());
        assertEquals(0, Tools.fsck(img).exit());
    }
}
