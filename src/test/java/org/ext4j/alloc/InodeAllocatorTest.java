package org.ext4j.alloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.ext4j.alloc.AllocImages.Session;
import org.ext4j.alloc.AllocImages.Variant;
import org.ext4j.alloc.InodeAllocator.Request;
import org.ext4j.alloc.InodeAllocator.Result;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link BitmapInodeAllocator} judged by e2fsck, dumpe2fs and the kernel. An allocated inode that was
 * never written is unused to e2fsck: it must report exactly the allocated inodes as "inode bitmap
 * differences", and for directories exactly the raised per-group directory counts, with no checksum,
 * count or itable_unused complaint. Where the kernel's choices are deterministic (named directories,
 * files), a kernel mount making the same entries must get the same inode numbers.
 */
class InodeAllocatorTest {

    /** What a session allocated: inode numbers, and which were directories. */
    private static final class Allocated {
        final TreeSet<Long> inodes = new TreeSet<>();
        final Map<Long, Long> dirsPerGroup = new TreeMap<>();
        final List<long[]> list = new ArrayList<>(); // {ino, dir ? 1 : 0}

        void add(Superblock sb, long ino, boolean dir) {
            assertTrue(ino >= sb.firstIno && ino <= sb.inodesCount, "inode " + ino + " out of range");
            assertTrue(inodes.add(ino), "inode " + ino + " handed out twice");
            list.add(new long[] {ino, dir ? 1 : 0});
            if (dir) {
                dirsPerGroup.merge((ino - 1) / sb.inodesPerGroup, 1L, Long::sum);
            }
        }
    }

    private static byte[] name(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Top-level directories, their files and subdirectories, files in the root and in the last group. */
    private static Allocated populate(Session s) throws Exception {
        Superblock sb = s.volume.superblock();
        Allocated a = new Allocated();
        for (int i = 0; i < 5; i++) {
            a.add(sb, s.allocateInode(InodeAllocator.ROOT_INO, false), false);
        }
        for (int d = 0; d < 4; d++) {
            long dir = s.allocateInode(Request.of(InodeAllocator.ROOT_INO, true).named(name("top" + d))).ino();
            a.add(sb, dir, true);
            long last = -1;
            for (int f = 0; f < 3; f++) {
                Result r = s.allocateInode(Request.of(dir, false).lastAllocGroup(last));
                last = r.searchGroup();
                a.add(sb, r.ino(), false);
            }
            Result sub = s.allocateInode(Request.of(dir, true).lastAllocGroup(last).named(name("sub")));
            a.add(sb, sub.ino(), true);
        }
        long lastGroupParent = (s.volume.groupCount() - 1) * sb.inodesPerGroup + 1;
        a.add(sb, s.allocateInode(lastGroupParent, false), false);
        return a;
    }

    private static void assertOnlyInodeDifferences(FsckReport fsck, Allocated a, DumpE2fs before) {
        assertEquals(List.of(), fsck.otherLines(), fsck.output());
        assertEquals(a.inodes, fsck.inodesUsedButUnowned(), fsck.output());
        assertEquals(Set.of(), fsck.inodesOwnedButFree(), fsck.output());
        assertEquals(Set.of(), fsck.blocksUsedButUnowned(), fsck.output());
        assertEquals(Set.of(), fsck.blocksOwnedButFree(), fsck.output());
        Map<Long, List<Long>> expectDirs = new TreeMap<>();
        a.dirsPerGroup.forEach((g, n) -> expectDirs.put(g, List.of(before.group(g).directories() + n, before.group(g).directories())));
        Map<Long, List<Long>> dirs = new TreeMap<>();
        fsck.directoryCounts().forEach((g, c) -> dirs.put(g, List.of(c[0], c[1])));
        assertEquals(expectDirs, dirs, fsck.output());
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void allocatedInodesAreExactlyWhatFsckFindsUnowned(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        Allocated a;
        long ipg;
        boolean groupCsum;
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            ipg = sb.inodesPerGroup;
            groupCsum = sb.hasMetadataCsum() || sb.hasGdtCsum();
            a = populate(s);
            assertEquals(before.freeInodes() - a.inodes.size(), s.alloc.freeInodes());
            assertEquals(Map.of(), s.alloc.corruptGroups());
        }
        assertTrue(before.allFreeInodes().containsAll(a.inodes));
        assertOnlyInodeDifferences(FsckReport.of(img), a, before);

        DumpE2fs after = DumpE2fs.of(img);
        assertEquals(before.freeInodes() - a.inodes.size(), after.freeInodes());
        assertEquals(before.freeBlocks(), after.freeBlocks(), "no block count moved");
        for (DumpE2fs.Group g : after.groups()) {
            DumpE2fs.Group b = before.group(g.number());
            long first = g.number() * ipg + 1;
            TreeSet<Long> mine = new TreeSet<>(a.inodes.subSet(first, first + ipg));
            assertEquals(b.freeInodes() - mine.size(), g.freeInodes(), "free inodes of group " + g.number());
            assertEquals(b.freeBlockSet(), g.freeBlockSet(), "free blocks of group " + g.number());
            Set<String> flags = new TreeSet<>(b.flags());
            if (!mine.isEmpty()) {
                flags.remove("INODE_UNINIT");
                flags.remove("BLOCK_UNINIT"); // ext4_new_inode initialises the block bitmap too
            }
            assertEquals(flags, g.flags(), "flags of group " + g.number());
            if (groupCsum) {
                long highWater = mine.isEmpty() ? 0 : mine.last() - first + 1;
                long expectUnused = Math.min(b.unusedInodes(), ipg - highWater);
                assertEquals(expectUnused, g.unusedInodes(), "itable_unused of group " + g.number());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void freeingThemAgainRestoresTheBitmapsAndCounts(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        try (Session s = new Session(img)) {
            Allocated a = populate(s);
            for (int i = a.list.size() - 1; i >= 0; i -= 2) { // every other one first, then the rest
                s.freeInode(a.list.get(i)[0], a.list.get(i)[1] == 1);
            }
            for (int i = a.list.size() - 2; i >= 0; i -= 2) {
                s.freeInode(a.list.get(i)[0], a.list.get(i)[1] == 1);
            }
            assertEquals(before.freeInodes(), s.alloc.freeInodes());
        }
        FsckReport fsck = FsckReport.of(img);
        assertTrue(fsck.clean(), fsck.output());
        DumpE2fs after = DumpE2fs.of(img);
        assertEquals(before.freeInodes(), after.freeInodes());
        for (DumpE2fs.Group g : after.groups()) {
            DumpE2fs.Group b = before.group(g.number());
            assertEquals(b.freeInodeSet(), g.freeInodeSet(), "free inodes of group " + g.number());
            assertEquals(b.freeInodes(), g.freeInodes());
            assertEquals(b.directories(), g.directories());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"NO_FLEX_BG", "UNINIT_BG_CRC16"})
    void slotsOfANonZeroedInodeTableAreZeroedWhenTheyComeIntoUse(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp, List.of("-O", "^flex_bg", "-E", "lazy_itable_init=1,nodiscard"));
        long table;
        long ipg;
        int inodeSize;
        int blockSize;
        try (Session s = new Session(img)) {
            GroupDescriptor d = s.volume.group(1);
            assertEquals(0, d.flags() & GroupDescriptor.BG_INODE_ZEROED, "mkfs left group 1's table unzeroed");
            assertTrue((d.flags() & GroupDescriptor.BG_INODE_UNINIT) != 0);
            table = d.inodeTable();
            ipg = s.volume.superblock().inodesPerGroup;
            inodeSize = s.volume.superblock().inodeSize;
            blockSize = s.volume.blockSize();
        }
        // what a never-initialised table may hold: anything
        AllocImages.writeBytes(img, table * blockSize, AllocImages.filled(2 * blockSize, 0xA5));
        assertTrue(FsckReport.of(img).clean(), "e2fsck does not read an INODE_UNINIT table");

        Allocated a = new Allocated();
        DumpE2fs before = DumpE2fs.of(img);
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            for (int i = 0; i < 3; i++) {
                long ino = s.allocateInode(ipg + 1, false); // a parent in group 1: its children go there
                assertEquals(ipg + 1 + i, ino);
                a.add(sb, ino, false);
            }
        }
        assertOnlyInodeDifferences(FsckReport.of(img), a, before);
        byte[] slots = AllocImages.readBlock(img, blockSize, table);
        assertArrayEquals(new byte[3 * inodeSize], java.util.Arrays.copyOf(slots, 3 * inodeSize));
        assertEquals((byte) 0xA5, slots[3 * inodeSize], "slots past the high-water mark are left alone");

        // the control: garbage in a slot below the mark is what e2fsck would have complained about
        AllocImages.writeBytes(img, table * blockSize + inodeSize, AllocImages.filled(inodeSize, 0xA5));
        FsckReport broken = FsckReport.of(img);
        assertFalse(broken.otherLines().isEmpty(), broken.output());
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "NO_CSUM"})
    void reservedInodesAreNeverHandedOut(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        // a damaged bitmap that calls reserved inode 7 (the resize inode) free, counts adjusted to match
        long free0 = DumpE2fs.of(img).group(0).freeInodes();
        Tools.run("debugfs", "-w", "-R", "freei <7>", img.toString()).ok();
        Path cmds = tmp.resolve("cmds");
        Files.writeString(cmds, "set_bg 0 free_inodes_count " + (free0 + 1) + "\nset_bg 0 checksum calc\n");
        Tools.run("debugfs", "-w", "-f", cmds.toString(), img.toString()).ok();
        assertEquals(List.of(7L), List.copyOf(FsckReport.of(img).inodesOwnedButFree()), "the damage is what e2fsck sees");
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            long ino = s.allocateInode(InodeAllocator.ROOT_INO, false);
            assertTrue(ino > sb.inodesPerGroup, "group 0 skipped: got " + ino);
            assertTrue(s.alloc.corruptGroups().get(0L).contains("reserved inode 7"), s.alloc.corruptGroups().toString());
            s.freeInode(ino, false);
            for (long bad : new long[] {0, 1, 7, sb.firstIno - 1, sb.inodesCount + 1}) {
                var e = assertThrows(CorruptionException.class, () -> s.freeInode(bad, false));
                assertEquals(Kind.BAD_INODE_NUMBER, e.kind());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "ONE_K", "NO_CSUM"})
    void freeingAFreeInodeIsCorruptionAndChangesNothing(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp, List.of("-O", "^flex_bg")); // files may then land outside group 0
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            long free = sb.firstIno + 5;
            assertThrows(CorruptionException.class, () -> s.freeInode(free, false));
            long ino = s.allocateInode(InodeAllocator.ROOT_INO, false);
            long inUninit = (s.volume.groupCount() - 1) * sb.inodesPerGroup + 3;
            assertThrows(CorruptionException.class, () -> s.freeInode(inUninit, false));
            // a file freed as a directory is caught where the group counts no directories (as far as the kernel checks)
            long lonely = s.allocateInode(inUninit, false);
            assertEquals(0, s.volume.group((lonely - 1) / sb.inodesPerGroup).usedDirsCount(), "a group without directories");
            var e = assertThrows(CorruptionException.class, () -> s.freeInode(lonely, true));
            assertTrue(e.getMessage().contains("counts no directories"), e.getMessage());
            s.freeInode(lonely, false);
            s.freeInode(ino, false);
        }
        FsckReport fsck = FsckReport.of(img);
        assertTrue(fsck.clean(), fsck.output());
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"NO_FLEX_BG", "NO_CSUM", "DEFAULT_4K"})
    void topLevelDirectoriesSpreadOverGroups(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        Allocated a = new Allocated();
        DumpE2fs before = DumpE2fs.of(img);
        Random rnd = new Random(3);
        try (Session s = new Session(img, rnd::nextInt)) {
            Superblock sb = s.volume.superblock();
            TreeSet<Long> groupsUsed = new TreeSet<>();
            for (int i = 0; i < 4; i++) {
                Request r = Request.of(InodeAllocator.ROOT_INO, true);
                long ino = s.allocateInode(i % 2 == 0 ? r.named(name("dir" + i)) : r).ino();
                a.add(sb, ino, true);
                groupsUsed.add((ino - 1) / sb.inodesPerGroup);
            }
            if (s.alloc.flexSize() >= s.volume.groupCount()) {
                // one flex group: Orlov packs directories at the start of its inode tables
                assertEquals(Set.of(0L), groupsUsed);
            } else {
                assertEquals(4, groupsUsed.size(), "four top-level directories in four groups: " + a.inodes);
                assertFalse(groupsUsed.contains(0L), "group 0 has more directories and fewer free inodes than average");
            }
        }
        assertOnlyInodeDifferences(FsckReport.of(img), a, before);
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"ONE_K", "NO_FLEX_BG"})
    void runningOutOfInodesThrowsAndLeavesTheImageConsistent(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp, List.of("-N", "256"));
        DumpE2fs before = DumpE2fs.of(img);
        Allocated a = new Allocated();
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            Random rnd = new Random(5);
            List<Long> dirs = new ArrayList<>(List.of(InodeAllocator.ROOT_INO));
            while (true) {
                boolean dir = rnd.nextInt(4) == 0;
                long parent = dirs.get(rnd.nextInt(dirs.size()));
                long ino;
                try {
                    ino = s.allocateInode(parent, dir);
                } catch (NoSpaceException e) {
                    break;
                }
                a.add(sb, ino, dir);
                if (dir) {
                    dirs.add(ino);
                }
            }
            assertEquals(before.allFreeInodes(), a.inodes);
            assertEquals(0, s.alloc.freeInodes());
        }
        assertOnlyInodeDifferences(FsckReport.of(img), a, before);
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"DEFAULT_4K", "NO_FLEX_BG", "UNINIT_BG_CRC16"})
    void concurrentAllocationsNeverShareAnInode(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs before = DumpE2fs.of(img);
        Allocated a = new Allocated();
        try (Session s = new Session(img)) {
            Superblock sb = s.volume.superblock();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<List<long[]>>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Random rnd = new Random(200 + t);
                futures.add(pool.submit(() -> {
                    List<long[]> mine = new ArrayList<>();
                    for (int i = 0; i < 150; i++) {
                        boolean dir = rnd.nextInt(5) == 0;
                        long parent = rnd.nextBoolean() ? InodeAllocator.ROOT_INO
                                : 1 + rnd.nextInt((int) s.volume.groupCount()) * sb.inodesPerGroup;
                        mine.add(new long[] {s.allocateInode(parent, dir), dir ? 1 : 0});
                        if (i % 4 == 3) {
                            long[] victim = mine.remove(rnd.nextInt(mine.size()));
                            s.freeInode(victim[0], victim[1] == 1);
                        }
                    }
                    return mine;
                }));
            }
            for (Future<List<long[]>> f : futures) {
                for (long[] x : f.get()) {
                    a.add(sb, x[0], x[1] == 1);
                }
            }
            pool.shutdown();
            assertEquals(before.freeInodes() - a.inodes.size(), s.alloc.freeInodes());
        }
        assertOnlyInodeDifferences(FsckReport.of(img), a, before);
    }

    /** Variants, with extra mkfs options, for the kernel comparison. */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> kernelLayouts() {
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(Variant.NO_FLEX_BG, List.of()),
                org.junit.jupiter.params.provider.Arguments.of(Variant.DEFAULT_4K, List.of()),
                // one flex group holding less than flex_size/4 groups' worth of free blocks: min_clusters < 0
                org.junit.jupiter.params.provider.Arguments.of(Variant.DEFAULT_4K_BIG_GROUPS, List.of()),
                org.junit.jupiter.params.provider.Arguments.of(Variant.DEFAULT_4K, List.of("-G", "2")),
                org.junit.jupiter.params.provider.Arguments.of(Variant.ONE_K, List.of("-G", "2")));
    }

    /**
     * The kernel as the judge of placement: on two copies of one fresh image, the kernel makes a tree
     * of directories and empty files, and this allocator allocates for the same entries in the same
     * order (one block per directory near its inode, as {@code ext4_mkdir} does, since Orlov weighs
     * free blocks). Named top-level directories, subdirectories and files must get the kernel's inode
     * numbers. The kernel mounts afresh for every entry: Orlov compares group counts with averages
     * from per-CPU counters that lag by up to a batch per CPU between mounts, where ours are exact;
     * right after mount the kernel's are exact too (and no parent remembers i_last_alloc_group).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("kernelLayouts")
    void theKernelPlacesTheSameEntriesOnTheSameInodes(Variant variant, List<String> extra, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Path pristine = variant.make(tmp, extra);
        Path kernelImg = tmp.resolve("kernel.img");
        Files.copy(pristine, kernelImg);
        // entries in creation order; a trailing '/' makes a directory
        List<String> ops = List.of("top0/", "top1/", "top2/", "top3/", "f0", "top0/a/", "top0/b/", "top0/x",
                "top1/a/", "top2/x", "top0/a/deep/", "top4/", "top5/", "top6/", "f1");
        Map<String, Long> kernel = new LinkedHashMap<>();
        for (String op : ops) {
            try (Tools.Mount m = Tools.Mount.of(kernelImg, false)) {
                Path p = m.dir().resolve(op.endsWith("/") ? op.substring(0, op.length() - 1) : op);
                if (op.endsWith("/")) {
                    Files.createDirectory(p);
                } else {
                    Files.createFile(p);
                }
                kernel.put(op, Long.parseLong(Tools.run("stat", "-c", "%i", p.toString()).ok().stdout().strip()));
            }
        }
        Map<String, Long> ours = new LinkedHashMap<>();
        try (Session s = new Session(pristine)) {
            Superblock sb = s.volume.superblock();
            int flex = s.alloc.flexSize();
            for (String op : ops) {
                boolean dir = op.endsWith("/");
                String path = dir ? op.substring(0, op.length() - 1) : op;
                int slash = path.lastIndexOf('/');
                long parent = slash < 0 ? InodeAllocator.ROOT_INO : ours.get(path.substring(0, slash) + "/");
                long ino = s.allocateInode(Request.of(parent, dir).named(name(path.substring(slash + 1)))).ino();
                ours.put(op, ino);
                if (dir) {
                    // ext4_inode_to_goal_block: the inode's group, or its flex group's first with flex_bg >= 4
                    long g = (ino - 1) / sb.inodesPerGroup;
                    if (flex >= 4) {
                        g &= ~(long) (flex - 1);
                    }
                    s.allocate(sb.groupFirstBlock(g), 1, 1);
                }
            }
        }
        assertEquals(kernel, ours);
        FsckReport fsck = FsckReport.of(kernelImg);
        assertTrue(fsck.clean(), fsck.output());
    }
}
