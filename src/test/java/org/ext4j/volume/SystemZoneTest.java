package org.ext4j.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Features;
import org.ext4j.format.GoldenImage;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link SystemZone} over real geometries made by mkfs.ext4, block by block against e2fsprogs: every
 * "superblock at", "Group descriptors at", "Group descriptor at", "Reserved GDT blocks at", bitmap
 * and inode table line of {@code dumpe2fs} and its MMP block are owned by the file system (the
 * reserved GDT blocks by the resize inode when there is one), {@code debugfs blocks <8>} is exactly
 * the journal's part and {@code debugfs blocks <7>} the resize inode's, and no other block is in the
 * zone. Then the queries the allocators get, and the overlaps refused at open.
 */
class SystemZoneTest {

    /** name, mkfs size, mkfs options. */
    record Geometry(String name, String size, List<String> options) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Geometry> geometries() {
        return Stream.of(
                new Geometry("1k", "64M", List.of("-b", "1024")),
                new Geometry("1k-^flex_bg", "40M", List.of("-b", "1024", "-O", "^flex_bg")),
                new Geometry("2k", "64M", List.of("-b", "2048", "-g", "4096")),
                new Geometry("2k-^flex_bg-^resize_inode", "64M", List.of("-b", "2048", "-g", "2048",
                        "-O", "^flex_bg,^resize_inode")),
                new Geometry("4k", "128M", List.of("-b", "4096", "-g", "2048")),
                new Geometry("4k-flex_bg-4", "128M", List.of("-b", "4096", "-g", "1024", "-G", "4")),
                new Geometry("1k-meta_bg", "40M", List.of("-b", "1024", "-g", "1024", "-O", "meta_bg,^resize_inode")),
                new Geometry("4k-meta_bg-64bit", "128M", List.of("-b", "4096", "-g", "256",
                        "-O", "meta_bg,^resize_inode,64bit")),
                new Geometry("1k-sparse_super2", "64M", List.of("-b", "1024", "-O", "sparse_super2")),
                new Geometry("2k-^sparse_super", "32M", List.of("-b", "2048", "-g", "2048", "-O", "^sparse_super,^resize_inode")),
                new Geometry("4k-bigalloc", "128M", List.of("-b", "4096", "-O", "bigalloc", "-C", "16384")),
                new Geometry("1k-bigalloc", "32M", List.of("-b", "1024", "-O", "bigalloc", "-C", "4096")),
                new Geometry("1k-no-journal", "24M", List.of("-b", "1024", "-O", "^has_journal")),
                new Geometry("1k-ext3", "24M", List.of("-t", "ext3", "-b", "1024")),
                new Geometry("4k-ext3", "64M", List.of("-t", "ext3", "-b", "4096", "-g", "4096")),
                new Geometry("2k-ext2", "32M", List.of("-t", "ext2", "-b", "2048", "-g", "2048")),
                new Geometry("4k-mmp", "64M", List.of("-b", "4096", "-g", "4096", "-O", "mmp")));
    }

    private static final Pattern RANGE = Pattern.compile("(\\d+)(?:-(\\d+))?");
    private static final Pattern[] METADATA = {
        Pattern.compile("superblock at (\\d+)"),
        Pattern.compile("Group descriptors at (\\d+-\\d+)"),
        Pattern.compile("Group descriptor at (\\d+)"),
        Pattern.compile("Block bitmap at (\\d+)"),
        Pattern.compile("Inode bitmap at (\\d+)"),
        Pattern.compile("Inode table at (\\d+-\\d+)"),
    };
    private static final Pattern RESERVED = Pattern.compile("Reserved GDT blocks at (\\d+-\\d+)");
    private static final Pattern MMP = Pattern.compile("^MMP block number:\\s+(\\d+)", Pattern.MULTILINE);

    private static void addRange(TreeSet<Long> out, String text) {
        Matcher m = RANGE.matcher(text);
        assertTrue(m.matches(), text);
        long a = Long.parseLong(m.group(1));
        long b = m.group(2) == null ? a : Long.parseLong(m.group(2));
        for (long x = a; x <= b; x++) {
            out.add(x);
        }
    }

    /** The blocks of the zone, by owner. */
    private static Map<Long, TreeSet<Long>> zoneBlocks(SystemZone z) {
        Map<Long, TreeSet<Long>> out = new TreeMap<>();
        for (SystemZone.Range r : z.ranges()) {
            TreeSet<Long> s = out.computeIfAbsent(r.owner(), k -> new TreeSet<>());
            for (long b = r.start(); b < r.end(); b++) {
                s.add(b);
            }
        }
        return out;
    }

    private static TreeSet<Long> debugfsBlocks(Path img, long ino) throws IOException {
        TreeSet<Long> out = new TreeSet<>();
        for (String w : GoldenImage.debugfs(img, "blocks <" + ino + ">").trim().split("\\s+")) {
            if (!w.isEmpty()) {
                out.add(Long.parseLong(w));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void zoneIsExactlyTheMetadataDumpe2fsAndDebugfsShow(Geometry g, @TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "z.img", g.size(), g.options().toArray(String[]::new));
        String dump = GoldenImage.run(List.of("dumpe2fs", img.toString()));
        TreeSet<Long> fsBlocks = new TreeSet<>();
        TreeSet<Long> reserved = new TreeSet<>();
        for (String line : dump.split("\n")) {
            for (Pattern p : METADATA) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    addRange(fsBlocks, m.group(1));
                }
            }
            Matcher m = RESERVED.matcher(line);
            if (m.find()) {
                addRange(reserved, m.group(1));
            }
        }
        Matcher mmp = MMP.matcher(dump);
        if (mmp.find()) {
            fsBlocks.add(Long.parseLong(mmp.group(1)));
        }
        try (Closable v = openClosable(img)) {
            Superblock sb = v.volume().superblock();
            SystemZone z = v.volume().systemZone();
            assertNotNull(z);
            Map<Long, TreeSet<Long>> byOwner = zoneBlocks(z);
            boolean resize = sb.hasCompat(Features.COMPAT_RESIZE_INODE);
            if (!resize) {
                fsBlocks.addAll(reserved);
            }
            assertEquals(fsBlocks, byOwner.getOrDefault(SystemZone.FILE_SYSTEM, new TreeSet<>()),
                    "file system metadata in the zone vs dumpe2fs");
            long journal = sb.hasCompat(Features.COMPAT_HAS_JOURNAL) ? sb.journalInum : 0;
            if (journal != 0) {
                TreeSet<Long> expected = debugfsBlocks(img, journal);
                assertFalse(expected.isEmpty());
                assertEquals(expected, byOwner.get(journal), "journal blocks vs debugfs blocks <8>");
            }
            if (resize) {
                TreeSet<Long> expected = debugfsBlocks(img, SystemZone.RESIZE_INO);
                assertTrue(expected.containsAll(reserved), "the resize inode maps every reserved GDT block");
                assertEquals(expected, byOwner.get(SystemZone.RESIZE_INO), "resize inode blocks vs debugfs blocks <7>");
            }
            TreeSet<Long> owners = new TreeSet<>(byOwner.keySet());
            owners.removeAll(List.of(SystemZone.FILE_SYSTEM, journal, SystemZone.RESIZE_INO));
            assertEquals(new TreeSet<>(), owners, "no other owner");
            // ranges are disjoint, sorted and merged: two touching ranges have different owners
            List<SystemZone.Range> rs = z.ranges();
            for (int i = 1; i < rs.size(); i++) {
                assertTrue(rs.get(i - 1).end() <= rs.get(i).start(), rs.get(i - 1) + " then " + rs.get(i));
                assertTrue(rs.get(i - 1).end() < rs.get(i).start() || rs.get(i - 1).owner() != rs.get(i).owner(),
                        "unmerged " + rs.get(i - 1) + " and " + rs.get(i));
            }
            checkQueriesAgainstTheBlockSets(z, byOwner, sb.blocksCount);
        }
    }

    /** Every query answers as the plain block sets say, for every block of the file system. */
    private static void checkQueriesAgainstTheBlockSets(SystemZone z, Map<Long, TreeSet<Long>> byOwner, long blocks) {
        TreeSet<Long> all = new TreeSet<>();
        byOwner.values().forEach(all::addAll);
        assertEquals(all.size(), z.blockCount());
        for (long b = 0; b < blocks; b++) {
            long owner = SystemZone.NO_OWNER;
            for (Map.Entry<Long, TreeSet<Long>> e : byOwner.entrySet()) {
                if (e.getValue().contains(b)) {
                    owner = e.getKey();
                }
            }
            assertEquals(owner, z.owner(b), "owner of " + b);
            assertEquals(owner != SystemZone.NO_OWNER, z.contains(b));
            assertEquals(owner != SystemZone.NO_OWNER, z.overlaps(b, 1, SystemZone.NO_OWNER));
            assertFalse(owner != SystemZone.NO_OWNER && z.overlaps(b, 1, owner), "own block " + b);
            Long next = all.ceiling(b);
            assertEquals(next == null ? Long.MAX_VALUE : next, z.nextZoneBlock(b), "next zone block from " + b);
            long free = b;
            while (all.contains(free)) {
                free++;
            }
            assertEquals(free, z.nextFree(b), "next free from " + b);
        }
    }

    /** A volume over a file device, closed with it. */
    private record Closable(Volume volume, FileBlockDevice device) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            device.close();
        }
    }

    private static Closable openClosable(Path img) throws IOException {
        FileBlockDevice dev = FileBlockDevice.openReadOnly(img);
        try {
            return new Closable(Volume.open(dev, Volume.readSuperblock(dev)), dev);
        } catch (IOException | RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    @Test
    void queriesOverARange(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "q.img", "24M", "-b", "1024", "-O", "^flex_bg");
        try (Closable c = openClosable(img)) {
            SystemZone z = c.volume().systemZone();
            long itable = c.volume().group(0).inodeTable();
            long journal = c.volume().superblock().journalInum;
            // a file's extent that starts in free blocks and runs into metadata conflicts at its first block
            long meta = afterFreeBlocks(z, 3);
            assertEquals(meta, z.firstConflict(meta - 3, 5, 12));
            assertTrue(z.overlaps(meta - 3, 5, 12));
            assertFalse(z.overlaps(meta - 3, 3, 12));
            assertEquals(meta - 3, z.nextFree(meta - 3));
            assertEquals(meta, z.nextZoneBlock(meta - 3));
            assertEquals(-1, z.firstConflict(c.volume().superblock().blocksCount - 10, 10, 12));
            List<SystemZone.Range> in = z.rangesIn(itable, itable + 1);
            assertEquals(1, in.size());
            assertTrue(in.get(0).start() <= itable && itable < in.get(0).end());
            long jblock = z.ranges().stream().filter(r -> r.owner() == journal).findFirst().orElseThrow().start();
            assertFalse(z.overlaps(jblock, 1, journal), "the journal reads its own blocks");
            assertTrue(z.overlaps(jblock, 1, 12));
            assertTrue(z.describe(itable).contains("inode table of group 0"), z.describe(itable));
            assertTrue(z.describe(jblock).contains("journal"), z.describe(jblock));
            assertEquals("no metadata", z.describe(c.volume().superblock().blocksCount - 1));
        }
    }

    /** The first block of a zone range that has at least {@code free} blocks outside the zone before it. */
    private static long afterFreeBlocks(SystemZone z, int free) {
        for (SystemZone.Range r : z.ranges()) {
            if (r.start() > free + 1 && z.nextZoneBlock(r.start() - free) == r.start()) {
                return r.start();
            }
        }
        throw new AssertionError("no zone range after " + free + " free blocks");
    }

    /** A file mapping the inode table: checkFileBlocks names inode, logical and physical block. */
    @Test
    void checkFileBlocksNamesInodeLogicalAndPhysicalBlock(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "c.img", "24M", "-b", "1024");
        try (Closable c = openClosable(img)) {
            Volume v = c.volume();
            long meta = afterFreeBlocks(v.systemZone(), 3);
            CorruptionException e = assertThrows(CorruptionException.class,
                    () -> v.checkFileBlocks(12, 100, meta - 3, 10));
            assertEquals(Kind.BLOCK_IN_SYSTEM_ZONE, e.kind());
            assertEquals(12, e.inode());
            assertEquals(103, e.logical());
            assertEquals(meta, e.block());
            assertTrue(e.getMessage().contains("logical block 103, physical block " + meta), e.getMessage());
            assertTrue(e.getMessage().contains(v.systemZone().describe(meta)), e.getMessage());
            long itable = v.group(0).inodeTable();
            CorruptionException inTable = assertThrows(CorruptionException.class,
                    () -> v.checkFileBlocks(12, 5, itable + 1, 1));
            assertTrue(inTable.getMessage().contains("file data in the inode table of group 0"), inTable.getMessage());
            CorruptionException out = assertThrows(CorruptionException.class,
                    () -> v.checkFileBlocks(12, 0, v.superblock().blocksCount - 1, 2));
            assertEquals(Kind.BLOCK_OUT_OF_RANGE, out.kind());
            assertEquals(0, out.logical());
            v.checkFileBlocks(12, 0, v.superblock().blocksCount - 1, 1);
        }
    }

    /**
     * An inode table moved onto the journal so that the journal's first block lies inside it: the
     * kernel's {@code ext4_protect_reserved_inode} says "blocks 16385-17408 from inode overlap system
     * zone" and the mount fails; the open fails here, naming the journal inode and the inode table.
     */
    @Test
    void journalStartingInsideAnInodeTableIsRefusedAtOpen(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "j.img", "24M", "-b", "1024", "-O", "^metadata_csum");
        long journalStart = journalStart(img);
        GoldenImage.debugfsWrite(img, "set_bg 2 inode_table " + (journalStart - 5), "set_bg 2 checksum calc");
        CorruptionException e = assertThrows(CorruptionException.class, () -> openClosable(img).close());
        assertEquals(Kind.BLOCK_IN_SYSTEM_ZONE, e.kind());
        assertEquals(8, e.inode());
        assertEquals(0, e.logical());
        assertEquals(journalStart, e.block());
        assertTrue(e.getMessage().contains("the journal (inode 8)") && e.getMessage().contains("overlaps system zone")
                && e.getMessage().contains("inode table of group 2"), e.getMessage());
        kernelRefusesToMount(img);
    }

    /**
     * An inode table inside the journal, past its first block: refused here as any overlap is. The
     * kernel mounts this one: {@code add_system_zone} only notices a range that starts inside one
     * added before, and the journal (added last) starts before the table.
     */
    @Test
    void inodeTableInsideTheJournalIsRefusedAtOpen(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "j.img", "24M", "-b", "1024", "-O", "^metadata_csum");
        long journalStart = journalStart(img);
        GoldenImage.debugfsWrite(img, "set_bg 2 inode_table " + (journalStart + 15), "set_bg 2 checksum calc");
        CorruptionException e = assertThrows(CorruptionException.class, () -> openClosable(img).close());
        assertEquals(Kind.BLOCK_IN_SYSTEM_ZONE, e.kind());
        assertEquals(8, e.inode());
        assertEquals(15, e.logical());
        assertEquals(journalStart + 15, e.block());
    }

    private static long journalStart(Path img) throws IOException {
        try (Closable c = openClosable(img)) {
            long j = c.volume().superblock().journalInum;
            return c.volume().systemZone().ranges().stream().filter(r -> r.owner() == j).findFirst().orElseThrow().start();
        }
    }

    /** Two groups' block bitmaps on one block: two pieces of the file system's metadata overlap. */
    @Test
    void twoBitmapsOnOneBlockAreRefusedAtOpen(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "b.img", "24M", "-b", "1024", "-O", "^metadata_csum");
        long bitmap0;
        try (Closable c = openClosable(img)) {
            bitmap0 = c.volume().group(0).blockBitmap();
        }
        GoldenImage.debugfsWrite(img, "set_bg 1 block_bitmap " + bitmap0, "set_bg 1 checksum calc");
        CorruptionException e = assertThrows(CorruptionException.class, () -> openClosable(img).close());
        assertEquals(Kind.BAD_GROUP_DESCRIPTOR, e.kind());
        assertEquals(bitmap0, e.block());
        assertTrue(e.getMessage().contains("block bitmap of group 1") && e.getMessage().contains("block bitmap of group 0"),
                e.getMessage());
        kernelRefusesToMount(img);
    }

    /** A resize inode whose double-indirect block is out of range is left out, as the kernel never reads it. */
    @Test
    void damagedResizeInodeDoesNotStopTheOpen(@TempDir Path tmp) throws IOException {
        Path img = GoldenImage.mkfs(tmp, "r.img", "24M", "-b", "1024", "-O", "^metadata_csum");
        GoldenImage.debugfsWrite(img, "sif <7> block[DIND] 99999999");
        try (Closable c = openClosable(img)) {
            SystemZone z = c.volume().systemZone();
            assertTrue(z.ranges().stream().anyMatch(r -> r.owner() == SystemZone.RESIZE_INO),
                    "the reserved GDT blocks stay the resize inode's");
        }
    }

    private static void kernelRefusesToMount(Path img) throws IOException {
        if (!Tools.isRoot()) {
            System.out.println("SKIP: not root: the kernel's refusal to mount is not checked");
            return;
        }
        Tools.requireRootAndLoop();
        Path copy = Files.createTempFile("zone", ".img");
        try {
            Files.copy(img, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            List<String> cmd = new ArrayList<>(List.of("mount", "-t", "ext4", "-o", "loop,ro"));
            Path dir = Files.createTempDirectory("zone-mnt");
            cmd.add(copy.toString());
            cmd.add(dir.toString());
            Tools.Result r = Tools.run(cmd);
            if (r.exit() == 0) {
                Tools.run("umount", dir.toString());
            }
            Files.deleteIfExists(dir);
            assertTrue(r.exit() != 0, "the kernel mounted an image ext4j refuses");
        } finally {
            Files.deleteIfExists(copy);
        }
    }
}
