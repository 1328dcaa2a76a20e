package org.ext4j.inode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.ext4j.alloc.NoSpaceException;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.format.XattrEntry;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link XattrWriter} against the kernel. The property test runs one random sequence of set
 * (either, create, replace) and remove on several files of a {@code mkfs.ext4 -d} image twice: with
 * ext4j on one copy and through {@code setxattr(2)}/{@code removexattr(2)} on a kernel mount of
 * another. Each operation's outcome (ok, EEXIST, ENODATA, ENOSPC) must be the kernel's, ext4j's
 * reader must see the in-memory model after every step, and at the end the in-body areas and the
 * attribute blocks of both images must be the same bytes (block checksums aside, as they are
 * seeded with the block number), e2fsck must find nothing, and {@code getfattr} on a mount of
 * ext4j's image must show exactly the model.
 */
@ExtendWith(SkippedChecks.class)
class XattrWriterTest {

    enum Variant {
        I256_CSUM_4K(List.of("-b", "4096", "-I", "256")),
        I256_NOCSUM_1K(List.of("-b", "1024", "-I", "256", "-O", "^metadata_csum")),
        I128_CSUM_1K(List.of("-b", "1024", "-I", "128")),
        I128_NOCSUM_4K(List.of("-b", "4096", "-I", "128", "-O", "^metadata_csum")),
        /** With ea_inode: a value that no longer fits the block goes to a value inode, as the kernel's retry does. */
        I256_EAINODE_4K(List.of("-b", "4096", "-I", "256", "-O", "ea_inode")),
        I256_EAINODE_NOCSUM_1K(List.of("-b", "1024", "-I", "256", "-O", "ea_inode,^metadata_csum")),
        I128_EAINODE_1K(List.of("-b", "1024", "-I", "128", "-O", "ea_inode"));

        final List<String> mkfs;

        Variant(List<String> mkfs) {
            this.mkfs = mkfs;
        }
    }

    static final int FILES = 4;
    static final int OPS = 160;

    record Op(String kind, int file, String name, byte[] value) {
    }

    static Path image(Path tmp, List<String> mkfs, String... files) throws IOException {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        for (String f : files) {
            if (f.endsWith("/")) {
                Files.createDirectories(src.resolve(f));
            } else {
                Files.write(src.resolve(f), new byte[0]);
            }
        }
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8L << 20, mkfs, src);
        XattrFixture.fsckClean(img);
        return img;
    }

    /** Names of file {@code f}: every namespace, lengths from 1 to 200, one with bytes above 0x7F. */
    static List<String> names(int f) {
        return List.of("user.f" + f, "user.f" + f + ".a", "user.f" + f + "." + "n".repeat(60),
                "user.f" + f + "." + "l".repeat(200), "trusted.f" + f + ".t", "security.f" + f + ".s",
                "user.f" + f + ".\u00e9t\u00e9", "trusted.f" + f + "." + "x".repeat(17));
    }

    static byte[] someValue(Random rnd, int blockSize) {
        int r = rnd.nextInt(10);
        int len = r < 4 ? rnd.nextInt(17) : r < 7 ? 17 + rnd.nextInt(84) : r < 9 ? 101 + rnd.nextInt(500)
                : 600 + rnd.nextInt(blockSize - 700);
        byte[] v = new byte[len];
        rnd.nextBytes(v);
        return v;
    }

    static List<Op> ops(long seed, int blockSize) {
        Random rnd = new Random(seed);
        List<Op> out = new ArrayList<>();
        String[] kinds = {"set", "set", "set", "set", "set", "create", "create", "replace", "remove", "remove"};
        for (int i = 0; i < OPS; i++) {
            int f = rnd.nextInt(FILES);
            List<String> names = names(f);
            String kind = kinds[rnd.nextInt(kinds.length)];
            String name = names.get(rnd.nextInt(names.size()));
            out.add(new Op(kind, f, name, kind.equals("remove") ? null : someValue(rnd, blockSize)));
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    void randomSequenceMatchesKernel(Variant v, @TempDir Path tmp) throws Exception {
        long seed = 0x5EED0000L + v.ordinal();
        System.out.println("xattr sequence seed=" + seed + " " + v);
        String[] files = new String[FILES];
        for (int f = 0; f < FILES; f++) {
            files[f] = "f" + f;
        }
        Path img = image(tmp, v.mkfs, files);
        Path kernelImg = tmp.resolve("kernel.img");
        Files.copy(img, kernelImg, StandardCopyOption.REPLACE_EXISTING);

        List<Op> ops;
        List<String> outcomes = new ArrayList<>();
        List<Map<String, String>> model = new ArrayList<>();
        long[] inos = new long[FILES];
        try (XattrFixture fx = new XattrFixture(img)) {
            ops = ops(seed, fx.sb.blockSize);
            for (int f = 0; f < FILES; f++) {
                inos[f] = fx.ino("f" + f);
                model.add(new TreeMap<>());
            }
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                String outcome = fx.apply(op.kind(), inos[op.file()], op.name(), op.value());
                outcomes.add(outcome);
                if (outcome.equals("ok")) {
                    if (op.value() == null) {
                        model.get(op.file()).remove(op.name());
                    } else {
                        model.get(op.file()).put(op.name(), HexFormat.of().formatHex(op.value()));
                    }
                }
                Map<String, String> expected = model.get(op.file());
                Map<String, String> x = expected;
                assertEquals(x, fx.read(inos[op.file()]), "op " + i + " " + op.kind() + " " + op.name() + " -> " + outcome);
            }
            fx.commit();
        }
        System.out.println("outcomes: " + outcomeCounts(outcomes));
        XattrFixture.fsckClean(img);

        Tools.kernelCheck("the same sequence through setxattr(2) and the resulting bytes", () -> {
            Tools.requireTools("python3", "getfattr");
            List<String> kernel = runOnKernel(tmp, kernelImg, ops);
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                assertEquals(kernel.get(i), outcomes.get(i), "op " + i + " " + op.kind() + " " + op.name() + " on f"
                        + op.file() + " (" + (op.value() == null ? "-" : op.value().length + " bytes") + ")");
            }
            XattrFixture.fsckClean(kernelImg);
            for (int f = 0; f < FILES; f++) {
                assertSameAreas(kernelImg, img, inos[f]);
            }
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (int f = 0; f < FILES; f++) {
                    assertEquals(model.get(f), XattrFixture.getfattr(m.dir().resolve("f" + f)), "getfattr f" + f);
                }
            }
        });
    }

    static Map<String, Integer> outcomeCounts(List<String> outcomes) {
        Map<String, Integer> m = new TreeMap<>();
        for (String o : outcomes) {
            m.merge(o, 1, Integer::sum);
        }
        return m;
    }

    /** The operations through a read-write kernel mount; one errno name (or "ok") per operation. */
    static List<String> runOnKernel(Path tmp, Path image, List<Op> ops) throws IOException {
        Path script = tmp.resolve("ops.py");
        Files.writeString(script, """
                import errno, os, sys
                root = sys.argv[2]
                for line in open(sys.argv[1], encoding='utf-8'):
                    kind, f, name, value = line.rstrip('\\n').split('\\t')
                    path = os.path.join(root, f)
                    try:
                        if kind == 'remove':
                            os.removexattr(path, name)
                        else:
                            flags = {'set': 0, 'create': os.XATTR_CREATE, 'replace': os.XATTR_REPLACE}[kind]
                            os.setxattr(path, name, bytes.fromhex(value), flags)
                        print('ok')
                    except OSError as e:
                        print(errno.errorcode[e.errno])
                """);
        StringBuilder lines = new StringBuilder();
        for (Op op : ops) {
            lines.append(op.kind()).append('\t').append("f").append(op.file()).append('\t').append(op.name()).append('\t')
                    .append(op.value() == null ? "" : HexFormat.of().formatHex(op.value())).append('\n');
        }
        Path opsFile = tmp.resolve("ops.txt");
        Files.writeString(opsFile, lines.toString(), StandardCharsets.UTF_8);
        try (Tools.Mount m = Tools.Mount.of(image, false)) {
            Tools.Result r = Tools.run("python3", script.toString(), opsFile.toString(), m.dir().toString()).ok();
            return List.of(r.stdout().split("\n"));
        }
    }

    /** The in-body attribute areas and the attribute blocks of inode {@code ino} in two images are the same bytes. */
    static void assertSameAreas(Path expectedImg, Path actualImg, long ino) throws IOException {
        byte[][] e = areas(expectedImg, ino);
        byte[][] a = areas(actualImg, ino);
        assertArrayEquals(e[0], a[0], "in-body attributes of inode " + ino + "\nkernel: " + hex(e[0]) + "\next4j:  " + hex(a[0]));
        assertEquals(e[1] == null, a[1] == null, "whether inode " + ino + " has an attribute block");
        if (e[1] != null) {
            assertArrayEquals(e[1], a[1], "attribute block of inode " + ino + "\nkernel: " + hex(e[1]) + "\next4j:  " + hex(a[1]));
        }
    }

    static String hex(byte[] b) {
        if (b == null) {
            return "none";
        }
        int n = b.length;
        while (n > 0 && b[n - 1] == 0) {
            n--;
        }
        return HexFormat.of().formatHex(b, 0, n) + " (then zeros)";
    }

    /** Bytes after i_extra_isize, and the attribute block with its checksum field zeroed (null: none). */
    static byte[][] areas(Path img, long ino) throws IOException {
        try (FileBlockDevice dev = FileBlockDevice.openReadOnly(img)) {
            Superblock sb = Volume.readSuperblock(dev);
            Volume v = Volume.open(dev, sb);
            InodeRecord rec = v.readInode(ino);
            byte[] block = null;
            if (rec.fileAcl != 0) {
                block = v.readBlock(rec.fileAcl, ino);
                Arrays.fill(block, 0x10, 0x14, (byte) 0);
            }
            return new byte[][] {rec.inlineXattrArea(), block};
        }
    }

    // ------------------------------------------------------------------ shared blocks

    /**
     * Three files share one block, made so by the kernel's mbcache; ext4j then adds to one (copy
     * on write), empties another (its reference dropped, the block kept for the third), and adds to
     * the third (now the only holder: changed in place). Reference counts, i_file_acl and i_blocks
     * are checked at each step, e2fsck and the kernel at the end.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Variant.class, names = {"I128_CSUM_1K", "I128_NOCSUM_4K"})
    void sharedBlockIsCopiedOnWrite(Variant v, @TempDir Path tmp) throws Exception {
        Tools.requireTools("setfattr", "getfattr");
        Path img = image(tmp, v.mkfs, "a", "b", "c");
        String big = "0x" + "ab".repeat(300);
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            for (String f : List.of("a", "b", "c")) {
                Tools.run("setfattr", "-n", "user.big", "-v", big, m.dir().resolve(f).toString()).ok();
            }
        }
        Map<String, Map<String, String>> model = new TreeMap<>();
        for (String f : List.of("a", "b", "c")) {
            model.put(f, new TreeMap<>(Map.of("user.big", "ab".repeat(300))));
        }
        try (XattrFixture fx = new XattrFixture(img)) {
            long a = fx.ino("a");
            long b = fx.ino("b");
            long c = fx.ino("c");
            long shared = fx.volume.readInode(a).fileAcl;
            org.junit.jupiter.api.Assumptions.assumeTrue(shared != 0 && shared == fx.volume.readInode(b).fileAcl
                    && shared == fx.volume.readInode(c).fileAcl, "the kernel did not share the block (mbcache)");
            assertEquals(3, refcount(fx, shared));
            long per = fx.sb.blockSize / 512;
            long blocksA = fx.volume.readInode(a).blocks512(fx.sb);
            long free = fx.groups.freeBlocks();

            assertEquals("ok", fx.apply("set", a, "user.more", "1".getBytes()));
            model.get("a").put("user.more", "31");
            InodeRecord ra = fx.volume.readInode(a);
            assertNotEquals(shared, ra.fileAcl, "a got a block of its own");
            assertEquals(1, refcount(fx, ra.fileAcl));
            assertEquals(2, refcount(fx, shared));
            assertEquals(blocksA, ra.blocks512(fx.sb), "a's i_blocks: one block for the other");
            assertEquals(free - 1, fx.groups.freeBlocks());
            assertEquals(model.get("a"), fx.read(a));
            assertEquals(model.get("b"), fx.read(b));

            assertEquals("ok", fx.apply("remove", b, "user.big", null));
            model.get("b").remove("user.big");
            InodeRecord rb = fx.volume.readInode(b);
            assertEquals(0, rb.fileAcl);
            assertEquals(blocksA - per, rb.blocks512(fx.sb));
            assertEquals(1, refcount(fx, shared));
            assertEquals(free - 1, fx.groups.freeBlocks(), "the shared block is kept for c");

            assertEquals("ok", fx.apply("set", c, "user.c", "cc".getBytes()));
            model.get("c").put("user.c", "6363");
            assertEquals(shared, fx.volume.readInode(c).fileAcl, "c's block, no longer shared, changes in place");
            assertEquals(1, refcount(fx, shared));
            assertEquals(free - 1, fx.groups.freeBlocks());

            assertEquals("ok", fx.apply("remove", c, "user.big", null));
            assertEquals("ok", fx.apply("remove", c, "user.c", null));
            model.get("c").clear();
            assertEquals(0, fx.volume.readInode(c).fileAcl);
            assertEquals(free, fx.groups.freeBlocks(), "the last reference freed the block");
            fx.commit();
        }
        XattrFixture.fsckClean(img);
        Tools.kernelCheck("attributes after copy-on-write", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (String f : model.keySet()) {
                    assertEquals(model.get(f), XattrFixture.getfattr(m.dir().resolve(f)), "getfattr " + f);
                }
            }
        });
    }

    static long refcount(XattrFixture fx, long blk) throws IOException {
        return Le.u32(fx.volume.readBlock(blk, 0), XattrEntry.REFCOUNT_OFFSET);
    }

    /**
     * Copying a shared block needs a new block: with none free, the set fails with ENOSPC and
     * leaves the inode, the shared block and every buffer as they were.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Variant.class, names = {"I128_CSUM_1K"})
    void noSpaceForTheCopyChangesNothing(Variant v, @TempDir Path tmp) throws Exception {
        Tools.requireTools("setfattr");
        Path img = image(tmp, v.mkfs, "a", "b");
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            for (String f : List.of("a", "b")) {
                Tools.run("setfattr", "-n", "user.big", "-v", "0x" + "cd".repeat(300), m.dir().resolve(f).toString()).ok();
            }
        }
        try (XattrFixture fx = new XattrFixture(img)) {
            long a = fx.ino("a");
            long shared = fx.volume.readInode(a).fileAcl;
            org.junit.jupiter.api.Assumptions.assumeTrue(shared != 0 && shared == fx.volume.readInode(fx.ino("b")).fileAcl,
                    "the kernel did not share the block (mbcache)");
            while (true) { // take every free block
                try (Handle h = fx.journal.start(2)) {
                    fx.groups.blocks().allocate(h, 0, 1, 1 << 16);
                } catch (NoSpaceException e) {
                    break;
                }
            }
            byte[] before = fx.volume.readInode(a).raw();
            byte[] blockBefore = fx.volume.readBlock(shared, a);
            Map<Long, Boolean> dirty = dirtyBuffers(fx);
            try (Handle h = fx.journal.start(XattrWriter.CREDITS)) {
                byte[] raw = fx.volume.readInode(a).raw();
                assertThrows(NoSpaceException.class,
                        () -> fx.writer.set(h, a, raw, "user.x", new byte[] {1}, XattrWriter.Mode.EITHER));
                assertArrayEquals(before, raw, "the caller's inode bytes");
            }
            assertArrayEquals(blockBefore, fx.volume.readBlock(shared, a), "the shared block");
            assertEquals(dirty, dirtyBuffers(fx), "buffers dirtied");
        }
    }

    static Map<Long, Boolean> dirtyBuffers(XattrFixture fx) {
        Map<Long, Boolean> m = new TreeMap<>(fx.volume.bufferCache().dirtyMap());
        m.values().removeIf(d -> !d);
        return m;
    }

    // ------------------------------------------------------------------ ACLs

    static byte[] acl(int[][] entries) {
        byte[] b = new byte[4 + 8 * entries.length];
        Le.put32(b, 0, 2);
        for (int i = 0; i < entries.length; i++) {
            Le.put16(b, 4 + 8 * i, entries[i][0]);
            Le.put16(b, 6 + 8 * i, entries[i][1]);
            Le.put32(b, 8 + 8 * i, entries[i][2] & 0xFFFFFFFFL);
        }
        return b;
    }

    /**
     * ACLs set by ext4j are what the kernel's getfacl shows, and an ACL set by the kernel's
     * setfacl is read by ext4j and stored by ext4j in the same on-disk bytes as the kernel's.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Variant.class, names = {"I256_CSUM_4K", "I128_NOCSUM_4K"})
    void aclsRoundTripWithTheKernel(Variant v, @TempDir Path tmp) throws Exception {
        Tools.requireTools("getfacl", "setfacl", "getfattr");
        Path img = image(tmp, v.mkfs, "p", "q", "r", "d/");
        int u = -1;
        byte[] access = acl(new int[][] {{0x01, 6, u}, {0x02, 4, 1000}, {0x02, 7, 1001}, {0x04, 4, u}, {0x08, 6, 2000},
            {0x10, 6, u}, {0x20, 0, u}});
        byte[] dflt = acl(new int[][] {{0x01, 7, u}, {0x04, 5, u}, {0x20, 5, u}});
        try (XattrFixture fx = new XattrFixture(img)) {
            assertEquals("ok", fx.apply("set", fx.ino("p"), XattrName.ACL_ACCESS, access));
            assertEquals("ok", fx.apply("set", fx.ino("d"), XattrName.ACL_DEFAULT, dflt));
            byte[] bad = acl(new int[][] {{0x01, 6, u}, {0x02, 4, 1000}, {0x04, 4, u}, {0x20, 0, u}}); // no mask
            assertThrows(org.ext4j.error.InvalidArgumentException.class, () -> fx.apply("set", fx.ino("r"), XattrName.ACL_ACCESS, bad));
            assertArrayEquals(access, Inode.load(fx.volume, fx.ino("p")).xattr(XattrName.ACL_ACCESS));
            fx.commit();
        }
        XattrFixture.fsckClean(img);
        Tools.kernelCheck("getfacl of ACLs ext4j set, and ext4j's reading of ACLs the kernel set", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, false)) {
                String p = Tools.run("getfacl", "-c", "-n", "-E", m.dir().resolve("p").toString()).ok().stdout();
                assertEquals(List.of("user::rw-", "user:1000:r--", "user:1001:rwx", "group::r--", "group:2000:rw-",
                        "mask::rw-", "other::---"), lines(p));
                String d = Tools.run("getfacl", "-c", "-n", "-E", "-d", m.dir().resolve("d").toString()).ok().stdout();
                assertEquals(List.of("user::rwx", "group::r-x", "other::r-x"), lines(d));
                Tools.run("setfacl", "-m", "u:1234:rwx,g:55:r,m::rwx", m.dir().resolve("q").toString()).ok();
            }
            byte[] kernelValue;
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                kernelValue = HexFormat.of().parseHex(XattrFixture.getfattr(m.dir().resolve("q")).get(XattrName.ACL_ACCESS));
            }
            try (XattrFixture fx = new XattrFixture(img)) {
                long q = fx.ino("q");
                long r = fx.ino("r");
                assertArrayEquals(kernelValue, Inode.load(fx.volume, q).xattr(XattrName.ACL_ACCESS), "ext4j reads q's ACL");
                assertEquals("ok", fx.apply("set", r, XattrName.ACL_ACCESS, kernelValue));
                assertArrayEquals(rawValue(fx, q, XattrName.INDEX_POSIX_ACL_ACCESS), rawValue(fx, r, XattrName.INDEX_POSIX_ACL_ACCESS),
                        "on-disk ACL bytes: ext4j's as the kernel's");
                fx.commit();
            }
            XattrFixture.fsckClean(img);
        });
    }

    static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        for (String l : s.split("\n")) {
            if (!l.isBlank()) {
                out.add(l.trim());
            }
        }
        return out;
    }

    static byte[] rawValue(XattrFixture fx, long ino, int index) throws IOException {
        InodeRecord rec = fx.volume.readInode(ino);
        for (XattrReader.Located l : XattrReader.entries(fx.volume, rec)) {
            if (l.entry().nameIndex() == index) {
                return XattrReader.rawValue(fx.volume, rec, l, 0);
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ refusals

    /**
     * With ea_inode, a writer given no inode allocator refuses a value that needs its own inode as
     * unsupported, and nothing changes.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Variant.class, names = {"I256_NOCSUM_1K"})
    void valueInodeWithoutAnInodeAllocatorIsRefused(Variant v, @TempDir Path tmp) throws Exception {
        List<String> mkfs = new ArrayList<>(List.of("-b", "1024", "-I", "256", "-O", "ea_inode"));
        Path img = image(tmp, mkfs, "a");
        try (XattrFixture fx = new XattrFixture(img)) {
            long a = fx.ino("a");
            byte[] before = fx.volume.readInode(a).raw();
            XattrWriter noInodes = new XattrWriter(fx.volume, fx.groups.blocks(), null);
            try (Handle h = fx.journal.start(XattrWriter.CREDITS)) {
                byte[] raw = before.clone();
                UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                        () -> noInodes.set(h, a, raw, "user.big", new byte[2000], XattrWriter.Mode.EITHER));
                assertEquals("ea_inode", e.feature());
                assertArrayEquals(before, raw);
            }
            assertEquals(0, fx.volume.bufferCache().dirtyCount());
            assertEquals("ok", fx.apply("set", a, "user.small", new byte[100]));
        }
    }

    /** Names as setxattr(2) takes them, and refusals before anything is read. */
    @org.junit.jupiter.api.Test
    void names() throws Exception {
        assertEquals(new XattrName(1, "a".getBytes()), XattrName.parse("user.a"));
        assertEquals(new XattrName(4, "x.y".getBytes()), XattrName.parse("trusted.x.y"));
        assertEquals(new XattrName(6, "selinux".getBytes()), XattrName.parse("security.selinux"));
        assertEquals(new XattrName(2, new byte[0]), XattrName.parse("system.posix_acl_access"));
        assertEquals(new XattrName(3, new byte[0]), XattrName.parse("system.posix_acl_default"));
        for (String bad : List.of("", "user.", "system.data", "system.foo", "gnu.x", "foo.bar", "user.a\0b",
                "user." + "x".repeat(251), "system.posix_acl_access2")) {
            assertThrows(org.ext4j.error.InvalidArgumentException.class, () -> XattrName.parse(bad), bad);
        }
        assertNotNull(XattrName.parse("user." + "x".repeat(250)));
    }

    /** The signed-char name hash of old kernels differs only for name bytes of 0x80 and up. */
    @org.junit.jupiter.api.Test
    void nameHashSignedness() {
        byte[] ascii = "abc".getBytes();
        assertEquals(XattrEntry.hashEntry(ascii, 0, 3, new byte[0], 0, 0, false),
                XattrEntry.hashEntry(ascii, 0, 3, new byte[0], 0, 0, true));
        byte[] high = "\u00e9t\u00e9".getBytes(StandardCharsets.UTF_8);
        assertNotEquals(XattrEntry.hashEntry(high, 0, high.length, new byte[0], 0, 0, false),
                XattrEntry.hashEntry(high, 0, high.length, new byte[0], 0, 0, true));
        // golden: "a" is 0x61; "ab" is (0x61 << 5) ^ 0x62
        assertEquals(0x61, XattrEntry.hashEntry("a".getBytes(), 0, 1, null, 0, 0, false));
        assertEquals((0x61 << 5) ^ 0x62, XattrEntry.hashEntry("ab".getBytes(), 0, 2, null, 0, 0, false));
    }
}
