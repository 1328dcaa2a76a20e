package org.ext4j.extents;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Le;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ExtentTreeWriter} judged by e2fsprogs and the kernel: trees built, cut and converted by
 * ext4j on real mkfs.ext4 images must pass {@code e2fsck -fn}, and debugfs and a kernel mount must
 * read exactly the model's bytes, over 1 KiB and 4 KiB blocks with metadata_csum on and off.
 */
@ExtendWith(SkippedChecks.class)
class ExtentTreeWriterTest {
    /** Small split thresholds (the kernel's AGGRESSIVE_TEST) so a hundred extents make a deep tree. */
    static final ExtentTreeWriter.Capacity SMALL = new ExtentTreeWriter.Capacity(3, 6);

    static Stream<Arguments> geometries() {
        return Stream.of(Arguments.of(1024, true), Arguments.of(1024, false), Arguments.of(4096, true),
                Arguments.of(4096, false));
    }

    @ParameterizedTest(name = "{0}-byte blocks, metadata_csum {1}")
    @MethodSource("geometries")
    void randomInsertsGrowTheTreeThenRemoveAndConvert(int blockSize, boolean csum, @TempDir Path tmp) throws Exception {
        long size = 400;
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, blockSize, csum, 64L << 20, size, SMALL)) {
            Random rnd = new Random(blockSize * 31L + (csum ? 1 : 0));
            List<Long> starts = new ArrayList<>();
            for (long l = 0; l < 360; l += 3) {
                starts.add(l); // two-block extents with a one-block hole: nothing merges logically
            }
            Collections.shuffle(starts, rnd);
            for (long l : starts) {
                f.allocateAndInsert(l, 2, rnd.nextInt(4) == 0);
            }
            f.commit();
            assertTrue(f.writer.depth() >= 3, "depth " + f.writer.depth());
            assertEquals(f.writer.depth(), f.debugfsDepth());
            assertTreeBlocks(f);
            f.verify(true);

            f.removeRange(100, 50); // many extents, some whole leaves, trims at both ends
            f.removeRange(7, 1); // the middle of nothing (a hole): no change
            f.removeRange(301, 1); // punch the middle of one block of an extent: trims its tail
            f.convert(0, 360, false); // every unwritten extent becomes written, merging where possible
            f.convert(200, 30, true); // a written stretch becomes unwritten (zero range)
            f.removeRange(350, 10);
            f.commit();
            assertTreeBlocks(f);
            f.verify(true);

            f.removeRange(0, size); // truncate to zero: tree back to an empty root
            f.commit();
            assertEquals(0, f.writer.depth());
            assertEquals(0, f.treeBlocks);
            assertEquals(0, ExtentNodeWriter.entries(f.iBlock, 0));
            f.verify(true);
        }
    }

    /** The tree blocks the writer accounted for are those the tree holds. */
    private static void assertTreeBlocks(ExtentTreeWriterFixture f) throws IOException {
        List<Long> blocks = new ArrayList<>();
        new ExtentTreeReader(f.volume, f.ino, f.iBlock, f.volume.readInode(f.ino).checksumSeed(f.sb)).allExtents(blocks);
        assertEquals(blocks.size(), f.treeBlocks, "tree blocks " + blocks);
    }

    @ParameterizedTest(name = "{0}-byte blocks, metadata_csum {1}")
    @MethodSource("geometries")
    void sequentialAppendsMergeIntoOneExtent(int blockSize, boolean csum, @TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, blockSize, csum, 16L << 20, 64,
                ExtentTreeWriter.Capacity.REAL)) {
            for (long l = 0; l < 64; l += 4) {
                f.allocateAndInsert(l, 4, false); // each run continues at the previous one's end
            }
            f.commit();
            f.verify(false);
            List<Extent> ex = f.debugfsExtents();
            assertEquals(1, ex.size(), ex.toString());
            assertEquals(new Extent(0, 64, ex.get(0).physical(), false), ex.get(0));
            assertEquals(0, f.writer.depth());
        }
    }

    /**
     * Ends meeting in the middle: prepending into the extent on the right and appending to the one
     * on the left, then filling the gap, which merges all three.
     */
    @Test
    void insertsMergeLeftRightAndBoth(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 4096, true, 16L << 20, 30,
                ExtentTreeWriter.Capacity.REAL)) {
            long p;
            try (Handle h = f.journal.start(f.writer.creditsForSingleExtent(30))) {
                p = f.alloc.allocate(h, 0, 30, 30).start();
                f.insertAllocated(h, 10, 5, p + 10, false);
                f.insertAllocated(h, 20, 5, p + 20, false);
                f.insertAllocated(h, 5, 5, p + 5, false); // prepends into [10,15)
                f.insertAllocated(h, 25, 5, p + 25, false); // appends to [20,25)
                f.insertAllocated(h, 15, 5, p + 15, false); // joins both
                f.insertAllocated(h, 0, 5, p, true); // unwritten: does not merge with written
            }
            f.commit();
            f.verify(true);
            assertEquals(List.of(new Extent(0, 5, p, true), new Extent(5, 25, p + 5, false)), f.debugfsExtents());
        }
    }

    /**
     * The length limits of {@code ext4_can_extents_be_merged}: unwritten extents stop at 32767
     * blocks, written ones at 32768; converting joins up to the written limit. Group 2 of a 4 KiB
     * file system with flex_bg and no journal holds no metadata, so its 32768 blocks are one free run.
     */
    @Test
    void mergesStopAtTheLengthLimits(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 4096, true, 400L << 20, 32770,
                ExtentTreeWriter.Capacity.REAL, List.of("-O", "^has_journal"))) {
            long p = 65536;
            try (Handle h = f.journal.start(f.writer.creditsForSingleExtent(32768))) {
                BlockAllocator.Run run = f.alloc.allocate(h, p, 32768, 32768);
                assertEquals(p, run.start());
                f.insertAllocated(h, 0, 20000, p, true);
                f.insertAllocated(h, 20000, 12767, p + 20000, true); // 32767 in all: merges
                f.insertAllocated(h, 32767, 1, p + 32767, true); // would be 32768 unwritten: does not
            }
            f.commit();
            assertEquals(List.of(new Extent(0, 32767, p, true), new Extent(32767, 1, p + 32767, true)),
                    f.debugfsExtents());
            f.convert(0, 32768, false);
            f.commit();
            assertEquals(List.of(new Extent(0, 32768, p, false)), f.debugfsExtents());
            f.convert(0, 32768, true); // 32768 cannot be one unwritten extent: split at 32767
            f.commit();
            assertEquals(List.of(new Extent(0, 32767, p, true), new Extent(32767, 1, p + 32767, true)),
                    f.debugfsExtents());
            assertEquals(0, Tools.fsck(f.image).exit());
        }
    }

    /** Converting the middle of an unwritten extent splits it in three; converting the rest merges back into one. */
    @ParameterizedTest(name = "{0}-byte blocks, metadata_csum {1}")
    @MethodSource("geometries")
    void convertSplitsInThreeAndMergesBack(int blockSize, boolean csum, @TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, blockSize, csum, 16L << 20, 40,
                ExtentTreeWriter.Capacity.REAL)) {
            f.allocateAndInsert(0, 40, true);
            long p = f.model.get(0L).pblk();
            f.convert(10, 5, false);
            f.commit();
            f.verify(true);
            assertEquals(List.of(new Extent(0, 10, p, true), new Extent(10, 5, p + 10, false),
                    new Extent(15, 25, p + 15, true)), f.debugfsExtents());
            f.convert(15, 5, false); // left neighbour written and contiguous: the boundary moves
            f.convert(5, 5, false); // right neighbour: likewise
            f.commit();
            f.verify(true);
            assertEquals(List.of(new Extent(0, 5, p, true), new Extent(5, 15, p + 5, false),
                    new Extent(20, 20, p + 20, true)), f.debugfsExtents());
            f.convert(0, 40, false);
            f.commit();
            f.verify(true);
            assertEquals(List.of(new Extent(0, 40, p, false)), f.debugfsExtents());
        }
    }

    /** Punching the middle of a written extent leaves two, and frees exactly the punched blocks. */
    @Test
    void punchInTheMiddleSplitsTheExtent(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 100,
                ExtentTreeWriter.Capacity.REAL)) {
            f.allocateAndInsert(0, 100, false);
            long p = f.model.get(0L).pblk();
            f.commit();
            long free = f.alloc.freeBlocks();
            f.removeRange(40, 20);
            f.commit();
            assertEquals(free + 20, f.alloc.freeBlocks());
            f.verify(true);
            assertEquals(List.of(new Extent(0, 40, p, false), new Extent(60, 40, p + 60, false)), f.debugfsExtents());
        }
    }

    /** A truncate of a deep tree in handles of few credits, as a restarting truncate does it. */
    @Test
    void removalInSmallHandlesFinishes(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 32L << 20, 300, SMALL)) {
            for (long l = 0; l < 300; l += 2) {
                f.allocateAndInsert(l, 1, false);
            }
            f.commit();
            assertTrue(f.writer.depth() >= 3);
            int handles = f.removeRangeInSteps(20, 260, 9);
            assertTrue(handles > 5, "handles " + handles);
            f.commit();
            assertTreeBlocks(f);
            f.verify(true);
        }
    }

    /** Lookups: the extent covering a block, the hole up to the next extent, the goal after an extent. */
    @Test
    void lookupsForTheMapper(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 400, SMALL)) {
            for (long l = 0; l < 300; l += 10) {
                f.allocateAndInsert(l, 3, l % 20 == 0);
            }
            f.commit();
            for (long l = 0; l < 320; l++) {
                ExtentTreeWriterFixture.Block b = f.model.get(l);
                BlockMap.Mapping m = f.writer.map(l, 1000);
                if (b == null) {
                    assertEquals(BlockMap.State.HOLE, m.state(), "block " + l);
                    long next = f.model.ceilingKey(l) == null ? ExtentNodeWriter.MAX_LOGICAL_END : f.model.ceilingKey(l);
                    assertEquals(Math.min(1000, next - l), m.length(), "hole at " + l);
                    assertNull(f.writer.extentAt(l));
                } else {
                    assertEquals(b.unwritten() ? BlockMap.State.UNWRITTEN : BlockMap.State.WRITTEN, m.state());
                    assertEquals(b.pblk(), m.physical());
                    assertEquals(3 - l % 10, m.length());
                    Extent e = f.writer.extentAt(l);
                    assertEquals(l - l % 10, e.logical());
                }
            }
            long last = f.model.get(292L).pblk();
            assertEquals(last + 2, f.writer.findGoal(294));
        }
    }

    /**
     * Running out of space in the middle of a split changes nothing: the blocks the writer got are
     * returned, the tree and the root are as before, and e2fsck finds the image clean.
     */
    @Test
    void noSpaceDuringASplitChangesNothing(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 100, SMALL)) {
            for (long l = 0; l < 36; l += 2) {
                f.allocateAndInsert(l, 1, false); // three full leaves under a full root
            }
            assertEquals(1, f.writer.depth());
            assertEquals(3, ExtentNodeWriter.entries(f.iBlock, 0));
            f.commit();
            byte[] rootBefore = f.iBlock.clone();
            long freeBefore = f.alloc.freeBlocks();
            int[] calls = {0};
            BlockAllocator failing = new BlockAllocator() {
                @Override
                public Run allocate(Handle h, long goal, long minLen, long maxLen) throws IOException {
                    if (calls[0]++ > 0) {
                        throw new NoSpaceException("test: no more blocks");
                    }
                    return f.alloc.allocate(h, goal, 1, 1); // one block at a time
                }

                @Override
                public void free(Handle h, long start, long length) throws IOException {
                    f.alloc.free(h, start, length);
                }

                @Override
                public void checkFree(long start, long length) throws IOException {
                    f.alloc.checkFree(start, length);
                }

                @Override
                public long freeBlocks() {
                    return f.alloc.freeBlocks();
                }
            };
            ExtentTreeWriter w = new ExtentTreeWriter(f.volume, failing, f.ino, f.iBlock,
                    f.volume.readInode(f.ino).checksumSeed(f.sb), 0, SMALL);
            try (Handle h = f.journal.start(w.creditsForSingleExtent(1))) {
                long data = f.alloc.allocate(h, 0, 1, 1).start();
                // inserting at the end splits the last leaf and grows the tree: two blocks, the second fails
                NoSpaceException e = assertThrows(NoSpaceException.class, () -> w.insert(h, 99, 1, data, false));
                assertTrue(e.getMessage().contains("test"));
                ExtentTreeWriter.Change c = w.takeChange();
                assertEquals(new ExtentTreeWriter.Change(false, 0, 0, 0, 0), c);
                w.checkVerified(); // the failed step changed its working copies only
                f.alloc.free(h, data, 1);
            }
            assertArrayEquals(rootBefore, f.iBlock);
            assertEquals(freeBefore, f.alloc.freeBlocks());
            f.commit();
            f.verify(false);
        }
    }

    /**
     * A tree block whose checksum is wrong is reported, not changed, by a writer that meets it for
     * the first time (an inode opened anew). A writer that verified the block before works from the
     * bytes it verified and published, as the kernel trusts a {@code buffer_verified} buffer head.
     */
    @Test
    void corruptTreeBlockIsReported(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 100, SMALL)) {
            for (long l = 0; l < 30; l += 2) {
                f.allocateAndInsert(l, 1, false);
            }
            f.commit();
            long child = ExtentNodeWriter.indexChild(f.iBlock, 0, 0);
            MetaBuffer b = f.volume.buffer(child, f.ino);
            b.data()[ExtentNodeWriter.entryOffset(0, 0) + 10] ^= 1; // ei_unused / ee_start_lo: checksum now wrong
            ExtentTreeWriter fresh = new ExtentTreeWriter(f.volume, f.alloc, f.ino, f.iBlock.clone(),
                    f.volume.readInode(f.ino).checksumSeed(f.sb), 0, SMALL);
            try (Handle h = f.journal.start(50)) {
                CorruptionException e = assertThrows(CorruptionException.class, () -> fresh.removeRange(h, 0, 100));
                assertEquals(CorruptionException.Kind.CHECKSUM, e.kind());
                assertEquals(child, e.block());
            }
            assertEquals(BlockMap.State.WRITTEN, f.writer.map(0, 1).state());
            b.data()[ExtentNodeWriter.entryOffset(0, 0) + 10] ^= 1;
        }
    }

    /**
     * An index pointing outside the file system is reported as such before anything is read there:
     * when the root is first decoded, as the kernel's {@code ext4_ext_check_inode} at iget.
     */
    @Test
    void indexOutsideTheFileSystemIsReported(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, false, 16L << 20, 100, SMALL)) {
            for (long l = 0; l < 30; l += 2) {
                f.allocateAndInsert(l, 1, false);
            }
            byte[] root = f.iBlock.clone();
            assertTrue(ExtentNodeWriter.depth(root, 0) > 0);
            ExtentNodeWriter.putIndex(root, 0, 0, ExtentNodeWriter.entryLogical(root, 0, 0), f.sb.blocksCount + 5);
            CorruptionException e = assertThrows(CorruptionException.class,
                    () -> new ExtentTreeWriter(f.volume, f.alloc, f.ino, root, 0, 0, SMALL).map(0, 1));
            assertEquals(CorruptionException.Kind.BLOCK_OUT_OF_RANGE, e.kind());
            assertEquals(f.sb.blocksCount + 5, e.block());
        }
    }

    /**
     * A leaf whose extent was moved onto the inode table (checksum set again, as debugfs would): a
     * writer meeting the leaf refuses it when it loads it ({@code __ext4_ext_check}), naming the
     * extent's logical block and the inode table block, before removing or freeing anything.
     */
    @Test
    void treeBlockMappingMetadataIsRefusedWhenLoaded(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 100, SMALL)) {
            for (long l = 0; l < 30; l += 2) {
                f.allocateAndInsert(l, 1, false);
            }
            f.commit();
            long blk = ExtentNodeWriter.indexChild(f.iBlock, 0, 0);
            MetaBuffer b = f.volume.buffer(blk, f.ino);
            while (ExtentNodeWriter.depth(b.data(), 0) > 0) {
                blk = ExtentNodeWriter.indexChild(b.data(), 0, 0);
                b = f.volume.buffer(blk, f.ino);
            }
            byte[] saved = b.data().clone();
            int seed = f.volume.readInode(f.ino).checksumSeed(f.sb);
            long itable = f.volume.group(0).inodeTable();
            ExtentNode.Extent e0 = ExtentNodeWriter.extent(b.data(), 0, 0);
            ExtentNodeWriter.putExtent(b.data(), 0, 0, e0.logical(), e0.length(), itable + 1, e0.unwritten());
            ExtentNodeWriter.setTail(b.data(), seed);
            long freeBefore = f.alloc.freeBlocks();
            ExtentTreeWriter fresh = new ExtentTreeWriter(f.volume, f.alloc, f.ino, f.iBlock.clone(), seed, 0, SMALL);
            try (Handle h = f.journal.start(50)) {
                CorruptionException e = assertThrows(CorruptionException.class,
                        () -> fresh.removeRange(h, e0.logical(), 1));
                assertEquals(CorruptionException.Kind.BLOCK_IN_SYSTEM_ZONE, e.kind());
                assertEquals(itable + 1, e.block());
                assertEquals(e0.logical(), e.logical());
                assertEquals(new ExtentTreeWriter.Change(false, 0, 0, 0, 0), fresh.takeChange());
                assertThrows(CorruptionException.class, () -> fresh.map(e0.logical(), 1));
            }
            assertEquals(freeBefore, f.alloc.freeBlocks());
            System.arraycopy(saved, 0, b.data(), 0, saved.length);
        }
    }

    /**
     * Blocks of the system zone handed to insert (a damaged bitmap made the allocator give them) are
     * refused as corruption, with the tree unchanged: data must never be mapped onto metadata.
     */
    @Test
    void insertOntoMetadataIsRefused(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 4096, false, 16L << 20, 100,
                ExtentTreeWriter.Capacity.REAL)) {
            f.allocateAndInsert(0, 4, false);
            byte[] rootBefore = f.iBlock.clone();
            long bitmap = f.volume.group(0).blockBitmap();
            try (Handle h = f.journal.start(20)) {
                CorruptionException e = assertThrows(CorruptionException.class,
                        () -> f.writer.insert(h, 10, 2, bitmap - 1, false));
                assertEquals(CorruptionException.Kind.BLOCK_IN_SYSTEM_ZONE, e.kind());
                assertTrue(e.getMessage().contains("newly allocated block"), e.getMessage());
            }
            assertArrayEquals(rootBefore, f.iBlock);
        }
    }

    /** Caller errors are refused before anything changes. */
    @Test
    void overlappingAndOversizedInsertsAreRefused(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 4096, true, 16L << 20, 100,
                ExtentTreeWriter.Capacity.REAL)) {
            f.allocateAndInsert(10, 10, false);
            long p = f.model.get(10L).pblk();
            try (Handle h = f.journal.start(20)) {
                assertThrows(IllegalArgumentException.class, () -> f.writer.insert(h, 15, 1, p + 50, false));
                assertThrows(IllegalArgumentException.class, () -> f.writer.insert(h, 5, 6, p + 50, false));
                assertThrows(IllegalArgumentException.class, () -> f.writer.insert(h, 30, 32768, p + 50, true));
                assertThrows(IllegalArgumentException.class, () -> f.writer.insert(h, 30, 1, f.sb.blocksCount, false));
                assertThrows(IllegalArgumentException.class, () -> f.writer.insert(h, 0xFFFFFFFFL, 1, p + 50, false));
            }
            assertEquals(List.of(new Extent(10, 10, p, false)), f.debugfsExtentsAfterCommit());
        }
    }

    /**
     * Why {@link ExtentTreeWriter.Capacity} changes only the split threshold: e2fsprogs refuses a
     * tree block whose eh_max is more than two below what the block holds, so the kernel's
     * AGGRESSIVE_TEST trees (eh_max 6) would not pass e2fsck. Here a correct leaf block gets an
     * eh_max equal to its entry count (checksum fixed): our decoder accepts it, e2fsck does not.
     */
    @Test
    void e2fsckRefusesAShrunkEhMax(@TempDir Path tmp) throws Exception {
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, 1024, true, 16L << 20, 100, SMALL)) {
            for (long l = 0; l < 8; l += 2) {
                f.allocateAndInsert(l, 1, false);
            }
            f.allocateAndInsert(50, 1, false);
            f.commit();
            f.verify(false);
            assertEquals(1, f.writer.depth());
            long leaf = ExtentNodeWriter.indexChild(f.iBlock, 0, 0);
            MetaBuffer b = f.volume.buffer(leaf, f.ino);
            assertEquals(ExtentNodeWriter.blockCapacity(1024), ExtentNodeWriter.max(b.data(), 0));
            try (Handle h = f.journal.start(1)) {
                h.getWriteAccess(b);
                ExtentNodeWriter.setMax(b.data(), 0, ExtentNodeWriter.entries(b.data(), 0));
                ExtentNodeWriter.setTail(b.data(), f.volume.readInode(f.ino).checksumSeed(f.sb));
                h.markDirty(b);
            }
            f.journal.commit();
            ExtentNode.decode(b.data(), 0, 1024, f.ino, leaf, 0); // our own reader accepts it
            Tools.Result fsck = Tools.fsck(f.image);
            assertNotEquals(0, fsck.exit(), fsck.stdout());
        }
    }

    /** The codec's exact bytes for an extent and an index (ext4_extents.h). */
    @Test
    void codecWritesKernelLayout() {
        byte[] b = new byte[60];
        ExtentNodeWriter.initRoot(b);
        ExtentNodeWriter.putExtent(b, 0, 0, 0x01020304L, 7, 0x0000_1122_3344_5566L, true);
        ExtentNodeWriter.setEntries(b, 0, 1);
        assertEquals(0xF30A, Le.u16(b, 0));
        assertEquals(1, Le.u16(b, 2));
        assertEquals(4, Le.u16(b, 4));
        assertEquals(0x01020304L, Le.u32(b, 12));
        assertEquals(32768 + 7, Le.u16(b, 16));
        assertEquals(0x1122, Le.u16(b, 18)); // ee_start_hi
        assertEquals(0x33445566L, Le.u32(b, 20)); // ee_start_lo
        ExtentNodeWriter.putIndex(b, 0, 1, 9, 0x0000_AABB_CCDD_EEFFL);
        assertEquals(0xCCDDEEFFL, Le.u32(b, 24 + 4)); // ei_leaf_lo
        assertEquals(0xAABB, Le.u16(b, 24 + 8)); // ei_leaf_hi
        assertEquals(new Extent(0x01020304L, 7, 0x0000_1122_3344_5566L, true), ExtentNodeWriter.extent(b, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> ExtentNodeWriter.putExtent(b, 0, 0, 0, 32768, 1, true));
        assertThrows(IllegalArgumentException.class, () -> ExtentNodeWriter.putExtent(b, 0, 0, 0, 0, 1, false));
    }

    /** Table of {@code ext4_can_extents_be_merged} boundaries. */
    @Test
    void mergeRule() {
        assertTrue(ExtentTreeWriter.canMerge(new Extent(0, 10, 100, false), new Extent(10, 5, 110, false)));
        assertTrue(ExtentTreeWriter.canMerge(new Extent(0, 32000, 100, false), new Extent(32000, 768, 32100, false)));
        assertTrue(!ExtentTreeWriter.canMerge(new Extent(0, 32000, 100, false), new Extent(32000, 769, 32100, false)));
        assertTrue(ExtentTreeWriter.canMerge(new Extent(0, 32000, 100, true), new Extent(32000, 767, 32100, true)));
        assertTrue(!ExtentTreeWriter.canMerge(new Extent(0, 32000, 100, true), new Extent(32000, 768, 32100, true)));
        assertTrue(!ExtentTreeWriter.canMerge(new Extent(0, 10, 100, false), new Extent(10, 5, 111, false)));
        assertTrue(!ExtentTreeWriter.canMerge(new Extent(0, 10, 100, false), new Extent(11, 5, 110, false)));
        assertTrue(!ExtentTreeWriter.canMerge(new Extent(0, 10, 100, true), new Extent(10, 5, 110, false)));
    }
}
