package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.ext4j.format.DirEntry;
import org.ext4j.format.DxHash;
import org.ext4j.format.DxNode;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.testing.DirDamage;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The other side of checking directories as the kernel does: healthy htree directories still list
 * and look up exactly as the kernel sees them. Each is written by the kernel (a loop mount) or
 * indexed by {@code e2fsck -fD} from a {@code mkfs.ext4 -d} tree, under the signed and the
 * unsigned name hash (the superblock's flag, set before the index is built), over 1 KiB blocks (a
 * two-level index) and 4 KiB blocks. The names carry bytes above 0x7F, so that the two hashes
 * differ and a reader that used the wrong one would miss names.
 */
class HtreeListingTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> variants() {
        List<Arguments> out = new ArrayList<>();
        for (String builder : List.of("kernel", "e2fsck -D")) {
            for (int bs : new int[] {1024, 4096}) {
                for (String hash : List.of("signed", "unsigned")) {
                    out.add(Arguments.of(builder, bs, hash));
                }
            }
        }
        return out.stream();
    }

    private static List<String> names(int bs) {
        List<String> names = new ArrayList<>();
        int n = bs == 1024 ? 2500 : 1500;
        String stem = bs == 1024 ? "na\u00efve-\u00e9t\u00e9-" + "x".repeat(40) + "-" : "\u00fcber-";
        for (int i = 0; i < n; i++) {
            names.add(stem + i);
        }
        return names;
    }

    @ParameterizedTest(name = "{0}, {1}-byte blocks, {2} hash")
    @MethodSource("variants")
    void listsAndLooksUpAsTheKernelDoes(String builder, int bs, String hash) throws IOException {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck");
        Tools.requireRootAndLoop();
        Path image = tmp.resolve("fs.img");
        List<String> names = names(bs);
        String flags = hash.equals("signed") ? "1" : "2";
        if (builder.equals("kernel")) {
            Tools.mkfs(image, 64L << 20, List.of("-b", Integer.toString(bs)), null);
            Tools.run("debugfs", "-w", "-R", "ssv flags " + flags, image.toString()).ok();
            try (Tools.Mount m = Tools.Mount.of(image, false)) {
                Path d = Files.createDirectory(m.dir().resolve("d"));
                for (String n : names) {
                    Files.createFile(d.resolve(n));
                }
            }
        } else {
            Path d = Files.createDirectories(tmp.resolve("src/d"));
            for (String n : names) {
                Files.createFile(d.resolve(n));
            }
            Tools.mkfs(image, 64L << 20, List.of("-b", Integer.toString(bs)), tmp.resolve("src"));
            Tools.run("debugfs", "-w", "-R", "ssv flags " + flags, image.toString()).ok();
            Tools.Result r = Tools.run("e2fsck", "-fyD", image.toString());
            assertTrue(r.exit() <= 1, r.stdout() + r.stderr());
        }
        assertEquals(0, Tools.fsck(image).exit(), "e2fsck -fn finds the image clean");

        DirDamage dd = DirDamage.of(image, "/d");
        byte[] root = dd.read(0);
        assertEquals(bs == 1024 ? 1 : 0, Le.u8(root, DxNode.ROOT_INFO_OFFSET + 6), "index levels of /d");
        int version = Le.u8(root, DxNode.ROOT_INFO_OFFSET + 4) + (hash.equals("unsigned") ? 3 : 0);
        int otherVersion = hash.equals("unsigned") ? version - 3 : version + 3;
        int differ = 0;
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            Superblock sb = fs.superblock();
            assertEquals(hash.equals("unsigned"), (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0);
            for (String n : names) {
                byte[] b = n.getBytes(StandardCharsets.UTF_8);
                if (DxHash.hash(b, 0, b.length, version, sb.hashSeed).major()
                        != DxHash.hash(b, 0, b.length, otherVersion, sb.hashSeed).major()) {
                    differ++;
                }
            }
        }
        assertTrue(differ > names.size() / 2, "the signed and unsigned hashes differ for most names: " + differ);

        Map<String, Long> kernel = new TreeMap<>();
        try (Tools.Mount m = Tools.Mount.of(image, true); Stream<Path> s = Files.list(m.dir().resolve("d"))) {
            for (Path p : s.toList()) {
                kernel.put(p.getFileName().toString(), ((Number) Files.getAttribute(p, "unix:ino")).longValue());
            }
        }
        assertEquals(names.size(), kernel.size(), "the kernel lists every name");

        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            long dino = fs.lookup("/d");
            assertTrue(fs.inode(dino).record().hasFlag(InodeRecord.FL_INDEX), "/d is indexed");
            Directory d = new Directory(fs.volume(), fs.inode(dino));
            Map<String, Long> listed = new TreeMap<>();
            long dot = -1;
            long dotdot = -1;
            for (DirEntry e : d.list()) {
                if (e.isDot()) {
                    dot = e.inode();
                } else if (e.isDotDot()) {
                    dotdot = e.inode();
                } else {
                    assertNull(listed.put(new String(e.name(), StandardCharsets.UTF_8), e.inode()), "listed twice");
                }
            }
            assertEquals(kernel, listed);
            assertEquals(dino, dot);
            assertEquals(2, dotdot);
            for (Map.Entry<String, Long> e : kernel.entrySet()) {
                DirEntry hit = d.lookup(e.getKey().getBytes(StandardCharsets.UTF_8));
                assertNotNull(hit, "ext4j looks up " + e.getKey());
                assertEquals(e.getValue().longValue(), hit.inode(), e.getKey());
            }
            assertEquals(dino, d.lookup(new byte[] {'.'}).inode());
            assertEquals(2, d.lookup(new byte[] {'.', '.'}).inode());
            assertNull(d.lookup("\u00fcber-missing".getBytes(StandardCharsets.UTF_8)));
            assertEquals(dino, fs.lookup("/d/../d/../d"));
        }
    }
}
