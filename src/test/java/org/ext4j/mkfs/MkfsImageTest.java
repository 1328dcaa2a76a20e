package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.ext4j.cli.Main;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What an image made by ext4j mkfs is good for: the kernel mounts it and writes to it, ext4j itself
 * opens it read-write and writes to it, and e2fsck finds nothing after either. And what a refused
 * mkfs leaves: nothing new, an existing image untouched, exit 2 for arguments and 3 for an
 * unsupported feature.
 */
@ExtendWith(SkippedChecks.class)
class MkfsImageTest {
    @TempDir
    Path tmp;

    private static int cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(out, err, args);
        System.out.print(err.toString(StandardCharsets.UTF_8));
        return exit;
    }

    private static void fsckClean(Path img) throws Exception {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), "e2fsck -fn:\n" + r.stdout() + r.stderr());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext4", "ext3", "ext2"})
    void theKernelMountsAndWritesIt(String type) throws Exception {
        Tools.requireTools("e2fsck");
        Path img = tmp.resolve("k.img");
        assertEquals(0, cli("mkfs", "-q", "-t", type, img.toString(), "256M"));
        fsckClean(img);
        Tools.kernelCheck("a " + type + " image made by ext4j mkfs, mounted, written and unmounted", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, false)) {
                assertTrue(Files.isDirectory(m.dir().resolve("lost+found")));
                Path d = Files.createDirectory(m.dir().resolve("d"));
                byte[] data = new byte[3 << 20];
                new java.util.Random(1).nextBytes(data);
                Files.write(d.resolve("f"), data);
                for (int i = 0; i < 200; i++) {
                    Files.writeString(d.resolve("n" + i), "x" + i);
                }
            }
            fsckClean(img);
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertEquals(3 << 20, Files.size(m.dir().resolve("d/f")));
                assertEquals("x199", Files.readString(m.dir().resolve("d/n199")));
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"64M", "1G", "64M -t ext2", "64M -t ext3 -b 2048", "64M -O ^metadata_csum,^64bit"})
    void ext4jOpensItReadWrite(String row) throws Exception {
        Tools.requireTools("e2fsck");
        Path img = tmp.resolve("rw.img");
        List<String> words = List.of(row.split(" "));
        String[] args = new String[words.size() + 3];
        args[0] = "mkfs";
        args[1] = "-q";
        for (int i = 1; i < words.size(); i++) {
            args[i + 1] = words.get(i);
        }
        args[words.size() + 1] = img.toString();
        args[words.size() + 2] = words.get(0);
        assertEquals(0, cli(args));
        byte[] data = new byte[200_000];
        new java.util.Random(2).nextBytes(data);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/dir", 0755);
            try (Ext4File f = fs.createFile("/dir/file", 0644)) {
                f.pwrite(0, data, 0, data.length);
            }
            try (Ext4File f = fs.createFile("/lost+found/x", 0600)) {
                f.pwrite(0, new byte[] {1, 2, 3}, 0, 3);
            }
        }
        fsckClean(img);
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            byte[] back = new byte[data.length];
            fs.read(fs.lookup("/dir/file"), 0, back, 0, back.length);
            assertArrayEquals(data, back);
        }
    }

    /** {@code mkfs -d}: the kernel's mount shows exactly the source tree, the root keeps root_owner. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext4", "ext3", "ext2"})
    void dashDCopiesTheTree(String type) throws Exception {
        Tools.requireRootAndLoop();
        Tools.requireTools("python3", "e2fsck");
        org.ext4j.testing.TreeGenerator.Tree tree = org.ext4j.testing.TreeGenerator.generate(
                Files.createDirectories(tmp.resolve("src")), new org.ext4j.testing.TreeGenerator.Options(7, 4096, false,
                        1500, true));
        Path img = tmp.resolve("d.img");
        assertEquals(0, cli("mkfs", "-q", "-t", type, "-b", "4096", "-E", "root_owner=1234:5678", "-d", tree.root().toString(),
                img.toString(), "128M"));
        fsckClean(img);
        String expected = dump(tree.root());
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            String actual = dump(m.dir()).lines().filter(l -> !l.startsWith("lost+found"))
                    .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
            Tools.assertSameLines(expected, actual, "the kernel's view of the image (+) differs from the source (-)");
            Map<String, Object> root = Files.readAttributes(m.dir(), "unix:uid,gid");
            assertEquals(1234, root.get("uid"));
            assertEquals(5678, root.get("gid"));
        }
    }

    @Test
    void dashDIntoTooSmallAnImageFailsAndLeavesTheImage() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("big"));
        byte[] data = new byte[1 << 20];
        new java.util.Random(3).nextBytes(data);
        for (int i = 0; i < 6; i++) {
            Files.write(src.resolve("f" + i), data);
        }
        Path img = tmp.resolve("small.img");
        Files.writeString(img, "old");
        assertEquals(1, cli("mkfs", "-q", "-d", src.toString(), img.toString(), "4M"));
        assertEquals("old", Files.readString(img));
        try (var s = Files.list(tmp)) {
            assertEquals(2, s.count(), "no temporary file is left");
        }
    }

    private Path script() throws java.io.IOException {
        Path p = tmp.resolve("nsops.py");
        if (!Files.exists(p)) {
            try (java.io.InputStream in = MkfsImageTest.class.getResourceAsStream("/org/ext4j/testing/nsops.py")) {
                Files.write(p, in.readAllBytes());
            }
        }
        return p;
    }

    /** The tree as the namespace tests' script lists it (directory sizes left out, as cp -a does not copy them). */
    private String dump(Path dir) throws Exception {
        return Tools.run("python3", script().toString(), "dump", dir.toString(), "times").ok().stdout()
                .lines().map(l -> l.matches("\\S+ 4\\d{4} .*") ? l.replaceAll(" s\\d+ ", " ") : l)
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
    }

    @Test
    void theSizeDefaultsToTheImageFile() throws Exception {
        Tools.requireTools("dumpe2fs");
        Path img = tmp.resolve("sized.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength((100L << 20) + 3000); // not a whole number of pages: mke2fs rounds down
        }
        assertEquals(0, cli("mkfs", "-q", img.toString()));
        String h = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        assertTrue(h.contains("Block count:              102400"), h);
        assertEquals((100L << 20) + 3000, Files.size(img), "the image file keeps its size");
    }

    @Test
    void aBareSizeCountsBlocks() throws Exception {
        Tools.requireTools("dumpe2fs");
        Path img = tmp.resolve("blocks.img");
        assertEquals(0, cli("mkfs", "-q", "-b", "4096", img.toString(), "20000"));
        assertTrue(Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout().contains("Block count:              20000"));
        assertEquals(0, cli("mkfs", "-q", img.toString(), "20000")); // 1 KiB units without -b
        assertTrue(Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout().contains("Block count:              20000"));
        assertEquals(20000L * 1024, Files.size(img));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-b 512", "-b 8192", "-I 100", "-I 384", "-I 8192", "-O nosuchfeature", "-O ^sparse_super",
        "-O ^extent", "-t ext5", "-m 51", "-N 999999999", "-i 512", "-b 4096 -J size=1", "-U not-a-uuid",
        "-E nosuch=1", "-E root_owner=1", "-O inline_data -I 128", "-L 12345678901234567", "SIZE=1K", "SIZE=2x",
        "-b 1024 SIZE=10", "-N 20 SIZE=300M"})
    void badArgumentsExitTwoAndLeaveTheImage(String row) throws Exception {
        Path img = tmp.resolve("keep.img");
        byte[] before = "an existing image".getBytes(StandardCharsets.US_ASCII);
        Files.write(img, before);
        String size = "64M";
        java.util.List<String> args = new java.util.ArrayList<>(List.of("mkfs", "-q"));
        for (String w : row.split(" ")) {
            if (w.startsWith("SIZE=")) {
                size = w.substring(5);
            } else {
                args.add(w);
            }
        }
        args.add(img.toString());
        args.add(size);
        assertEquals(2, cli(args.toArray(String[]::new)), row);
        assertArrayEquals(before, Files.readAllBytes(img), "the image is as it was");
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(img), s.toList(), "no temporary file is left");
        }
    }

    @Test
    void anUnsupportedFeatureIsNamed() throws Exception {
        Path img = tmp.resolve("u.img");
        assertEquals(3, cli("mkfs", "-q", "-O", "bigalloc", img.toString(), "64M"));
        assertFalse(Files.exists(img));
        UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                () -> Mkfs.builder().features("quota").size(64L << 20).build(img));
        assertEquals("quota", e.feature());
    }

    @Test
    void noSizeAndNoImageIsAnArgumentError() {
        Path img = tmp.resolve("none.img");
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Mkfs.builder().build(img));
        assertTrue(e.getMessage().contains("size"), e.getMessage());
    }

    @Test
    void theLibraryBuilderTakesEveryOption() throws Exception {
        Tools.requireTools("dumpe2fs", "e2fsck");
        Path img = tmp.resolve("lib.img");
        UUID u = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
        Mkfs.Result r = Mkfs.builder().blockSize(2048).inodeSize(512).bytesPerInode(8192).reservedPercent(2)
                .label("lib").uuid(u).features("^huge_file").journalMiB(8).rootOwner(1000, 100)
                .hashSeed(u).lazyItableInit(false).type("ext4").size(128L << 20).build(img);
        assertEquals(65536, r.blocksCount());
        fsckClean(img);
        String h = Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout();
        assertTrue(h.contains("Filesystem volume name:   lib"), h);
        assertTrue(h.contains("Inode size:\t          512"), h);
        assertTrue(h.contains("Total journal size:       8M"), h);
        assertFalse(h.contains("huge_file"), h);
        String root = Tools.run("debugfs", "-R", "stat /", img.toString()).ok().stdout();
        assertTrue(root.contains("User:  1000   Group:   100"), root);
    }
}
