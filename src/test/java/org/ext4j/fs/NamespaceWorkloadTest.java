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
        List<String> ops = NamespaceOps.generate(seed, 400, bs);
        Path script = NamespaceOps.script(dir);

        List<String> kernel;
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            kernel = NamespaceOps.onKernel(script, m.dir(), ops);
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

    private static String shorten(String op) {
        return op.length() > 160 ? op.substring(0, 160) + "..." : op;
    }
}
