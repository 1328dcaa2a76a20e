package org.ext4j.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.ext4j.alloc.AllocImages.Session;
import org.ext4j.alloc.AllocImages.Variant;
import org.ext4j.alloc.BlockAllocator.Run;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link BitmapBlockAllocator} judged by e2fsck and dumpe2fs. Allocated blocks have no owner yet (the
 * extent writer comes later), so e2fsck must report exactly them as "block bitmap differences" and
 * nothing else: no checksum, count or padding complaint. Freeing them all again must give back the
 * image's bitmaps and counts byte for byte.
 */
class BlockAllocatorTest {

    /** Adds the blocks of {@code r} to {@code into}, failing if one is there already. */
    private static void add(TreeSet<Long> into, Run r) {
        for (long b = r.start(); b < r.end(); b++) {
            assertTrue(into.add(b), "block " + b + " handed out twice (run " + r + ")");
        }
    }

    /** Runs at the start and in the middle of the groups {@code touched} selects, and one long run. */
    private static List<Run> pattern(Session s, java.util.function.LongPredicate touched) throws Exception {
        Superblock sb = s.volume.superblock();
        List<Run> runs = new ArrayList<>();
        for (long g = 0; g < s.volume.groupCount(); g++) {
            if (touched.test(g)) {
                runs.add(s.allocate(sb.groupFirstBlock(g), 1, 5));
                runs.add(s.allocate(sb.groupFirstBlock(g) + sb.blocksInGroup(g) / 2, 1, 300));
            }
        }
        runs.add(s.allocate(sb.firstDataBlock, 1, 1000));
        return runs;
    }

    private static void assertOnlyBlockDifferences(FsckReport fsck, Set<Long> allocated) {
        assertEquals(List.of(), fsck.otherLines(), fsck.output());
        assertEquals(new TreeSet<>(allocated), fsck.blocksUsedButUnowned(), fsck.output());
        assertEquals(Set.of(), fsck.blocksOwnedButFree(), fsck.output());
        assertEquals(Set.of(), fsck.inodesUsedButUnowned(), fsck.output());
        assertEquals(Map.of(), fsck.directoryCounts(), fsck.output());
        assertEquals(allocated.isEmpty() ? 0 : 4, fsck.exit(), fsck.output());
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void allocatedBlocksAreExactlyWhatFsckFindsUnowned(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        TreeSet<Long> allocated = new TreeSet<>();
        Set<Long> touched = new TreeSet<>();
        long blocksPerGroup;
        long firstData;
        try (Session s = new Session(img)) {
            blocksPerGroup = s.volume.superblock().blocksPerGroup;
            firstData = s.volume.superblock().firstDataBlock;
            for (Run r : pattern(s, g -> g % 3 != 2)) {
                add(allocated, r);
            }
            assertEquals(before.freeBlocks() - allocated.size(), s.alloc.freeBlocks());
            assertEquals(Map.of(), s.alloc.corruptGroups());
        }
        allocated.forEach(b -> touched.add((b - firstData) / blocksPerGroup));

        assertTrue(before.allFreeBlocks().containsAll(allocated), "handed out a block that was in use");
        assertOnlyBlockDifferences(FsckReport.of(img), allocated);

        DumpE2fs after = DumpE2fs.of(img);
        assertEquals(before.freeBlocks() - allocated.size(), after.freeBlocks(), "superblock free blocks");
        assertEquals(before.freeInodes(), after.freeInodes());
        TreeSet<Long> expectFree = before.allFreeBlocks();
        expectFree.removeAll(allocated);
        assertEquals(expectFree, after.allFreeBlocks());
        for (DumpE2fs.Group g : after.groups()) {
            DumpE2fs.Group b = before.group(g.number());
            long inGroup = allocated.subSet(g.first(), g.last() + 1).size();
            assertEquals(b.freeBlocks() - inGroup, g.freeBlocks(), "free blocks of group " + g.number());
            Set<String> flags = new TreeSet<>(b.flags());
            if (touched.contains(g.number())) {
                flags.remove("BLOCK_UNINIT");
            }
            assertEquals(flags, g.flags(), "flags of group " + g.number());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void freeingEverythingAgainRestoresBitmapsAndCounts(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        Map<Long, byte[]> rawBitmaps = new HashMap<>();
        int blockSize;
        try (FileBlockDevice dev = FileBlockDevice.openReadOnly(img)) {
            Volume v = Volume.open(dev, Volume.readSuperblock(dev));
            blockSize = v.blockSize();
            for (long g = 0; g < v.groupCount(); g++) {
                GroupDescriptor d = v.group(g);
                if ((d.flags() & GroupDescriptor.BG_BLOCK_UNINIT) == 0) {
                    rawBitmaps.put(d.blockBitmap(), AllocImages.readBlock(img, blockSize, d.blockBitmap()));
                }
            }
        }
        try (Session s = new Session(img)) {
            List<Run> runs = new ArrayList<>(pattern(s, g -> true));
            Random rnd = new Random(7);
            for (int i = 0; i < 200; i++) {
                runs.add(s.allocate(rnd.nextLong(s.volume.superblock().blocksCount), 1, 1 + rnd.nextInt(64)));
            }
            Collections.shuffle(runs, rnd);
            for (Run r : runs) {
                if (r.length() >= 2) { // in two pieces: freeing need not match allocation
                    long half = r.length() / 2;
                    s.free(new Run(r.start() + half, r.length() - half));
                    s.free(new Run(r.start(), half));
                } else {
                    s.free(r);
                }
            }
            assertEquals(before.freeBlocks(), s.alloc.freeBlocks());
        }
        FsckReport fsck = FsckReport.of(img);
        assertTrue(fsck.clean(), fsck.output());
        DumpE2fs after = DumpE2fs.of(img);
        assertEquals(before.freeBlocks(), after.freeBlocks());
        for (DumpE2fs.Group g : after.groups()) {
            DumpE2fs.Group b = before.group(g.number());
            assertEquals(b.freeBlockSet(), g.freeBlockSet(), "free blocks of group " + g.number());
            assertEquals(b.freeBlocks(), g.freeBlocks(), "free count of group " + g.number());
        }
        for (Map.Entry<Long, byte[]> e : rawBitmaps.entrySet()) {
            assertTrue(java.util.Arrays.equals(e.getValue(), AllocImages.readBlock(img, blockSize, e.getKey())),
                    "block bitmap at " + e.getKey() + " differs from mkfs's");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "ONE_K", "TWO_K", "NO_FLEX_BG", "META_BG"})
    void consecutiveAllocationsFromThePreviousEndAreAdjacent(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        TreeSet<Long> free = before.allFreeBlocks();
        TreeSet<Long> allocated = new TreeSet<>();
        boolean crossed = false;
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            // a group boundary with 40 free blocks before it and a free first block after it, if any
            long boundary = -1;
            for (long g = 1; g < s.volume.groupCount() && boundary < 0; g++) {
                long b = sb.groupFirstBlock(g);
                if (free.subSet(b - 40, b + 1).size() == 41) {
                    boundary = b;
                }
            }
            long goal = boundary > 0 ? boundary - 40 : free.last() - 200;
            Run prev = s.allocate(goal, 1, 8);
            assertEquals(goal, prev.start(), "the goal itself was free");
            add(allocated, prev);
            for (int i = 0; i < 19; i++) {
                Run r = s.allocate(prev.end(), 1, 8);
                assertEquals(prev.end(), r.start(), "run " + i + " does not continue " + prev);
                add(allocated, r);
                crossed |= r.start() == boundary;
                prev = r;
            }
        }
        if (variant == Variant.DEFAULT_4K || variant == Variant.ONE_K) {
            assertTrue(crossed, "the runs crossed a group boundary");
        }
        assertOnlyBlockDifferences(FsckReport.of(img), allocated);
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void runningOutOfSpaceThrowsAndLeavesTheImageConsistent(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        TreeSet<Long> allocated = new TreeSet<>();
        try (Session s = new Session(img)) {
            List<Run> runs = new ArrayList<>();
            while (true) {
                try {
                    Run r = s.allocate(0, 1, Long.MAX_VALUE);
                    add(allocated, r);
                    runs.add(r);
                } catch (NoSpaceException e) {
                    break;
                }
            }
            assertEquals(before.allFreeBlocks(), allocated, "every free block, and nothing else, was handed out");
            assertEquals(0, s.alloc.freeBlocks());
            assertThrows(NoSpaceException.class, () -> s.allocate(0, 1, 1));

            // three holes of 5: a run of 6 cannot be found, one of 5 can
            List<Run> holes = new ArrayList<>();
            for (Run r : runs) {
                if (r.length() >= 5 && holes.size() < 3) {
                    Run hole = new Run(r.start(), 5);
                    s.free(hole);
                    holes.add(hole);
                    for (long b = hole.start(); b < hole.end(); b++) {
                        allocated.remove(b);
                    }
                }
            }
            assertEquals(15, s.alloc.freeBlocks());
            assertThrows(NoSpaceException.class, () -> s.allocate(0, 6, 100));
            Run five = s.allocate(0, 5, 100);
            assertEquals(5, five.length());
            assertTrue(holes.contains(five), five + " is one of the holes");
            add(allocated, five);
        }
        assertOnlyBlockDifferences(FsckReport.of(img), allocated);
        assertEquals(10, DumpE2fs.of(img).freeBlocks());
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "ONE_K", "NO_CSUM"})
    void freeingWhatIsNotAllocatedIsCorruptionAndChangesNothing(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            long freeBlock = before.group(0).freeBlockSet().last();
            var e = assertThrows(CorruptionException.class, () -> s.free(new Run(freeBlock, 1)));
            assertEquals(freeBlock, e.block());

            Run r = s.allocate(freeBlock - 10, 4, 4);
            assertEquals(new Run(freeBlock - 10, 4), r);
            e = assertThrows(CorruptionException.class, () -> s.free(new Run(r.start(), 6)));
            assertEquals(r.end(), e.block(), "the first free block is named");

            e = assertThrows(CorruptionException.class, () -> s.free(new Run(s.volume.group(0).inodeTable() + 1, 1)));
            assertEquals(Kind.BLOCK_OUT_OF_RANGE, e.kind(), "the inode table is no one's to free");
            e = assertThrows(CorruptionException.class, () -> s.free(new Run(sb.blocksCount - 1, 2)));
            assertEquals(Kind.BLOCK_OUT_OF_RANGE, e.kind());

            for (long g = 0; g < s.volume.groupCount(); g++) {
                if ((s.volume.group(g).flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0) {
                    long last = sb.groupFirstBlock(g) + sb.blocksInGroup(g) - 1;
                    assertThrows(CorruptionException.class, () -> s.free(new Run(last, 1)));
                    assertTrue((s.volume.group(g).flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0);
                }
            }
            s.free(r); // the run is still whole: the failed frees changed nothing
            assertEquals(before.freeBlocks(), s.alloc.freeBlocks());
        }
        FsckReport fsck = FsckReport.of(img);
        assertTrue(fsck.clean(), fsck.output());
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "ONE_K", "UNINIT_BG_CRC16"})
    void concurrentAllocationsNeverShareABlock(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        int threads = 4;
        TreeSet<Long> held = new TreeSet<>();
        try (Session s = new Session(img)) {
            long blocks = s.volume.superblock().blocksCount;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<List<Run>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random rnd = new Random(100 + t);
                futures.add(pool.submit(() -> {
                    List<Run> mine = new ArrayList<>();
                    for (int i = 0; i < 300; i++) {
                        // goals collide on purpose: all threads aim at a handful of places
                        long goal = rnd.nextInt(4) * (blocks / 4) + rnd.nextInt(50);
                        mine.add(s.allocate(goal, 1, 1 + rnd.nextInt(16)));
                        if (i % 3 == 2) {
                            s.free(mine.remove(rnd.nextInt(mine.size())));
                        }
                    }
                    return mine;
                }));
            }
            for (Future<List<Run>> f : futures) {
                for (Run r : f.get()) {
                    add(held, r);
                }
            }
            pool.shutdown();
            assertEquals(before.freeBlocks() - held.size(), s.alloc.freeBlocks());
        }
        assertOnlyBlockDifferences(FsckReport.of(img), held);
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"NO_CSUM", "DEFAULT_4K"})
    void aDamagedBitmapIsSkippedAndNeverHandsOutMetadata(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        long victim;
        long bitmapBlock;
        int blockSize;
        try (FileBlockDevice dev = FileBlockDevice.openReadOnly(img)) {
            Volume v = Volume.open(dev, Volume.readSuperblock(dev));
            blockSize = v.blockSize();
            // group 0 holds every group's tables with flex_bg: pretend one inode table block is free
            victim = v.group(1).inodeTable();
            bitmapBlock = v.group(0).blockBitmap();
            byte[] bits = AllocImages.readBlock(img, blockSize, bitmapBlock);
            Bitmaps.clear(bits, victim - v.superblock().groupFirstBlock(0));
            AllocImages.writeBytes(img, bitmapBlock * blockSize, bits);
        }
        TreeSet<Long> allocated = new TreeSet<>();
        try (Session s = new Session(img)) {
            Run r = s.allocate(victim, 1, 1);
            assertFalse(r.start() == victim, "handed out an inode table block");
            assertTrue(r.start() >= s.volume.superblock().groupFirstBlock(1), "group 0 was skipped: " + r);
            assertTrue(s.alloc.corruptGroups().containsKey(0L), s.alloc.corruptGroups().toString());
            long lastOfGroup0 = s.volume.superblock().groupFirstBlock(1) - 1;
            var e = assertThrows(CorruptionException.class, () -> s.free(new Run(lastOfGroup0, 1)));
            assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            add(allocated, r);
        }
        FsckReport fsck = FsckReport.of(img);
        // e2fsck sees the damage we made (plus the checksum, with metadata_csum) and our one block
        assertTrue(fsck.blocksOwnedButFree().contains(victim), fsck.output());
        assertTrue(fsck.blocksUsedButUnowned().containsAll(allocated), fsck.output());
    }

    @Test
    void bigallocIsRefused(@TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("bigalloc.img");
        Tools.mkfs(img, 64 << 20, List.of("-b", "4096", "-O", "bigalloc", "-C", "16384"), null);
        try (FileBlockDevice dev = FileBlockDevice.openReadOnly(img)) {
            Volume v = Volume.open(dev, Volume.readSuperblock(dev));
            var e = assertThrows(UnsupportedFeatureException.class, () -> GroupAllocator.open(v));
            assertEquals("bigalloc", e.feature());
        }
    }

    @Test
    void argumentsOutsideTheContractAreRejected(@TempDir Path tmp) throws Exception {
        Path img = Variant.ONE_K.make(tmp);
        try (Session s = new Session(img)) {
            try (Handle h = s.journal.start(BlockAllocator.ALLOC_CREDITS)) {
                assertThrows(IllegalArgumentException.class, () -> s.alloc.blocks().allocate(h, 0, 0, 1));
                assertThrows(IllegalArgumentException.class, () -> s.alloc.blocks().allocate(h, 0, 5, 4));
                assertThrows(NoSpaceException.class, () -> s.alloc.blocks().allocate(h, 0, 8193, 9000));
                // a goal outside the file system means anywhere
                Run r = s.alloc.blocks().allocate(h, Long.MAX_VALUE, 1, 1);
                s.alloc.blocks().free(h, r.start(), r.length());
            }
        }
        assertTrue(FsckReport.of(img).clean());
    }
}
