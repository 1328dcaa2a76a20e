package org.ext4j.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Runs the external judges and fixture builders (mkfs.ext4, debugfs, e2fsck, mount) from tests.
 * Tests that need a tool, root or loop devices call the {@code require*} methods, which skip the test
 * with a printed reason where they are missing, as on a user's laptop; on CI they are present.
 *
 * <p>A test that checks its result through a kernel mount after checking it through ext4j and
 * e2fsprogs wraps the mount in {@link #kernelCheck}: without root it prints
 * {@code SKIP (kernel check of ...): not root ...} and {@link SkippedChecks} ends the test as skipped
 * with that reason once everything else in it has passed, so the report never counts a check that
 * did not run. No test here installs software: a missing tool is a visible skip.
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
            if (!onPath(t)) {
                skip(t + " is not installed");
            }
        }
    }

    /**
     * Test switch: {@code -Dext4j.test.pretendNotRoot=true} makes the tests behave as for a user who is
     * not root (every root-only test and kernel check skipped, and saying so), to see from a root
     * shell what a newcomer sees. It changes nothing in ext4j itself, nor in the {@code ext4j} child
     * JVMs that tests start.
     */
    public static final String PRETEND_NOT_ROOT = "ext4j.test.pretendNotRoot";

    public static boolean isRoot() {
        if (Boolean.getBoolean(PRETEND_NOT_ROOT)) {
            return false;
        }
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Skips the calling test, with the reason printed, unless running as root; {@code why} says what needs it. */
    public static void requireRoot(String why) {
        if (!isRoot()) {
            skip("not root: " + why);
        }
    }

    /** Skips unless running as root with a working loop device (kernel mounts of images). */
    public static void requireRootAndLoop() throws IOException {
        String why = kernelUnavailable();
        if (why != null) {
            skip(why);
        }
    }

    /**
     * Why a kernel loop mount cannot be made here, or null when it can: root, the mount tools and a
     * free loop device.
     */
    public static String kernelUnavailable() throws IOException {
        if (!isRoot()) {
            return "not root: kernel loop mounts need root";
        }
        for (String t : List.of("losetup", "mount", "umount")) {
            if (!onPath(t)) {
                return t + " is not installed";
            }
        }
        if (run("losetup", "-f").exit() != 0) {
            return "no free loop device";
        }
        return null;
    }

    /** The body of a {@link #kernelCheck}. */
    @FunctionalInterface
    public interface Check {
        void run() throws Exception;
    }

    /**
     * Runs {@code check}, which reads the test's result through a kernel mount, where the kernel can
     * be asked; elsewhere prints {@code SKIP (kernel check of WHAT): WHY} and records the skip, so
     * that the test, once everything else in it has passed, ends as skipped with that reason instead
     * of passing as if the kernel had agreed. The test class must be registered with
     * {@link SkippedChecks} ({@code @ExtendWith}, or {@code @AddLifecycleHook} for jqwik); this
     * fails the test where it is not, root or not, so that a missing registration shows on CI.
     *
     * @param what what the kernel would have been asked, e.g. "/f's bytes"
     */
    public static void kernelCheck(String what, Check check) throws Exception {
        SkippedChecks.requireActive("kernel check of " + what);
        String why = kernelUnavailable();
        if (why != null) {
            skipCheck("kernel check of " + what, why);
            return;
        }
        check.run();
    }

    /**
     * Records that a part of the running test was left out, printed as {@code SKIP (WHAT): WHY}; the
     * test then ends as skipped with that reason (see {@link #kernelCheck}).
     */
    public static void skipCheck(String what, String why) {
        SkippedChecks.requireActive(what);
        System.out.println("SKIP (" + what + "): " + why);
        SkippedChecks.record(what, why);
    }

    private static void skip(String why) {
        System.out.println("SKIP: " + why);
        Assumptions.abort(why);
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

    /**
     * Fails unless {@code actual} has exactly {@code expected}'s lines, showing up to 20 lines only
     * {@code expected} has ("- ") and up to 20 only {@code actual} has ("+ ") after {@code what}.
     */
    public static void assertSameLines(String expected, String actual, String what) {
        if (expected.equals(actual)) {
            return;
        }
        java.util.Set<String> e = new java.util.LinkedHashSet<>(expected.lines().toList());
        java.util.Set<String> a = new java.util.LinkedHashSet<>(actual.lines().toList());
        StringBuilder diff = new StringBuilder();
        e.stream().filter(l -> !a.contains(l)).limit(20).forEach(l -> diff.append("- ").append(l).append('\n'));
        a.stream().filter(l -> !e.contains(l)).limit(20).forEach(l -> diff.append("+ ").append(l).append('\n'));
        throw new AssertionError(what + ":\n" + diff);
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

        /**
         * Unmounts; a mount another process still has open for a moment ("target is busy", such as
         * a concurrent scan of the temporary directory) is tried again for a few seconds.
         */
        @Override
        public void close() throws IOException {
            run("sync");
            Result r = run("umount", dir.toString());
            for (int attempt = 0; r.exit() != 0 && r.stderr().contains("busy") && attempt < 20; attempt++) {
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                r = run("umount", dir.toString());
            }
            if (r.exit() != 0) {
                throw new IOException("umount failed: " + r.stderr());
            }
            Files.deleteIfExists(dir);
        }
    }
}
