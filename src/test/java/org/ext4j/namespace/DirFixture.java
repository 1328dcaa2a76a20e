package org.ext4j.namespace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.ext4j.alloc.GroupAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DxNode;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.ext4j.txn.NoJournal;
import org.ext4j.volume.Volume;

/**
 * An image opened read-write with a {@link DirectoryWriter}, and a model of one directory: name to
 * inode. Children are either new one-link regular files (allocated and written here, freed again
 * on removal, as create and unlink would) or hard links to one shared file whose link count is
 * kept equal to its names. Every operation runs in its own handle started with exactly the
 * writer's credit estimate plus what the inode work needs, so an estimate that is too low fails.
 * The judges ({@link #verify}) are e2fsck, debugfs, a read-only kernel mount and ext4j's reader.
 */
final class DirFixture implements AutoCloseable {
    static final Instant NOW = Instant.parse("2024-05-06T07:08:09.123456789Z");

    final Path image;
    final FileBlockDevice dev;
    final Volume volume;
    final Superblock sb;
    final NoJournal journal;
    final GroupAllocator groups;
    final DirectoryWriter writer;
    final Random rnd;
    /** Directory path in the image ("/lin") and its inode. */
    final String path;
    final long dir;
    /** The hard-link target (0: none) and its link count as the model says. */
    final long target;
    int targetLinks;
    final TreeMap<String, Long> model = new TreeMap<>();

    DirFixture(Path image, String path, String targetPath, int dxCapacity, long seed) throws IOException {
        this.image = image;
        this.dev = FileBlockDevice.openReadWrite(image);
        this.sb = Volume.readSuperblock(dev);
        this.volume = Volume.open(dev, sb);
        this.journal = new NoJournal(volume.bufferCache(), dev);
        this.groups = GroupAllocator.open(volume);
        this.writer = new DirectoryWriter(volume, groups.blocks(), Clock.fixed(NOW, ZoneOffset.UTC), dxCapacity);
        this.rnd = new Random(seed);
        this.path = path;
        this.dir = inodeOf(path);
        this.target = targetPath == null ? 0 : inodeOf(targetPath);
        this.targetLinks = target == 0 ? 0 : volume.readInode(target).linksCount;
        for (Map.Entry<String, Long> e : debugfsList(image, path).entrySet()) {
            model.put(e.getKey(), e.getValue());
        }
    }

    /** Resolves an absolute path with ext4j's reader (setup only; the judges are external). */
    long inodeOf(String p) throws IOException {
        long ino = InodeAllocator.ROOT_INO;
        for (String part : p.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            DirEntry e = new Directory(volume, Inode.load(volume, ino)).lookup(bytes(part));
            assertNotNull(e, part + " of " + p);
            ino = e.inode();
        }
        return ino;
    }

    // ---------------------------------------------------------------- operations

    /** Adds {@code name}: a new file ({@code real}) or a link to the target. */
    void add(String name, boolean real) throws IOException {
        model.put(name, add(dir, name, real));
    }

    /** Adds {@code name} to directory {@code parent} (no model change); returns the inode it names. */
    long add(long parent, String name, boolean real) throws IOException {
        int credits = writer.addCredits(parent) + (real ? InodeAllocator.ALLOC_CREDITS + 1 + InodeAllocator.FREE_CREDITS : 0);
        try (Handle h = journal.start(credits)) {
            long ino = real ? newFile(h, parent) : target;
            try {
                writer.addEntry(h, parent, bytes(name), ino, DirEntry.FT_REG_FILE);
            } catch (IOException e) {
                if (real) {
                    deleteInode(h, ino); // as ext4_create's error path drops the new inode
                }
                throw e;
            }
            if (!real) {
                targetLinks++;
            }
            return ino;
        }
    }

    /** Removes {@code name}; a file of its own is freed, a link to the target drops a link. */
    void remove(String name) throws IOException {
        long ino = model.get(name);
        try (Handle h = journal.start(DirectoryWriter.REMOVE_CREDITS + 1 + InodeAllocator.FREE_CREDITS)) {
            DirEntry e = writer.removeEntry(h, dir, bytes(name));
            assertEquals(ino, e.inode(), name);
            if (ino == target) {
                targetLinks--;
            } else {
                deleteInode(h, ino);
            }
        }
        model.remove(name);
    }

    /** Frees a one-link file of ours: no links, a deletion time, its bitmap bit cleared. */
    void deleteInode(Handle h, long ino) throws IOException {
        byte[] raw = volume.readInode(ino).raw();
        new InodeWriter(sb, ino, raw).linksCount(0).dtime(NOW.getEpochSecond()).setChecksum();
        volume.writeInode(h, ino, raw);
        groups.inodes().free(h, ino, false);
    }

    /** A new empty regular file (mode 0644, one link, empty extent root), as ext4_new_inode writes it. */
    long newFile(Handle h, long parent) throws IOException {
        long ino = groups.inodes().allocate(h, parent, false);
        byte[] raw = new byte[sb.inodeSize];
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        ExtentNodeWriter.initRoot(iBlock);
        long t = NOW.getEpochSecond();
        int ns = NOW.getNano();
        new InodeWriter(sb, ino, raw).extraIsize(sb.newInodeExtraIsize()).mode(InodeRecord.S_IFREG | 0644)
                .linksCount(1).flags(InodeRecord.FL_EXTENTS).iBlock(iBlock).generation(rnd.nextInt() & 0xFFFFFFFFL)
                .atime(t, ns).ctime(t, ns).mtime(t, ns).crtime(t, ns).setChecksum();
        volume.writeInode(h, ino, raw);
        return ino;
    }

    /** Writes the target's link count, the free counts and every dirty buffer. */
    void commit() throws IOException {
        try (Handle h = journal.start(2)) {
            if (target != 0) {
                byte[] raw = volume.readInode(target).raw();
                new InodeWriter(sb, target, raw).linksCount(targetLinks).setChecksum();
                volume.writeInode(h, target, raw);
            }
            groups.syncCounters(h);
        }
        journal.commit();
    }

    /** The directory's current inode. */
    InodeRecord dirRecord() throws IOException {
        return volume.readInode(dir);
    }

    /** indirect_levels of the directory's dx root, -1 for a linear directory. */
    int htreeLevels() throws IOException {
        InodeRecord r = dirRecord();
        if (!r.hasFlag(InodeRecord.FL_INDEX)) {
            return -1;
        }
        Inode in = Inode.load(volume, dir);
        byte[] root = volume.readBlock(in.map(0, 1).physical(), dir);
        return DxNode.rootInfo(root).indirectLevels();
    }

    @Override
    public void close() throws IOException {
        dev.close();
    }

    /** Names are raw bytes; the model keeps them as ISO-8859-1 strings, one char per byte. */
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** A name of exactly {@code len} bytes (1..255), unique by {@code i}. */
    static String name(int i, int len) {
        String base = Integer.toString(i, 36);
        StringBuilder s = new StringBuilder(len);
        s.append(base, 0, Math.min(base.length(), len));
        if (s.length() < len) {
            s.append('.');
        }
        while (s.length() < len) {
            s.append((char) ('a' + (i + s.length()) % 26));
        }
        return s.toString();
    }

    /** Picks a random name of the model. */
    String randomName() {
        List<String> names = new ArrayList<>(model.keySet());
        return names.get(rnd.nextInt(names.size()));
    }

    // ---------------------------------------------------------------- judges

    /**
     * {@code debugfs ls -p -r} (raw names): name to inode, "." and ".." and unused records left
     * out. Names must not hold a newline.
     */
    static Map<String, Long> debugfsList(Path image, String dirPath) throws IOException {
        String out = Tools.run("debugfs", "-R", "ls -p -r " + dirPath, image.toString()).ok().stdout();
        Map<String, Long> m = new TreeMap<>();
        for (String line : out.split("\n")) {
            if (!line.startsWith("/")) {
                continue;
            }
            String[] f = line.split("/", -1); // "", ino, mode, uid, gid, name, size, ""
            String name = f[5];
            // an emptied first record of a block (inode 0) is listed too, also for the kernel's
            if (!name.equals(".") && !name.equals("..") && !f[1].equals("0")) {
                m.put(name, Long.parseLong(f[1]));
            }
        }
        return m;
    }

    /**
     * The image after {@link #commit}: e2fsck clean, and debugfs, the kernel and ext4j's reader (a
     * fresh open) all see exactly the model's names with the model's inodes.
     */
    static void verify(Path image, String dirPath, Map<String, Long> model) throws IOException {
        Tools.Result fsck = Tools.fsck(image);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        assertSame(model, debugfsList(image, dirPath), "debugfs ls -p " + dirPath);
        try (Tools.Mount m = Tools.Mount.of(image, true)) {
            Map<String, Long> kernel = new TreeMap<>();
            String out = Tools.run("find", m.dir().resolve(dirPath.substring(1)).toString(), "-mindepth", "1",
                    "-maxdepth", "1", "-printf", "%i/%f\\0").ok().stdout();
            for (String rec : out.split("\0")) {
                if (!rec.isEmpty()) {
                    int slash = rec.indexOf('/');
                    kernel.put(rec.substring(slash + 1), Long.parseLong(rec.substring(0, slash)));
                }
            }
            assertSame(model, kernel, "kernel readdir of " + dirPath);
        }
        try (FileBlockDevice ro = FileBlockDevice.openReadOnly(image)) {
            Superblock sb = Volume.readSuperblock(ro);
            Volume v = Volume.open(ro, sb);
            long ino = InodeAllocator.ROOT_INO;
            for (String part : dirPath.split("/")) {
                if (!part.isEmpty()) {
                    ino = new Directory(v, Inode.load(v, ino)).lookup(bytes(part)).inode();
                }
            }
            Directory d = new Directory(v, Inode.load(v, ino));
            Map<String, Long> listed = new TreeMap<>();
            for (DirEntry e : d.list()) {
                if (!e.isDot() && !e.isDotDot()) {
                    assertNull(listed.put(str(e.name()), e.inode()), "listed twice: " + str(e.name()));
                }
            }
            assertSame(model, listed, "ext4j list of " + dirPath);
            for (Map.Entry<String, Long> e : model.entrySet()) {
                DirEntry hit = d.lookup(bytes(e.getKey()));
                assertNotNull(hit, "ext4j lookup of " + e.getKey());
                assertEquals(e.getValue().longValue(), hit.inode(), e.getKey());
            }
            assertNull(d.lookup(bytes("no-such-name")));
        }
    }

    /** Asserts two name-to-inode maps are equal, reporting only the differences. */
    static void assertSame(Map<String, Long> expected, Map<String, Long> actual, String what) {
        if (expected.equals(actual)) {
            return;
        }
        List<String> diff = new ArrayList<>();
        for (Map.Entry<String, Long> e : expected.entrySet()) {
            Long a = actual.get(e.getKey());
            if (a == null) {
                diff.add("missing " + e.getKey() + " (" + e.getValue() + ")");
            } else if (!a.equals(e.getValue())) {
                diff.add(e.getKey() + ": inode " + a + ", expected " + e.getValue());
            }
        }
        for (String k : actual.keySet()) {
            if (!expected.containsKey(k)) {
                diff.add("unexpected " + k + " (" + actual.get(k) + ")");
            }
        }
        fail(what + ": " + expected.size() + " expected, " + actual.size() + " seen; " + diff.size() + " differences: "
                + diff.subList(0, Math.min(10, diff.size())));
    }
}
