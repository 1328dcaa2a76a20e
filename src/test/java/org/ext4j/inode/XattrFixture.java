package org.ext4j.inode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import org.ext4j.alloc.GroupAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.NotFoundException;
import org.ext4j.format.DirEntry;
import org.ext4j.format.Superblock;
import org.ext4j.namespace.Directory;
import org.ext4j.testing.Tools;
import org.ext4j.txn.Handle;
import org.ext4j.txn.NoJournal;
import org.ext4j.volume.Volume;

/**
 * An image opened read-write with an {@link XattrWriter}, as the file system layer will drive it:
 * each operation in its own handle of {@link XattrWriter#CREDITS}, the inode read, changed and
 * written back when the writer says it changed. Outcomes are named as the kernel's errno names
 * ("ok", "EEXIST", "ENODATA", "ENOSPC"), so that they compare with a kernel run.
 */
final class XattrFixture implements AutoCloseable {
    final FileBlockDevice dev;
    final Volume volume;
    final Superblock sb;
    final NoJournal journal;
    final GroupAllocator groups;
    final XattrWriter writer;

    XattrFixture(Path image) throws IOException {
        dev = FileBlockDevice.openReadWrite(image);
        sb = Volume.readSuperblock(dev);
        volume = Volume.open(dev, sb);
        journal = new NoJournal(volume.bufferCache(), dev);
        groups = GroupAllocator.open(volume);
        writer = new XattrWriter(volume, groups.blocks(), groups.inodes());
    }

    /** The inode of a name in the root directory. */
    long ino(String name) throws IOException {
        DirEntry e = new Directory(volume, Inode.load(volume, InodeAllocator.ROOT_INO))
                .lookup(name.getBytes(StandardCharsets.UTF_8));
        assertNotNull(e, name);
        return e.inode();
    }

    /** Runs one operation; {@code kind} is set, create, replace or remove. */
    String apply(String kind, long ino, String name, byte[] value) throws IOException {
        try (Handle h = journal.start(XattrWriter.credits(sb, value == null ? 0 : value.length))) {
            byte[] raw = volume.readInode(ino).raw();
            boolean changed = switch (kind) {
                case "remove" -> writer.remove(h, ino, raw, name);
                case "create" -> writer.set(h, ino, raw, name, value, XattrWriter.Mode.CREATE);
                case "replace" -> writer.set(h, ino, raw, name, value, XattrWriter.Mode.REPLACE);
                default -> writer.set(h, ino, raw, name, value, XattrWriter.Mode.EITHER);
            };
            if (changed) {
                volume.writeInode(h, ino, raw);
            }
            return "ok";
        } catch (XattrExistsException e) {
            return "EEXIST";
        } catch (NotFoundException e) {
            return "ENODATA";
        } catch (NoSpaceException e) {
            return "ENOSPC";
        }
    }

    /** The attributes as ext4j's reader sees them, values in hex. */
    Map<String, String> read(long ino) throws IOException {
        Map<String, String> m = new TreeMap<>();
        for (Xattr x : Inode.load(volume, ino).xattrs()) {
            m.put(x.name(), HexFormat.of().formatHex(x.value()));
        }
        return m;
    }

    /** Writes the free counts and every dirty buffer. */
    void commit() throws IOException {
        try (Handle h = journal.start(2)) {
            groups.syncCounters(h);
        }
        journal.commit();
    }

    @Override
    public void close() throws IOException {
        dev.close();
    }

    // ------------------------------------------------------------------ judges

    /** {@code getfattr -d -m - -e hex} of one path: every attribute the kernel shows, values in hex. */
    static Map<String, String> getfattr(Path path) throws IOException {
        Tools.Result r = Tools.run("getfattr", "-d", "-m", "-", "-e", "hex", "--absolute-names", path.toString());
        assertEquals(0, r.exit(), "getfattr " + path + ": " + r.stderr());
        Map<String, String> m = new TreeMap<>();
        // Tools.run reads output as ISO-8859-1, one char per byte: names are UTF-8
        String out = new String(r.stdout().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        for (String line : out.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                m.put(line, "");
                continue;
            }
            String v = line.substring(eq + 1);
            if (v.equals("\"\"")) {
                v = "";
            } else if (v.startsWith("0x")) {
                v = v.substring(2);
            } else {
                throw new AssertionError("getfattr printed a value not in hex: " + line);
            }
            m.put(line.substring(0, eq), v);
        }
        return m;
    }

    /** e2fsck -fn finds nothing. */
    static void fsckClean(Path image) throws IOException {
        Tools.Result fsck = Tools.fsck(image);
        assertEquals(0, fsck.exit(), "e2fsck -fn " + image + ":\n" + fsck.stdout() + fsck.stderr());
    }
}
