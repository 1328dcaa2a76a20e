package org.ext4j.tree;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.ext4j.fs.Ext4FileSystem;

/**
 * Copies host files and trees into an image as {@code cp -a} places them: regular files with their
 * bytes and holes, directories, symlinks, devices, fifos and sockets, hard links within the copy
 * kept as hard links, and for every inode its mode, owner (as root; the caller's otherwise, as cp),
 * access and modification times to the nanosecond, and extended attributes (POSIX ACLs included).
 *
 * <p><b>Holes</b>: the JDK has no {@code SEEK_DATA}; a file that occupies fewer blocks than its size
 * (st_blocks) is sparse, and its all-zero blocks are left unwritten, as {@code cp --sparse=auto}
 * does; other files are written whole.
 *
 * <p><b>Extended attributes</b>: the JDK reads only the {@code user.} namespace; the others
 * ({@code security.*}, {@code trusted.*}, {@code system.posix_acl_*}) come from {@code getfattr}
 * when it is installed, read once per source tree; without it they are not copied and a warning
 * says so.
 *
 * <p>Times are set after a directory's contents are in (adding names changes a directory's mtime),
 * so the copy ends with the source's times, as cp's does.
 *
 * <p>Each host file becomes an {@link Entry} (its bytes read as the copy reaches them, exactly the
 * size {@code lstat} gave: a file that shrinks meanwhile fails naming it), and the inode is made and
 * its attributes set by {@link EntryImporter}'s steps, the ones entries made by code and tar
 * members go through; the walk, the hard-link map, the readahead and {@code put}'s refusal of an
 * existing name stay here.
 */
public final class HostTreeImporter {
    private final Ext4FileSystem fs;
    private final boolean root;
    /** Hard links seen: (device, inode) of the source to the path of its first copy. */
    private final Map<String, String> linked = new HashMap<>();
    /** Sparse files and extended attributes of the source, from the host's tools. */
    private final HostFacts facts;
    /** Creates each inode and sets its attributes, as for entries made by code. */
    private final EntryImporter entries;
    /** Reads the source tree ahead of the copy while a tree is copied, else null. */
    private Readahead readahead;
    /** Times later than this are stored as this (SOURCE_DATE_EPOCH clamping); null keeps them. */
    private java.time.Instant clampTime;
    private Listener listener = (files, bytes) -> { };

    /** Told after each source entry is copied: the progress bar of {@code mkfs -d}. */
    @FunctionalInterface
    public interface Listener {
        /** One more entry (a name: file, directory, link...) is in, with {@code bytes} of file contents. */
        void copied(long entries, long bytes);
    }

    /** Reports each copied entry to {@code l}. */
    public HostTreeImporter listener(Listener l) {
        this.listener = l;
        return this;
    }

    /**
     * Stores modification times later than {@code t} as {@code t}, earlier ones as they are:
     * reproducible-builds.org's clamping to {@code SOURCE_DATE_EPOCH}; and the access time as that
     * clamped modification time, since reading the source (this copy, or the build before it)
     * changes the source's atimes, so they are not an input a reproducible image may depend on.
     * Null (the default) keeps every time as it is.
     */
    public HostTreeImporter clampTimes(java.time.Instant t) {
        this.clampTime = t;
        return this;
    }

    private java.time.Instant clamp(java.time.Instant t) {
        return clampTime != null && t.isAfter(clampTime) ? clampTime : t;
    }

    /** An importer into {@code fs}; {@code warnings} receives what could not be copied exactly. */
    public HostTreeImporter(Ext4FileSystem fs, Consumer<String> warnings) throws IOException {
        this.fs = fs;
        this.root = uid(Path.of("/proc/self")) == 0;
        this.facts = new HostFacts(warnings);
        this.entries = new EntryImporter(fs, "/");
    }

    private static long uid(Path p) {
        try {
            return Integer.toUnsignedLong((Integer) Files.getAttribute(p, "unix:uid"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    /** Copies {@code src} (a file or a whole tree, a final symlink copied as a symlink) to the new name {@code dest}. */
    public void copy(Path src, String dest) throws IOException {
        if (!Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS) || !Files.isReadable(src)) {
            copyOne(src, dest);
            return;
        }
        try (Readahead ahead = Readahead.start(src)) {
            this.readahead = ahead;
            facts.read(src);
            copyOne(src, dest);
        } finally {
            this.readahead = null;
        }
    }

    /**
     * Copies what the directory {@code src} holds into the existing directory {@code dest}, leaving
     * {@code dest} itself as it is: mke2fs {@code -d}'s import into a new file system's root.
     */
    public void copyInto(Path src, String dest) throws IOException {
        try (Readahead ahead = Readahead.start(src)) {
            this.readahead = ahead;
            facts.read(src);
            copyChildren(src, dest);
        } finally {
            this.readahead = null;
        }
    }

    /** Copies what directory {@code src} holds into {@code dest}, in name order. */
    private void copyChildren(Path src, String dest) throws IOException {
        for (Path c : sortedChildren(src)) {
            copyOne(c, dest.endsWith("/") ? dest + c.getFileName() : dest + "/" + c.getFileName());
        }
    }

    /** The names in directory {@code dir}, sorted: the order of the copy, and of {@link Readahead}'s reads. */
    public static List<Path> sortedChildren(Path dir) throws IOException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(children::add);
        }
        children.sort(null);
        return children;
    }

    private void copyOne(Path src, String dest) throws IOException {
        Map<String, Object> a = Files.readAttributes(src, HostFacts.LSTAT, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int type = mode & 0170000;
        int nlink = (Integer) a.get("nlink");
        if (type != 0040000 && nlink > 1) {
            String key = a.get("dev") + ":" + a.get("ino");
            String first = linked.putIfAbsent(key, dest);
            if (first != null) {
                fs.link(first, dest);
                listener.copied(1, 0);
                return;
            }
        }
        FileTime atime = (FileTime) a.get("lastAccessTime");
        FileTime mtime = (FileTime) a.get("lastModifiedTime");
        // the JDK hands ids out as int: ids above 2^31 come back negative; -1 keeps ours (not root)
        long uid = root ? Integer.toUnsignedLong((Integer) a.get("uid")) : -1;
        long gid = root ? Integer.toUnsignedLong((Integer) a.get("gid")) : -1;
        Entry.Builder b = switch (type) {
            case 0040000 -> Entry.directory(dest);
            case 0100000 -> {
                long size = ((Number) a.get("size")).longValue();
                Entry.Contents c = Entry.Contents.of(size, () -> Files.newInputStream(src));
                yield Entry.file(dest, facts.sparse(src, size) ? c.detectingHoles() : c);
            }
            case 0120000 -> Entry.symlink(dest, Files.readSymbolicLink(src).toString().getBytes(StandardCharsets.UTF_8));
            case 0020000, 0060000, 0010000, 0140000 -> {
                long rdev = ((Number) a.get("rdev")).longValue();
                int major = HostFacts.major(rdev);
                int minor = HostFacts.minor(rdev);
                yield type == 0020000 ? Entry.charDevice(dest, major, minor)
                        : type == 0060000 ? Entry.blockDevice(dest, major, minor)
                        : type == 0010000 ? Entry.fifo(dest) : Entry.socket(dest);
            }
            default -> throw new IOException(src + ": unknown file type 0" + Integer.toOctalString(type));
        };
        if (type != 0120000) {
            for (String[] x : facts.xattrs(src, type)) {
                b.xattr(x[0], HexFormat.of().parseHex(x[1]));
            }
        }
        // a reproducible build stores the clamped mtime as atime too: reading the source moves atimes
        java.time.Instant at = clampTime != null ? clamp(mtime.toInstant()) : atime.toInstant();
        Entry e = b.mode(mode & 07777).owner(uid, gid).times(at, clamp(mtime.toInstant())).build();
        entries.create(e, dest); // a directory is made 0700: its own mode once its contents are in
        if (type == 0040000) {
            copyChildren(src, dest);
        } else if (type == 0100000 && readahead != null) {
            readahead.consumed(e.contents().size());
        }
        entries.attributes(e, dest);
        listener.copied(1, type == 0100000 ? e.contents().size() : 0);
    }
}
