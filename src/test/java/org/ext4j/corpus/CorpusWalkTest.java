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

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Walks every hostile or unusual image of e2fsprogs' test suite ({@code shared/corpus/e2fsprogs}):
 * {@code ext4j get IMAGE / DEST} and a {@code cat} of every file, each in its own JVM with
 * {@code -Xmx256m} and a 10 s limit. Each image must either be read or be refused with exit status
 * 1 or 3 and one clear line on stderr; never a stack trace, a hang, or a changed byte in the image.
 */
class CorpusWalkTest {
    private static final long LIMIT_SECONDS = 10;

    static Stream<Path> images() throws IOException {
        Path corpus = corpusDir();
        if (corpus == null) {
            System.out.println("SKIP: shared/corpus/e2fsprogs not found beside the project");
            return Stream.of((Path) null);
        }
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> s = Files.list(corpus)) {
            s.filter(d -> Files.exists(d.resolve("image.gz"))).sorted().forEach(dirs::add);
        }
        return dirs.stream();
    }

    private static Path corpusDir() {
        for (String c : List.of("../shared/corpus/e2fsprogs", "shared/corpus/e2fsprogs")) {
            Path p = Path.of(c).toAbsolutePath().normalize();
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void walkIsBoundedAndClean(Path dir, @TempDir Path tmp) throws Exception {
        assumeTrue(dir != null, "corpus not present");
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
            if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("no answer within " + LIMIT_SECONDS + " s: " + mainAndArgs);
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
