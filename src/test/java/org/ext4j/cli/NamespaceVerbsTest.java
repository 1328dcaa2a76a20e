package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The namespace verbs and {@code shell}: one script run by {@code ext4j shell} on an image and by
 * coreutils (and xfs_io, setfattr) on a kernel mount of a copy ends in the same tree as the kernel
 * shows it (names, types, modes, owners, link counts, times that the script set, sizes, contents,
 * symlink targets, xattrs); refusals exit with the verb's status, name the errno, and leave the
 * image's bytes as they were; {@code df} reports what the kernel's statfs reports.
 */
@ExtendWith(SkippedChecks.class)
class NamespaceVerbsTest {
    @TempDir
    Path tmp;

    /** Lines run as they are by both: ext4j shell verbs and the same coreutils commands. */
    private static final List<String> SCRIPT = List.of(
            "mkdir -p a/b/c d",
            "mkdir -m 0750 e",
            "touch -d '2021-02-03 04:05:06.123456789' a/f",
            "touch d/empty",
            "ln -s ../f a/b/l",
            "ln -s " + "x".repeat(300) + " long-link",
            "ln a/f a/g",
            "ln a/f d",
            "chmod 4755 a/f",
            "chmod g+w,o-r a/b",
            "chown 1000:100 a/g",
            "chown :44 d/empty",
            "truncate -s 5K a/h",
            "truncate -s 0 a/h",
            "truncate -s 70000 a/t",
            "mv a/b a/B",
            "mv d/f e",
            "mv a/h d",
            "rm a/g",
            "rmdir a/B/c",
            "mkdir -p x/y/z",
            "touch x/y/z/f1 x/y/z/f2",
            "rm -r x",
            "rm -f does-not-exist",
            "touch -d @1600000000.5 e/f",
            "touch -d @1500000000 a");

    private Path image(Path at) throws IOException {
        Tools.mkfs(at, 32L << 20, List.of("-b", "4096"), null);
        return at;
    }

    @Test
    void shellEndsInTheTreeCoreutilsMakeOnAKernelMount() throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "setfattr", "xfs_io");
        Path ours = image(tmp.resolve("ours.img"));
        Path theirs = tmp.resolve("theirs.img");
        Files.copy(ours, theirs);
        List<String> extra = List.of(
                "io a/data -f -c 'pwrite -S 0x61 0 10000' -c 'pwrite -S 0x62 300000 5000'",
                "xattr set a/f user.note hello",
                "xattr set d/empty user.bin 0x00ff10",
                "xattr set a/data trusted.big " + "0x" + "ab".repeat(3000),
                "xattr rm a/data trusted.big",
                "xattr set a/data security.x yes");
        List<String> coreutilsExtra = List.of(
                "xfs_io -f -c 'pwrite -S 0x61 0 10000' -c 'pwrite -S 0x62 300000 5000' a/data > /dev/null",
                "setfattr -n user.note -v hello a/f",
                "setfattr -n user.bin -v 0x00ff10 d/empty",
                "setfattr -n trusted.big -v 0x" + "ab".repeat(3000) + " a/data",
                "setfattr -x trusted.big a/data",
                "setfattr -n security.x -v yes a/data");
        Path script = tmp.resolve("script");
        Files.write(script, concat(SCRIPT, extra));
        Result r = Tools.ext4j("shell", ours.toString(), "-f", script.toString());
        assertEquals(0, r.exit(), r.stderr() + r.stdout());
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());

        Path sh = tmp.resolve("coreutils.sh");
        Files.writeString(sh, "set -e\nexport TZ=UTC\n" + String.join("\n", concat(SCRIPT, coreutilsExtra)) + "\n");
        try (Tools.Mount m = Tools.Mount.of(theirs, false)) {
            Tools.run(List.of("sh", "-c", "cd '" + m.dir() + "' && sh '" + sh + "'")).ok();
        }
        assertEquals(dump(theirs), dump(ours));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new java.util.ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** The kernel's view of an image: every name with its attributes, the times of files and symlinks, contents and xattrs. */
    private Path dumper;

    private String dump(Path img) throws IOException {
        if (dumper == null) {
            dumper = tmp.resolve("dump.sh");
            Files.writeString(dumper, "cd \"$1\" && find . -path ./lost+found -prune -o -printf '%p %y %m %U:%G %n %s %l "
                    + "%T@\\n' | sort && find . -type f ! -path './lost+found/*' -exec sha256sum {} + | sort && "
                    + "(getfattr -R -P -h -d -m - -e hex --absolute-names . 2>/dev/null || true)\n");
        }
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            String out = Tools.run("sh", dumper.toString(), m.dir().toString()).ok().stdout();
            // times are the operations' own instants, which two runs cannot share, except where the script set them
            return out.lines().map(l -> l.matches("\\./[ae]/f f .*") || !l.startsWith(".") ? l : l.replaceAll(" \\S+$", ""))
                    .reduce("", (x, y) -> x + y + "\n");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "mkdir IMG a|1|EEXIST",
        "mkdir IMG nope/x|1|no such file",
        "rmdir IMG a|1|ENOTEMPTY",
        "rmdir IMG a/file|1|ENOTDIR",
        "rmdir IMG a/.|1|EINVAL",
        "rm IMG a|1|is a directory",
        "ln IMG a a2|1|EPERM",
        "ln IMG a/file a/file|1|EEXIST",
        "mv IMG a a/sub/inner|1|EINVAL",
        "mv --no-replace IMG a/file a/file2|1|EEXIST",
        "mv --exchange IMG a/file a/missing|1|ENOENT",
        "mv IMG a/file a/sub|1|into",
        "chmod IMG 99x a|2|invalid mode",
        "chown IMG root a|2|invalid owner",
        "touch -d yesterday IMG a/file|2|invalid time",
        "truncate -s 1Q IMG a/file|2|invalid size",
        "truncate -s 10 IMG a|1|EISDIR",
        "xattr set IMG a/file bogus.name v|2|EOPNOTSUPP",
        "xattr set --create IMG a/file user.one v|1|exists",
        "xattr rm IMG a/file user.none|1|ENODATA",
    })
    void refusalsExitWithTheirStatusAndChangeNothing(String command, int exit, String message) throws Exception {
        Path img = image(tmp.resolve("r.img"));
        Tools.ext4j("shell", img.toString(), "-f", write("mkdir -p a/sub/inner a/other\ntouch a/file a/file2\nxattr set a/file user.one 1\n")).ok();
        byte[] before = Files.readAllBytes(img);
        String[] argv = command.replace("IMG", img.toString()).split(" ");
        Result r = Tools.ext4j(argv);
        if (command.startsWith("mv IMG a/file a/sub")) {
            assertEquals(0, r.exit(), "mv into an existing directory moves into it: " + r.stderr());
            assertTrue(Tools.ext4j("ls", img.toString(), "/a/sub").ok().stdout().contains("file"));
            return;
        }
        assertEquals(exit, r.exit(), r.stderr());
        assertTrue(r.stderr().contains(message), "stderr names the problem (" + message + "): " + r.stderr());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertArrayEquals(before, Files.readAllBytes(img), "a refused " + argv[0] + " changed the image");
    }

    private String write(String text) throws IOException {
        Path p = Files.createTempFile(tmp, "script", ".txt");
        Files.writeString(p, text);
        return p.toString();
    }

    @Test
    void shellStopsAtTheFirstErrorWithItsLineAndStatus() throws Exception {
        Path img = image(tmp.resolve("s.img"));
        String script = write("# a comment\nmkdir one\necho \"reached two\"\nmkdir one\nmkdir three\n");
        Result r = Tools.ext4j("shell", img.toString(), "-f", script);
        assertEquals(1, r.exit(), r.stderr());
        assertEquals("reached two\n", r.stdout());
        assertTrue(r.stderr().startsWith("ext4j shell: line 4: mkdir: "), r.stderr());
        assertTrue(r.stderr().contains("EEXIST"), r.stderr());
        String ls = Tools.ext4j("ls", img.toString(), "/").ok().stdout();
        assertTrue(ls.contains("one") && !ls.contains("three"), ls);
        Result usage = Tools.ext4j("shell", img.toString(), "-f", write("mkdir --bogus x\n"));
        assertEquals(2, usage.exit(), usage.stderr());
        assertTrue(usage.stderr().startsWith("ext4j shell: line 1: mkdir: "), usage.stderr());
        Result notInShell = Tools.ext4j("shell", img.toString(), "-f", write("race R1\n"));
        assertEquals(2, notInShell.exit(), notInShell.stderr());
        assertTrue(Tools.fsck(img).exit() == 0);
    }

    @Test
    void shellReadsStandardInput() throws Exception {
        Path img = image(tmp.resolve("in.img"));
        Result r = Tools.run(List.of("sh", "-c", "printf 'mkdir from-stdin\\necho done\\n' | '"
                + Path.of(System.getProperty("java.home"), "bin", "java") + "' -cp '" + System.getProperty("java.class.path")
                + "' org.ext4j.cli.Main shell '" + img + "'"));
        assertEquals(0, r.exit(), r.stderr());
        assertEquals("done\n", r.stdout());
        assertTrue(Tools.ext4j("ls", img.toString(), "/").ok().stdout().contains("from-stdin"));
    }

    @Test
    void dfReportsWhatTheKernelsStatfsReports() throws Exception {
        Tools.requireRootAndLoop();
        for (List<String> options : List.of(List.of("-b", "4096"), List.of("-b", "1024", "-O", "^has_journal"),
                List.of("-t", "ext3"))) {
            Path img = tmp.resolve("df" + options.hashCode() + ".img");
            Tools.mkfs(img, 64L << 20, options, null);
            Tools.ext4j("shell", img.toString(), "-f", write("mkdir d\ntruncate -s 300K d/f\nio d/g -f -c 'pwrite 0 200k'\n")).ok();
            String ours = Tools.ext4j("df", img.toString()).ok().stdout();
            String kernel;
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                String[] f = Tools.run("stat", "-f", "-c", "%S %b %f %a %c %d", m.dir().toString()).ok().stdout().strip().split(" ");
                kernel = "Block size: " + f[0] + "\nBlocks: Total: " + f[1] + " Free: " + f[2] + " Available: " + f[3]
                        + "\nInodes: Total: " + f[4] + " Free: " + f[5] + "\n";
            }
            assertTrue(ours.startsWith(kernel), options + ": the kernel's statfs\n" + kernel + "ext4j df\n" + ours);
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
