package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DxHash;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.testing.DirDamage;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 8's directory damage, each recipe built at test time on a {@code mkfs.ext4 -d} image of a
 * small tree ({@code /file}, {@code /sub/inner}, and {@code /big}, indexed by {@code e2fsck -fD}),
 * with and without metadata_csum, over 1 KiB and 4 KiB blocks, and a two-level {@code /big} on
 * 1 KiB blocks. Inode fields are damaged with {@code debugfs -w -R "sif ..."}; directory blocks
 * with {@link DirDamage}, which recomputes their checksums with ext4j's codecs so that the damage
 * under test is the one intended.
 *
 * <p>Each test asserts ext4j's answer through the command line (exit 1, one line naming the
 * directory's inode and what is wrong, the image unchanged; or, where the kernel falls back to a
 * linear scan, every name listed and found, exit 0) and the kernel's (a read-only loop mount:
 * the error {@code ls}, {@code cat} or {@code stat} report, or the listing it gives). Where ext4j
 * follows e2fsck rather than the kernel, {@code e2fsck -fn} is asserted to report the damage.
 * Without root the kernel cannot be asked: a test then ends skipped, with a SKIP line, after its
 * ext4j and e2fsck assertions have run.
 */
class DirectoryDamageTest {
    private static final int BIG_NAMES = 1000;
    private static final int DEEP_NAMES = 800;

    @TempDir
    static Path dir;

    private static final Map<String, Path> BASES = new HashMap<>();
    private static int copies;

    @BeforeAll
    static void tools() {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck");
    }

    static Stream<String> configs() {
        return Stream.of("csum-4k", "nocsum-4k", "csum-1k", "nocsum-1k");
    }

    static Stream<String> deepConfigs() {
        return Stream.of("csum-1k-2level", "nocsum-1k-2level");
    }

    /** The clean image of {@code config}, made once. */
    private static synchronized Path base(String config) throws IOException {
        Path p = BASES.get(config);
        if (p != null) {
            return p;
        }
        boolean deep = config.endsWith("2level");
        Path src = Files.createDirectories(dir.resolve("src-" + config));
        Files.writeString(src.resolve("file"), "hello\n");
        Files.createDirectories(src.resolve("sub"));
        Files.writeString(src.resolve("sub/inner"), "world\n");
        Path big = Files.createDirectories(src.resolve("big"));
        for (String n : bigNames(deep)) {
            Files.createFile(big.resolve(n));
        }
        List<String> opts = new ArrayList<>(List.of("-b", config.contains("-1k") ? "1024" : "4096"));
        if (config.startsWith("nocsum")) {
            opts.addAll(List.of("-O", "^metadata_csum"));
        }
        p = dir.resolve(config + ".img");
        Tools.mkfs(p, 16L << 20, opts, src);
        Tools.Result r = Tools.run("e2fsck", "-fyD", p.toString());
        assertTrue(r.exit() <= 1, "e2fsck -fyD: " + r.stdout() + r.stderr());
        assertEquals(0, Tools.fsck(p).exit(), "the base image is clean");
        DirDamage d = DirDamage.of(p, "/big");
        int levels = Le.u8(d.read(0), DxNode.ROOT_INFO_OFFSET + 6);
        assertEquals(deep ? 1 : 0, levels, config + ": /big's index levels");
        BASES.put(config, p);
        return p;
    }

    private static List<String> bigNames(boolean deep) {
        List<String> names = new ArrayList<>();
        int n = deep ? DEEP_NAMES : BIG_NAMES;
        for (int i = 0; i < n; i++) {
            names.add(deep ? "n".repeat(195) + "_" + i : "name-" + i);
        }
        return names;
    }

    /** A fresh copy of the clean image of {@code config}, to damage. */
    private static synchronized Path copy(String config) throws IOException {
        Path to = dir.resolve("t" + copies++ + "-" + config + ".img");
        Files.copy(base(config), to, StandardCopyOption.REPLACE_EXISTING);
        return to;
    }

    private static void sif(Path img, String path, String field, String value) throws IOException {
        Tools.run("debugfs", "-w", "-R", "sif " + path + " " + field + " " + value, img.toString()).ok();
    }

    // ------------------------------------------------------------------ judges

    private static byte[] digest(Path img) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(img));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code ext4j args...} (the image is {@code img}), expects exit 1 with one line on stderr
     * holding every one of {@code expect}, and the image unchanged; returns the line.
     */
    private static String refused(Path img, List<String> expect, String... args) throws IOException {
        byte[] before = digest(img);
        Tools.Result r = Tools.ext4j(args);
        String err = r.stderr().strip();
        assertEquals(1, r.exit(), "exit status of ext4j " + String.join(" ", args) + ": " + r.stderr() + r.stdout());
        assertEquals(1, err.split("\n").length, "one line: " + err);
        for (String e : expect) {
            assertTrue(err.contains(e), "\"" + e + "\" in: " + err);
        }
        assertFalse(err.contains("Exception"), err);
        assertArrayEquals(before, digest(img), "ext4j " + args[0] + " changed the image");
        return err;
    }

    /** The names {@code ext4j ls} gives for {@code path} (exit 0 expected), the image unchanged. */
    private static Set<String> ext4jLists(Path img, String path) throws IOException {
        byte[] before = digest(img);
        Tools.Result r = Tools.ext4j("ls", img.toString(), path);
        assertEquals(0, r.exit(), "ext4j ls " + path + ": " + r.stderr());
        assertEquals("", r.stderr());
        assertArrayEquals(before, digest(img));
        return new TreeSet<>(Arrays.asList(r.stdout().split("\n")));
    }

    /** Runs {@code cmd} (each "@" replaced by the mount point) on a read-only kernel mount of {@code img}. */
    private static Tools.Result kernel(Path img, String... cmd) throws IOException {
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            List<String> c = new ArrayList<>();
            for (String s : cmd) {
                c.add(s.replace("@", m.dir().toString()));
            }
            return Tools.run(c);
        }
    }

    private static void kernelFails(Path img, String error, String... cmd) throws IOException {
        Tools.Result r = kernel(img, cmd);
        assertNotEquals(0, r.exit(), "the kernel's " + String.join(" ", cmd) + " succeeded: " + r.stdout());
        assertTrue(r.stderr().contains(error), "kernel: \"" + error + "\" in: " + r.stderr());
    }

    /** e2fsck -fn reports the damage ({@code text} in its output, exit 4). */
    private static void e2fsckReports(Path img, String text) throws IOException {
        Tools.Result r = Tools.fsck(img);
        assertEquals(4, r.exit(), "e2fsck -fn: " + r.stdout());
        assertTrue(r.stdout().contains(text), "e2fsck: \"" + text + "\" in: " + r.stdout());
    }

    private static long ino(Path img, String path) throws IOException {
        return DirDamage.of(img, path).ino;
    }

    // ------------------------------------------------------------------ defect 2: a hole at block 0

    /**
     * {@code sif / block[3] 2147483648}: the root's one extent now starts at logical block 2^31,
     * leaving block 0 a hole. ext4j listed nothing and extracted nothing, exit 0. The kernel's
     * readdir fails ("Directory hole found for htree leaf block 0"; its lookups answer ENOENT).
     */
    @ParameterizedTest
    @MethodSource("configs")
    void holeAtBlockZero(String config) throws IOException {
        Path img = copy(config);
        sif(img, "/", "block[3]", "2147483648");
        List<String> what = List.of("bad directory", "directory block 0", "is a hole", "inode 2");
        refused(img, what, "ls", img.toString(), "/");
        refused(img, what, "cat", img.toString(), "/file");
        Path out = dir.resolve("get-" + img.getFileName());
        refused(img, what, "get", img.toString(), "/", out.toString());
        Tools.Result k = Tools.ext4j("get", "-k", img.toString(), "/", dir.resolve("getk-" + img.getFileName()).toString());
        assertEquals(1, k.exit(), k.stderr());
        assertTrue(k.stderr().contains("is a hole"), k.stderr());
        kernelFails(img, "Structure needs cleaning", "ls", "-a", "@");
        kernelFails(img, "No such file or directory", "cat", "@/file");
    }

    // ------------------------------------------------------------------ defect 3: the htree root's checksum

    /**
     * A flipped byte in the dx_tail of {@code /big}'s root: ext4j's listing used to ignore it while
     * lookups failed. Both paths now fail with the checksum, as the kernel's do ("Bad message").
     */
    @ParameterizedTest
    @ValueSource(strings = {"csum-4k", "csum-1k"})
    void htreeRootChecksumFailsListingAndLookup(String config) throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, "/big");
        d.edit(0, b -> b[b.length - 1] ^= 0x40); // the dx_tail's checksum
        List<String> what = List.of("checksum mismatch", "htree root", "inode " + d.ino, "block " + d.pblk(0));
        refused(img, what, "ls", img.toString(), "/big");
        refused(img, what, "cat", img.toString(), "/big/name-7");
        refused(img, what, "stat", img.toString(), "/big/name-8");
        kernelFails(img, "Bad message", "ls", "-a", "@/big");
        kernelFails(img, "Bad message", "cat", "@/big/name-7");
    }

    // ------------------------------------------------------------------ minor: i_size

    /**
     * {@code sif / size 2}: ext4j listed every name. The kernel reads a directory only up to i_size:
     * {@code ls -a} shows "." alone, lookups find nothing, no error. e2fsck: "i_size is 2, should
     * be ...". ext4j follows e2fsck and reports it (a directory's i_size is a positive multiple of
     * the block size), rather than answer with a directory that seems empty.
     */
    @ParameterizedTest
    @MethodSource("configs")
    void sizeThatIsNoWholeNumberOfBlocks(String config) throws IOException {
        Path img = copy(config);
        sif(img, "/", "size", "2");
        List<String> what = List.of("bad directory", "i_size 2 is not a positive multiple of the block size", "inode 2");
        refused(img, what, "ls", img.toString(), "/");
        refused(img, what, "cat", img.toString(), "/file");
        e2fsckReports(img, "i_size is 2, should be");
        Tools.Result k = kernel(img, "ls", "-a", "@");
        assertEquals(0, k.exit(), k.stderr());
        assertEquals(".\n", k.stdout());
        kernelFails(img, "No such file or directory", "cat", "@/file");
    }

    /**
     * i_size one block short of /big's blocks: the kernel fails reading the blocks the index
     * points at past i_size ("Attempting to read directory block ... past i_size"), and so does ext4j.
     */
    @ParameterizedTest
    @MethodSource("configs")
    void htreeBlocksPastISize(String config) throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, "/big");
        sif(img, "/big", "size", Long.toString((d.blocks() - 1) * d.blockSize));
        refused(img, List.of("bad directory", "past i_size", "inode " + d.ino), "ls", img.toString(), "/big");
        kernelFails(img, "Structure needs cleaning", "ls", "-a", "@/big");
    }

    // ------------------------------------------------------------------ minor: "." and ".."

    /**
     * A directory record of the root renamed "." (checksum recomputed): ext4j's listing dropped it as
     * it drops "." and "..", so the directory it names vanished from {@code ls} and {@code get}
     * without a report. The kernel's readdir shows "." twice and the name is gone (its lookup answers
     * ENOENT); e2fsck reports a duplicate '.' entry. ext4j follows e2fsck: any "." or ".." but the
     * first two records of block 0 is corruption.
     */
    @ParameterizedTest
    @MethodSource("configs")
    void duplicateDotHidingADirectory(String config) throws IOException {
        Path img = copy(config);
        DirDamage root = DirDamage.of(img, "/");
        String hidden = null;
        for (String n : List.of("sub", "big", "lost+found")) {
            int off = root.recordOffset(0, n);
            byte[] b = root.read(0);
            int end = root.csum ? b.length - DirEntry.TAIL_SIZE : b.length;
            if (off > 0 && off + DirEntry.recLenFromDisk(Le.u16(b, off + 4), b.length) < end) {
                hidden = n; // not the block's last record, where the kernel refuses a "." itself
                int at = off;
                root.editLeaf(0, x -> DirDamage.rename(x, at, "."));
                break;
            }
        }
        assertNotNull(hidden, "a directory record that is not the last one in the root's block");
        List<String> what = List.of("bad directory", "a second \".\" record", "inode 2", "block " + root.pblk(0));
        refused(img, what, "ls", img.toString(), "/");
        Path out = dir.resolve("get-" + img.getFileName());
        refused(img, what, "get", img.toString(), "/", out.toString());
        e2fsckReports(img, "duplicate '.' entry");
        Tools.Result k = kernel(img, "ls", "-a", "@");
        assertEquals(0, k.exit(), k.stderr());
        List<String> listed = Arrays.asList(k.stdout().split("\n"));
        assertEquals(2, listed.stream().filter("."::equals).count(), "the kernel lists \".\" twice: " + listed);
        assertFalse(listed.contains(hidden), listed.toString());
        kernelFails(img, "No such file or directory", "stat", "@/" + hidden);
    }

    /** One damage to {@code /sub}'s block ("." "..", "inner"), what ext4j says, and what e2fsck says. */
    record DotCase(String name, String ext4j, String e2fsck) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> dotCases() {
        List<Arguments> out = new ArrayList<>();
        for (String config : List.of("csum-4k", "nocsum-1k")) {
            out.add(Arguments.of(config, new DotCase("first record renamed", "its first record is not \".\"",
                    "should be '.'")));
            out.add(Arguments.of(config, new DotCase("\".\" names the parent", "\".\" points at inode 2",
                    "Invalid inode number for '.'")));
            out.add(Arguments.of(config, new DotCase("second record renamed", "its second record is not \"..\"",
                    "should be '..'")));
            out.add(Arguments.of(config, new DotCase("\"..\" unused", "its second record is not \"..\"",
                    "Missing '..'")));
            out.add(Arguments.of(config, new DotCase("a second \"..\"", "a second \"..\" record",
                    "duplicate '..' entry")));
            out.add(Arguments.of(config, new DotCase("a record naming the directory", "names the directory itself",
                    "is a link to '.'")));
        }
        return out.stream();
    }

    /**
     * "." and ".." as e2fsck checks them ({@code check_dot}, {@code check_dotdot}, duplicate entries,
     * {@code PR_2_LINK_DOT}); the kernel's readdir lists such a directory without a word (its lookup
     * refuses only a name linked to its own directory). ext4j follows e2fsck, on listing and lookup.
     */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("dotCases")
    void dotAndDotDot(String config, DotCase c) throws IOException {
        Path img = copy(config);
        DirDamage sub = DirDamage.of(img, "/sub");
        int dotdot = sub.recordOffset(0, "..");
        int inner = sub.recordOffset(0, "inner");
        Consumer<byte[]> edit = switch (c.name) {
            case "first record renamed" -> b -> DirDamage.rename(b, 0, "x");
            case "\".\" names the parent" -> b -> Le.put32(b, 0, 2);
            case "second record renamed" -> b -> DirDamage.rename(b, dotdot, "xy");
            case "\"..\" unused" -> b -> Le.put32(b, dotdot, 0);
            case "a second \"..\"" -> b -> DirDamage.rename(b, inner, "..");
            default -> b -> Le.put32(b, inner, sub.ino);
        };
        sub.editLeaf(0, edit);
        List<String> what = List.of("bad directory", c.ext4j, "inode " + sub.ino, "block " + sub.pblk(0));
        refused(img, what, "ls", img.toString(), "/sub");
        refused(img, what, "stat", img.toString(), "/sub/inner");
        e2fsckReports(img, c.e2fsck);
        Tools.Result k = kernel(img, "ls", "-a", "@/sub");
        assertEquals(0, k.exit(), "the kernel lists /sub: " + k.stderr());
        if (c.name.equals("a record naming the directory")) {
            kernelFails(img, "Structure needs cleaning", "stat", "@/sub/inner");
        }
    }

    /** {@code get -k} reports a damaged directory and extracts the rest. */
    @ParameterizedTest
    @ValueSource(strings = {"csum-4k", "nocsum-1k"})
    void getKeepGoingReportsADamagedDirectoryAndGoesOn(String config) throws IOException {
        Path img = copy(config);
        DirDamage sub = DirDamage.of(img, "/sub");
        int inner = sub.recordOffset(0, "inner");
        sub.editLeaf(0, b -> DirDamage.rename(b, inner, "."));
        byte[] before = digest(img);
        Path out = dir.resolve("getk-" + img.getFileName());
        Tools.Result r = Tools.ext4j("get", "-k", img.toString(), "/", out.toString());
        assertEquals(1, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("sub: bad directory: directory block 0: a second \".\" record"), r.stderr());
        assertTrue(r.stderr().contains("1 damaged"), r.stderr());
        assertEquals("hello\n", Files.readString(out.resolve("file")));
        try (Stream<Path> big = Files.list(out.resolve("big"))) {
            assertEquals(BIG_NAMES, big.count());
        }
        assertArrayEquals(before, digest(img));
    }

    // ------------------------------------------------------------------ writes into a damaged directory

    static Stream<Arguments> writeCases() {
        List<Arguments> out = new ArrayList<>();
        for (String config : List.of("csum-4k", "nocsum-1k")) {
            out.add(Arguments.of(config, "a hole at block 0 of /", "/", "is a hole"));
            out.add(Arguments.of(config, "i_size 2 of /sub", "/sub", "i_size 2 is not a positive multiple"));
            out.add(Arguments.of(config, "no \"..\" in /sub", "/sub", "its second record is not \"..\""));
            out.add(Arguments.of(config, "a bad leaf of /big", "/big", config.startsWith("csum")
                    ? "checksum mismatch" : "runs past the end of the block"));
        }
        out.add(Arguments.of("csum-4k", "the htree root's checksum of /big", "/big", "checksum mismatch: htree root"));
        return out.stream();
    }

    /**
     * {@code rm} and a file created by {@code io -f} in a damaged directory: DirectoryWriter reads
     * the directory as listing does and refuses before it changes anything (the primary superblock
     * aside, which a read-write open updates).
     */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("writeCases")
    void writesIntoADamagedDirectoryAreRefused(String config, String damage, String dirPath, String error)
            throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, dirPath);
        String victim = switch (dirPath) {
            case "/" -> "/file";
            case "/sub" -> "/sub/inner";
            default -> "/big/" + firstName(d.read(1));
        };
        switch (damage) {
            case "a hole at block 0 of /" -> sif(img, "/", "block[3]", "2147483648");
            case "i_size 2 of /sub" -> sif(img, "/sub", "size", "2");
            case "no \"..\" in /sub" -> {
                int dotdot = d.recordOffset(0, "..");
                d.editLeaf(0, b -> DirDamage.rename(b, dotdot, "xy"));
            }
            case "a bad leaf of /big" -> {
                if (d.csum) {
                    d.edit(1, b -> b[20] ^= 0x01);
                } else {
                    d.edit(1, b -> Le.put16(b, 4, b.length + 4));
                }
            }
            default -> d.edit(0, b -> b[b.length - 1] ^= 0x40);
        }
        List<List<String>> cmds = new ArrayList<>(List.of(List.of("rm", img.toString(), victim)));
        if (!damage.equals("a bad leaf of /big")) { // a new name lands in the leaf its hash picks
            cmds.add(List.of("io", "-f", "-c", "pwrite 0 10", img.toString(), dirPath.replaceAll("/$", "") + "/new-file"));
        }
        for (List<String> cmd : cmds) {
            byte[] before = Files.readAllBytes(img);
            Tools.Result r = Tools.ext4j(cmd.toArray(String[]::new));
            assertEquals(1, r.exit(), cmd + ": " + r.stderr());
            assertTrue(r.stderr().contains(error) && r.stderr().contains("inode " + d.ino), r.stderr());
            assertEquals(1, r.stderr().strip().split("\n").length, r.stderr());
            byte[] after = Files.readAllBytes(img);
            for (int i = 0; i < before.length; i++) {
                if (before[i] != after[i] && (i < 1024 || i >= 2048)) {
                    throw new AssertionError(cmd + " changed byte " + i + " outside the primary superblock");
                }
            }
        }
    }

    /** The name of the first live record of a leaf block. */
    private static String firstName(byte[] b) {
        int off = 0;
        while (Le.u32(b, off) == 0) {
            off += DirEntry.recLenFromDisk(Le.u16(b, off + 4), b.length);
        }
        return new String(b, off + DirEntry.HEADER_SIZE, Le.u8(b, off + 6), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ records and leaves

    /**
     * A record of the root whose rec_len crosses the end of the block (nocsum) or a leaf whose
     * checksum tail is gone (csum). The kernel's readdir logs the bad record and silently skips the
     * rest of the block (a listing with names missing, exit 0); a block without its tail fails its
     * read ("Bad message"). ext4j reports both.
     */
    @ParameterizedTest
    @MethodSource("configs")
    void recordsCrossingTheBlockEndOrNoTail(String config) throws IOException {
        Path img = copy(config);
        DirDamage root = DirDamage.of(img, "/");
        int last = -1;
        byte[] b0 = root.read(0);
        int end = root.csum ? b0.length - DirEntry.TAIL_SIZE : b0.length;
        for (int off = 0; off < end; off += DirEntry.recLenFromDisk(Le.u16(b0, off + 4), b0.length)) {
            last = off;
        }
        int lastRec = last;
        if (root.csum) {
            // the last record takes the tail's 12 bytes: no tail, no checksum (as a leaf written
            // before metadata_csum was turned on without e2fsck -D)
            root.edit(0, b -> {
                Arrays.fill(b, b.length - DirEntry.TAIL_SIZE, b.length, (byte) 0);
                Le.put16(b, lastRec + 4, b.length - lastRec);
            });
            refused(img, List.of("checksum", "directory block 0 has no checksum tail", "inode 2"), "ls",
                    img.toString(), "/");
            kernelFails(img, "Bad message", "ls", "-a", "@");
        } else {
            root.edit(0, b -> Le.put16(b, lastRec + 4, b.length - lastRec + 4));
            refused(img, List.of("bad directory entry", "runs past the end of the block", "inode 2"), "ls",
                    img.toString(), "/");
            Tools.Result k = kernel(img, "ls", "-a", "@");
            assertEquals(0, k.exit(), "the kernel lists what comes before the bad record: " + k.stderr());
        }
    }

    /** A leaf of /big with a flipped byte: its checksum fails, in the kernel and in ext4j. */
    @ParameterizedTest
    @ValueSource(strings = {"csum-4k", "csum-1k"})
    void leafChecksum(String config) throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, "/big");
        d.edit(1, b -> b[20] ^= 0x01);
        refused(img, List.of("checksum mismatch", "directory block", "inode " + d.ino, "block " + d.pblk(1)), "ls",
                img.toString(), "/big");
        kernelFails(img, "Bad message", "ls", "-a", "@/big");
    }

    // ------------------------------------------------------------------ the index: fatal damage

    /** /big's index, its first node (two-level configs), and the names /big holds. */
    private record Index(DirDamage d, long node, byte[] root) {
        static Index of(Path img) throws IOException {
            DirDamage d = DirDamage.of(img, "/big");
            byte[] root = d.read(0);
            return new Index(d, DxNodeWriter.block(root, DxNode.ROOT_ENTRIES_OFFSET, 1), root);
        }
    }

    static Stream<Arguments> fatalIndexDamage() {
        List<Arguments> out = new ArrayList<>();
        for (String config : List.of("csum-1k-2level", "nocsum-1k-2level")) {
            if (config.startsWith("csum")) {
                out.add(Arguments.of(config, "node checksum", "Bad message", "checksum mismatch"));
                out.add(Arguments.of(config, "node limit past the tail", "Bad message", "no room for the dx_tail"));
            }
            out.add(Arguments.of(config, "node that is a leaf", "Structure needs cleaning",
                    "a leaf block where an index block must be"));
            out.add(Arguments.of(config, "node is a hole", "Structure needs cleaning", "(an htree node) is a hole"));
            out.add(Arguments.of(config, "leaf is a hole", "Structure needs cleaning", "(an htree leaf) is a hole"));
            out.add(Arguments.of(config, "pointer past i_size", "Structure needs cleaning", "past i_size"));
        }
        return out.stream();
    }

    /**
     * Damage the kernel does not fall back on, in a node of a two-level index: every path that
     * reads the node fails, listing and lookup alike, in the kernel and in ext4j.
     */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("fatalIndexDamage")
    void fatalIndexDamage(String config, String damage, String kernelError, String ext4jError) throws IOException {
        Path img = copy(config);
        Index x = Index.of(img);
        DirDamage d = x.d;
        long node = x.node;
        switch (damage) {
            case "node checksum" -> d.edit(node, b -> b[DxNode.NODE_ENTRIES_OFFSET + 12] ^= 0x01);
            case "node limit past the tail" -> d.edit(node, b -> DxNodeWriter.setLimit(b, DxNode.NODE_ENTRIES_OFFSET,
                    DxNodeWriter.nodeLimit(b.length, false)));
            case "node that is a leaf" -> d.editIndex(node, b -> Le.put16(b, 4, 12));
            case "node is a hole" -> Tools.run("debugfs", "-w", "-R", "punch /big " + node + " " + node,
                    img.toString()).ok();
            case "leaf is a hole" -> {
                long leaf = DxNodeWriter.block(d.read(node), DxNode.NODE_ENTRIES_OFFSET, 0);
                Tools.run("debugfs", "-w", "-R", "punch /big " + leaf + " " + leaf, img.toString()).ok();
            }
            default -> d.editIndex(node, b -> DxNodeWriter.setBlock(b, DxNode.NODE_ENTRIES_OFFSET, 1, d.blocks() + 5));
        }
        refused(img, List.of(ext4jError, "inode " + d.ino), "ls", img.toString(), "/big");
        // a name whose leaf hangs below the damaged node (every name hashes somewhere; look them all up)
        Set<String> failing = new TreeSet<>();
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            Directory big = new Directory(fs.volume(), fs.inode(d.ino));
            for (String n : bigNames(true)) {
                try {
                    big.lookup(n.getBytes(StandardCharsets.UTF_8));
                } catch (org.ext4j.error.CorruptionException e) {
                    assertTrue(e.getMessage().contains(ext4jError), e.getMessage());
                    failing.add(n);
                }
            }
        }
        assertFalse(failing.isEmpty(), "some lookups pass through the damaged node");
        String one = failing.iterator().next();
        refused(img, List.of(ext4jError, "inode " + d.ino), "stat", img.toString(), "/big/" + one);
        kernelFails(img, kernelError, "ls", "-a", "@/big");
        kernelFails(img, kernelError, "stat", "@/big/" + one);
    }

    /**
     * Two index entries pointing at one leaf (e2fsck: "referenced twice"): the kernel does not check
     * it, lists that leaf's names and loses those of the leaf no longer pointed at, and its lookups
     * miss them too. ext4j's listing, which reads the whole index, reports it; its lookups, which
     * see one path, answer as the kernel's do.
     */
    @ParameterizedTest
    @MethodSource("configs")
    void leafPointedAtTwice(String config) throws IOException {
        Path img = copy(config);
        Index x = Index.of(img);
        int r = DxNode.ROOT_ENTRIES_OFFSET;
        long lost = DxNodeWriter.block(x.root, r, 2);
        x.d.editIndex(0, b -> DxNodeWriter.setBlock(b, r, 2, DxNodeWriter.block(b, r, 1)));
        refused(img, List.of("bad directory", "the htree points at directory block "
                + DxNodeWriter.block(x.root, r, 1) + " more than once", "inode " + x.d.ino), "ls", img.toString(), "/big");
        e2fsckReports(img, "block #" + lost + " not referenced");
        Tools.Result k = kernel(img, "ls", "-a", "@/big");
        assertEquals(0, k.exit(), k.stderr());
        Set<String> listed = new TreeSet<>(Arrays.asList(k.stdout().split("\n")));
        assertTrue(listed.size() - 2 < BIG_NAMES, "the kernel loses names: it lists " + (listed.size() - 2));
    }

    // ------------------------------------------------------------------ names and inodes the kernel cannot reach

    /**
     * A name in an htree leaf changed in place (its checksum recomputed): it now hashes outside the
     * range its leaf's index entry gives, so the kernel's lookup of it probes another leaf (not found)
     * and its listing, which resumes by hash, may drop it. ext4j's listing reports the name as e2fsck
     * does ("bad min/max hash"), instead of returning one the kernel cannot. Found by the
     * random-damage harness.
     */
    @ParameterizedTest
    @ValueSource(strings = {"csum-4k", "nocsum-1k"})
    void aNameHashingOutsideItsLeafIsReported(String config) throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, "/big");
        byte[] root = d.read(0);
        int r = DxNode.ROOT_ENTRIES_OFFSET;
        long leaf = DxNodeWriter.block(root, r, 1); // a leaf with a lower bound
        long min = DxNodeWriter.hash(root, r, 1) & ~1L;
        long max = DxNodeWriter.count(root, r) > 2 ? DxNodeWriter.hash(root, r, 2) & ~1L : 0xFFFFFFFEL;
        Superblock sb;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            sb = fs.superblock();
        }
        int version = DxNode.rootInfo(root).hashVersion();
        if (version <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
            version += 3;
        }
        // "name-N" -> "?ame-N" (same length), for the first name of the leaf and first letter whose
        // hash lands outside the leaf's range: mkfs draws a new hash seed each run, so it is computed
        int off = -1;
        String renamed = null;
        for (String name : bigNames(false)) {
            int o = d.recordOffset(leaf, name);
            for (char c = 'a'; o >= 0 && renamed == null && c <= 'z'; c++) {
                byte[] n = (c + name.substring(1)).getBytes(StandardCharsets.ISO_8859_1);
                long h = DxHash.hash(n, 0, n.length, version, sb.hashSeed).major() & 0xFFFFFFFEL;
                if (h < min || h > max) {
                    off = o;
                    renamed = c + name.substring(1);
                }
            }
            if (renamed != null) {
                break;
            }
        }
        assertTrue(renamed != null, "fixture: a name in leaf " + leaf + " that can be renamed out of its range");
        int at = off;
        char first = renamed.charAt(0);
        d.editLeaf(leaf, b -> b[at + DirEntry.HEADER_SIZE] = (byte) first);
        refused(img, List.of("hashes to", "outside the leaf's range", "inode " + d.ino), "ls", img.toString(), "/big");
        e2fsckReports(img, "hash");
        kernelFails(img, "No such file or directory", "stat", "@/big/" + renamed);
    }

    /**
     * A directory entry pointing at a reserved inode (here the journal, inode 8): the kernel's
     * {@code __ext4_iget} refuses it ("illegal inode #", EUCLEAN), so the journal's blocks are never
     * handed out as the file's bytes; ext4j refuses it the same way on every path that follows a name.
     * Found by the random-damage harness.
     */
    @ParameterizedTest
    @ValueSource(strings = {"csum-4k", "nocsum-1k"})
    void aNameOfAReservedInodeIsRefused(String config) throws IOException {
        Path img = copy(config);
        DirDamage d = DirDamage.of(img, "/");
        int off = d.recordOffset(0, "file");
        assertTrue(off >= 0, "fixture: /file in the root's first block");
        d.editLeaf(0, b -> Le.put32(b, off, 8));
        List<String> what = List.of("names \"file\"", "inode 8 is reserved");
        refused(img, what, "cat", img.toString(), "/file");
        refused(img, what, "stat", img.toString(), "/file");
        refused(img, what, "ls", "-l", img.toString(), "/");
        kernelFails(img, "Structure needs cleaning", "cat", "@/file");
    }

    // ------------------------------------------------------------------ the index: the kernel falls back

    static Stream<Arguments> malformedIndex() {
        List<Arguments> out = new ArrayList<>();
        for (String config : List.of("csum-4k", "nocsum-4k", "csum-1k", "nocsum-1k")) {
            for (String damage : List.of("root count 0", "root limit", "hash version 7", "hash flags 1",
                    "indirect levels 2", "hashes out of order", "pointer to the root")) {
                out.add(Arguments.of(config, damage));
            }
        }
        for (String config : List.of("csum-1k-2level", "nocsum-1k-2level")) {
            for (String damage : List.of("node count 0", "node limit", "node points at itself", "node hashes out of order")) {
                out.add(Arguments.of(config, damage));
            }
        }
        return out.stream();
    }

    /**
     * A malformed index whose checksum (recomputed) is good. Where the kernel's {@code dx_probe}
     * returns {@code ERR_BAD_DX_DIR} on its path (count, limit, hash version, flags, depth, a cycle),
     * the kernel's readers fall back to a linear scan and so does ext4j: for listing that is the
     * probe for hash 0 (the root and the leftmost path), for a lookup the path of the name's hash;
     * there every name is listed and found, exit 0. Damage the probe does not meet (a node off the
     * leftmost path, an entry pointing back at the root) the kernel's listing walks without checks,
     * losing names (counted below), so ext4j's listing reports it; lookups whose own probe meets it
     * fall back and find their name. Hashes out of order, which the kernel does not check at all (its
     * binary search goes astray), are reported by every reader that meets them; e2fsck reports them too.
     */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("malformedIndex")
    void malformedIndexIsReadAsTheKernelReadsItOrReported(String config, String damage) throws IOException {
        Path img = copy(config);
        Index x = Index.of(img);
        DirDamage d = x.d;
        int r = DxNode.ROOT_ENTRIES_OFFSET;
        int n = DxNode.NODE_ENTRIES_OFFSET;
        boolean deep = config.endsWith("2level");
        assertTrue(deep || DxNodeWriter.count(x.root, r) >= 3, "fixture: /big's root has 3 entries or more");
        boolean listingFallsBack = true; // the probe for hash 0 meets the damage
        boolean unsorted = false;
        switch (damage) {
            case "root count 0" -> d.editIndex(0, b -> DxNodeWriter.setCount(b, r, 0));
            case "root limit" -> d.editIndex(0, b -> DxNodeWriter.setLimit(b, r, DxNodeWriter.limit(b, r) - 1));
            case "hash version 7" -> d.editIndex(0, b -> b[DxNode.ROOT_INFO_OFFSET + 4] = 7);
            case "hash flags 1" -> d.editIndex(0, b -> b[DxNode.ROOT_INFO_OFFSET + 7] = 1);
            case "indirect levels 2" -> d.editIndex(0, b -> b[DxNode.ROOT_INFO_OFFSET + 6] = 2);
            case "pointer to the root" -> {
                listingFallsBack = false;
                d.editIndex(0, b -> DxNodeWriter.setBlock(b, r, 2, 0));
            }
            case "hashes out of order" -> {
                unsorted = true;
                d.editIndex(0, b -> DxNodeWriter.setHash(b, r, 1, DxNodeWriter.hash(b, r, 2) + 2));
            }
            case "node count 0" -> {
                listingFallsBack = false;
                d.editIndex(x.node, b -> DxNodeWriter.setCount(b, n, 0));
            }
            case "node limit" -> {
                listingFallsBack = false;
                d.editIndex(x.node, b -> DxNodeWriter.setLimit(b, n, DxNodeWriter.limit(b, n) - 1));
            }
            case "node points at itself" -> {
                listingFallsBack = false;
                d.editIndex(x.node, b -> DxNodeWriter.setBlock(b, n, 1, x.node));
            }
            default -> {
                unsorted = true;
                d.editIndex(x.node, b -> DxNodeWriter.setHash(b, n, 1, DxNodeWriter.hash(b, n, 2) + 2));
            }
        }
        Set<String> want = new TreeSet<>(bigNames(deep));
        if (listingFallsBack && !unsorted) {
            assertEquals(want, ext4jLists(img, "/big"));
        } else {
            refused(img, List.of(unsorted ? "not sorted" : "htree", "inode " + d.ino), "ls", img.toString(), "/big");
        }
        Map<String, Long> found = new TreeMap<>();
        int reported = 0;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            Directory big = new Directory(fs.volume(), fs.inode(d.ino));
            for (String name : want) {
                DirEntry e;
                try {
                    e = big.lookup(name.getBytes(StandardCharsets.UTF_8));
                } catch (CorruptionException c) {
                    assertTrue(unsorted, name + ": only unsorted hashes are reported on lookup: " + c.getMessage());
                    assertTrue(c.getMessage().contains("not sorted"), c.getMessage());
                    reported++;
                    continue;
                }
                assertNotNull(e, "ext4j finds " + name + " or reports the damage, never misses it");
                found.put(name, e.inode());
            }
            if (!unsorted) {
                assertEquals(2, big.lookup(new byte[] {'.', '.'}).inode());
                assertEquals(null, big.lookup("no-such-name".getBytes(StandardCharsets.UTF_8)));
            }
        }
        assertTrue(!unsorted || reported > 0, "unsorted hashes are met by some lookups");
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            Tools.Result k = Tools.run("ls", "-a", m.dir().resolve("big").toString());
            assertEquals(0, k.exit(), "the kernel lists /big: " + k.stderr());
            Set<String> listed = new TreeSet<>(Arrays.asList(k.stdout().split("\n")));
            listed.removeAll(List.of(".", ".."));
            assertTrue(want.containsAll(listed), "the kernel lists no name /big does not hold");
            System.out.printf("%s, %s: the kernel lists %d of %d names%n", config, damage, listed.size(), want.size());
            if (listingFallsBack && !unsorted) {
                assertEquals(want, listed, "the kernel's listing fell back as ext4j's did");
            }
            if (!unsorted) {
                int i = 0;
                for (Map.Entry<String, Long> e : found.entrySet()) {
                    if (i++ % 20 == 0) {
                        Object kino = Files.getAttribute(m.dir().resolve("big").resolve(e.getKey()), "unix:ino");
                        assertEquals(e.getValue(), ((Number) kino).longValue(), "the kernel finds " + e.getKey());
                    }
                }
            }
        }
    }
}
