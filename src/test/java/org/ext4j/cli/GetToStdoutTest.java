package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ext4j get IMAGE PATH -} writes a regular file's bytes to standard output, as {@code cat}
 * does (symlinks followed), and creates no file named "-"; a directory or another kind of file is a
 * usage error (exit 2) with nothing on standard output. Each run is a child JVM started in an empty
 * working directory, so a stray "-" would show.
 */
class GetToStdoutTest {
    @TempDir
    Path tmp;

    private Path img;
    private Path cwd;
    private byte[] big;

    @BeforeEach
    void image() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.createDirectories(src.resolve("dir"));
        big = new byte[2_500_000 + 17]; // more than one 1 MiB chunk, not block aligned
        new Random(8).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("hello.txt"), "hello, ext4\n");
        Files.createFile(src.resolve("empty"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("big.bin"));
        Files.createSymbolicLink(src.resolve("dirlink"), Path.of("dir"));
        Files.createSymbolicLink(src.resolve("dangling"), Path.of("nowhere"));
        Tools.requireTools("mkfifo");
        Tools.run("mkfifo", src.resolve("fifo").toString()).ok();
        img = tmp.resolve("fs.img");
        Tools.mkfs(img, 16L << 20, List.of(), src);
        cwd = Files.createDirectories(tmp.resolve("cwd"));
    }

    /** Runs {@code ext4j ARGS} in a child JVM whose working directory is {@link #cwd}; stdout as raw bytes. */
    private Run ext4j(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.ext4j.cli.Main"));
        cmd.addAll(List.of(args));
        Path out = tmp.resolve("stdout");
        Path err = tmp.resolve("stderr");
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "ext4j " + String.join(" ", args) + " did not finish");
        return new Run(p.exitValue(), Files.readAllBytes(out), Files.readString(err, StandardCharsets.UTF_8));
    }

    private record Run(int exit, byte[] stdout, String stderr) {
    }

    private void assertNothingCreated() throws IOException {
        try (var s = Files.list(cwd)) {
            assertEquals(List.of(), s.toList(), "get ... - created files in the working directory");
        }
    }

    @Test
    void aRegularFileGoesToStandardOutput() throws Exception {
        Run r = ext4j("get", img.toString(), "/big.bin", "-");
        assertEquals(0, r.exit(), r.stderr());
        assertArrayEquals(big, r.stdout());
        assertEquals("", r.stderr());
        assertArrayEquals("hello, ext4\n".getBytes(StandardCharsets.US_ASCII),
                ext4j("get", img.toString(), "/hello.txt", "-").stdout());
        Run empty = ext4j("get", img.toString(), "/empty", "-");
        assertEquals(0, empty.exit(), empty.stderr());
        assertEquals(0, empty.stdout().length);
        assertNothingCreated();
    }

    @Test
    void aSymlinkIsFollowedAsCatFollowsIt() throws Exception {
        Run get = ext4j("get", img.toString(), "/link", "-");
        assertEquals(0, get.exit(), get.stderr());
        assertArrayEquals(big, get.stdout());
        assertArrayEquals(ext4j("cat", img.toString(), "/link").stdout(), get.stdout(), "the same bytes as cat");
        Run dangling = ext4j("get", img.toString(), "/dangling", "-");
        assertEquals(1, dangling.exit(), "a dangling link is a missing path, as for cat: " + dangling.stderr());
        assertEquals(0, dangling.stdout().length);
        assertNothingCreated();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "/dir", "/dirlink", "/fifo"})
    void anythingButARegularFileIsAUsageErrorAndWritesNothing(String path) throws Exception {
        Run r = ext4j("get", img.toString(), path, "-");
        assertEquals(2, r.exit(), r.stderr());
        assertEquals(0, r.stdout().length, "nothing on standard output");
        assertTrue(r.stderr().startsWith("ext4j get: " + path + " is "), r.stderr());
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.stderr());
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertNothingCreated();
    }

    @Test
    void aFileNamedDashIsStillReachableAsDotSlashDash() throws Exception {
        Run r = ext4j("get", img.toString(), "/hello.txt", "./-");
        assertEquals(0, r.exit(), r.stderr());
        assertEquals(0, r.stdout().length);
        assertEquals("hello, ext4\n", Files.readString(cwd.resolve("-")));
    }
}
