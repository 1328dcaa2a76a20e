package org.ext4j.fs;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.format.DirEntry;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.inode.Xattr;
import org.ext4j.namespace.Directory;
import org.ext4j.volume.Volume;

/**
 * An opened ext4 file system: the library's front door ({@code fs/ext4/super.c}'s mount checks, and
 * POSIX-shaped reads above the namespace). Safe for any number of concurrent reader threads: all
 * state below is immutable once opened, and device reads are positional.
 *
 * <pre>{@code
 * try (Ext4FileSystem fs = Ext4FileSystem.open(Path.of("disk.img"))) {
 *     byte[] data = fs.readAll("/etc/hostname");
 * }
 * }</pre>
 */
public final class Ext4FileSystem implements Closeable {
    public static final long ROOT_INO = 2;
    /** Symlinks followed in one resolution before giving up, as the kernel's MAXSYMLINKS. */
    public static final int MAX_SYMLINKS = 40;

    private final BlockDevice device;
    private final Volume volume;
    private final List<String> warnings;
    /** Non-null when opened read-write. */
    private WriteSession session;

    private Ext4FileSystem(BlockDevice device, Volume volume, List<String> warnings) {
        this.device = device;
        this.volume = volume;
        this.warnings = Collections.unmodifiableList(warnings);
    }

    /** Opens an image file or block device read-only. */
    public static Ext4FileSystem open(Path image) throws IOException {
        return open(image, OpenOptions.readOnlyDefaults());
    }

    public static Ext4FileSystem open(Path image, OpenOptions options) throws IOException {
        if (!options.readOnly()) {
            throw new UnsupportedFeatureException("read-write", "this version of ext4j opens images read-only");
        }
        BlockDevice device = FileBlockDevice.openReadOnly(image);
        try {
            return open(device, options);
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /**
     * Opens an image read-write. Refused, by name, where a feature is not supported for writing,
     * where the journal needs recovery, or where the file system has errors or was not cleanly
     * unmounted; the file system is marked in use on disk until {@link #close()}.
     */
    public static Ext4FileSystem openReadWrite(Path image, WriteOptions options) throws IOException {
        return openReadWrite(FileBlockDevice.openReadWrite(image), options);
    }

    /** Opens a writable device read-write (a memory image, for instance), as {@link #openReadWrite(Path, WriteOptions)}; closes it on failure. */
    public static Ext4FileSystem openReadWrite(BlockDevice device, WriteOptions options) throws IOException {
        try {
            Ext4FileSystem fs = openAsIs(device, OpenOptions.readOnlyDefaults());
            if (fs.superblock().hasIncompat(Features.INCOMPAT_RECOVER)) {
                fs = replayJournal(fs, device);
            }
            fs.volume.checkWritable(); // what the kernel refuses to a read-write mount only
            fs.session = WriteSession.start(fs.volume, device, options);
            return fs;
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** The read-write session, for tests of the write path in this package; null when read-only. */
    WriteSession session() {
        return session;
    }

    public boolean isReadOnly() {
        return session == null;
    }

    /** Blocks promised to delayed allocations not yet written back (zero when read-only). */
    public long reservedBlocks() {
        return session == null ? 0 : session.reservations.reserved();
    }

    /** Free blocks as the allocator counts them now (the superblock's count when read-only). */
    public long freeBlocks() {
        return session == null ? volume.superblock().freeBlocksCount : session.allocator.freeBlocks();
    }

    /**
     * Writes the metadata changed so far, without writing back any dirty file data: what a
     * periodic journal commit leaves on disk, and so what a crash right after it would find
     * (docs/RACES.md R9). Data written back before stays where it is.
     */
    public void commitMetadata() throws IOException {
        if (session == null) {
            throw new org.ext4j.error.InvalidRequestException("the file system is open read-only");
        }
        session.journal.commit();
    }

    /**
     * {@code syncfs(2)}: every open file's dirty data written back, the metadata changed so far
     * written, and the device flushed, so that everything done until now survives a crash.
     */
    public void sync() throws IOException {
        if (session == null) {
            return;
        }
        for (Ext4File f : new ArrayList<>(session.openFiles.values())) {
            f.fsync();
        }
        session.journal.commit();
        device.flush();
    }

    /**
     * {@code fsync(2)} of {@code path} without opening it (a directory, typically): the file's
     * dirty data if it is open, and the journal's commit of the transaction that holds its inode's
     * and its entries' changes, as {@code ext4_sync_file} forces it; returns once the commit block
     * is durable. So names added, removed or renamed in a directory survive a crash once the
     * directory is fsynced. A path that does not exist is refused.
     */
    public void fsync(String path) throws IOException {
        if (session == null) {
            throw new org.ext4j.error.InvalidRequestException("the file system is open read-only");
        }
        long ino = lookup(path);
        Ext4File open = session.openFiles.get(ino);
        if (open != null) {
            open.fsync();
            return;
        }
        session.journal.commit();
    }

    /**
     * Creates an empty regular file ({@code open(O_CREAT|O_EXCL)}): a new inode (the allocator's
     * placement near the parent), an empty extent root, times set to now, and the name added to
     * the parent directory, all in one handle. Returns it open for writing.
     */
    public Ext4File createFile(String path, int permissions) throws IOException {
        checkNewName(path); // before the lock and before anything is allocated
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        byte[] full = path.getBytes(StandardCharsets.UTF_8);
        int slash = path.lastIndexOf('/');
        byte[] name = path.substring(slash + 1).getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || full.length == 0) {
            throw new org.ext4j.error.InvalidRequestException("no file name in \"" + path + "\"");
        }
        long parent = resolveParent(full, path);
        if (!inode(parent).record().isDirectory()) {
            throw new WrongTypeException(path + ": not a directory");
        }
        // the parent's lock: the name checked absent stays absent until it is added
        return inDirectory("ext4_create", parent, path, () -> createLocked(path, parent, name, permissions));
    }

    private Ext4File createLocked(String path, long parent, byte[] name, int permissions) throws IOException {
        if (new Directory(volume, inode(parent)).lookup(name) != null) {
            // before anything is allocated: a failed create must leave nothing behind
            throw new org.ext4j.namespace.EntryExistsException(path + ": file exists");
        }
        // without the extent feature the file is block-mapped (i_block all zero, no EXTENTS flag), as the kernel makes it
        long ino = new Namei(session, session.clock).create(parent, name, permissions, session.owner);
        return openInode(ino, path); // under the parent's lock: no unlink before it is open
    }

    /**
     * The checks {@code open(O_CREAT|O_EXCL)} makes of the name before creating anything: the
     * path's own ({@link PathNames#check}); "." or ".." or "/" as the last component exists already
     * (EEXIST, once the directories on the way resolve); a trailing '/' asks for a directory, which
     * a regular file cannot be (EISDIR, once the parent resolves). Only reads.
     */
    private void checkNewName(String path) throws IOException {
        byte[] full = PathNames.check(path);
        byte[] last = PathNames.lastName(full);
        if (last.length == 0 || PathNames.isDotOrDotDot(last)) {
            resolve(full, true); // ENOENT or ENOTDIR on the way come first, as in the kernel's walk
            throw new org.ext4j.namespace.EntryExistsException(path + ": file exists");
        }
        if (PathNames.trailingSlash(full)) {
            long parent = resolveParent(full, path);
            if (!inode(parent).record().isDirectory()) {
                throw new WrongTypeException(path + ": not a directory");
            }
            throw new WrongTypeException(path + ": is a directory (a trailing '/' names a directory)");
        }
    }

    /**
     * Checks, reading only, that {@link #createFile} would accept {@code path} as far as names go:
     * the checks it makes before anything else, then the parent resolving to a directory (ENOENT,
     * ENOTDIR) and the name being absent (EEXIST). For callers that refuse a bad request before
     * opening an image read-write; {@code createFile} checks all of it again under its lock, and can
     * still fail for other reasons (no space, damage found on the way).
     */
    public void checkCreate(String path) throws IOException {
        checkNewName(path);
        byte[] full = PathNames.check(path);
        long parent = resolveParent(full, path);
        if (!inode(parent).record().isDirectory()) {
            throw new WrongTypeException(path + ": not a directory");
        }
        if (new Directory(volume, inode(parent)).lookup(PathNames.lastName(full)) != null) {
            throw new org.ext4j.namespace.EntryExistsException(path + ": file exists");
        }
    }

    /** The directory that would hold the last name of {@code full}; failures name the whole {@code path}. */
    private long resolveParent(byte[] full, String path) throws IOException {
        return resolveFrom(ROOT_INO, PathNames.parent(full), true, new int[] {MAX_SYMLINKS}, path);
    }

    /**
     * The largest size a file created or written by ext4j may reach on this file system, the
     * kernel's {@code s_maxbytes} ({@code ext4_max_size}: it depends on the block size and on
     * huge_file). Writes, truncates and fallocates past it are refused with EFBIG.
     */
    public long maxFileSize() {
        Superblock sb = superblock();
        // a file created here is block-mapped without the extent feature: s_bitmap_maxbytes then
        return sb.hasIncompat(Features.INCOMPAT_EXTENTS) ? Ext4File.maxBytes(sb) : Ext4File.maxBitmapBytes(sb);
    }

    /** Opens an existing regular file for reading and writing (follows symlinks). */
    public Ext4File openFile(String path) throws IOException {
        PathNames.check(path); // before any lock
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        return openInode(lookupFollow(path), path);
    }

    /**
     * Opens inode {@code ino}, which {@code path} named, under its lock: an unlink that took the
     * last name meanwhile (links zero now) makes it ENOENT, as a lookup after the unlink would; an
     * unlink after this sees the file open and leaves its eviction to the last close.
     */
    private Ext4File openInode(long ino, String path) throws IOException {
        try (InodeLocks.Held held = session.locks.exclusive(ino)) {
            InodeRecord rec = session.currentInode(ino);
            if (rec.linksCount == 0 && !session.openFiles.containsKey(ino)) {
                throw new NotFoundException(path + ": no such file or directory (removed meanwhile)");
            }
            if (!rec.isRegular()) {
                throw new WrongTypeException(path + ": " + (rec.isDirectory() ? "is a directory" : "not a regular file"));
            }
            Inode.checkContentReadable(rec); // the kernel refuses to open a verity file for writing (EPERM)
            Ext4File open = session.openFiles.get(ino);
            if (open != null && !open.isClosed()) {
                return open;
            }
            // none, or one closing whose last step (fileClosed) waits for this lock: a new one takes its place
            Ext4File f = new Ext4File(session, rec);
            session.openFiles.put(ino, f);
            return f;
        }
    }

    /**
     * Removes the name {@code path} of anything but a directory ({@code unlink(2)}, the kernel's
     * {@code ext4_unlink}): the entry leaves its directory at once, the inode loses a link, and with
     * its last link the inode, its blocks (extent tree or indirect map) and its share of an xattr
     * block are freed ({@code ext4_evict_inode}). An inode open as an {@link Ext4File} stays readable
     * and writable through it and is freed when it closes (see {@link Unlinker}). A final symlink is
     * removed, not followed.
     *
     * @throws NotFoundException when there is no such name
     * @throws WrongTypeException for a directory, "/" included (EISDIR), or a path through, or
     *         ending with '/' after, something that is not a directory (ENOTDIR)
     * @throws java.nio.file.ReadOnlyFileSystemException on a file system opened read-only
     */
    public void unlink(String path) throws IOException {
        PathNames.check(path); // ENOENT, EINVAL, ENAMETOOLONG before the lock and any lookup
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        byte[] full = path.getBytes(StandardCharsets.UTF_8);
        int end = full.length;
        while (end > 0 && full[end - 1] == '/') {
            end--;
        }
        if (full.length == 0) {
            throw new NotFoundException("\"\": no such file or directory");
        }
        if (end == 0) {
            throw new WrongTypeException(path + ": is a directory");
        }
        int slash = end - 1;
        while (slash >= 0 && full[slash] != '/') {
            slash--;
        }
        byte[] name = java.util.Arrays.copyOfRange(full, slash + 1, end);
        byte[] parentPath = java.util.Arrays.copyOfRange(full, 0, Math.max(slash, 0));
        if (name.length <= 2 && (name[0] == '.' && (name.length == 1 || name[1] == '.'))) {
            resolve(java.util.Arrays.copyOf(full, end), true); // NotFoundException, or it is a directory
            throw new WrongTypeException(path + ": is a directory");
        }
        long parent = resolveFrom(ROOT_INO, parentPath, true, new int[] {MAX_SYMLINKS}, path);
        if (!inode(parent).record().isDirectory()) {
            throw new WrongTypeException(path + ": not a directory");
        }
        boolean trailingSlash = end < full.length;
        // the parent's lock (i_rwsem), then the child's: no open between the check and the removal
        inDirectory("ext4_unlink", parent, path, () -> {
            DirEntry e = new Directory(volume, inode(parent)).lookup(name);
            if (e == null) {
                throw new NotFoundException(path + ": no such file or directory");
            }
            if (child(parent, e).record().isDirectory()) {
                throw new WrongTypeException(path + ": is a directory");
            }
            if (trailingSlash) {
                throw new WrongTypeException(path + ": not a directory");
            }
            try (InodeLocks.Held c = session.locks.exclusive(e.inode())) {
                InodeRecord child = session.currentInode(e.inode());
                new Unlinker(session, session.clock).unlink(parent, name, child);
            }
            return null;
        });
    }

    // ---- namespace changes ----------------------------------------------------------------

    /** A name to create or remove: its directory (resolved, a directory) and the last component. */
    private record NameIn(long parent, byte[] name, boolean trailingSlash) {
    }

    /**
     * Splits {@code path} for an operation on its last name, refusing the names it cannot take:
     * "/" (nothing to name) and "." or ".." with {@code dotError}, after the directories on the way
     * resolve (ENOENT, ENOTDIR first, as the kernel's walk). Only reads.
     */
    private NameIn nameIn(String path, java.util.function.Function<String, IOException> dotError) throws IOException {
        byte[] full = PathNames.check(path);
        byte[] last = PathNames.lastName(full);
        if (last.length == 0 || PathNames.isDotOrDotDot(last)) {
            resolve(full, true);
            throw dotError.apply(last.length == 0 ? "/" : new String(last, StandardCharsets.UTF_8));
        }
        long parent = resolveParent(full, path);
        if (!inode(parent).record().isDirectory()) {
            throw new WrongTypeException(path + ": not a directory (ENOTDIR)");
        }
        return new NameIn(parent, last, PathNames.trailingSlash(full));
    }

    /**
     * Runs a change of directory {@code parent}'s names with its lock held exclusive (the kernel's
     * {@code inode_lock(dir)}), once it is checked to be a directory still in the tree (a directory
     * removed since the path was resolved takes no names: ENOENT); refused on a read-only file
     * system. Names checked present or absent under the lock stay so until the change is made.
     */
    private <T> T inDirectory(String function, long parent, String path, WriteSession.Change<T> op) throws IOException {
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        try (InodeLocks.Held held = session.locks.exclusive(parent)) {
            InodeRecord dir = volume.readInode(parent);
            if (!dir.isDirectory()) {
                throw new WrongTypeException(path + ": not a directory (ENOTDIR)");
            }
            if (dir.linksCount == 0) {
                throw new NotFoundException(path + ": the directory was removed (ENOENT)");
            }
            return session.change(function, op);
        }
    }

    /** Runs a change of inode {@code ino}'s attributes with its lock held exclusive; refused read-only. */
    private <T> T onInode(String function, long ino, WriteSession.Change<T> op) throws IOException {
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        try (InodeLocks.Held held = session.locks.exclusive(ino)) {
            return session.change(function, op);
        }
    }

    private Namei namei() {
        return new Namei(session, session.clock);
    }

    /** Prefixes a refusal's message with the path it concerns, keeping its type. */
    private static <T> T named(String path, WriteSession.Change<T> op) throws IOException {
        try {
            return op.run();
        } catch (org.ext4j.error.Ext4Exception e) {
            if (e.getMessage() != null && !e.getMessage().startsWith(path) && !(e instanceof CorruptionException)) {
                throw renamed(e, path + ": " + e.getMessage());
            }
            throw e;
        }
    }

    private static IOException renamed(org.ext4j.error.Ext4Exception e, String message) {
        IOException r;
        if (e instanceof NotFoundException) {
            r = new NotFoundException(message);
        } else if (e instanceof WrongTypeException) {
            r = new WrongTypeException(message);
        } else if (e instanceof org.ext4j.namespace.EntryExistsException) {
            r = new org.ext4j.namespace.EntryExistsException(message);
        } else if (e instanceof org.ext4j.namespace.DirectoryNotEmptyException) {
            r = new org.ext4j.namespace.DirectoryNotEmptyException(message);
        } else if (e instanceof org.ext4j.namespace.TooManyLinksException) {
            r = new org.ext4j.namespace.TooManyLinksException(message);
        } else if (e instanceof org.ext4j.alloc.NoSpaceException) {
            r = new org.ext4j.alloc.NoSpaceException(message);
        } else if (e instanceof org.ext4j.error.InvalidArgumentException) {
            r = new org.ext4j.error.InvalidArgumentException(message);
        } else if (e.getClass() == org.ext4j.error.InvalidRequestException.class) {
            r = new org.ext4j.error.InvalidRequestException(message);
        } else {
            return e;
        }
        r.initCause(e);
        return r;
    }

    /**
     * {@code mkdir(2)}: a new empty directory with permissions {@code mode & 07777}, owned by the
     * calling process (the group of a set-group-ID parent, whose bit it inherits).
     *
     * @throws org.ext4j.namespace.EntryExistsException when the name exists, "/", "." and ".." included (EEXIST)
     * @throws org.ext4j.namespace.TooManyLinksException when the parent has the most subdirectories it may (EMLINK)
     * @throws org.ext4j.alloc.NoSpaceException when no inode or block is free (ENOSPC); nothing is changed then
     */
    public void mkdir(String path, int mode) throws IOException {
        NameIn n = nameIn(path, name -> new org.ext4j.namespace.EntryExistsException(path + ": file exists (EEXIST)"));
        inDirectory("ext4_mkdir", n.parent(), path, () -> named(path, () -> namei().mkdir(n.parent(), n.name(), mode, session.owner)));
    }

    /**
     * {@code mknod(2)}: a character or block device ({@code S_IFCHR}/{@code S_IFBLK} in {@code mode},
     * with its major and minor numbers), a fifo or a socket; {@code S_IFREG} or no type at all makes
     * an empty regular file and {@code S_IFDIR} is EPERM, as the VFS's {@code may_mknod} and
     * {@code do_mknodat} have it.
     */
    public void mknod(String path, int mode, int major, int minor) throws IOException {
        int type = mode & InodeRecord.S_IFMT;
        if (type == InodeRecord.S_IFDIR) {
            throw new org.ext4j.error.InvalidRequestException(path + ": mknod does not make directories (EPERM)");
        }
        if (type == 0 || type == InodeRecord.S_IFREG) {
            createFile(path, mode & 07777).close();
            return;
        }
        NameIn n = nameIn(path, name -> new org.ext4j.namespace.EntryExistsException(path + ": file exists (EEXIST)"));
        if (n.trailingSlash()) {
            throw new NotFoundException(path + ": a trailing '/' names a directory (ENOENT)");
        }
        inDirectory("ext4_mknod", n.parent(), path, () -> named(path, () -> namei().mknod(n.parent(), n.name(), mode, major,
                minor, session.owner)));
    }

    /** {@code symlink(2)}: {@code linkPath} becomes a symbolic link holding {@code target} (not checked to exist). */
    public void symlink(String target, String linkPath) throws IOException {
        symlink(target == null ? null : target.getBytes(StandardCharsets.UTF_8), linkPath);
    }

    /** {@link #symlink(String, String)} with the target as raw bytes. */
    public void symlink(byte[] target, String linkPath) throws IOException {
        if (target == null) {
            throw new org.ext4j.error.InvalidArgumentException("no symlink target (null)");
        }
        NameIn n = nameIn(linkPath, name -> new org.ext4j.namespace.EntryExistsException(linkPath + ": file exists (EEXIST)"));
        if (n.trailingSlash()) {
            throw new NotFoundException(linkPath + ": a trailing '/' names a directory (ENOENT)");
        }
        if (session != null) {
            named(linkPath, () -> {
                namei().checkSymlinkTarget(target);
                return null;
            });
        }
        inDirectory("ext4_symlink", n.parent(), linkPath, () -> named(linkPath, () -> namei().symlink(n.parent(), n.name(),
                target, session.owner)));
    }

    /**
     * {@code link(2)} (linkat without AT_SYMLINK_FOLLOW: a final symlink is linked itself): a new
     * name {@code newPath} for the inode {@code existing} names.
     *
     * @throws org.ext4j.error.InvalidRequestException for a directory (EPERM)
     * @throws org.ext4j.namespace.TooManyLinksException at 65,000 links (EMLINK)
     */
    public void link(String existing, String newPath) throws IOException {
        PathNames.check(existing);
        long ino = lookup(existing); // the existing name first (ENOENT, ENOTDIR), as do_linkat
        NameIn n = nameIn(newPath, name -> new org.ext4j.namespace.EntryExistsException(newPath + ": file exists (EEXIST)"));
        if (n.trailingSlash()) {
            throw new NotFoundException(newPath + ": a trailing '/' names a directory (ENOENT)");
        }
        boolean directory = inode(ino).record().isDirectory(); // a type never changes
        inDirectory("ext4_link", n.parent(), newPath, () -> named(newPath, () -> {
            if (directory) {
                namei().link(ino, n.parent(), n.name()); // refuses (EEXIST or EPERM) without the directory's lock
                return null;
            }
            // the new parent's lock, then the inode's: directories before the non-directory
            try (InodeLocks.Held held = session.locks.exclusive(ino)) {
                namei().link(ino, n.parent(), n.name());
            }
            return null;
        }));
    }

    /**
     * {@code rmdir(2)}: removes an empty directory.
     *
     * @throws org.ext4j.namespace.DirectoryNotEmptyException when it holds names, or for ".." (ENOTEMPTY)
     * @throws org.ext4j.error.InvalidRequestException for "." (EINVAL) or "/" (EBUSY)
     * @throws WrongTypeException when it is not a directory (ENOTDIR)
     */
    public void rmdir(String path) throws IOException {
        NameIn n = nameIn(path, name -> name.equals("..")
                ? new org.ext4j.namespace.DirectoryNotEmptyException(path + ": directory not empty (ENOTEMPTY)")
                : new org.ext4j.error.InvalidRequestException(path + (name.equals("/") ? ": the root cannot be removed (EBUSY)"
                        : ": \".\" cannot be removed (EINVAL)")));
        inDirectory("ext4_rmdir", n.parent(), path, () -> named(path, () -> {
            DirEntry e = new Directory(volume, inode(n.parent())).lookup(n.name());
            // the parent's lock, then the child's (a directory below it)
            try (InodeLocks.Held held = e == null ? () -> { } : session.locks.exclusive(e.inode())) {
                namei().rmdir(n.parent(), n.name(), new Unlinker(session, session.clock));
            }
            return null;
        }));
    }

    /** {@code rename(2)}: {@link RenameMode#REPLACE}. */
    public void rename(String from, String to) throws IOException {
        rename(from, to, RenameMode.REPLACE);
    }

    /**
     * {@code renameat2(2)}: moves the name {@code from} to {@code to} in one step, replacing what
     * {@code to} names ({@link RenameMode#REPLACE}: a non-directory by a non-directory, an empty
     * directory by a directory), refusing to ({@link RenameMode#NOREPLACE}), or swapping the two
     * ({@link RenameMode#EXCHANGE}). A directory moved to another parent takes its ".." along.
     *
     * @throws org.ext4j.error.InvalidRequestException when a directory would move into itself (EINVAL),
     *         or for "/", "." or ".." (EBUSY)
     * @throws org.ext4j.namespace.DirectoryNotEmptyException when the target is a directory with names (ENOTEMPTY)
     */
    public void rename(String from, String to, RenameMode mode) throws IOException {
        java.util.Objects.requireNonNull(mode, "mode");
        NameIn src = nameIn(from, name -> new org.ext4j.error.InvalidRequestException(from + ": cannot rename \"" + name
                + "\" (EBUSY)"));
        NameIn dst = nameIn(to, name -> mode == RenameMode.NOREPLACE
                ? new org.ext4j.namespace.EntryExistsException(to + ": file exists (EEXIST)")
                : new org.ext4j.error.InvalidRequestException(to + ": cannot rename onto \"" + name + "\" (EBUSY)"));
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        long oldDir = src.parent();
        long newDir = dst.parent();
        boolean cross = oldDir != newDir;
        if (cross) {
            session.renameLock.lock(); // s_vfs_rename_mutex: no directory moves while the parents' chains are used
        }
        try {
            Namei namei = namei();
            java.util.Set<Long> oldChain = cross ? namei.chainToRoot(oldDir) : java.util.Set.of(oldDir);
            java.util.Set<Long> newChain = cross ? namei.chainToRoot(newDir) : java.util.Set.of(newDir);
            // lock_rename: an ancestor before its descendant, unrelated parents by inode number
            List<Long> parents = !cross ? List.of(oldDir)
                    : oldChain.contains(newDir) ? List.of(newDir, oldDir)
                    : newChain.contains(oldDir) ? List.of(oldDir, newDir)
                    : List.of(Math.min(oldDir, newDir), Math.max(oldDir, newDir));
            try (InodeLocks.Held p = session.locks.exclusive(parents)) {
                for (long d : parents) {
                    InodeRecord dir = volume.readInode(d);
                    if (!dir.isDirectory() || dir.linksCount == 0) {
                        throw new NotFoundException((d == oldDir ? from : to) + ": the directory was removed (ENOENT)");
                    }
                }
                DirEntry se = new Directory(volume, inode(oldDir)).lookup(src.name());
                DirEntry te = new Directory(volume, inode(newDir)).lookup(dst.name());
                java.util.TreeSet<Long> children = new java.util.TreeSet<>();
                for (DirEntry e : new DirEntry[] {se, te}) {
                    if (e != null && !parents.contains(e.inode())) {
                        children.add(e.inode());
                    }
                }
                // then the two inodes, by inode number (lock_two_nondirectories)
                try (InodeLocks.Held c = session.locks.exclusive(new ArrayList<>(children))) {
                    session.change("ext4_rename", () -> {
                        if ((src.trailingSlash() || dst.trailingSlash()) && se != null
                                && !inode(se.inode()).record().isDirectory()) {
                            throw new WrongTypeException(from + ": not a directory (ENOTDIR)"); // '/' is for directories only
                        }
                        named(from, () -> {
                            namei.rename(oldDir, src.name(), newDir, dst.name(), mode,
                                    new Unlinker(session, session.clock), oldChain, newChain);
                            return null;
                        });
                        return null;
                    });
                }
            }
        } finally {
            if (cross) {
                session.renameLock.unlock();
            }
        }
    }

    /** {@code chmod(2)}: the permission bits of what {@code path} names (symlinks followed). */
    public void chmod(String path, int mode) throws IOException {
        setAttributes(path, InodeAttributes.mode(mode), true);
    }

    /** {@code chown(2)}: owner and group (-1 keeps one), symlinks followed. */
    public void chown(String path, long uid, long gid) throws IOException {
        setAttributes(path, InodeAttributes.owner(uid, gid), true);
    }

    /**
     * {@code utimensat(2)}: access and modification times with nanoseconds; null keeps one
     * ({@code UTIME_OMIT}), {@link InodeAttributes#NOW} sets it to now. {@code follow} false changes
     * a final symlink itself ({@code AT_SYMLINK_NOFOLLOW}).
     */
    public void utimens(String path, Instant atime, Instant mtime, boolean follow) throws IOException {
        setAttributes(path, InodeAttributes.times(atime, mtime), follow);
    }

    /** Changes the given attributes of what {@code path} names in one step ({@code notify_change}); ctime becomes now. */
    public void setAttributes(String path, InodeAttributes attrs, boolean follow) throws IOException {
        java.util.Objects.requireNonNull(attrs, "attrs");
        PathNames.check(path);
        long ino = follow ? lookupFollow(path) : lookup(path);
        onInode("ext4_setattr", ino, () -> named(path, () -> {
            namei().setattr(ino, attrs);
            return null;
        }));
    }

    /** {@code truncate(2)}: the regular file {@code path} names (symlinks followed) becomes {@code size} bytes. */
    public void truncate(String path, long size) throws IOException {
        if (size < 0) {
            throw new org.ext4j.error.InvalidArgumentException(path + ": negative size " + size + " (EINVAL)");
        }
        PathNames.check(path);
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        long ino = lookupFollow(path);
        InodeRecord rec = volume.readInode(ino);
        if (rec.isDirectory()) {
            throw new WrongTypeException(path + ": is a directory (EISDIR)");
        }
        if (!rec.isRegular()) {
            throw new org.ext4j.error.InvalidRequestException(path + ": not a regular file (EINVAL)");
        }
        Ext4File open = session.openFiles.get(ino);
        if (open != null) {
            open.truncate(size);
            return;
        }
        try (Ext4File f = openFile(path)) {
            f.truncate(size);
        }
    }

    /**
     * {@code statfs(2)}, as {@code ext4_statfs} counts: the overhead is the superblock's
     * s_overhead_clusters when set, else {@code ext4_calculate_overhead}'s sum (the first data block;
     * per group the superblock backup, descriptor table copy and reserved GDT blocks, the inode
     * table and two bitmaps; the journal's blocks).
     */
    public StatFs statfs() throws IOException {
        Superblock sb = superblock();
        long overhead = sb.overheadClusters;
        if (overhead == 0) {
            org.ext4j.alloc.GroupLayout layout = new org.ext4j.alloc.GroupLayout(sb, volume.systemZone());
            long itb = ((long) sb.inodesPerGroup * sb.inodeSize + sb.blockSize - 1) / sb.blockSize;
            overhead = sb.firstDataBlock;
            for (long g = 0; g < sb.groupCount; g++) {
                overhead += layout.baseMetaBlocks(g) + itb + 2;
            }
            if (sb.hasCompat(Features.COMPAT_HAS_JOURNAL) && sb.journalInum != 0) {
                overhead += volume.readInode(sb.journalInum).size / sb.blockSize;
            }
        }
        long free = session == null ? sb.freeBlocksCount
                : Math.max(0, session.allocator.freeBlocks() - session.reservations.reserved());
        long freeInodes = session == null ? sb.freeInodesCount : session.allocator.inodes().freeInodes();
        long resv = sb.hasIncompat(Features.INCOMPAT_EXTENTS) ? Math.min(sb.blocksCount / 50, 4096) : 0;
        long avail = Math.max(0, free - (sb.reservedBlocksCount + resv));
        return new StatFs(sb.blockSize, sb.blocksCount - overhead, free, avail, sb.inodesCount, freeInodes,
                org.ext4j.error.NameTooLongException.NAME_MAX);
    }

    /** How {@link #setXattr} treats an existing attribute: setxattr(2)'s flags. */
    public enum XattrMode {
        /** {@code XATTR_CREATE}: EEXIST when it exists. */
        CREATE,
        /** {@code XATTR_REPLACE}: ENODATA when it does not. */
        REPLACE,
        /** Either: created or replaced. */
        EITHER
    }

    /**
     * {@code lsetxattr(2)}: sets the attribute {@code name} ("user.x", "trusted.x", "security.x",
     * "system.posix_acl_access" or "system.posix_acl_default" in {@code posix_acl_xattr} form) of
     * what {@code path} names (a final symlink itself), in the inode body when it fits, else in the
     * external block (copied first when other inodes share it); ctime becomes now. An access ACL
     * sets the mode's permission bits and, when it says no more than they do, is not stored
     * ({@code posix_acl_update_mode}); a default ACL is for directories only (EACCES).
     *
     * @throws org.ext4j.inode.XattrExistsException for {@link XattrMode#CREATE} of an existing name (EEXIST)
     * @throws NotFoundException for {@link XattrMode#REPLACE} of a missing one (ENODATA)
     * @throws org.ext4j.alloc.NoSpaceException when it fits neither the body nor a block (ENOSPC)
     */
    public void setXattr(String path, String name, byte[] value, XattrMode mode) throws IOException {
        java.util.Objects.requireNonNull(mode, "mode");
        if (value == null) {
            throw new org.ext4j.error.InvalidArgumentException("no attribute value (null)");
        }
        org.ext4j.inode.XattrName.parse(name); // a bad name is refused before the image is touched
        PathNames.check(path);
        long ino = lookup(path);
        onInode("ext4_xattr_set", ino, () -> named(path, () -> {
            changeXattr(ino, name, value, mode);
            return null;
        }));
    }

    /** {@code lremovexattr(2)}: removes the attribute {@code name} (ENODATA when there is none). */
    public void removeXattr(String path, String name) throws IOException {
        org.ext4j.inode.XattrName.parse(name);
        PathNames.check(path);
        long ino = lookup(path);
        onInode("ext4_xattr_set", ino, () -> named(path, () -> {
            changeXattr(ino, name, null, XattrMode.REPLACE);
            return null;
        }));
    }

    /**
     * Sets ({@code value} not null) or removes an attribute of inode {@code ino}: the writer works on
     * a copy of the inode as it is now, then the xattr area, i_file_acl, i_blocks, mode and ctime
     * go into the inode through {@link WriteSession#updateInode} (an open file's in-memory inode
     * included). The inode's lock serialises attribute changes ({@code xattr_sem}).
     */
    private void changeXattr(long ino, String name, byte[] value, XattrMode mode) throws IOException {
        InodeRecord cur = session.currentInode(ino);
        if (name.startsWith("user.") && !cur.isRegular() && !cur.isDirectory()) {
            // xattr_permission: user attributes belong to files and directories only
            throw new org.ext4j.error.InvalidRequestException("user.* attributes are for regular files and directories (EPERM)");
        }
        int newMode = cur.mode;
        byte[] stored = value;
        if (value != null && name.equals("system.posix_acl_access")) {
            int[] m = org.ext4j.inode.XattrWriter.aclUpdateMode(value, cur.mode);
            newMode = m[0];
            if (m[1] == 1) {
                stored = null; // only the mode: an ACL equal to it is not kept
            }
        } else if (value != null && name.equals("system.posix_acl_default") && !cur.isDirectory()) {
            throw new org.ext4j.error.InvalidRequestException("a default ACL is for directories only (EACCES)");
        }
        // validate, then change: the outcomes that refuse are known before the handle starts
        boolean present = hasXattr(ino, name);
        if (value != null && mode == XattrMode.CREATE && present) {
            throw new org.ext4j.inode.XattrExistsException("attribute " + name + " exists (EEXIST)");
        }
        if ((value == null || mode == XattrMode.REPLACE) && !present) {
            throw new NotFoundException("no attribute " + name + " (ENODATA)");
        }
        org.ext4j.inode.XattrWriter writer = new org.ext4j.inode.XattrWriter(volume, session.allocator.blocks(),
                session.allocator.inodes(), session.reservations).reproducible(session.clock, session.deterministic);
        byte[] raw = cur.raw();
        Instant now = session.clock.instant();
        int finalMode = newMode;
        int credits = org.ext4j.inode.XattrWriter.credits(superblock(), stored != null ? stored.length : 0);
        try (org.ext4j.txn.Handle h = session.journal.start(credits + 1)) {
            boolean changed;
            if (stored != null) {
                changed = writer.set(h, ino, raw, name, stored, org.ext4j.inode.XattrWriter.Mode.valueOf(mode.name()));
            } else if (value != null) {
                // an equivalent access ACL: any stored one goes, the mode takes its bits
                changed = hasXattr(ino, name) && writer.remove(h, ino, raw, name);
            } else {
                changed = writer.remove(h, ino, raw, name);
            }
            if (!changed && finalMode == cur.mode) {
                return;
            }
            int extra = Superblock.GOOD_OLD_INODE_SIZE + (raw.length > Superblock.GOOD_OLD_INODE_SIZE
                    ? org.ext4j.format.Le.u16(raw, 0x80) : 0);
            long fileAcl = InodeRecord.fileAcl(raw);
            long blocks = InodeRecord.blocksRaw(raw);
            long blockDelta = blocks - cur.blocks512(superblock());
            session.updateInode(h, ino, w -> {
                byte[] live = w.raw();
                if (extra < live.length) {
                    System.arraycopy(raw, extra, live, extra, live.length - extra);
                }
                long liveBlocks = InodeRecord.blocksRaw(live);
                w.fileAcl(fileAcl).blocks512(liveBlocks + blockDelta).mode(finalMode)
                        .ctime(now.getEpochSecond(), now.getNano());
            });
        }
    }

    private boolean hasXattr(long ino, String name) throws IOException {
        try {
            inode(ino).xattr(name);
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    /** The owner of what this file system creates: the calling process's ({@code current_fsuid()}). */
    static Namei.Owner processOwner() {
        try {
            Object uid = java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            Object gid = java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:gid");
            return new Namei.Owner(Integer.toUnsignedLong((Integer) uid), Integer.toUnsignedLong((Integer) gid));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return new Namei.Owner(0, 0); // no /proc: root, as mke2fs -d leaves files without an owner
        }
    }

    /** Opens a file system on an already opened device; the file system closes it. */
    public static Ext4FileSystem open(BlockDevice device, OpenOptions options) throws IOException {
        Ext4FileSystem fs = openAsIs(device, options);
        Superblock sb = fs.superblock();
        if (options.noRecovery() || !sb.hasIncompat(Features.INCOMPAT_RECOVER) || !sb.hasCompat(Features.COMPAT_HAS_JOURNAL)
                || sb.journalInum == 0) {
            return fs;
        }
        // a read-only open replays the journal into memory, as a read-only kernel mount replays it
        // into its buffer cache: the file system is opened again over the replayed blocks, the image
        // itself never written
        org.ext4j.blockdev.OverlayBlockDevice overlay = new org.ext4j.blockdev.OverlayBlockDevice(device, sb.blockSize);
        replay(fs, overlay, false);
        Ext4FileSystem replayed = openAsIs(overlay, options);
        List<String> warnings = new ArrayList<>(fs.warnings);
        warnings.addAll(replayed.warnings);
        return new Ext4FileSystem(overlay, replayed.volume, warnings);
    }

    /**
     * Replays {@code fs}'s journal onto {@code target}: its device, or an overlay of it. Everything
     * is decided first ({@code JournalReplay.plan}): a log that cannot be replayed, or copies that
     * fail their checksums, refuse the open before the first block is written (the kernel would
     * write the good copies and then fail the mount with EFSBADCRC; ext4j leaves the image as it
     * was, for e2fsck or {@code ext4j recover}). So is a log whose last commit failed its checksum
     * ({@code j_failed_commit}: "journal transaction N is corrupt", EFSCORRUPTED, after the kernel's
     * replay) and, read-write, a journal recording an error ({@code s_errno}): the replay would mark
     * the file system with errors, which the write session then refuses.
     */
    private static void replay(Ext4FileSystem fs, BlockDevice target, boolean readWrite) throws IOException {
        Superblock sb = fs.superblock();
        Inode journal = Inode.load(fs.volume, sb.journalInum);
        org.ext4j.journal.JournalLog log = org.ext4j.journal.JournalLog.read(journal, sb.journalInum, sb.blockSize);
        org.ext4j.journal.JournalReplay.Plan plan = org.ext4j.journal.JournalReplay.plan(log, journal, sb.journalInum,
                sb.blocksCount);
        if (plan.failedCommit() >= 0) {
            throw CorruptionException.of(CorruptionException.Kind.BAD_JOURNAL).inode(sb.journalInum)
                    .build("jbd2_journal_load: journal transaction " + plan.failedCommit() + " is corrupt (its commit"
                            + " block fails its checksum, EFSCORRUPTED); nothing replayed (ext4j recover or e2fsck"
                            + " replays the transactions before it)");
        }
        if (readWrite && log.header().errno() != 0) {
            throw CorruptionException.of(CorruptionException.Kind.BAD_JOURNAL).inode(sb.journalInum)
                    .build("the journal records error " + log.header().errno() + " (s_errno): the file system has"
                            + " errors; nothing replayed (run e2fsck)");
        }
        if (!plan.checksumFailures().isEmpty()) {
            org.ext4j.journal.JournalReplay.Failure f = plan.checksumFailures().get(0);
            throw CorruptionException.of(CorruptionException.Kind.BAD_JOURNAL).inode(sb.journalInum).block(f.tag().fsBlock())
                    .build(plan.checksumFailures().size() + " logged blocks fail their checksums (EFSBADCRC), the first the"
                            + " copy of block " + f.tag().fsBlock() + " at journal block " + f.tag().logBlock()
                            + " in transaction " + f.sequence() + "; nothing replayed (ext4j recover or e2fsck replays the rest)");
        }
        plan.apply(target);
    }

    /** Opens the file system on {@code device} as its blocks are, without replaying its journal. */
    private static Ext4FileSystem openAsIs(BlockDevice device, OpenOptions options) throws IOException {
        Superblock sb = Volume.readSuperblock(device);
        List<String> warnings = new ArrayList<>();
        checkFeatures(sb, options.noRecovery(), warnings);
        warnings.forEach(options.warnings());
        Volume volume = Volume.open(device, sb);
        MountChecks.check(volume);
        Ext4FileSystem fs = new Ext4FileSystem(device, volume, warnings);
        fs.inode(ROOT_INO); // its map, as ext4_iget checks it
        return fs;
    }

    /**
     * A read-write open of a file system whose journal needs recovery replays it first, as a kernel
     * mount does ({@code ext4_load_journal}): what the open would refuse anyway is refused before
     * the replay writes anything; then the file system is opened again on the replayed blocks (the
     * write session then frees the orphans, as the mount's {@code ext4_orphan_cleanup}). An
     * external journal is not replayed (the open is refused with needs_recovery).
     */
    private static Ext4FileSystem replayJournal(Ext4FileSystem fs, BlockDevice device) throws IOException {
        Superblock sb = fs.superblock();
        if (!sb.hasCompat(Features.COMPAT_HAS_JOURNAL) || sb.journalInum == 0) {
            return fs;
        }
        fs.volume.checkWritable();
        WriteSession.checkWritable(sb, true);
        replay(fs, device, true);
        return openAsIs(device, OpenOptions.readOnlyDefaults());
    }

    /**
     * Refuses incompatible features the read path does not understand, by name, and notes the
     * states a reader should know about.
     */
    private static void checkFeatures(Superblock sb, boolean noRecovery, List<String> warnings)
            throws UnsupportedFeatureException {
        long unknown = sb.featureIncompat & ~Features.INCOMPAT_READ_SUPPORTED;
        if (unknown != 0) {
            List<String> names = Features.incompatNames(unknown);
            throw new UnsupportedFeatureException(String.join(",", names),
                    "ext4j cannot read file systems with this incompatible feature");
        }
        if (sb.hasIncompat(Features.INCOMPAT_RECOVER) && noRecovery) {
            warnings.add("the journal needs recovery: read as the blocks are, without replaying it (norecovery)"
                    + " (ext4j recover, or any writing command, replays it into the image)");
        } else if (sb.hasIncompat(Features.INCOMPAT_RECOVER)) {
            warnings.add("the journal needs recovery: a read-only open replays it in memory and leaves the image as it is"
                    + " (ext4j recover, or any writing command, replays it into the image)");
        }
        if ((sb.state & Superblock.STATE_ERROR) != 0) {
            warnings.add("the file system is marked as having errors; run e2fsck");
        }
    }

    public Superblock superblock() {
        return volume.superblock();
    }

    public List<GroupDescriptor> groups() {
        List<GroupDescriptor> out = new ArrayList<>();
        for (long g = 0; g < volume.groupCount(); g++) {
            out.add(volume.group(g));
        }
        return out;
    }

    /** Conditions found at open that a user should see (journal needing recovery, error state). */
    public List<String> warnings() {
        return warnings;
    }

    public Volume volume() {
        return volume;
    }

    /** Loads an inode by number. */
    public Inode inode(long ino) throws IOException {
        return Inode.load(volume, ino);
    }

    /**
     * Loads the inode a directory entry names, refusing one that is not in use or is reserved: a name
     * pointing at a freed inode or at a reserved one other than the root is damage, as the kernel's
     * {@code __ext4_iget} reports ("deleted inode referenced", "illegal inode #").
     */
    public Inode child(long dirIno, DirEntry e) throws IOException {
        return child(dirIno, e.inode(), e.name());
    }

    private Inode child(long dirIno, long ino, byte[] name) throws IOException {
        Superblock sb = superblock();
        if (ino < sb.firstIno && ino != ROOT_INO || ino > sb.inodesCount) {
            // __ext4_iget of a name: "illegal inode #", a reserved inode (the journal, the resize
            // inode...) is never reached through a directory
            throw CorruptionException.of(Kind.BAD_INODE_NUMBER).inode(ino)
                    .build("directory inode " + dirIno + " names \"" + new String(name, StandardCharsets.UTF_8)
                            + "\", but inode " + ino + " is reserved (below s_first_ino " + sb.firstIno
                            + ") or past " + sb.inodesCount);
        }
        Inode inode = inode(ino);
        InodeRecord r = inode.record();
        if (r.mode == 0 || r.linksCount == 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("directory inode " + dirIno + " names \"" + new String(name, StandardCharsets.UTF_8)
                            + "\", but inode " + ino + " is not in use (mode 0" + Integer.toOctalString(r.mode)
                            + ", " + r.linksCount + " links)");
        }
        if (r.hasFlag(InodeRecord.FL_EA_INODE)) {
            // __ext4_iget: "unexpected EA_INODE flag": an xattr value's inode never has a name
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("directory inode " + dirIno + " names \"" + new String(name, StandardCharsets.UTF_8)
                            + "\", but inode " + ino + " holds an xattr value (unexpected EA_INODE flag)");
        }
        return inode;
    }

    // ---- path resolution ------------------------------------------------------------------

    /**
     * Resolves {@code path} without following a final symlink (lstat semantics).
     *
     * @throws NotFoundException for an empty path, as the kernel's ENOENT, or a missing name
     * @throws org.ext4j.error.InvalidArgumentException for a path holding a NUL byte
     * @throws org.ext4j.error.NameTooLongException for a component over 255 bytes or a path of 4096
     */
    public long lookup(String path) throws IOException {
        return resolve(PathNames.check(path), false);
    }

    /** Resolves {@code path} following symlinks everywhere (stat semantics); checked as {@link #lookup}. */
    public long lookupFollow(String path) throws IOException {
        return resolve(PathNames.check(path), true);
    }

    /**
     * Resolves a path given as raw bytes (names in ext4 are bytes). Intermediate symlinks are always
     * followed, relative ones from the directory holding them, absolute ones from the image's root;
     * at most {@link #MAX_SYMLINKS} of them. A trailing '/' follows the last name and requires a
     * directory (ENOTDIR otherwise), as the kernel's {@code LOOKUP_DIRECTORY}. An empty path is the
     * root here, for callers that split paths themselves; NUL bytes and over-long names are refused
     * before any lookup.
     */
    public long resolve(byte[] path, boolean followFinal) throws IOException {
        PathNames.checkNames(path);
        int[] budget = {MAX_SYMLINKS};
        return resolveFrom(ROOT_INO, path, followFinal, budget, new String(path, StandardCharsets.UTF_8));
    }

    private long resolveFrom(long start, byte[] path, boolean followFinal, int[] budget, String shown)
            throws IOException {
        long cur = path.length > 0 && path[0] == '/' ? ROOT_INO : start;
        List<byte[]> parts = split(path);
        boolean mustBeDirectory = PathNames.trailingSlash(path);
        if (mustBeDirectory) {
            followFinal = true;
        }
        for (int i = 0; i < parts.size(); i++) {
            byte[] name = parts.get(i);
            boolean last = i == parts.size() - 1;
            if (name.length > org.ext4j.error.NameTooLongException.NAME_MAX) {
                // a symlink's target, read from the image: ext4_lookup's ENAMETOOLONG as well
                throw org.ext4j.error.NameTooLongException.component(name);
            }
            long next;
            Inode target;
            // the directory's lock shared for the lookup in it (i_rwsem in lookup_slow), dropped before the next
            try (InodeLocks.Held held = lockShared(cur)) {
                Inode dirInode = inode(cur);
                if (!dirInode.record().isDirectory()) {
                    throw new WrongTypeException(shown + ": not a directory");
                }
                org.ext4j.volume.NameCache names = volume.names();
                long generation = names.generation();
                next = names.get(cur, name);
                if (next < 0) {
                    DirEntry e = new Directory(volume, dirInode).lookup(name);
                    if (e == null) {
                        throw new NotFoundException(shown + ": no such file or directory");
                    }
                    next = e.inode();
                    target = child(cur, next, name);
                    names.put(generation, cur, name, next);
                } else {
                    target = child(cur, next, name);
                }
            }
            if (target.record().isSymlink() && (!last || followFinal)) {
                if (--budget[0] < 0) {
                    throw CorruptionException.of(Kind.LOOP).inode(next).build(shown + ": too many levels of symbolic links");
                }
                next = resolveFrom(cur, target.readlinkBytes(), true, budget, shown);
            }
            cur = next;
        }
        if (mustBeDirectory && !inode(cur).record().isDirectory()) {
            throw new WrongTypeException(shown + ": not a directory");
        }
        return cur;
    }

    private static List<byte[]> split(byte[] path) {
        List<byte[]> parts = new ArrayList<>();
        int i = 0;
        while (i < path.length) {
            while (i < path.length && path[i] == '/') {
                i++;
            }
            int s = i;
            while (i < path.length && path[i] != '/') {
                i++;
            }
            if (i > s) {
                byte[] p = java.util.Arrays.copyOfRange(path, s, i);
                if (!(p.length == 1 && p[0] == '.')) {
                    parts.add(p);
                }
            }
        }
        return parts;
    }

    // ---- POSIX-shaped reads ---------------------------------------------------------------

    public FileStat stat(String path) throws IOException {
        return stat(lookup(path));
    }

    public FileStat stat(long ino) throws IOException {
        return stat(inode(ino));
    }

    /** The stat of an inode already loaded. */
    public FileStat stat(Inode inode) {
        long ino = inode.number();
        InodeRecord r = inode.record();
        int[] dev = r.type() == InodeRecord.S_IFCHR || r.type() == InodeRecord.S_IFBLK ? inode.deviceNumber()
                : new int[] {0, 0};
        long blocks = r.blocks512(superblock());
        if (r.isRegular() && inode.isInline()) {
            // ext4_file_getattr: inline files report their bytes as sectors, so that tar and rsync
            // do not take them for entirely sparse files
            blocks += (r.size + 511) >> 9;
        }
        return new FileStat(ino, r.mode, r.linksCount, r.uid, r.gid, r.size, blocks,
                instant(r.atime), instant(r.mtime), instant(r.ctime), r.crtime == null ? null : instant(r.crtime),
                r.flags, r.generation, dev[0], dev[1]);
    }

    private static Instant instant(InodeRecord.Timestamp t) {
        return Instant.ofEpochSecond(t.seconds(), Math.min(t.nanos(), 999_999_999));
    }

    /** Entries of a directory, "." and ".." included, in on-disk order. */
    public List<DirEntry> readdir(String path) throws IOException {
        return readdir(lookupFollow(path));
    }

    public List<DirEntry> readdir(long ino) throws IOException {
        try (InodeLocks.Held held = lockShared(ino)) {
            return new Directory(volume, inode(ino)).list();
        }
    }

    /** Streams the entries of a directory without holding them all in memory (its lock held shared meanwhile). */
    public void forEachEntry(long ino, DirEntry.Visitor visitor) throws IOException {
        try (InodeLocks.Held held = lockShared(ino)) {
            new Directory(volume, inode(ino)).forEach(visitor);
        }
    }

    /** A directory's lock shared while it is read, on a read-write file system (nothing changes a read-only one). */
    private InodeLocks.Held lockShared(long ino) {
        return session == null ? () -> { } : session.locks.shared(ino);
    }

    /** Reads up to {@code len} bytes of inode {@code ino} at {@code pos}; -1 at end of file. */
    public int read(long ino, long pos, byte[] buf, int off, int len) throws IOException {
        return inode(ino).read(pos, buf, off, len);
    }

    /** The whole of a regular file; for small files (up to 2 GiB). */
    public byte[] readAll(String path) throws IOException {
        Inode inode = inode(lookupFollow(path));
        if (inode.record().isDirectory()) {
            throw new WrongTypeException(path + ": is a directory");
        }
        return inode.readAll(Integer.MAX_VALUE - 8);
    }

    public byte[] readlink(String path) throws IOException {
        return inode(lookup(path)).readlinkBytes();
    }

    public List<Xattr> listXattrs(String path) throws IOException {
        return inode(lookup(path)).xattrs();
    }

    /**
     * One extended attribute by full name ("user.x"). A name that is empty or over 255 bytes is
     * refused before the lookup, as {@code getxattr(2)} answers ERANGE.
     */
    public byte[] getXattr(String path, String name) throws IOException {
        if (name == null || name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new org.ext4j.error.InvalidArgumentException("attribute name "
                    + (name == null ? "null" : "of " + name.getBytes(StandardCharsets.UTF_8).length + " bytes")
                    + " is not 1..255 bytes (ERANGE)");
        }
        return inode(lookup(path)).xattr(name);
    }

    @Override
    public void close() throws IOException {
        try {
            if (session != null) {
                session.close();
            }
        } finally {
            device.close();
        }
    }
}
