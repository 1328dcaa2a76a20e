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
            Ext4FileSystem fs = open(device, OpenOptions.readOnlyDefaults());
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
        session.namespaceLock.lock(); // the name checked absent stays absent until it is added
        try {
            return session.change("ext4_create", () -> createLocked(path, name, permissions));
        } finally {
            session.namespaceLock.unlock();
        }
    }

    private Ext4File createLocked(String path, byte[] name, int permissions) throws IOException {
        long parent = resolveParent(path.getBytes(StandardCharsets.UTF_8), path);
        if (!inode(parent).record().isDirectory()) {
            throw new WrongTypeException(path + ": not a directory");
        }
        if (new Directory(volume, inode(parent)).lookup(name) != null) {
            // before anything is allocated: a failed create must leave nothing behind
            throw new org.ext4j.namespace.EntryExistsException(path + ": file exists");
        }
        Superblock sb = superblock();
        // without the extent feature the file is block-mapped (i_block all zero, no EXTENTS flag), as the kernel makes it
        boolean extents = sb.hasIncompat(Features.INCOMPAT_EXTENTS);
        org.ext4j.namespace.DirectoryWriter dirs = new org.ext4j.namespace.DirectoryWriter(volume,
                session.allocator.blocks(), java.time.Clock.systemUTC());
        long ino;
        int credits = org.ext4j.alloc.InodeAllocator.ALLOC_CREDITS + dirs.addCredits(parent) + 1;

        try (org.ext4j.txn.Handle h = session.journal.start(credits)) {
            ino = session.allocator.inodes().allocate(h, parent, false);
            byte[] raw = new byte[sb.inodeSize];
            byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
            if (extents) {
                org.ext4j.format.ExtentNodeWriter.initRoot(iBlock);
            }
            Instant now = Instant.now();
            long s = now.getEpochSecond();
            int ns = now.getNano();
            org.ext4j.format.InodeWriter w = new org.ext4j.format.InodeWriter(sb, ino, raw)
                    .extraIsize(sb.newInodeExtraIsize())
                    .mode(InodeRecord.S_IFREG | (permissions & 07777)).uid(0).gid(0).size(0).linksCount(1)
                    .flags(extents ? InodeRecord.FL_EXTENTS : 0).generation(new java.security.SecureRandom().nextInt() & 0xFFFFFFFFL)
                    .iBlock(iBlock).blocks512(0);
            w.atime(s, ns).mtime(s, ns).ctime(s, ns).crtime(s, ns).setChecksum();
            volume.writeInode(h, ino, raw);
            try {
                dirs.addEntry(h, parent, name, ino, DirEntry.FT_REG_FILE);
            } catch (org.ext4j.alloc.NoSpaceException e) {
                // no block for the directory to grow: the inode goes back, as ext4_create drops it
                // (the directory is consistent either way)
                w.linksCount(0).dtime(s & 0xFFFFFFFFL).setChecksum();
                volume.writeInode(h, ino, raw);
                session.allocator.inodes().free(h, ino, false);
                throw e;
            }
        }
        return openFile(path);
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
        return Ext4File.maxBytes(superblock());
    }

    /** Opens an existing regular file for reading and writing (follows symlinks). */
    public Ext4File openFile(String path) throws IOException {
        PathNames.check(path); // before the namespace lock
        if (session == null) {
            throw new java.nio.file.ReadOnlyFileSystemException();
        }
        session.namespaceLock.lock(); // no unlink between the lookup and the entry in openFiles
        try {
            long ino = lookupFollow(path);
            InodeRecord rec = volume.readInode(ino);
            if (!rec.isRegular()) {
                throw new WrongTypeException(path + ": " + (rec.isDirectory() ? "is a directory" : "not a regular file"));
            }
            Inode.checkContentReadable(rec); // the kernel refuses to open a verity file for writing (EPERM)
            Ext4File open = session.openFiles.get(ino);
            if (open != null) {
                return open;
            }
            Ext4File f = new Ext4File(session, rec);
            session.openFiles.put(ino, f);
            return f;
        } finally {
            session.namespaceLock.unlock();
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
        session.namespaceLock.lock(); // the parent directory's i_rwsem, and no open between the check and the removal
        try {
            if (name.length <= 2 && (name[0] == '.' && (name.length == 1 || name[1] == '.'))) {
                resolve(java.util.Arrays.copyOf(full, end), true); // NotFoundException, or it is a directory
                throw new WrongTypeException(path + ": is a directory");
            }
            long parent = resolveFrom(ROOT_INO, parentPath, true, new int[] {MAX_SYMLINKS}, path);
            Inode dir = inode(parent);
            if (!dir.record().isDirectory()) {
                throw new WrongTypeException(path + ": not a directory");
            }
            DirEntry e = new Directory(volume, dir).lookup(name);
            if (e == null) {
                throw new NotFoundException(path + ": no such file or directory");
            }
            InodeRecord child = child(parent, e).record();
            if (child.isDirectory()) {
                throw new WrongTypeException(path + ": is a directory");
            }
            if (end < full.length) {
                throw new WrongTypeException(path + ": not a directory");
            }
            session.change("ext4_unlink", () -> {
                new Unlinker(session, java.time.Clock.systemUTC()).unlink(parent, name, child);
                return null;
            });
        } finally {
            session.namespaceLock.unlock();
        }
    }

    /** Opens a file system on an already opened device; the file system closes it. */
    public static Ext4FileSystem open(BlockDevice device, OpenOptions options) throws IOException {
        Superblock sb = Volume.readSuperblock(device);
        List<String> warnings = new ArrayList<>();
        checkFeatures(sb, warnings);
        warnings.forEach(options.warnings());
        Volume volume = Volume.open(device, sb);
        MountChecks.check(volume);
        Ext4FileSystem fs = new Ext4FileSystem(device, volume, warnings);
        fs.inode(ROOT_INO); // its map, as ext4_iget checks it
        return fs;
    }

    /**
     * Refuses incompatible features the read path does not understand, by name, and notes the
     * states a reader should know about.
     */
    private static void checkFeatures(Superblock sb, List<String> warnings) throws UnsupportedFeatureException {
        long unknown = sb.featureIncompat & ~Features.INCOMPAT_READ_SUPPORTED;
        if (unknown != 0) {
            List<String> names = Features.incompatNames(unknown);
            throw new UnsupportedFeatureException(String.join(",", names),
                    "ext4j cannot read file systems with this incompatible feature");
        }
        if (sb.hasIncompat(Features.INCOMPAT_RECOVER)) {
            warnings.add("the journal needs recovery: changes recorded only in the journal are not visible"
                    + " (journal replay is not implemented yet)");
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
        Superblock sb = superblock();
        if (e.inode() < sb.firstIno && e.inode() != ROOT_INO || e.inode() > sb.inodesCount) {
            // __ext4_iget of a name: "illegal inode #", a reserved inode (the journal, the resize
            // inode...) is never reached through a directory
            throw CorruptionException.of(Kind.BAD_INODE_NUMBER).inode(e.inode())
                    .build("directory inode " + dirIno + " names \"" + new String(e.name(), StandardCharsets.UTF_8)
                            + "\", but inode " + e.inode() + " is reserved (below s_first_ino " + sb.firstIno
                            + ") or past " + sb.inodesCount);
        }
        Inode inode = inode(e.inode());
        InodeRecord r = inode.record();
        if (r.mode == 0 || r.linksCount == 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(e.inode())
                    .build("directory inode " + dirIno + " names \"" + new String(e.name(), StandardCharsets.UTF_8)
                            + "\", but inode " + e.inode() + " is not in use (mode 0" + Integer.toOctalString(r.mode)
                            + ", " + r.linksCount + " links)");
        }
        if (r.hasFlag(InodeRecord.FL_EA_INODE)) {
            // __ext4_iget: "unexpected EA_INODE flag": an xattr value's inode never has a name
            throw CorruptionException.of(Kind.BAD_INODE).inode(e.inode())
                    .build("directory inode " + dirIno + " names \"" + new String(e.name(), StandardCharsets.UTF_8)
                            + "\", but inode " + e.inode() + " holds an xattr value (unexpected EA_INODE flag)");
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
            Inode dirInode = inode(cur);
            if (!dirInode.record().isDirectory()) {
                throw new WrongTypeException(shown + ": not a directory");
            }
            DirEntry e = new Directory(volume, dirInode).lookup(name);
            if (e == null) {
                throw new NotFoundException(shown + ": no such file or directory");
            }
            long next = e.inode();
            Inode target = child(cur, e);
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
        // links unlinked from a file that is still open are dropped on disk when it closes
        int links = session == null ? r.linksCount : r.linksCount - session.deferredUnlinks.getOrDefault(ino, 0);
        return new FileStat(ino, r.mode, Math.max(0, links), r.uid, r.gid, r.size, blocks,
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
        return new Directory(volume, inode(ino)).list();
    }

    /** Streams the entries of a directory without holding them all in memory. */
    public void forEachEntry(long ino, DirEntry.Visitor visitor) throws IOException {
        new Directory(volume, inode(ino)).forEach(visitor);
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
