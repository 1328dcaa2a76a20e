package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A random namespace workload (create, mkdir, mknod, symlink, link, unlink, rmdir, rename in its
 * three modes, chmod, chown, utimens, writes, truncates) applied to one image by ext4j and to a
 * copy of it by the kernel through a loop mount: every operation must get the kernel's answer
 * (success or the same errno), {@code e2fsck -fn} must find nothing in ext4j's image, and the
 * kernel must then show the same tree in both (names, types, modes, owners, link counts and
 * hard-link groups, sizes and contents, symlink targets, device numbers).
 */
@ExtendWith(SkippedChecks.class)
class NamespaceWorkloadTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} seed {1}")
    @CsvSource({
        "'-b 4096', 1", "'-b 4096', 2",
        "'-b 1024', 3",
        "'-O ^metadata_csum -b 4096', 4",
        "'-I 128 -b 2048', 5",
        "'-t ext3 -b 4096', 6",
        "'-t ext2 -b 1024', 7",
        "'-O large_dir -b 1024', 8",
        "'-O inline_data -b 4096', 9",
        "'-O inline_data -b 1024', 10",
    })
    void ext4jAnswersAndEndsAsTheKernel(String options, long seed) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        Path base = dir.resolve("base.img");
        Tools.mkfs(base, 16L << 20, List.of(options.split(" ")), null);
        Path ours = dir.resolve("ext4j.img");
        Path theirs = dir.resolve("kernel.img");
        Files.copy(base, ours);
        Files.copy(base, theirs, StandardCopyOption.REPLACE_EXISTING);
        int bs = Integer.parseInt(options.replaceAll(".*-b (\\d+).*", "$1"));
        int total = Integer.getInteger("ext4j.ns.ops", 400);
        Path script = NamespaceOps.script(dir);
        List<String> ops = new ArrayList<>();
        List<String> kernel = new ArrayList<>();
        java.util.Random rnd = new java.util.Random(seed);
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            // in chunks, each generated from the names the kernel's tree holds now
            while (ops.size() < total) {
                List<String> chunk = NamespaceOps.generate(rnd, Math.min(200, total - ops.size()), bs,
                        ops.isEmpty() ? List.of() : NamespaceOps.paths(script, m.dir()), ops.isEmpty());
                kernel.addAll(NamespaceOps.onKernel(script, m.dir(), chunk));
                ops.addAll(chunk);
            }
        }
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(ours, WriteOptions.defaults())) {
            for (int i = 0; i < ops.size(); i++) {
                String answer = NamespaceOps.apply(fs, ops.get(i));
                if (!answer.equals(kernel.get(i))) {
                    assertEquals(kernel.get(i), answer, "op " + i + ": " + shorten(ops.get(i)) + "\nthe tree before it, as ext4j left it:\n"
                            + NamespaceOps.tree(fs));
                }
            }
        }
        System.out.println("workload " + options + " seed " + seed + ": " + ops.size() + " operations, "
                + kernel.stream().filter("ok"::equals).count() + " succeeded, the rest refused as the kernel refused them");
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn of ext4j's image:\n" + fsck.stdout());
        String expected;
        String actual;
        try (Tools.Mount m = Tools.Mount.of(theirs, true)) {
            expected = NamespaceOps.dump(script, m.dir());
        }
        try (Tools.Mount m = Tools.Mount.of(ours, true)) {
            actual = NamespaceOps.dump(script, m.dir());
        }
        if (!expected.equals(actual)) {
            java.util.Set<String> e = new java.util.LinkedHashSet<>(expected.lines().toList());
            java.util.Set<String> a = new java.util.LinkedHashSet<>(actual.lines().toList());
            StringBuilder diff = new StringBuilder();
            e.stream().filter(l -> !a.contains(l)).forEach(l -> diff.append("- ").append(shorten(l)).append('\n'));
            a.stream().filter(l -> !e.contains(l)).forEach(l -> diff.append("+ ").append(shorten(l)).append('\n'));
            throw new AssertionError("the kernel's view of ext4j's tree (-) differs from its view of its own (+):\n" + diff);
        }
    }

    /**
     * The kernel and ext4j take turns on one image (ext4j a round, a read-write kernel mount the
     * next), while the kernel alone runs the same operations on a copy: every answer must be the
     * kernel's, {@code e2fsck -fn} clean after every round, and both trees the same at the end.
     */
    @ParameterizedTest(name = "{0} seed {1}")
    @CsvSource({"'-b 4096', 21", "'-O inline_data -b 1024', 22", "'-t ext3 -b 2048', 23"})
    void roundsAlternateWithTheKernel(String options, long seed) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        Path shared = dir.resolve("shared.img");
        Path kernelOnly = dir.resolve("kernel-only.img");
        Tools.mkfs(shared, 16L << 20, List.of(options.split(" ")), null);
        Files.copy(shared, kernelOnly, StandardCopyOption.REPLACE_EXISTING);
        int bs = Integer.parseInt(options.replaceAll(".*-b (\\d+).*", "$1"));
        List<String> ops = NamespaceOps.generate(seed, 600, bs);
        Path script = NamespaceOps.script(dir);
        List<String> expected;
        try (Tools.Mount m = Tools.Mount.of(kernelOnly, false)) {
            expected = NamespaceOps.onKernel(script, m.dir(), ops);
        }
        int round = 100;
        for (int from = 0; from < ops.size(); from += round) {
            List<String> batch = ops.subList(from, Math.min(ops.size(), from + round));
            List<String> answers = new ArrayList<>();
            boolean ext4j = (from / round) % 2 == 0;
            if (ext4j) {
                try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(shared, WriteOptions.defaults())) {
                    for (String op : batch) {
                        answers.add(NamespaceOps.apply(fs, op));
                    }
                }
            } else {
                try (Tools.Mount m = Tools.Mount.of(shared, false)) {
                    answers.addAll(NamespaceOps.onKernel(script, m.dir(), batch));
                }
            }
            for (int i = 0; i < batch.size(); i++) {
                assertEquals(expected.get(from + i), answers.get(i), (ext4j ? "ext4j" : "the kernel") + ", op " + (from + i)
                        + ": " + shorten(batch.get(i)));
            }
            Tools.Result fsck = Tools.fsck(shared);
            assertEquals(0, fsck.exit(), "e2fsck -fn after the round from op " + from + " by " + (ext4j ? "ext4j" : "the kernel")
                    + ":\n" + fsck.stdout());
        }
        String a;
        String b;
        try (Tools.Mount m = Tools.Mount.of(kernelOnly, true)) {
            a = NamespaceOps.dump(script, m.dir());
        }
        try (Tools.Mount m = Tools.Mount.of(shared, true)) {
            b = NamespaceOps.dump(script, m.dir());
        }
        assertEquals(a, b, "the tree the kernel and ext4j built in turns");
    }

    private static String shorten(String op) {
        return op.length() > 160 ? op.substring(0, 160) + "..." : op;
    }
}
