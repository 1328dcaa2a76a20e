package org.ext4j.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the external judges and fixture builders (mkfs.ext4, debugfs, e2fsck, mount) from tests.
 * Tests that need a tool, root or loop devices call the {@code require*} methods, which skip the test
 * with a printed reason where they are missing, as on a user's laptop; on CI they are present.
 */
public final class Tools {
    private Tools() {
    }

    /** Output and exit status of a finished command. */
    public record Result(int exit, String stdout, String stderr) {
        public Result ok() {
            if (exit != 0) {
                throw new AssertionError("command failed with exit " + exit + ": " + stderr + stdout);
            }
            return this;
        }
    }

    public static Result run(List<String> cmd) throws IOException {
        return run(cmd, 600);
    }

    public static Result run(List<String> cmd, long timeoutSeconds) throws IOException {
        Path out = Files.createTempFile("ext4j-cmd", ".out");
        Path err = Files.createTempFile("ext4j-cmd", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out after " + timeoutSeconds + " s: " + cmd);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                    Files.readString(err, StandardCharsets.ISO_8859_1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + cmd, e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    public static Result run(String... cmd) throws IOException {
        return run(List.of(cmd));
    }

    /**
     * Runs the {@code ext4j} command line in a child JVM on the test class path, exactly as a user's
     * script would (stdout is captured byte for byte: decode it as ISO-8859-1 to get the raw bytes).
     */
    public static Result ext4j(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.ext4j.cli.Main"));
        cmd.addAll(List.of(args));
        return run(cmd, 300);
    }

    public static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        for (String dir : List.of("/sbin", "/usr/sbin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Skips the calling test, with the reason printed, unless every tool is installed. */
    public static void requireTools(String... tools) {
        for (String t : tools) {
            boolean present = onPath(t);
            if (!present) {
                System.out.println("SKIP: " + t + " is not installed");
            }
            assumeTrue(present, t + " is not installed");
        }
    }

    public static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Skips unless running as root with a working loop device (kernel mounts of images). */
    public static void requireRootAndLoop() throws IOException {
        boolean root = isRoot();
        if (!root) {
            System.out.println("SKIP: not root: kernel loop mounts need root");
        }
        assumeTrue(root, "not root: kernel loop mounts need root");
        requireTools("losetup", "mount", "umount");
        boolean loop = run("losetup", "-f").exit() == 0;
        if (!loop) {
            System.out.println("SKIP: no free loop device");
        }
        assumeTrue(loop, "no free loop device");
    }

    /**
     * Makes an ext4 image of {@code sizeBytes} with {@code mkfs.ext4 -q -F} plus {@code options},
     * populated from {@code source} with {@code -d} when it is not null.
     */
    public static void mkfs(Path image, long sizeBytes, List<String> options, Path source) throws IOException {
        requireTools("mkfs.ext4");
        List<String> cmd = new ArrayList<>(List.of("mkfs.ext4", "-q", "-F"));
        cmd.addAll(options);
        if (source != null) {
            cmd.add("-d");
            cmd.add(source.toString());
        }
        cmd.add(image.toString());
        cmd.add(Long.toString(sizeBytes / 1024) + "k");
        Result r = run(cmd);
        if (r.exit() != 0) {
            throw new IOException("mkfs.ext4 failed (" + r.exit() + "): " + r.stderr() + " for " + cmd);
        }
    }

    /** Runs {@code e2fsck -fn} and returns its result (exit 0 means no problem found). */
    public static Result fsck(Path image) throws IOException {
        requireTools("e2fsck");
        return run("e2fsck", "-fn", image.toString());
    }

    /** A kernel loop mount of an image, unmounted on close. */
    public static final class Mount implements AutoCloseable {
        private final Path dir;

        private Mount(Path dir) {
            this.dir = dir;
        }

        public static Mount of(Path image, boolean readOnly) throws IOException {
            requireRootAndLoop();
            Path dir = Files.createTempDirectory("ext4j-mnt");
            Result r = run("mount", "-t", "ext4", "-o", "loop" + (readOnly ? ",ro" : ""), image.toString(), dir.toString());
            if (r.exit() != 0) {
                Files.deleteIfExists(dir);
                throw new IOException("mount failed: " + r.stderr());
            }
            return new Mount(dir);
        }

        public Path dir() {
            return dir;
        }

        @Override
        public void close() throws IOException {
            run("sync");
            Result r = run("umount", dir.toString());
            if (r.exit() != 0) {
                throw new IOException("umount failed: " + r.stderr());
            }
            Files.deleteIfExists(dir);
        }
    }
}
