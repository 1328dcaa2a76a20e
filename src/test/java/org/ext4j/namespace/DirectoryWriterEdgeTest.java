package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.extents.ExtentTreeWriter;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.namespace.DirectoryWriterTest.Variant;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The helpers a future mkdir / rename / rmdir need ({@link DirectoryWriter#initDirectoryBlock},
 * {@link DirectoryWriter#setParent}, {@link DirectoryWriter#replaceEntry},
 * {@link DirectoryWriter#isEmpty}), names of arbitrary bytes (the signed/unsigned hash matters for
 * bytes above 0x7F), what the writer refuses, and the block codecs against the reader's.
 */
class DirectoryWriterEdgeTest {

    /**
     * mkdir of a directory that grows into an htree, a second one, the first renamed into the second
     * (".." of an htree root rewritten), and a file renamed over another: e2fsck checks the link
     * counts, ".." and the directory counts.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_4K", "NOCSUM_2K", "NO_DIR_INDEX_4K"})
    void mkdirRenameAndReplace(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("a"));
        Files.write(src.resolve("a").resolve("x"), new byte[0]);
        Path img = DirectoryWriterTest.image(tmp, v, src);
        Map<String, Long> moved;
        Map<String, Long> sub2Model = new TreeMap<>();
        Map<String, Long> rootModel;
        try (DirFixture f = new DirFixture(img, "/", "/target", Integer.MAX_VALUE, 11)) {
            long root = f.dir;
            long sub = mkdir(f, root, "sub");
            long sub2 = mkdir(f, root, "sub2");
            long empty = mkdir(f, sub2, "empty");
            assertTrue(f.writer.isEmpty(sub));
            moved = new TreeMap<>();
            for (int i = 0; i < 600; i++) {
                // the two directories grow in turn: their blocks interleave, so sub's extent tree grows
                String name = DirFixture.name(i, 20 + i % 60);
                moved.put(name, f.add(sub, name, i % 2 == 0));
                if (i % 2 == 0) {
                    String other = DirFixture.name(i + 100000, 20 + i % 60);
                    sub2Model.put(other, f.add(sub2, other, false));
                }
            }
            assertFalse(f.writer.isEmpty(sub));
            assertEquals(v.dirIndex, f.volume.readInode(sub).hasFlag(InodeRecord.FL_INDEX));
            assertTrue(ExtentNodeWriter.depth(f.volume.readInode(sub).iBlock(), 0) >= 1, "sub's extent tree grew");
            // rename /sub to /sub2/moved
            try (Handle h = f.journal.start(DirectoryWriter.REMOVE_CREDITS + f.writer.addCredits(sub2)
                    + DirectoryWriter.SET_PARENT_CREDITS + 2)) {
                DirEntry old = f.writer.removeEntry(h, root, DirFixture.bytes("sub"));
                assertEquals(sub, old.inode());
                f.writer.addEntry(h, sub2, DirFixture.bytes("moved"), sub, DirEntry.FT_DIR);
                assertEquals(root, f.writer.setParent(h, sub, sub2));
                addLinks(f, h, root, -1);
                addLinks(f, h, sub2, +1);
            }
            // rename /sub2/f1 over /sub2/f2
            long f1 = f.add(sub2, "f1", true);
            long f2 = f.add(sub2, "f2", true);
            try (Handle h = f.journal.start(2 * DirectoryWriter.REMOVE_CREDITS + 1 + InodeAllocator.FREE_CREDITS)) {
                DirEntry was = f.writer.replaceEntry(h, sub2, DirFixture.bytes("f2"), f1, DirEntry.FT_REG_FILE);
                assertEquals(f2, was.inode());
                f.writer.removeEntry(h, sub2, DirFixture.bytes("f1"));
                f.deleteInode(h, f2);
            }
            sub2Model.put("moved", sub);
            sub2Model.put("empty", empty);
            sub2Model.put("f2", f1);
            assertTrue(f.writer.isEmpty(empty));
            f.model.remove("sub");
            f.model.put("sub2", sub2);
            f.commit();
            rootModel = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/", rootModel);
        DirFixture.verify(img, "/sub2", sub2Model);
        DirFixture.verify(img, "/sub2/moved", moved);
        String parent = Tools.run("debugfs", "-R", "ls -p /sub2/moved", img.toString()).ok().stdout();
        assertTrue(parent.contains("/" + sub2Model.get("moved") + "/040755/0/0/.//"), parent);
    }

    private static void addLinks(DirFixture f, Handle h, long ino, int delta) throws IOException {
        byte[] raw = f.volume.readInode(ino).raw();
        new InodeWriter(f.sb, ino, raw).linksCount(Le.u16(raw, 0x1A) + delta).setChecksum();
        f.volume.writeInode(h, ino, raw);
    }

    /**
     * mkdir as {@code ext4_mkdir} would do it: a directory inode (Orlov placement), one block mapped
     * by its extent tree holding "." and "..", its name in the parent, the parent's link count up.
     */
    static long mkdir(DirFixture f, long parent, String name) throws IOException {
        int credits = InodeAllocator.ALLOC_CREDITS + 1 + BlockAllocator.ALLOC_CREDITS + 4
                + DirectoryWriter.INIT_BLOCK_CREDITS + f.writer.addCredits(parent) + 1;
        try (Handle h = f.journal.start(credits)) {
            long ino = f.groups.inodes().allocate(h, parent, true);
            long gen = f.rnd.nextInt() & 0xFFFFFFFFL;
            int seed = InodeRecord.checksumSeed(f.sb, ino, gen);
            long goal = f.sb.groupFirstBlock((ino - 1) / f.sb.inodesPerGroup);
            BlockAllocator.Run run = f.groups.blocks().allocate(h, goal, 1, 1);
            byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
            ExtentNodeWriter.initRoot(iBlock);
            new ExtentTreeWriter(f.volume, f.groups.blocks(), ino, iBlock, seed, goal).insert(h, 0, 1, run.start(), false);
            byte[] raw = new byte[f.sb.inodeSize];
            long t = DirFixture.NOW.getEpochSecond();
            new InodeWriter(f.sb, ino, raw).extraIsize(f.sb.newInodeExtraIsize()).mode(InodeRecord.S_IFDIR | 0755)
                    .linksCount(2).flags(InodeRecord.FL_EXTENTS).iBlock(iBlock).generation(gen).size(f.sb.blockSize)
                    .blocks512(f.sb.blockSize / 512).atime(t, 0).ctime(t, 0).mtime(t, 0).crtime(t, 0).setChecksum();
            f.volume.writeInode(h, ino, raw);
            f.writer.initDirectoryBlock(h, run.start(), ino, seed, parent);
            f.writer.addEntry(h, parent, DirFixture.bytes(name), ino, DirEntry.FT_DIR);
            addLinks(f, h, parent, +1);
            if (parent == f.dir) {
                f.model.put(name, ino);
            }
            return ino;
        }
    }

    /**
     * Names of random bytes (anything but '/', NUL and newline), 1 to 255 long, into a linear and an
     * htree directory: e2fsck re-hashes every leaf's names with the file system's signedness.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_4K", "CSUM_1K", "NO_DIR_INDEX_4K"})
    void namesOfAnyBytes(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("b"));
        Path img = DirectoryWriterTest.image(tmp, v, src);
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/b", "/target", Integer.MAX_VALUE, 13)) {
            Set<String> seen = new HashSet<>();
            while (seen.size() < 600) {
                byte[] n = new byte[1 + f.rnd.nextInt(255)];
                for (int i = 0; i < n.length; i++) {
                    int c;
                    do {
                        c = 1 + f.rnd.nextInt(255);
                    } while (c == '/' || c == '\n');
                    n[i] = (byte) c;
                }
                String s = DirFixture.str(n);
                if (s.equals(".") || s.equals("..") || !seen.add(s)) {
                    continue;
                }
                f.add(s, seen.size() % 2 == 0);
            }
            List<String> names = new ArrayList<>(f.model.keySet());
            for (int i = 0; i < 150; i++) {
                f.remove(names.get(i * 3));
            }
            f.commit();
            assertEquals(v.dirIndex, f.dirRecord().hasFlag(InodeRecord.FL_INDEX));
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/b", model);
    }

    /**
     * The file system runs out of blocks: with one block left, a one-block directory that overflows
     * gets its first new block (for dir_index, the conversion to an htree takes it) and the next
     * allocation fails with NoSpaceException. The directory must be consistent, holding every name
     * but the one that failed.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"CSUM_1K", "NO_DIR_INDEX_4K"})
    void outOfSpaceLeavesAConsistentDirectory(Variant v, @TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("filler"), new byte[0]);
        Path img = DirectoryWriterTest.image(tmp, v, src);
        Map<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/d", "/target", Integer.MAX_VALUE, 16)) {
            long left = fillAllButOne(f, f.inodeOf("/filler"));
            assertEquals(1, left);
            String failed = null;
            for (int i = 0; i < 10000 && failed == null; i++) {
                String name = DirFixture.name(i, 40);
                try {
                    f.add(name, false);
                } catch (org.ext4j.alloc.NoSpaceException e) {
                    failed = name;
                }
            }
            assertTrue(failed != null, "never ran out of space");
            assertEquals(0, f.groups.freeBlocks());
            assertEquals(2, f.dirRecord().size / v.blockSize, "the directory got the last block");
            assertEquals(v.dirIndex, f.dirRecord().hasFlag(InodeRecord.FL_INDEX));
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/d", model);
    }

    /** Maps every free block into {@code filler} (extents in its root), then frees its last block. */
    private static long fillAllButOne(DirFixture f, long filler) throws IOException {
        InodeRecord rec = f.volume.readInode(filler);
        byte[] iBlock = rec.iBlock();
        ExtentTreeWriter w = new ExtentTreeWriter(f.volume, f.groups.blocks(), filler, iBlock, rec.checksumSeed(f.sb),
                f.sb.firstDataBlock + 1);
        long lblk = 0;
        long tree = 0;
        while (f.groups.freeBlocks() > 0) {
            try (Handle h = f.journal.start(w.creditsForSingleExtent(32768) + 1)) {
                BlockAllocator.Run r = f.groups.blocks().allocate(h, f.sb.firstDataBlock + 1, 1, 32768);
                tree += w.insert(h, lblk, (int) r.length(), r.start(), false).blocksDelta();
                lblk += r.length();
                writeFiller(f, h, filler, iBlock, lblk, tree);
            }
        }
        try (Handle h = f.journal.start(w.removeCredits(lblk - 1, 1) + 1)) {
            ExtentTreeWriter.Change c = w.removeRange(h, lblk - 1, 1);
            tree += c.treeBlocksAllocated() - c.treeBlocksFreed();
            lblk--;
            writeFiller(f, h, filler, iBlock, lblk, tree);
        }
        return f.groups.freeBlocks();
    }

    private static void writeFiller(DirFixture f, Handle h, long ino, byte[] iBlock, long blocks, long treeBlocks)
            throws IOException {
        byte[] raw = f.volume.readInode(ino).raw();
        new InodeWriter(f.sb, ino, raw).iBlock(iBlock).size(blocks * f.sb.blockSize)
                .blocks512((blocks + treeBlocks) * (f.sb.blockSize / 512)).setChecksum();
        f.volume.writeInode(h, ino, raw);
    }

    /** What the writer refuses, each with its typed exception, leaving the image as it was. */
    @Test
    void refusals(@TempDir Path tmp) throws IOException {
        Tools.requireRootAndLoop();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("lin"));
        Files.createDirectories(src.resolve("big"));
        Files.write(src.resolve("lin").resolve("here"), new byte[0]);
        for (int i = 0; i < 500; i++) {
            Files.write(src.resolve("big").resolve("n" + i + "-" + "p".repeat(40)), new byte[0]);
        }
        Path img = DirectoryWriterTest.image(tmp, Variant.CSUM_4K, src);
        assertTrue(Tools.run("e2fsck", "-fyD", img.toString()).exit() <= 1);
        Map<String, Long> lin;
        Map<String, Long> big;
        try (DirFixture f = new DirFixture(img, "/lin", "/target", Integer.MAX_VALUE, 14)) {
            long bigDir = f.inodeOf("/big");
            assertTrue(f.volume.readInode(bigDir).hasFlag(InodeRecord.FL_INDEX));
            try (Handle h = f.journal.start(200)) {
                DirectoryWriter w = f.writer;
                assertThrows(EntryExistsException.class, () -> w.addEntry(h, f.dir, DirFixture.bytes("here"), f.target, 1));
                assertThrows(EntryExistsException.class,
                        () -> w.addEntry(h, bigDir, DirFixture.bytes("n7-" + "p".repeat(40)), f.target, 1));
                for (String bad : new String[] {"", "a/b", "a\0b", ".", "..", "x".repeat(256)}) {
                    assertThrows(IllegalArgumentException.class, () -> w.addEntry(h, f.dir, DirFixture.bytes(bad), f.target, 1),
                            bad);
                    assertThrows(IllegalArgumentException.class, () -> w.removeEntry(h, f.dir, DirFixture.bytes(bad)), bad);
                }
                assertThrows(IllegalArgumentException.class, () -> w.addEntry(h, f.dir, DirFixture.bytes("ok"), 0, 1));
                assertThrows(IllegalArgumentException.class,
                        () -> w.addEntry(h, f.dir, DirFixture.bytes("ok"), f.sb.inodesCount + 1, 1));
                assertThrows(IllegalArgumentException.class, () -> w.addEntry(h, f.dir, DirFixture.bytes("ok"), f.target, 8));
                assertThrows(NotFoundException.class, () -> w.removeEntry(h, f.dir, DirFixture.bytes("absent")));
                assertThrows(NotFoundException.class, () -> w.removeEntry(h, bigDir, DirFixture.bytes("absent")));
                assertThrows(NotFoundException.class, () -> w.replaceEntry(h, bigDir, DirFixture.bytes("absent"), 12, 1));
                assertThrows(WrongTypeException.class, () -> w.addEntry(h, f.target, DirFixture.bytes("ok"), f.target, 1));
            }
            f.commit();
            lin = new TreeMap<>(f.model);
            big = DirFixture.debugfsList(img, "/big");
        }
        DirFixture.verify(img, "/lin", lin);
        DirFixture.verify(img, "/big", big);
    }

    /**
     * An inline directory made by mke2fs (InlineDirectory): names added stay in the inode (i_block,
     * then the system.data value), then the directory is converted to one block and grows on; names
     * removed on both sides of the conversion; debugfs, the kernel and ext4j see the model, e2fsck is
     * clean. Over 1 KiB and 4 KiB blocks, with and without metadata_csum.
     */
    @ParameterizedTest
    @CsvSource({"4096, metadata_csum", "1024, metadata_csum", "4096, ^metadata_csum", "1024, ^metadata_csum"})
    void inlineDirectoriesGrowIntoBlocks(int bs, String csum, @TempDir Path tmp) throws Exception {
        Tools.requireTools("mkfs.ext4", "debugfs", "e2fsck");
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("small"));
        Files.write(src.resolve("small").resolve("f"), new byte[0]);
        Files.write(src.resolve("target"), new byte[0]);
        Path img = tmp.resolve("inline.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", Integer.toString(bs), "-I", "256", "-O", "inline_data," + csum), src);
        TreeMap<String, Long> model;
        try (DirFixture f = new DirFixture(img, "/small", "/target", Integer.MAX_VALUE, 15)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(f.dirRecord().hasFlag(InodeRecord.FL_INLINE_DATA),
                    "mke2fs made /small a block directory");
            int i = 0;
            List<String> added = new ArrayList<>();
            while (f.dirRecord().hasFlag(InodeRecord.FL_INLINE_DATA)) {
                String n = DirFixture.name(i, 5 + i % 7);
                f.add(n, i % 3 == 0);
                added.add(n);
                if (i == 1) {
                    f.remove("f"); // the first record of i_block: its inode becomes 0
                }
                if (i == 5) {
                    f.remove(added.get(2));
                }
                i++;
                assertTrue(i < 40, "an inline directory never filled its inode");
            }
            assertTrue(i > 4, "names were added inline before the conversion (" + i + ")");
            assertEquals(bs, f.dirRecord().size, "converted to one block");
            f.remove(added.get(0));
            for (int k = 0; k < 30; k++, i++) {
                f.add(DirFixture.name(i, 9 + k % 20), false);
            }
            f.commit();
            model = new TreeMap<>(f.model);
        }
        DirFixture.verify(img, "/small", model);
        assertEquals(0, Tools.fsck(img).exit(), Tools.fsck(img).stdout());
    }

    // ------------------------------------------------------------------ codecs against the reader

    @ParameterizedTest
    @ValueSource(ints = {1024, 2048, 4096, 65536})
    void dotBlockReadsBack(int bs) throws CorruptionException {
        for (boolean csum : new boolean[] {false, true}) {
            byte[] b = new byte[bs];
            DirEntryWriter.initDotBlock(b, bs, 77, 2, true, csum, 0x1234567);
            List<DirEntry> es = new ArrayList<>();
            int end = csum ? bs - DirEntry.TAIL_SIZE : bs;
            DirEntry.walk(b, 0, end, bs, true, 1000, 77, 9, e -> es.add(e));
            assertEquals(2, es.size());
            assertTrue(es.get(0).isDot() && es.get(0).inode() == 77 && es.get(0).recLen() == 12);
            assertTrue(es.get(1).isDotDot() && es.get(1).inode() == 2 && es.get(1).recLen() == end - 12);
            assertEquals(DirEntry.FT_DIR, es.get(1).fileType());
            assertEquals(csum, DirEntry.hasTail(b, bs));
            if (csum) {
                DirEntry.verifyTail(b, bs, 0x1234567, 77, 9);
                b[20] ^= 1;
                byte[] broken = b;
                assertThrows(CorruptionException.class, () -> DirEntry.verifyTail(broken, bs, 0x1234567, 77, 9));
            }
        }
    }

    /** {@code ext4_rec_len_to_disk}: identity below 64 KiB; a whole 64 KiB block is 65535. */
    @Test
    void recLenEncoding() {
        assertEquals(4096, DirEntryWriter.recLenToDisk(4096, 4096));
        assertEquals(12, DirEntryWriter.recLenToDisk(12, 65536));
        assertEquals(65535, DirEntryWriter.recLenToDisk(65536, 65536));
        for (int len = 12; len <= 65536; len += 4) {
            assertEquals(len, DirEntry.recLenFromDisk(DirEntryWriter.recLenToDisk(len, 65536), 65536));
        }
        assertThrows(IllegalArgumentException.class, () -> DirEntryWriter.recLenToDisk(14, 4096));
        assertThrows(IllegalArgumentException.class, () -> DirEntryWriter.recLenToDisk(8192, 4096));
    }

    /** Index blocks written by DxNodeWriter decode and verify with DxNode; inserts keep order. */
    @ParameterizedTest
    @ValueSource(ints = {1024, 4096})
    void dxNodesReadBack(int bs) throws CorruptionException {
        for (boolean csum : new boolean[] {false, true}) {
            byte[] root = new byte[bs];
            DirEntryWriter.initDotBlock(root, bs, 5, 2, true, csum, 99);
            DxNodeWriter.initRoot(root, bs, csum, 1, 1);
            DxNodeWriter.insert(root, DxNode.ROOT_ENTRIES_OFFSET, 0, 0x3000, 3);
            DxNodeWriter.insert(root, DxNode.ROOT_ENTRIES_OFFSET, 0, 0x1000, 2);
            if (csum) {
                DxNodeWriter.setTail(root, DxNode.ROOT_ENTRIES_OFFSET, 99);
            }
            DxNode n = DxNode.decode(root, DxNode.ROOT_ENTRIES_OFFSET, bs, csum, 5, 0);
            if (csum) {
                n.verifyTail(root, 99, 5, 0);
            }
            assertEquals(3, n.count());
            assertArrayEquals(new long[] {1, 2, 3}, new long[] {n.block(0), n.block(1), n.block(2)});
            assertEquals(0x1000, n.hash(1));
            assertEquals(1, n.find(0x2000));
            assertEquals(2, n.find(0x3000));
            assertEquals(1, DxNode.rootInfo(root).hashVersion());
            List<DirEntry> es = new ArrayList<>();
            DirEntry.walk(root, 0, bs, bs, true, 1000, 5, 0, e -> es.add(e));
            assertEquals(2, es.size(), "the root reads as \".\" and a \"..\" spanning the block");

            byte[] node = new byte[bs];
            DxNodeWriter.initNode(node, bs, csum);
            DxNodeWriter.setCount(node, DxNode.NODE_ENTRIES_OFFSET, 1);
            DxNodeWriter.setBlock(node, DxNode.NODE_ENTRIES_OFFSET, 0, 7);
            if (csum) {
                DxNodeWriter.setTail(node, DxNode.NODE_ENTRIES_OFFSET, 99);
                DxNode.decode(node, DxNode.NODE_ENTRIES_OFFSET, bs, true, 5, 4).verifyTail(node, 99, 5, 4);
            }
            assertEquals(bs, DirEntry.recLenFromDisk(Le.u16(node, 4), bs));
        }
    }

    /** {@code dx_root_limit} / {@code dx_node_limit} as the reader expects them. */
    @Test
    void dxLimits() {
        assertEquals(508, DxNodeWriter.rootLimit(4096, false));
        assertEquals(507, DxNodeWriter.rootLimit(4096, true));
        assertEquals(511, DxNodeWriter.nodeLimit(4096, false));
        assertEquals(510, DxNodeWriter.nodeLimit(4096, true));
        assertEquals(123, DxNodeWriter.rootLimit(1024, true));
        assertEquals(126, DxNodeWriter.nodeLimit(1024, true));
    }
}
