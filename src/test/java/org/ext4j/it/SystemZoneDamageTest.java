package org.ext4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.ext4j.format.GoldenImage;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 8, defect 1: a file's mapping into file system metadata (the system zone), made with
 * {@code debugfs -w} on {@code mkfs.ext4 -d} images: an extent into the inode table, an extent index
 * into a block bitmap, an extent into the journal, an ext3 indirect pointer into the group
 * descriptor table, a double-indirect block in an inode table, an xattr block in a bitmap, and a
 * directory's extent into the inode table. For each: what {@code ext4j cat}/{@code stat}/{@code ls}/
 * {@code get} answer (exit 1 with one line naming the inode, the logical block and the physical
 * block, or as the kernel does where it reads), that the image did not change, that {@code rm} and
 * {@code io} refuse before changing anything but the primary superblock, and what the kernel answers
 * through a read-only loop mount of a copy.
 */
class SystemZoneDamageTest {

    @TempDir
    static Path dir;

    private static Path ext4Small;
    private static Path ext4Csum;
    private static Path ext3;

    @BeforeAll
    static void images() throws IOException {
        GoldenImage.requireTools();
        Path src = Files.createDirectories(dir.resolve("src"));
        Random rnd = new Random(8);
        byte[] file = new byte[20000];
        rnd.nextBytes(file); // not zeros: mkfs -d would store those as holes
        Files.write(src.resolve("file"), file);
        Files.createDirectories(src.resolve("dir"));
        Files.writeString(src.resolve("dir/a"), "in the directory\n");
        byte[] big = new byte[300 * 1024]; // past 12 + 256 blocks of 1 KiB: single and double indirect
        rnd.nextBytes(big);
        Files.write(src.resolve("big"), big);
        // eight 4 KiB pieces with holes between: more extents than i_block holds, so a depth-1 tree
        try (var ch = Files.newByteChannel(src.resolve("frag"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            for (int i = 0; i < 8; i++) {
                byte[] piece = new byte[4096];
                rnd.nextBytes(piece);
                ch.position(i * 3L * 4096);
                ch.write(java.nio.ByteBuffer.wrap(piece));
            }
        }
        ext4Small = GoldenImage.mkfs(dir, "ext4-1k.img", "64M", List.of("-b", "1024", "-O", "^metadata_csum"), null, src);
        ext4Csum = GoldenImage.mkfs(dir, "ext4-4k-csum.img", "32M", List.of("-b", "4096"), null, src);
        ext3 = GoldenImage.mkfs(dir, "ext3-1k.img", "24M", List.of("-t", "ext3", "-b", "1024"), null, src);
        assertTrue(GoldenImage.debugfs(ext4Small, "ex /frag").contains(" 0/ 1 "), "/frag has a depth-1 tree");
    }

    /** What the kernel answers for cat, stat and ls of the damaged path. */
    enum Kernel {
        /** Every access fails with EUCLEAN: the inode is refused when it is loaded (iget). */
        REFUSES,
        /** stat and ls succeed; cat fails with EIO (the kernel reads the map block, then rejects its contents). */
        CAT_EIO,
        /** The kernel reads the file: the metadata block it follows happens to look like a valid map. */
        READS
    }

    /**
     * One damage: the image, the path, the debugfs field set to a block chosen from the geometry,
     * the logical block the error must name (-1: none, for an xattr block), and the answers.
     */
    record Recipe(String name, String image, String path, String field, String target, long logical,
            boolean ext4jStatReadsTheMap, Kernel kernel, boolean writesChecked) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Recipe> recipes() {
        return Stream.of(
                // i_block[3..5] of a depth-0 root: ee_block, ee_len|ee_start_hi, ee_start_lo
                new Recipe("extent into the inode table", "ext4-1k", "/file", "block[5]", "itable+2", 0, false,
                        Kernel.REFUSES, true),
                new Recipe("extent into the inode table, metadata_csum", "ext4-4k-csum", "/file", "block[5]",
                        "itable+2", 0, false, Kernel.REFUSES, true),
                // i_block[4] of a depth-1 root: the first index's ei_leaf_lo
                new Recipe("extent index into a block bitmap", "ext4-1k", "/frag", "block[4]", "block-bitmap", 0,
                        false, Kernel.REFUSES, true),
                new Recipe("extent into the journal", "ext4-1k", "/file", "block[5]", "journal+200", 0, false,
                        Kernel.REFUSES, true),
                new Recipe("ext3 indirect pointer into the descriptor table", "ext3-1k", "/big", "block[IND]", "gdt", 12,
                        true, Kernel.CAT_EIO, false),
                new Recipe("ext3 double-indirect block in the inode table", "ext3-1k", "/big", "block[DIND]",
                        "itable+1", 12 + 256, true, Kernel.READS, false),
                new Recipe("xattr block in a block bitmap", "ext4-1k", "/file", "file_acl", "block-bitmap", -1, false,
                        Kernel.REFUSES, true),
                // 64 MiB of 1 KiB blocks: eight groups, a backup superblock in group 7, which older
                // kernels' zone left out (groups below 5 and multiples of the flex size only); the
                // kernel this was written against (6.18) protects it, as ext4j does
                new Recipe("extent onto the backup superblock of group 7", "ext4-1k", "/file", "block[5]",
                        "backup-7", 0, false, Kernel.REFUSES, true),
                // not in the kernel's zone: the kernel hands out the block list as the file's bytes
                new Recipe("extent onto the resize inode's double-indirect block", "ext4-1k", "/file", "block[5]",
                        "resize-dind", 0, false, Kernel.READS, true),
                new Recipe("directory extent into the inode table", "ext4-1k", "/dir", "block[5]", "itable+3", 0, false,
                        Kernel.REFUSES, false),
                new Recipe("directory extent into the inode table, metadata_csum", "ext4-4k-csum", "/dir", "block[5]",
                        "itable+3", 0, false, Kernel.REFUSES, false));
    }

    private static Path base(String name) {
        return switch (name) {
            case "ext4-1k" -> ext4Small;
            case "ext4-4k-csum" -> ext4Csum;
            case "ext3-1k" -> ext3;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** The block a target names, from dumpe2fs and debugfs of the undamaged image. */
    private static long block(Path img, String target) throws IOException {
        Superblock sb = GoldenImage.superblock(img);
        GoldenImage.Group g0 = GoldenImage.dumpe2fsGroups(img).get(0);
        if (target.startsWith("itable+")) {
            return g0.inodeTable() + Long.parseLong(target.substring("itable+".length()));
        }
        if (target.equals("block-bitmap")) {
            return g0.blockBitmap();
        }
        if (target.equals("backup-7")) {
            assertTrue(GoldenImage.run(List.of("dumpe2fs", img.toString())).contains(
                    "Backup superblock at " + sb.groupFirstBlock(7) + ","), "group 7 holds a backup superblock");
            return sb.groupFirstBlock(7);
        }
        if (target.equals("resize-dind")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(DIND\\):(\\d+)")
                    .matcher(GoldenImage.debugfs(img, "stat <7>"));
            assertTrue(m.find(), "the resize inode has a double-indirect block");
            return Long.parseLong(m.group(1));
        }
        if (target.equals("gdt")) {
            return Superblock.OFFSET / sb.blockSize + 1; // the first descriptor block, after the superblock's
        }
        if (target.startsWith("journal+")) {
            String[] blocks = GoldenImage.debugfs(img, "blocks <8>").trim().split("\\s+");
            return Long.parseLong(blocks[Integer.parseInt(target.substring("journal+".length()))]);
        }
        throw new IllegalArgumentException(target);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recipes")
    void mappingIntoMetadataIsCorruption(Recipe r, @TempDir Path tmp) throws IOException {
        Path base = base(r.image());
        Path img = tmp.resolve("damaged.img");
        Files.copy(base, img);
        long ino = GoldenImage.inodeNumber(img, r.path());
        long target = block(img, r.target());
        // the undamaged image reads: what fails below fails because of the damage
        assertEquals(0, Tools.ext4j("get", img.toString(), r.path(), tmp.resolve("before").toString()).exit());
        GoldenImage.debugfsWrite(img, "sif " + r.path() + " " + r.field() + " " + target);
        byte[] before = Files.readAllBytes(img);

        boolean isDir = r.path().equals("/dir");
        List<String> verbs = new ArrayList<>(List.of("stat", "ls", "get"));
        if (!isDir) {
            verbs.add(0, "cat");
        }
        for (String verb : verbs) {
            List<String> args = new ArrayList<>(List.of(verb, img.toString(), r.path()));
            if (verb.equals("get")) {
                args.add(tmp.resolve("out-" + verb).toString());
            }
            Result res = Tools.ext4j(args.toArray(String[]::new));
            boolean mayRead = verb.equals("ls") && !isDir && r.ext4jStatReadsTheMap(); // ls of a file stats it
            if (mayRead) {
                assertEquals(0, res.exit(), verb + " of a file whose i_block and inode are valid: " + res.stderr());
                continue;
            }
            assertNamesTheMapping(r, verb, res, ino, target);
        }
        assertArrayEquals(before, Files.readAllBytes(img), "a read changed the image");

        if (r.writesChecked()) {
            for (List<String> write : List.of(List.of("rm", r.path()),
                    List.of("io", r.path(), "-c", "pwrite 0 100"))) {
                Path copy = tmp.resolve("write.img");
                Files.copy(img, copy, StandardCopyOption.REPLACE_EXISTING);
                List<String> args = new ArrayList<>(List.of(write.get(0), copy.toString()));
                args.addAll(write.subList(1, write.size()));
                Result res = Tools.ext4j(args.toArray(String[]::new));
                assertNamesTheMapping(r, write.get(0), res, ino, target);
                assertSameOutsidePrimarySuperblock(before, Files.readAllBytes(copy), write.get(0));
            }
        }
        kernelAnswers(r, img);
    }

    private static void assertNamesTheMapping(Recipe r, String verb, Result res, long ino, long target) {
        assertEquals(1, res.exit(), verb + ": " + res.stderr());
        List<String> lines = res.stderr().lines().filter(l -> !l.contains("warning:")).toList();
        assertEquals(1, lines.size(), verb + ": one line: " + res.stderr());
        String line = lines.get(0);
        assertTrue(line.startsWith("ext4j " + verb + ": "), line);
        assertTrue(line.contains("block overlaps file system metadata"), line);
        assertTrue(line.contains("inode " + ino + ","), line);
        if (r.logical() >= 0) {
            assertTrue(line.contains("logical block " + r.logical() + ", physical block " + target + ")"), line);
        } else {
            assertTrue(line.contains("xattr block") && line.contains(", block " + target + ")"), line);
        }
        assertFalse(line.contains("\tat "), line);
    }

    /** A refused write may have counted a mount in the primary superblock (another part of issue 8), nothing else. */
    private static void assertSameOutsidePrimarySuperblock(byte[] before, byte[] after, String verb) {
        assertEquals(before.length, after.length);
        int sbStart = Superblock.OFFSET;
        int sbEnd = Superblock.OFFSET + Superblock.SIZE;
        assertArrayEquals(Arrays.copyOfRange(before, 0, sbStart), Arrays.copyOfRange(after, 0, sbStart),
                verb + " changed bytes before the superblock");
        for (int i = sbEnd; i < before.length; i++) {
            if (before[i] != after[i]) {
                throw new AssertionError(verb + " changed byte " + i + " (block " + i / 1024 + " of 1 KiB)");
            }
        }
    }

    /** The kernel's answer through a read-only loop mount of a copy. */
    private static void kernelAnswers(Recipe r, Path img) throws IOException {
        if (!Tools.isRoot()) {
            System.out.println("SKIP: not root: the kernel's answer to \"" + r.name() + "\" is not checked");
            return;
        }
        Tools.requireRootAndLoop();
        Path copy = Files.createTempFile("zone-kernel", ".img");
        Files.copy(img, copy, StandardCopyOption.REPLACE_EXISTING);
        try (Tools.Mount m = Tools.Mount.of(copy, true)) {
            Path p = m.dir().resolve(r.path().substring(1));
            boolean isDir = r.path().equals("/dir");
            Result stat = Tools.run("stat", p.toString());
            Result ls = Tools.run("ls", p.toString());
            Result cat = isDir ? null : Tools.run("cat", p.toString());
            switch (r.kernel()) {
                case REFUSES -> {
                    for (Result res : Stream.of(stat, ls, cat).filter(x -> x != null).toList()) {
                        assertTrue(res.exit() != 0 && res.stderr().contains("Structure needs cleaning"),
                                "kernel: " + res.stderr());
                    }
                }
                case CAT_EIO -> {
                    assertEquals(0, stat.exit(), stat.stderr());
                    assertEquals(0, ls.exit(), ls.stderr());
                    assertTrue(cat.exit() != 0 && cat.stderr().contains("Input/output error"), "kernel cat: " + cat.stderr());
                }
                case READS -> {
                    // the double-indirect recipe: the kernel reads an all-zero inode table block as a
                    // map of holes (it checks the pointers inside an indirect block, not the pointer to
                    // it); ext4j refuses the pointer itself, before reading metadata as a map. The
                    // resize inode recipe: the kernel's zone does not hold the resize inode's blocks,
                    // so it hands out its double-indirect block as the file's bytes
                    assertEquals(0, stat.exit(), stat.stderr());
                    assertEquals(0, cat.exit(), cat.stderr());
                }
            }
        } finally {
            Files.deleteIfExists(copy);
        }
    }
}
