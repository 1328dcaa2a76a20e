package org.ext4j.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import org.ext4j.testing.Corpus;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Walks every hostile or unusual image of e2fsprogs' test suite: {@code ext4j get IMAGE / DEST} and
 * a {@code cat} of every file, each in its own JVM with {@code -Xmx256m} and a limit of 10 s of CPU
 * time (120 s of wall time counts as a hang). Each image
 * must either be read or be refused with exit status 1 or 3 and one clear line on stderr; never a
 * stack trace, a hang, or a changed byte in the image.
 *
 * <p>The images are not in this repository: they are the {@code image.gz} files of e2fsprogs'
 * {@code tests/f_*} and {@code tests/j_*} folders, looked for in {@code ../shared/corpus/e2fsprogs}
 * beside the project (where this project's machines and CI have a copy), or in the folder named by
 * {@code -Dext4j.corpus=DIR}, which may be an e2fsprogs source tree's {@code tests} folder itself.
 * Without them the walk is one skipped test whose reason says where it looked and how to get the
 * images; a folder named with {@code -Dext4j.corpus} that holds no image fails instead.
 */
class CorpusWalkTest {
    /** CPU seconds a child may use (the JVM's start included). */
    private static final long LIMIT_SECONDS = 10;
    /** Wall-clock seconds after which a child counts as hung, however little CPU it used. */
    private static final long HANG_SECONDS = 120;

    static Stream<Named<Path>> images() throws IOException {
        Path corpus = Corpus.location();
        List<Path> dirs = Corpus.imageDirs();
        if (dirs.isEmpty()) {
            System.out.println("SKIP: " + whyMissing());
            return Stream.of(Named.of("e2fsprogs corpus not found", null));
        }
        System.out.println("corpus walk: " + dirs.size() + " images in " + corpus);
        return dirs.stream().map(d -> Named.of(d.getFileName().toString(), d));
    }

    private static String whyMissing() {
        return Corpus.whyMissing("none of its hostile images is walked", "CorpusWalkTest");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void walkIsBoundedAndClean(Path dir, @TempDir Path tmp) throws Exception {
        assumeTrue(dir != null, CorpusWalkTest::whyMissing);
        Path image = tmp.resolve("image");
        try (InputStream in = new GZIPInputStream(Files.newInputStream(dir.resolve("image.gz")))) {
            Files.copy(in, image);
        }
        String before = sha256(image);

        Child get = runChild(List.of("org.ext4j.cli.Main", "get", image.toString(), "/", tmp.resolve("out").toString()));
        assertTrue(get.exit == 0 || get.exit == 1 || get.exit == 3,
                "get exited " + get.exit + " (only 0, 1, 3 are allowed):\n" + get.stderr);
        assertFalse(get.stderr.contains("\tat "), "stack trace from get:\n" + get.stderr);
        List<String> errors = get.stderr.lines().filter(l -> !l.startsWith("ext4j: warning:")
                && !l.startsWith("ext4j get: warning:")).toList();
        if (get.exit == 0) {
            assertEquals(List.of(), errors, "get succeeded but printed errors");
        } else {
            assertEquals(1, errors.size(), "a failure is one line on stderr:\n" + get.stderr);
            assertTrue(errors.get(0).startsWith("ext4j get: "), errors.get(0));
        }

        Child cat = runChild(List.of(CorpusWalker.class.getName(), image.toString()));
        assertEquals(0, cat.exit, "cat walk found a bug:\n" + cat.stderr);

        assertEquals(before, sha256(image), "the image was modified");
    }

    private record Child(int exit, String stderr) {
    }

    private static Child runChild(List<String> mainAndArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(mainAndArgs);
        Path err = Files.createTempFile("corpus", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(err.toFile()).start();
            // the limit is the child's CPU time, sampled while it runs: on a loaded machine its wall
            // time says more about the other processes than about ext4j; a hang still ends it
            java.time.Duration cpu = java.time.Duration.ZERO;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
            while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                cpu = p.info().totalCpuDuration().orElse(cpu);
                if (cpu.toSeconds() >= LIMIT_SECONDS || System.nanoTime() > deadline) {
                    p.destroyForcibly().waitFor();
                    throw new AssertionError("no answer within " + LIMIT_SECONDS + " s of CPU time (" + cpu.toMillis()
                            + " ms used) or " + HANG_SECONDS + " s: " + mainAndArgs);
                }
            }
            return new Child(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String sha256(Path p) throws IOException, NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
