package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link DxNode} against {@code debugfs htree_dump} on directories indexed by {@code e2fsck -fD}:
 * a two-level tree (1 KiB blocks, 800 long names) and one-level trees over 2 and 4 KiB blocks, with
 * and without the metadata_csum dx_tail; lookups by the hashes debugfs prints land in the leaf block
 * debugfs found each name in. Then limit, count, order and tail corruptions, one at a time.
 */
class DxNodeTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    static Stream<String> configs() {
        return Stream.of("csum-1k", "csum-4k", "nocsum-2k", "nocsum-4k");
    }

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p != null) {
            return p;
        }
        Path src = Files.createDirectories(dir.resolve("src-" + config).resolve("huge"));
        int kib = Integer.parseInt(config.replaceAll(".*-(\\d+)k$", "$1"));
        int files = kib == 1 ? 800 : 400;
        String stem = "n".repeat(kib == 1 ? 195 : 60);
        for (int i = 0; i < files; i++) {
            Files.createFile(src.resolve(stem + "_" + i));
        }
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(kib * 1024)));
        if (config.startsWith("nocsum")) {
            opts.addAll(List.of("-O", "^metadata_csum"));
        }
        p = GoldenImage.mkfs(dir, config + ".img", "16M", opts, null, src.getParent());
        // e2fsck -D indexes every directory of more than one block; exit 1 means "changed"
        List<String> fsck = List.of("e2fsck", "-fyD", p.toString());
        try {
            GoldenImage.run(fsck);
        } catch (AssertionError e) {
            assertTrue(e.getMessage().contains("exited 1"), e.getMessage());
        }
        IMAGES.put(config, p);
        return p;
    }

    /** A count/limit node as htree_dump prints it. */
    record Node(int count, int limit, long checksum, List<long[]> entries) {
    }

    /** What htree_dump says: the root info, the index nodes in print order, and each name's leaf and hash. */
    record Dump(int hashVersion, int infoLength, int levels, int flags, List<Node> nodes, List<long[]> names) {
    }

    private static final Pattern ENTRY = Pattern.compile("^Entry #(\\d+): Hash 0x([0-9a-f]+), block (\\d+)");
    private static final Pattern LEAF = Pattern.compile("^Reading directory block (\\d+), phys (\\d+)");
    private static final Pattern NAME = Pattern.compile("^(\\d+) 0x([0-9a-f]+)-([0-9a-f]+) \\((\\d+)\\) (\\S+)");

    static Dump htreeDump(Path img, String path) throws IOException {
        int[] info = new int[4];
        List<Node> nodes = new ArrayList<>();
        List<long[]> names = new ArrayList<>();
        int count = -1;
        int limit = -1;
        long checksum = -1;
        List<long[]> entries = null;
        long leaf = -1;
        for (String line : GoldenImage.debugfsLenient(img, "htree_dump " + path).split("\n")) {
            String t = line.trim();
            if (t.startsWith("Hash Version:")) {
                info[0] = Integer.parseInt(t.substring(13).trim());
            } else if (t.startsWith("Info length:")) {
                info[1] = Integer.parseInt(t.substring(12).trim());
            } else if (t.startsWith("Indirect levels:")) {
                info[2] = Integer.parseInt(t.substring(16).trim());
            } else if (t.startsWith("Flags:")) {
                info[3] = Integer.parseInt(t.substring(6).trim());
            } else if (t.startsWith("Number of entries (count):")) {
                count = Integer.parseInt(t.substring(26).trim());
                checksum = -1;
            } else if (t.startsWith("Number of entries (limit):")) {
                limit = Integer.parseInt(t.substring(26).trim());
                entries = new ArrayList<>();
                nodes.add(new Node(count, limit, -1, entries));
            } else if (t.startsWith("Checksum: 0x") && entries != null) {
                checksum = Long.parseLong(t.substring(12), 16);
                nodes.set(nodes.size() - 1, new Node(count, limit, checksum, entries));
            } else if (t.isEmpty()) {
                entries = null;
            } else {
                Matcher m = ENTRY.matcher(t);
                if (m.find()) {
                    if (entries != null) {
                        entries.add(new long[] {Long.parseLong(m.group(2), 16), Long.parseLong(m.group(3))});
                    }
                    continue;
                }
                m = LEAF.matcher(t);
                if (m.find()) {
                    leaf = Long.parseLong(m.group(1));
                    continue;
                }
                m = NAME.matcher(t);
                if (m.find() && leaf >= 0) {
                    names.add(new long[] {leaf, Long.parseLong(m.group(2), 16)});
                }
            }
        }
        return new Dump(info[0], info[1], info[2], info[3], nodes, names);
    }

    private record Dir(Superblock sb, long inode, int seed, List<Long> blocks, Dump dump) {
        byte[] block(Path img, long logical) throws IOException {
            return GoldenImage.readBlock(img, sb.blockSize, blocks.get((int) logical));
        }
    }

    private static final Map<String, Dir> DIRS = new HashMap<>();

    private static synchronized Dir dir(String config) throws IOException {
        Dir cached = DIRS.get(config);
        if (cached != null) {
            return cached;
        }
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        long ino = GoldenImage.inodeNumber(img, "/huge");
        InodeRecord r = GoldenImage.inode(img, sb, ino);
        assertTrue(r.hasFlag(InodeRecord.FL_INDEX), "e2fsck -D indexed the directory");
        Dir d = new Dir(sb, ino, r.checksumSeed(sb), DirEntryTest.blocks(img, "/huge"), htreeDump(img, "/huge"));
        DIRS.put(config, d);
        return d;
    }

    private static void assertNode(Node expected, DxNode actual, byte[] b, int entriesOffset, Dir d, long pblk)
            throws IOException {
        assertEquals(expected.count(), actual.count());
        assertEquals(expected.entries().size(), actual.count());
        for (int i = 0; i < actual.count(); i++) {
            assertEquals(expected.entries().get(i)[0], actual.hash(i), "hash " + i);
            assertEquals(expected.entries().get(i)[1], actual.block(i), "block " + i);
        }
        assertEquals(expected.limit(), Le.u16(b, entriesOffset));
        if (d.sb.hasMetadataCsum()) {
            int tail = entriesOffset + expected.limit() * DxNode.ENTRY_SIZE;
            assertEquals(expected.checksum(), Le.u32(b, tail + 4), "stored dx_tail checksum");
            actual.verifyTail(b, d.seed, d.inode, pblk);
        } else {
            assertEquals(-1, expected.checksum());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void indexMatchesHtreeDump(String config) throws IOException {
        Path img = image(config);
        Dir d = dir(config);
        boolean csum = d.sb.hasMetadataCsum();
        byte[] rootBlock = d.block(img, 0);
        DxNode.RootInfo info = DxNode.rootInfo(rootBlock);
        assertEquals(new DxNode.RootInfo(d.dump.hashVersion(), d.dump.infoLength(), d.dump.levels(), d.dump.flags()),
                info);
        assertEquals(8, info.infoLength());
        int rootOffset = DxNode.ROOT_INFO_OFFSET + info.infoLength();
        assertEquals(DxNode.ROOT_ENTRIES_OFFSET, rootOffset);
        DxNode root = DxNode.decode(rootBlock, rootOffset, d.sb.blockSize, csum, d.inode, d.blocks.get(0));
        assertEquals((d.sb.blockSize - 0x20 - (csum ? 8 : 0)) / 8, d.dump.nodes().get(0).limit());
        assertNode(d.dump.nodes().get(0), root, rootBlock, rootOffset, d, d.blocks.get(0));
        List<DxNode> interior = new ArrayList<>();
        if (info.indirectLevels() == 1) {
            assertEquals(root.count() + 1, d.dump.nodes().size());
            for (int i = 0; i < root.count(); i++) {
                long pblk = d.blocks.get((int) root.block(i));
                byte[] b = d.block(img, root.block(i));
                DxNode n = DxNode.decode(b, DxNode.NODE_ENTRIES_OFFSET, d.sb.blockSize, csum, d.inode, pblk);
                assertNode(d.dump.nodes().get(i + 1), n, b, DxNode.NODE_ENTRIES_OFFSET, d, pblk);
                interior.add(n);
            }
        } else {
            assertEquals(1, d.dump.nodes().size());
        }
        // every name is found, by the hash debugfs computed, in the leaf debugfs read it from
        assertTrue(d.dump.names().size() >= 400, "names in leaves: " + d.dump.names().size());
        for (long[] name : d.dump.names()) {
            long hash = name[1];
            int i = root.find(hash);
            long leaf = interior.isEmpty() ? root.block(i) : interior.get(i).block(interior.get(i).find(hash));
            assertEquals(name[0], leaf, String.format("hash 0x%08x", hash));
        }
    }

    @Test
    void fixtureShapes() throws IOException {
        assertEquals(1, dir("csum-1k").dump.levels());
        assertEquals(0, dir("csum-4k").dump.levels());
        assertEquals(0, dir("nocsum-4k").dump.levels());
    }

    // ---- mutations ---------------------------------------------------------------------------

    private record Node1k(Dir dir, long pblk, byte[] bytes, int offset, boolean root) {
        DxNode decode() throws Exception {
            return DxNode.decode(bytes, offset, 1024, true, dir.inode, pblk);
        }
    }

    private static Node1k rootOf1k() throws IOException {
        Dir d = dir("csum-1k");
        return new Node1k(d, d.blocks.get(0), d.block(image("csum-1k"), 0), 0x20, true);
    }

    private static Node1k interiorOf1k() throws IOException {
        Dir d = dir("csum-1k");
        long logical = d.dump.nodes().get(0).entries().get(0)[1];
        return new Node1k(d, d.blocks.get((int) logical), d.block(image("csum-1k"), logical), 8, false);
    }

    @ParameterizedTest(name = "root limit {0}")
    @ValueSource(ints = {0, 1, 122, 124, 125, 0xFFFF})
    void wrongRootLimit(int limit) throws Exception {
        Node1k n = rootOf1k();
        Le.put16(n.bytes, n.offset, limit);
        expectCorruption(Kind.BAD_HTREE, n.dir.inode, n.pblk, 0x20, n::decode);
    }

    @ParameterizedTest(name = "node limit {0}")
    @ValueSource(ints = {0, 125, 127, 128})
    void wrongNodeLimit(int limit) throws Exception {
        Node1k n = interiorOf1k();
        Le.put16(n.bytes, n.offset, limit);
        expectCorruption(Kind.BAD_HTREE, n.dir.inode, n.pblk, 8, n::decode);
    }

    @ParameterizedTest(name = "count {0}")
    @ValueSource(ints = {0, 124, 0xFFFF})
    void wrongRootCount(int count) throws Exception {
        Node1k n = rootOf1k();
        Le.put16(n.bytes, n.offset + 2, count);
        expectCorruption(Kind.BAD_HTREE, n.dir.inode, n.pblk, 0x20, n::decode);
    }

    @Test
    void countEqualToLimitIsFine() throws Exception {
        Node1k n = interiorOf1k();
        assertEquals(126, n.decode().count());
    }

    /** Hashes out of order: not dx_probe's ERR_BAD_DX_DIR, but damage the kernel does not check, reported. */
    @Test
    void unsortedHashes() throws Exception {
        Node1k n = interiorOf1k();
        Le.put32(n.bytes, 8 + 5 * 8, 0xFFFFFFF0L); // entry 5 now sorts after entry 6
        expectCorruption(Kind.BAD_DIRECTORY, n.dir.inode, n.pblk, 8 + 6 * 8, n::decode);
    }

    @Test
    void blockNumbersAreMaskedTo28Bits() throws Exception {
        Node1k n = rootOf1k();
        long b1 = Le.u32(n.bytes, 0x20 + 8 + 4);
        Le.put32(n.bytes, 0x20 + 8 + 4, b1 | 0xF0000000L);
        assertEquals(b1, n.decode().block(1));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"root", "interior"})
    void tailCoversHeaderAndEntriesInUse(String which) throws Exception {
        Node1k n = which.equals("root") ? rootOf1k() : interiorOf1k();
        DxNode good = n.decode();
        int tail = n.offset + Le.u16(n.bytes, n.offset) * DxNode.ENTRY_SIZE;
        good.verifyTail(n.bytes, n.dir.seed, n.dir.inode, n.pblk);
        int[] offsets = n.root ? new int[] {0, 0x18, 0x1C, 0x20 + 2, 0x20 + 4, 0x20 + 8, 0x20 + 15, tail, tail + 4}
                : new int[] {0, 4, 8 + 2, 8 + 4, 8 + 100, 8 + 126 * 8 - 1, tail, tail + 4};
        for (int off : offsets) {
            byte[] b = n.bytes.clone();
            b[off] ^= 0x08;
            expectCorruption(Kind.CHECKSUM, n.dir.inode, n.pblk, tail,
                    () -> good.verifyTail(b, n.dir.seed, n.dir.inode, n.pblk));
        }
    }

    /** ext4_dx_csum covers count entries, not limit: a change in an unused slot goes unnoticed. */
    @Test
    void unusedSlotsAreOutsideTheChecksum() throws Exception {
        Node1k n = rootOf1k();
        DxNode good = n.decode();
        assertEquals(2, good.count());
        n.bytes[0x20 + 5 * 8] ^= 0x08;
        good.verifyTail(n.bytes, n.dir.seed, n.dir.inode, n.pblk);
    }

    @Test
    void tailIsBoundToTheDirectoryInode() throws Exception {
        Node1k n = rootOf1k();
        int other = InodeRecord.checksumSeed(n.dir.sb, 2, 0);
        expectCorruption(Kind.CHECKSUM, () -> n.decode().verifyTail(n.bytes, other, n.dir.inode, n.pblk));
    }

    /** Without metadata_csum the limit fills the block; a reader that expects a tail must refuse it. */
    @Test
    void limitWithoutTail() throws Exception {
        Path img = image("nocsum-4k");
        Dir d = dir("nocsum-4k");
        byte[] b = d.block(img, 0);
        DxNode.decode(b, 0x20, 4096, false, d.inode, d.blocks.get(0));
        assertEquals((4096 - 0x20) / 8, Le.u16(b, 0x20));
        expectCorruption(Kind.BAD_HTREE, d.inode, d.blocks.get(0), 0x20,
                () -> DxNode.decode(b, 0x20, 4096, true, d.inode, d.blocks.get(0)));
    }
}
