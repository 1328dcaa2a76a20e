package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import org.ext4j.format.DxHash;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The signed and the unsigned name hash ({@code EXT2_FLAGS_SIGNED_HASH} /
 * {@code EXT2_FLAGS_UNSIGNED_HASH} in s_flags: whether name bytes of 0x80 and above are
 * sign-extended, as {@code char} is on x86, or not) on htree directories whose names are full of
 * such bytes, written by ext4j's {@link DirectoryWriter} and by the kernel. The kernel hashes with
 * what the flag says ({@code dx_probe} adds {@code s_hash_unsigned}); a reader or writer of ext4j
 * that used the other hash would probe the wrong leaf for most names, and a writer would also put
 * names where e2fsck and the kernel's lookup do not look. Every name must be found by ext4j's
 * lookup, by the writer's "exists" check and by the kernel's lookup, listed once, and e2fsck find
 * the image clean, before and after the writer removes a third of the names.
 */
class HashSignednessTest {
    static final int BS = 1024;

    @TempDir
    Path tmp;

    /** Names of 8..60 bytes, most of them above 0x7F (never '/', NUL or a newline), unique. */
    static List<String> names(int n, long seed) {
        Random rnd = new Random(seed);
        Set<String> out = new LinkedHashSet<>();
        while (out.size() < n) {
            int len = 8 + rnd.nextInt(53);
            StringBuilder s = new StringBuilder(len);
            for (int i = 0; i < len; i++) {
                s.append(rnd.nextInt(4) == 0 ? (char) ('a' + rnd.nextInt(26)) : (char) (0x80 + rnd.nextInt(0x80)));
            }
            out.add(s.toString());
        }
        return new ArrayList<>(out);
    }

    @ParameterizedTest(name = "written by {0}, {1} hash")
    @CsvSource({"ext4j, signed", "ext4j, unsigned", "kernel, signed", "kernel, unsigned"})
    void everyNameIsFoundUnderTheImagesHash(String builder, String hash) throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck", "xargs", "stat");
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("target"), new byte[0]);
        Path img = tmp.resolve("fs.img");
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(BS)));
        opts.addAll(DirectoryWriterTest.REPRODUCIBLE);
        Tools.mkfs(img, 64L << 20, opts, src);
        boolean unsigned = hash.equals("unsigned");
        Tools.run("debugfs", "-w", "-R", "ssv flags " + (unsigned ? Superblock.FLAGS_UNSIGNED_HASH
                : Superblock.FLAGS_SIGNED_HASH), img.toString()).ok();

        List<String> names = names(1500, 11);
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            Superblock sb = fs.superblock();
            assertEquals(unsigned, (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0, "the unsigned flag");
            assertEquals(!unsigned, (sb.flags & Superblock.FLAGS_SIGNED_HASH) != 0, "the signed flag");
            int version = sb.defHashVersion;
            int differ = 0;
            for (String n : names) {
                byte[] b = DirFixture.bytes(n);
                if (DxHash.hash(b, 0, b.length, version, sb.hashSeed).major()
                        != DxHash.hash(b, 0, b.length, version + 3, sb.hashSeed).major()) {
                    differ++;
                }
            }
            assertEquals(names.size(), differ, "the signed and the unsigned hash differ for every name");
        }

        Map<String, Long> model;
        if (builder.equals("ext4j")) {
            try (DirFixture f = new DirFixture(img, "/d", "/target", Integer.MAX_VALUE, 3)) {
                int i = 0;
                for (String n : names) {
                    f.add(n, i++ % 3 == 0);
                }
                f.commit();
                model = new TreeMap<>(f.model);
            }
        } else {
            try (Tools.Mount m = Tools.Mount.of(img, false)) {
                KernelNames.create(m.dir().resolve("d"), names);
            }
            model = DirFixture.debugfsList(img, "/d");
        }
        assertEquals(names.size(), model.size(), "names in /d");
        HtreeShape shape = HtreeShape.of(img, "/d");
        assertTrue(shape.leaves() >= 20, "an htree of many leaves: " + shape);
        judge(img, model);

        try (DirFixture f = new DirFixture(img, "/d", "/target", Integer.MAX_VALUE, 4)) {
            for (String n : names) {
                assertThrows(EntryExistsException.class, () -> f.add(n, false), "the writer finds " + n);
            }
            for (int i = 0; i < names.size(); i += 3) {
                f.remove(names.get(i));
            }
            f.commit();
            model = new TreeMap<>(f.model);
        }
        judge(img, model);
    }

    /**
     * e2fsck, debugfs, the kernel's readdir, ext4j's listing and lookup ({@link DirFixture#verify}),
     * and the kernel's lookup of every name.
     */
    private static void judge(Path img, Map<String, Long> model) throws IOException {
        DirFixture.verify(img, "/d", model);
        try (Tools.Mount m = Tools.Mount.of(img, true)) {
            DirFixture.assertSame(model, KernelNames.stat(m.dir().resolve("d"), model.keySet()),
                    "the kernel's lookup of every name");
        }
    }
}
