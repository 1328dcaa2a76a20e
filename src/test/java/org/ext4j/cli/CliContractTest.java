package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's contract with users' scripts: verbs, exit statuses (0, 1, 2, 3), one-line
 * errors without stack traces, the journal warning, and that a read-only open never changes a byte.
 */
class CliContractTest {
    @TempDir
    Path tmp;

    private Path image(List<String> options) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello, ext4\n");
        Files.createDirectories(src.resolve("dir/sub"));
        byte[] data = new byte[70000];
        new java.util.Random(7).nextBytes(data); // not zeros: mkfs -d would store those as a hole
        Files.write(src.resolve("dir/sub/data.bin"), data);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 16 << 20, options, src);
        return img;
    }

    private static void assertOneLineError(Result r, int exit, String contains) {
        assertEquals(exit, r.exit(), r.stderr());
        assertTrue(r.stderr().contains(contains), "stderr should name the problem: " + r.stderr());
        assertFalse(r.stderr().contains("\tat "), "no stack trace without --debug: " + r.stderr());
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.stderr());
    }

    @Test
    void successfulVerbs() throws IOException {
        Path img = image(List.of());
        Result cat = Tools.ext4j("cat", img.toString(), "/hello.txt").ok();
        assertEquals("hello, ext4\n", cat.stdout());
        Result ls = Tools.ext4j("ls", img.toString(), "/").ok();
        assertEquals(List.of("dir", "hello.txt", "lost+found"), ls.stdout().lines().toList());
        Result info = Tools.ext4j("info", img.toString()).ok();
        assertTrue(info.stdout().contains("Filesystem magic number:  0xEF53"), info.stdout());
        Result stat = Tools.ext4j("stat", img.toString(), "/dir/sub/data.bin").ok();
        assertTrue(stat.stdout().contains("Size: 70000"), stat.stdout());
        assertTrue(stat.stdout().contains("written"), stat.stdout());
    }

    @Test
    void infoAgreesWithDumpe2fs() throws IOException {
        Path img = image(List.of());
        String ours = Tools.ext4j("info", "-h", img.toString()).ok().stdout();
        String theirs = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        for (String label : List.of("Filesystem UUID", "Filesystem features", "Inode count", "Block count",
                "Reserved block count", "Free blocks", "Free inodes", "First block", "Block size",
                "Reserved GDT blocks", "Blocks per group", "Inodes per group", "Inode blocks per group",
                "Flex block group size", "First inode", "Inode size", "Journal inode", "Default directory hash",
                "Directory Hash Seed", "Checksum type", "Checksum", "Group descriptor size")) {
            assertEquals(field(theirs, label), field(ours, label), label);
        }
    }

    private static String field(String text, String label) {
        return text.lines().filter(l -> l.startsWith(label + ":")).map(l -> l.substring(label.length() + 1).trim())
                .findFirst().orElse("<missing>");
    }

    @Test
    void missingPathIsStatusOne() throws IOException {
        Path img = image(List.of());
        assertOneLineError(Tools.ext4j("cat", img.toString(), "/nope"), 1, "/nope");
    }

    @Test
    void rmRemovesANameAndRefusesMissingNamesAndDirectories() throws IOException {
        Path img = image(List.of());
        assertEquals("", Tools.ext4j("rm", img.toString(), "/hello.txt").ok().stderr());
        assertEquals(List.of("dir", "lost+found"), Tools.ext4j("ls", img.toString(), "/").ok().stdout().lines().toList());
        assertOneLineError(Tools.ext4j("rm", img.toString(), "/hello.txt"), 1, "/hello.txt: no such file");
        assertOneLineError(Tools.ext4j("rm", img.toString(), "/dir/sub"), 1, "is a directory");
        assertOneLineError(Tools.ext4j("rm", tmp.resolve("absent.img").toString(), "/x"), 1, "absent.img");
        assertEquals(2, Tools.ext4j("rm", img.toString()).exit());
        Tools.ext4j("rm", img.toString(), "/dir/sub/data.bin").ok();
        assertEquals("", Tools.ext4j("ls", img.toString(), "/dir/sub").ok().stdout());
        Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
    }

    @Test
    void missingImageIsStatusOne() throws IOException {
        assertOneLineError(Tools.ext4j("ls", tmp.resolve("absent.img").toString(), "/"), 1, "absent.img");
    }

    @Test
    void usageErrorIsStatusTwo() throws IOException {
        assertEquals(2, Tools.ext4j("cat").exit());
        assertEquals(2, Tools.ext4j("frobnicate", "x").exit());
        assertEquals(2, Tools.ext4j("ls", "--no-such-flag", "x").exit());
    }

    @Test
    void unsupportedFeatureIsStatusThreeAndNamed() throws IOException {
        Path img = image(List.of("-O", "casefold"));
        assertOneLineError(Tools.ext4j("ls", img.toString(), "/"), 3, "casefold");
        Path enc = tmp.resolve("enc.img");
        Tools.mkfs(enc, 16 << 20, List.of("-O", "encrypt"), null);
        assertOneLineError(Tools.ext4j("ls", enc.toString(), "/"), 3, "encrypt");
    }

    @Test
    void zeroedSuperblockIsStatusOne() throws IOException {
        Path img = image(List.of());
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(1024);
            f.write(new byte[1024]);
        }
        assertOneLineError(Tools.ext4j("ls", img.toString(), "/"), 1, "magic");
    }

    @Test
    void truncatedImageIsStatusOne() throws IOException {
        Path img = image(List.of());
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertOneLineError(Tools.ext4j("ls", img.toString(), "/"), 1, "exceeds the device");
    }

    @Test
    void debugPrintsStackTrace() throws IOException {
        Path img = image(List.of());
        Result r = Tools.ext4j("cat", "--debug", img.toString(), "/nope");
        assertEquals(1, r.exit());
        assertTrue(r.stderr().contains("\tat "), r.stderr());
    }

    @Test
    void journalNeedingRecoveryOpensWithWarningAndIsNotTouched() throws IOException {
        Path img = image(List.of());
        Tools.run("debugfs", "-w", "-R", "feature needs_recovery", img.toString()).ok();
        byte[] before = Files.readAllBytes(img);
        Result r = Tools.ext4j("cat", img.toString(), "/hello.txt").ok();
        assertEquals("hello, ext4\n", r.stdout());
        assertTrue(r.stderr().contains("warning") && r.stderr().contains("journal needs recovery"), r.stderr());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(img)), "image changed");
    }

    @Test
    void getRefusesToOverwriteAndExtractsIntoDirectory() throws IOException {
        Path img = image(List.of());
        Path out = Files.createDirectories(tmp.resolve("out"));
        Tools.ext4j("get", img.toString(), "/dir", out.toString()).ok();
        assertEquals(70000, Files.size(out.resolve("dir/sub/data.bin")));
        Result again = Tools.ext4j("get", img.toString(), "/hello.txt", out.resolve("dir/sub/data.bin").toString());
        assertEquals(1, again.exit(), again.stderr());
        assertTrue(again.stderr().contains("already exists"), again.stderr());
        assertEquals(70000, Files.size(out.resolve("dir/sub/data.bin")), "existing file left alone");
        assertEquals("hello, ext4\n", new String(Files.readAllBytes(tmp.resolve("src/hello.txt")), StandardCharsets.UTF_8));
    }

    @Test
    void hostileNameCannotEscapeDestination() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("evil-src"));
        Files.writeString(src.resolve("zz_escape_zz"), "payload");
        Path img = tmp.resolve("evil.img");
        Tools.mkfs(img, 8 << 20, List.of("-O", "^metadata_csum"), src);
        byte[] b = Files.readAllBytes(img);
        byte[] name = "zz_escape_zz".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(b, name);
        assertTrue(at > 0, "name not found in image");
        byte[] evil = "../../escape".getBytes(StandardCharsets.US_ASCII); // same length
        System.arraycopy(evil, 0, b, at, evil.length);
        Files.write(img, b);

        Path out = tmp.resolve("deep/er/out");
        Files.createDirectories(out.getParent());
        Result r = Tools.ext4j("get", img.toString(), "/", out.toString());
        assertOneLineError(r, 1, "'/'");
        assertFalse(Files.exists(tmp.resolve("deep/escape")), "a file escaped the destination");
        Result keep = Tools.ext4j("get", "-k", img.toString(), "/", tmp.resolve("out2").toString());
        assertEquals(1, keep.exit(), keep.stderr());
        assertTrue(Files.isDirectory(tmp.resolve("out2/lost+found")), "the rest is extracted");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
