package org.ext4j.fs;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.function.Consumer;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.InvalidRequestException;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.format.DirEntry;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.namespace.Directory;
import org.ext4j.namespace.DirectoryNotEmptyException;
import org.ext4j.namespace.DirectoryWriter;
import org.ext4j.namespace.EntryExistsException;
import org.ext4j.namespace.TooManyLinksException;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * The namespace operations of {@code fs/ext4/namei.c} above the directory-entry writer: new inodes
 * of every type ({@code ext4_create}, {@code ext4_mkdir}, {@code ext4_symlink}, {@code ext4_mknod}
 * over {@code __ext4_new_inode}), {@code ext4_link}, {@code ext4_rmdir}, {@code ext4_rename} with
 * renameat2's NOREPLACE and EXCHANGE, and attribute changes ({@code ext4_setattr} of mode, owner
 * and times). Link counts and times change as the kernel changes them (checked against a kernel
 * mount doing the same): a new directory has two links and gives its parent one
 * ({@code ext4_inc_count}: an htree parent past 65,000 links counts 1 with dir_nlink); every changed
 * directory takes mtime and ctime of the operation's instant; a renamed inode takes ctime.
 *
 * <p><b>Validate, then change.</b> Each operation reads and checks everything it needs (names
 * present or absent, types, emptiness, link limits, a directory not moved into itself, what the
 * eviction of a replaced inode will free) before its handle changes anything. Running out of space
 * half-way (a directory block for the new name) undoes what the operation allocated, so the file
 * system is as it was, as {@code ext4_mkdir} drops its new inode.
 *
 * <p>Every change of an existing inode goes through {@link WriteSession#updateInode}, because an
 * open file's in-memory inode owns its bytes. The caller holds the inode locks the operation needs ({@link InodeLocks}: the parent's, then the child's)
 * and runs each operation inside {@link WriteSession#change}.
 */
final class Namei {
    /** {@code EXT4_LINK_MAX}: links an inode may have; a directory past it only as an htree with dir_nlink. */
    static final int LINK_MAX = 65000;
    /** The longest symlink target ({@code PATH_MAX} less its NUL); a block-size bound applies too. */
    static final int SYMLINK_MAX = 4095;
    /** {@code EXT4_FL_INHERITED}: flags a new inode takes from its directory. */
    private static final long FL_INHERITED = 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x200 | 0x400 | 0x4000 | 0x8000
            | 0x10000 | 0x20000000L;
    /** {@code EXT4_REG_FLMASK}: no DIRSYNC, TOPDIR, PROJINHERIT or CASEFOLD on a regular file. */
    private static final long FL_REG_MASK = ~(0x10000L | 0x20000L | 0x20000000L | 0x40000000L);
    /** {@code EXT4_OTHER_FLMASK}: NODUMP and NOATIME only, for symlinks and special files. */
    private static final long FL_OTHER_MASK = 0x40 | 0x80;
    private static final int S_ISUID = 04000;
    private static final int S_ISGID = 02000;
    private static final int S_IXGRP = 00010;
    private static final byte[] DOTDOT = {'.', '.'};
    /** The owner of new inodes, and the caller's credentials ({@code current_fsuid()}). */
    record Owner(long uid, long gid) {
    }

    private final WriteSession session;
    private final Volume volume;
    private final Superblock sb;
    private final Instant now;
    private final DirectoryWriter dirs;
    private final boolean dirNlink;

    Namei(WriteSession session, Clock clock) {
        this.session = session;
        this.volume = session.volume;
        this.sb = volume.superblock();
        this.now = clock.instant();
        // one instant for the whole operation: the directories' times and the inodes' are the same
        this.dirs = new DirectoryWriter(volume, session.allocator.blocks(), Clock.fixed(now, ZoneOffset.UTC));
        this.dirNlink = sb.hasRoCompat(Features.RO_COMPAT_DIR_NLINK);
    }

    // ------------------------------------------------------------------ new inodes

    /**
     * {@code ext4_create}: a regular file with an empty extent root (or an empty block map without
     * the extents feature). Returns its inode number.
     */
    long create(long parent, byte[] name, int perm, Owner owner) throws IOException {
        InodeRecord dir = checkAdd(parent, name);
        int credits = InodeAllocator.ALLOC_CREDITS + 1 + dirs.addCredits(parent);
        try (Handle h = session.journal.start(credits)) {
            long ino = newInode(h, dir, InodeRecord.S_IFREG | (perm & 07777), owner, 1, w -> { });
            addName(h, parent, name, ino, DirEntry.FT_REG_FILE, false);
            InlineFile.created(session, ino); // inline_data: its first write may keep it in the inode
            return ino;
        }
    }

    /** {@code ext4_mknod}: a character or block device, a fifo or a socket. */
    long mknod(long parent, byte[] name, int mode, int major, int minor, Owner owner) throws IOException {
        int type = mode & InodeRecord.S_IFMT;
        int ft = switch (type) {
            case InodeRecord.S_IFCHR -> DirEntry.FT_CHRDEV;
            case InodeRecord.S_IFBLK -> DirEntry.FT_BLKDEV;
            case InodeRecord.S_IFIFO -> DirEntry.FT_FIFO;
            case InodeRecord.S_IFSOCK -> DirEntry.FT_SOCK;
            default -> throw new org.ext4j.error.InvalidArgumentException(
                    "mknod makes devices, fifos and sockets, not mode 0" + Integer.toOctalString(mode) + " (EINVAL)");
        };
        if (major < 0 || minor < 0 || major > 0xFFF || minor > 0xFFFFF) {
            throw new org.ext4j.error.InvalidArgumentException("device " + major + ":" + minor
                    + " is out of range (major 0..4095, minor 0..1048575) (EINVAL)");
        }
        InodeRecord dir = checkAdd(parent, name);
        byte[] iBlock = InodeWriter.deviceBlock(type == InodeRecord.S_IFCHR || type == InodeRecord.S_IFBLK ? major : 0,
                type == InodeRecord.S_IFCHR || type == InodeRecord.S_IFBLK ? minor : 0);
        int credits = InodeAllocator.ALLOC_CREDITS + 1 + dirs.addCredits(parent);
        try (Handle h = session.journal.start(credits)) {
            long ino = newInode(h, dir, type | (mode & 07777), owner, 1, w -> w.iBlock(iBlock));
            addName(h, parent, name, ino, ft, false);
            return ino;
        }
    }


    /**
     * {@code ext4_mkdir}: a directory of one block holding "." and "..", two links, the parent's
     * link count up by one ({@code ext4_inc_count}).
     */
    long mkdir(long parent, byte[] name, int perm, Owner owner) throws IOException {
        InodeRecord dir = checkAdd(parent, name);
        checkDirLinkRoom(dir);
        int credits = InodeAllocator.ALLOC_CREDITS + 1 + BlockAllocator.ALLOC_CREDITS + DirectoryWriter.INIT_BLOCK_CREDITS
                + dirs.addCredits(parent) + 1;
        try (Handle h = session.journal.start(credits)) {
            long[] pblk = new long[1];
            // vfs_mkdir keeps the permission and sticky bits only; set-group-ID comes from the parent
            long ino = newInode(h, dir, InodeRecord.S_IFDIR | (perm & 01777), owner, 2, w -> { });
            if (dirs.createInline(h, ino, parent)) { // inline_data: ext4_try_create_inline_dir
                addName(h, parent, name, ino, DirEntry.FT_DIR, true);
                incDirLinks(h, parent);
                return ino;
            }
            try {
                pblk[0] = session.allocator.blocks().allocate(h, goal(ino), 1, 1).start();
            } catch (NoSpaceException e) {
                dropNewInode(h, ino, true);
                throw e;
            }
            byte[] raw = volume.readInode(ino).raw();
            int seed = InodeRecord.checksumSeed(sb, ino, Le.u32(raw, 0x64));
            dirs.initDirectoryBlock(h, pblk[0], ino, seed, parent);
            InodeWriter w = new InodeWriter(sb, ino, raw).iBlock(mapOneBlock(pblk[0]))
                    .size(sb.blockSize).blocks512(sb.blockSize / 512);
            w.setChecksum();
            volume.writeInode(h, ino, raw);
            addName(h, parent, name, ino, DirEntry.FT_DIR, true, pblk[0]);
            incDirLinks(h, parent);
            return ino;
        }
    }

    /**
     * {@code ext4_symlink}: a target under 60 bytes is kept in i_block (a fast symlink, no extents
     * flag); a longer one in a block of its own, with its NUL. Up to {@link #SYMLINK_MAX} bytes, and
     * less than a block.
     */
    long symlink(long parent, byte[] name, byte[] target, Owner owner) throws IOException {
        checkSymlinkTarget(target);
        InodeRecord dir = checkAdd(parent, name);
        boolean fast = target.length < InodeRecord.I_BLOCK_SIZE;
        int credits = InodeAllocator.ALLOC_CREDITS + 1 + BlockAllocator.ALLOC_CREDITS + 1 + dirs.addCredits(parent);
        try (Handle h = session.journal.start(credits)) {
            if (fast) {
                byte[] iBlock = java.util.Arrays.copyOf(target, InodeRecord.I_BLOCK_SIZE);
                long ino = newInode(h, dir, InodeRecord.S_IFLNK | 0777, owner, 1,
                        w -> w.iBlock(iBlock).size(target.length).flags(Le.u32(w.raw(), 0x20) & ~InodeRecord.FL_EXTENTS));
                addName(h, parent, name, ino, DirEntry.FT_SYMLINK, false);
                return ino;
            }
            long ino = newInode(h, dir, InodeRecord.S_IFLNK | 0777, owner, 1, w -> { });
            long pblk;
            try {
                pblk = session.allocator.blocks().allocate(h, goal(ino), 1, 1).start();
            } catch (NoSpaceException e) {
                dropNewInode(h, ino, false);
                throw e;
            }
            volume.checkRange(pblk, 1, ino);
            // the target is the symlink's data, read as file data is (from the device, Inode.readAll):
            // written there first, as data is, before the inode that points at it
            byte[] block = java.util.Arrays.copyOf(target, sb.blockSize);
            try {
                volume.device().write(pblk * sb.blockSize, java.nio.ByteBuffer.wrap(block));
            } catch (IOException e) {
                throw new org.ext4j.error.Ext4IoException("writing the target of symlink inode " + ino, e);
            }
            byte[] raw = volume.readInode(ino).raw();
            new InodeWriter(sb, ino, raw).iBlock(mapOneBlock(pblk)).size(target.length).blocks512(sb.blockSize / 512)
                    .setChecksum();
            volume.writeInode(h, ino, raw);
            addName(h, parent, name, ino, DirEntry.FT_SYMLINK, false, pblk);
            return ino;
        }
    }

    /** A symlink target's rules ({@code ext4_symlink}, {@code getname}): 1..4095 bytes, under a block, no NUL. */
    void checkSymlinkTarget(byte[] target) throws IOException {
        if (target.length == 0) {
            throw new NotFoundException("an empty symlink target names nothing (ENOENT)");
        }
        for (byte b : target) {
            if (b == 0) {
                throw new org.ext4j.error.InvalidArgumentException("a symlink target may not hold a NUL byte (EINVAL)");
            }
        }
        if (target.length > SYMLINK_MAX || target.length + 1 > sb.blockSize) {
            throw org.ext4j.error.NameTooLongException.symlinkTarget(target.length, Math.min(SYMLINK_MAX, sb.blockSize - 1));
        }
    }

    /** i_block mapping logical block 0 to {@code pblk}: an extent root of one extent, or i_block[0]. */
    private byte[] mapOneBlock(long pblk) {
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        if (extents()) {
            ExtentNodeWriter.initRoot(iBlock);
            ExtentNodeWriter.putExtent(iBlock, 0, 0, 0, 1, pblk, false);
            ExtentNodeWriter.setEntries(iBlock, 0, 1);
        } else {
            Le.put32(iBlock, 0, pblk);
        }
        return iBlock;
    }

    private boolean extents() {
        return sb.hasIncompat(Features.INCOMPAT_EXTENTS);
    }

    /** Where a new inode's first block goes: the first block of its group ({@code ext4_inode_to_goal_block}). */
    private long goal(long ino) {
        return sb.groupFirstBlock((ino - 1) / sb.inodesPerGroup);
    }

    /**
     * {@code __ext4_new_inode}: an inode near its parent, with the caller's owner (the group of a
     * set-group-ID directory, which a new directory inherits, {@code inode_init_owner}), the
     * directory's inheritable flags, the extents flag and an empty root for the types that map
     * blocks, all four times now, a random generation and the file system's extra size.
     */
    private long newInode(Handle h, InodeRecord dir, int mode, Owner owner, int links, Consumer<InodeWriter> more)
            throws IOException {
        int type = mode & InodeRecord.S_IFMT;
        long gid = owner.gid();
        if ((dir.mode & S_ISGID) != 0) {
            gid = dir.gid;
            if (type == InodeRecord.S_IFDIR) {
                mode |= S_ISGID;
            }
        }
        long flags = dir.flags & FL_INHERITED;
        flags &= type == InodeRecord.S_IFDIR ? ~0L : type == InodeRecord.S_IFREG ? FL_REG_MASK : FL_OTHER_MASK;
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        if (extents() && (type == InodeRecord.S_IFREG || type == InodeRecord.S_IFDIR || type == InodeRecord.S_IFLNK)) {
            flags |= InodeRecord.FL_EXTENTS;
            ExtentNodeWriter.initRoot(iBlock);
        }
        long ino = session.allocator.inodes().allocate(h, dir.number, type == InodeRecord.S_IFDIR);
        byte[] raw = new byte[sb.inodeSize];
        long s = now.getEpochSecond();
        int ns = now.getNano();
        InodeWriter w = new InodeWriter(sb, ino, raw).extraIsize(sb.newInodeExtraIsize()).mode(mode)
                .uid(owner.uid()).gid(gid).size(0).linksCount(links).flags(flags)
                .generation(session.newGeneration()).iBlock(iBlock).blocks512(0);
        w.atime(s, ns).mtime(s, ns).ctime(s, ns).crtime(s, ns);
        more.accept(w);
        w.setChecksum();
        volume.writeInode(h, ino, raw);
        return ino;
    }

    /** Gives a new inode back when its operation cannot finish (no space): no links, dtime, free in the bitmap. */
    private void dropNewInode(Handle h, long ino, boolean directory) throws IOException {
        byte[] raw = volume.readInode(ino).raw();
        new InodeWriter(sb, ino, raw).linksCount(0).dtime(now.getEpochSecond() & 0xFFFFFFFFL).setChecksum();
        volume.writeInode(h, ino, raw);
        session.allocator.inodes().free(h, ino, directory);
    }

    /**
     * Adds the name of a new inode; when the directory cannot grow (no space, or its index is full)
     * the new inode and the block it owns ({@code ownBlock}, if any) go back, leaving the file system
     * as it was, and the failure propagates.
     */
    private void addName(Handle h, long parent, byte[] name, long ino, int ft, boolean directory, long... ownBlock) throws IOException {
        try {
            dirs.addEntry(h, parent, name, ino, ft);
        } catch (NoSpaceException e) {
            for (long b : ownBlock) {
                session.allocator.blocks().free(h, b, 1);
                volume.bufferCache().forget(b); // its "." and ".." or target must never reach a reused block
            }
            if (ownBlock.length > 0) {
                byte[] raw = volume.readInode(ino).raw();
                new InodeWriter(sb, ino, raw).blocks512(0).setChecksum();
                volume.writeInode(h, ino, raw);
            }
            dropNewInode(h, ino, directory);
            throw e;
        }
    }

    // ------------------------------------------------------------------ links

    /** {@code ext4_link}: a new name for an existing inode that is not a directory. */
    void link(long ino, long parent, byte[] name) throws IOException {
        checkAdd(parent, name); // the new name first (EEXIST), as do_linkat's filename_create before vfs_link
        InodeRecord rec = session.currentInode(ino);
        if (rec.isDirectory()) {
            throw new InvalidRequestException("hard links to directories are not allowed (EPERM)");
        }
        if (rec.linksCount >= LINK_MAX) {
            throw new TooManyLinksException("inode " + ino + " has " + rec.linksCount + " links, the most there may be (EMLINK)");
        }
        if (rec.linksCount == 0) {
            throw new NotFoundException("inode " + ino + " has no name left to link to (ENOENT)");
        }
        try (Handle h = session.journal.start(dirs.addCredits(parent) + 1)) {
            dirs.addEntry(h, parent, name, ino, DirEntry.fileType(rec.mode));
            session.updateInode(h, ino, w -> w.linksCount(Le.u16(w.raw(), 0x1A) + 1).ctime(now.getEpochSecond(), now.getNano()));
        }
    }

    // ------------------------------------------------------------------ rmdir

    /**
     * {@code ext4_rmdir}: removes an empty directory's name; the directory loses its links and is
     * evicted (its blocks and inode freed), the parent loses the link of its "..".
     */
    void rmdir(long parent, byte[] name, Unlinker unlinker) throws IOException {
        DirEntry e = new Directory(volume, Inode.load(volume, parent)).lookup(name);
        if (e == null) {
            throw new NotFoundException("no such file or directory (ENOENT)");
        }
        InodeRecord child = session.currentInode(e.inode());
        if (!child.isDirectory()) {
            throw new WrongTypeException("not a directory (ENOTDIR)");
        }
        if (!dirs.isEmpty(child.number)) {
            throw new DirectoryNotEmptyException("directory not empty (ENOTEMPTY)");
        }
        unlinker.checkEvictable(child);
        try (Handle h = session.journal.start(DirectoryWriter.REMOVE_CREDITS + 2 + Unlinker.DROP_NAME_CREDITS)) {
            dirs.removeEntry(h, parent, name);
            unlinker.dropName(h, child, now);
            decDirLinks(h, parent);
        }
        unlinker.evictNow(child.number);
    }

    // ------------------------------------------------------------------ rename

    /**
     * {@code ext4_rename} and {@code ext4_cross_rename}. The new name is added (or pointed at the
     * moved inode) before the old one is removed, so a failure to grow the new directory changes
     * nothing. A moved directory's ".." follows it and both parents' link counts change; a replaced
     * inode loses its link and, with its last, is evicted (or, open, when it closes).
     */
    void rename(long oldDir, byte[] oldName, long newDir, byte[] newName, RenameMode mode, Unlinker unlinker,
            java.util.Set<Long> oldChain, java.util.Set<Long> newChain) throws IOException {
        DirEntry oldE = new Directory(volume, Inode.load(volume, oldDir)).lookup(oldName);
        if (oldE == null) {
            throw new NotFoundException("no such file or directory (ENOENT)");
        }
        InodeRecord newParent = volume.readInode(newDir);
        if (!newParent.isDirectory()) {
            throw new WrongTypeException("not a directory (ENOTDIR)");
        }
        DirEntry newE = new Directory(volume, Inode.load(volume, newDir)).lookup(newName);
        if (mode == RenameMode.EXCHANGE && newE == null) {
            throw new NotFoundException("no such file or directory to exchange with (ENOENT)");
        }
        if (mode == RenameMode.NOREPLACE && newE != null) {
            throw new EntryExistsException("file exists (EEXIST)");
        }
        InodeRecord oldRec = session.currentInode(oldE.inode());
        if (newE != null && newE.inode() == oldE.inode()) {
            return; // two names of one inode: rename(2) does nothing and succeeds
        }
        InodeRecord newRec = newE == null ? null : session.currentInode(newE.inode());
        boolean oldIsDir = oldRec.isDirectory();
        boolean newIsDir = newRec != null && newRec.isDirectory();
        if (oldDir != newDir) {
            // before the types: the VFS checks the trap of lock_rename first
            // lock_rename's trap: the source may not be an ancestor of the target, nor the target of the source
            if (oldIsDir && newChain.contains(oldRec.number)) {
                throw new InvalidRequestException("cannot move a directory into itself (EINVAL)");
            }
            if (newIsDir && oldChain.contains(newRec.number)) {
                throw mode == RenameMode.EXCHANGE
                        ? new InvalidRequestException("cannot exchange a directory with one inside it (EINVAL)")
                        : new DirectoryNotEmptyException("directory not empty (ENOTEMPTY)");
            }
        }
        if (mode != RenameMode.EXCHANGE && newRec != null) {
            if (oldIsDir && !newIsDir) {
                throw new WrongTypeException("not a directory (ENOTDIR)");
            }
            if (!oldIsDir && newIsDir) {
                throw new WrongTypeException("is a directory (EISDIR)");
            }
        }
        if (mode != RenameMode.EXCHANGE && newIsDir && !dirs.isEmpty(newRec.number)) {
            throw new DirectoryNotEmptyException("directory not empty (ENOTEMPTY)");
        }
        // parents whose link count grows: checked before anything changes
        if (oldDir != newDir) {
            if (mode == RenameMode.EXCHANGE) {
                if (oldIsDir && !newIsDir) {
                    checkDirLinkRoom(newParent);
                } else if (newIsDir && !oldIsDir) {
                    checkDirLinkRoom(volume.readInode(oldDir));
                }
            } else if (oldIsDir && newRec == null) {
                checkDirLinkRoom(newParent);
            }
        }
        if (oldIsDir) {
            checkDotDot(oldRec.number);
        }
        if (mode == RenameMode.EXCHANGE && newIsDir) {
            checkDotDot(newRec.number);
        }
        boolean evictTarget = false;
        if (mode != RenameMode.EXCHANGE && newRec != null) {
            boolean open = session.openFiles.containsKey(newRec.number);
            evictTarget = newIsDir || !open && newRec.linksCount <= 1;
            if (evictTarget) {
                unlinker.checkEvictable(newRec);
            }
        }
        long s = now.getEpochSecond();
        int ns = now.getNano();
        int credits = dirs.addCredits(newDir) + 2 * DirectoryWriter.REMOVE_CREDITS + 2 * DirectoryWriter.SET_PARENT_CREDITS + 6
                + Unlinker.DROP_NAME_CREDITS;
        try (Handle h = session.journal.start(credits)) {
            if (mode == RenameMode.EXCHANGE) {
                dirs.replaceEntry(h, oldDir, oldName, newRec.number, DirEntry.fileType(newRec.mode));
                dirs.replaceEntry(h, newDir, newName, oldRec.number, DirEntry.fileType(oldRec.mode));
                session.updateInode(h, oldRec.number, w -> w.ctime(s, ns));
                session.updateInode(h, newRec.number, w -> w.ctime(s, ns));
                if (oldIsDir) {
                    dirs.setParent(h, oldRec.number, newDir);
                }
                if (newIsDir) {
                    dirs.setParent(h, newRec.number, oldDir);
                }
                if (oldDir != newDir && oldIsDir != newIsDir) {
                    if (oldIsDir) {
                        decDirLinks(h, oldDir);
                        incDirLinks(h, newDir);
                    } else {
                        incDirLinks(h, oldDir);
                        decDirLinks(h, newDir);
                    }
                }
                return;
            }
            if (newRec != null) {
                dirs.replaceEntry(h, newDir, newName, oldRec.number, DirEntry.fileType(oldRec.mode));
            } else {
                dirs.addEntry(h, newDir, newName, oldRec.number, DirEntry.fileType(oldRec.mode));
            }
            dirs.removeEntry(h, oldDir, oldName);
            session.updateInode(h, oldRec.number, w -> w.ctime(s, ns));
            if (newRec != null) {
                unlinker.dropName(h, newRec, now);
            }
            if (oldIsDir) {
                dirs.setParent(h, oldRec.number, newDir);
                decDirLinks(h, oldDir);
                if (newRec == null) {
                    incDirLinks(h, newDir);
                }
            }
        }
        if (evictTarget) {
            unlinker.evictNow(newRec.number);
        }
    }

    /**
     * Directory {@code dir} and each one above it up to the root, following "..": what
     * {@code lock_rename} needs to order the two parents and to refuse moving a directory into
     * itself. Called under the rename lock, which no directory moves without, holding no directory
     * lock: each directory's lock is taken shared while its ".." is read.
     */
    java.util.Set<Long> chainToRoot(long dir) throws IOException {
        java.util.LinkedHashSet<Long> chain = new java.util.LinkedHashSet<>();
        long cur = dir;
        while (chain.add(cur)) {
            if (cur == Ext4FileSystem.ROOT_INO) {
                return chain;
            }
            if (chain.size() > sb.inodesCount) {
                break;
            }
            DirEntry up;
            try (InodeLocks.Held held = session.locks.shared(cur)) {
                up = new Directory(volume, Inode.load(volume, cur)).lookup(DOTDOT);
            }
            if (up == null) {
                throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(cur).build("directory inode " + cur + " has no \"..\"");
            }
            cur = up.inode();
        }
        throw CorruptionException.of(Kind.LOOP).inode(dir).build("the \"..\" chain from directory inode " + dir
                + " never reaches the root");
    }

    /** Reads a directory's ".." as {@link DirectoryWriter#setParent} will change it, before anything changes. */
    private void checkDotDot(long dirIno) throws IOException {
        if (new Directory(volume, Inode.load(volume, dirIno)).lookup(DOTDOT) == null) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(dirIno).build("directory inode " + dirIno + " has no \"..\"");
        }
    }

    // ------------------------------------------------------------------ attributes

    /**
     * {@code ext4_setattr}: permission bits (the type stays), owner and group, access and
     * modification times; ctime becomes now whenever anything is asked. A change of owner or group
     * of anything but a directory, without a new mode, clears set-user-ID, and set-group-ID where
     * group execute is set, as {@code chown(2)} does even for root.
     */
    void setattr(long ino, InodeAttributes a) throws IOException {
        if (a.isEmpty()) {
            return;
        }
        InodeRecord rec = session.currentInode(ino);
        Instant atime = clamp(a.atime(), rec);
        Instant mtime = clamp(a.mtime(), rec);
        int mode = rec.mode;
        if (a.mode() != null) {
            mode = (mode & InodeRecord.S_IFMT) | (a.mode() & 07777);
        }
        if ((a.uid() != null || a.gid() != null) && a.mode() == null && !rec.isDirectory()) {
            // chown's ATTR_KILL_SUID/SGID; a mode given with the owner (cp -a's chown then chmod) is kept
            mode &= ~S_ISUID;
            if ((mode & S_IXGRP) != 0) {
                mode &= ~S_ISGID;
            }
        }
        int newMode = mode;
        long s = now.getEpochSecond();
        int ns = now.getNano();
        try (Handle h = session.journal.start(1)) {
            session.updateInode(h, ino, w -> {
                w.mode(newMode).ctime(s, ns);
                if (a.uid() != null && a.uid() >= 0) {
                    w.uid(a.uid());
                }
                if (a.gid() != null && a.gid() >= 0) {
                    w.gid(a.gid());
                }
                if (atime != null) {
                    w.atime(atime.getEpochSecond(), atime.getNano());
                }
                if (mtime != null) {
                    w.mtime(mtime.getEpochSecond(), mtime.getNano());
                }
            });
        }
    }

    /**
     * A time as the inode can hold it ({@code timestamp_truncate}): {@link InodeAttributes#NOW} is
     * the operation's instant; seconds are clamped to 1901..2446 with the extra epoch bits of a
     * large inode, to 1901..2038 without them (nanoseconds dropped there too).
     */
    private Instant clamp(Instant t, InodeRecord rec) {
        if (t == null) {
            return null;
        }
        if (t == InodeAttributes.NOW) {
            return now;
        }
        boolean extra = rec.extraIsize >= 16; // i_ctime_extra, i_mtime_extra and i_atime_extra all there
        long min = Integer.MIN_VALUE;
        long max = extra ? (1L << 34) + Integer.MIN_VALUE - 1 : Integer.MAX_VALUE;
        if (t.getEpochSecond() < min) {
            return Instant.ofEpochSecond(min);
        }
        if (t.getEpochSecond() > max) {
            return Instant.ofEpochSecond(max, extra ? 999_999_999 : 0);
        }
        return extra ? t : Instant.ofEpochSecond(t.getEpochSecond());
    }

    // ------------------------------------------------------------------ checks and counts

    /**
     * The checks of adding {@code name} to {@code parent}: a directory (ENOTDIR) that still has links
     * (a removed directory takes no names, ENOENT), without the name (EEXIST). Returns the parent.
     */
    private InodeRecord checkAdd(long parent, byte[] name) throws IOException {
        InodeRecord dir = volume.readInode(parent);
        if (!dir.isDirectory()) {
            throw new WrongTypeException("not a directory (ENOTDIR)");
        }
        if (dir.linksCount == 0) {
            throw new NotFoundException("the directory has been removed (ENOENT)");
        }
        if (new Directory(volume, Inode.load(volume, parent)).lookup(name) != null) {
            throw new EntryExistsException("file exists (EEXIST)");
        }
        return dir;
    }

    /** {@code EXT4_DIR_LINK_MAX}: a directory at 65,000 links takes no subdirectory unless it is an htree with dir_nlink. */
    private void checkDirLinkRoom(InodeRecord dir) throws TooManyLinksException {
        if (dir.linksCount >= LINK_MAX && !(dirNlink && isDx(dir))) {
            throw new TooManyLinksException("directory inode " + dir.number + " has " + dir.linksCount
                    + " links, the most there may be" + (dirNlink ? " for a directory without an index" : " without dir_nlink")
                    + " (EMLINK)");
        }
    }

    private boolean isDx(InodeRecord dir) {
        return sb.hasCompat(Features.COMPAT_DIR_INDEX) && dir.hasFlag(InodeRecord.FL_INDEX);
    }

    /** {@code ext4_inc_count} of a directory: one more, and 1 for an htree past the limit (dir_nlink). */
    private void incDirLinks(Handle h, long dirIno) throws IOException {
        InodeRecord dir = volume.readInode(dirIno);
        int n = dir.linksCount + 1;
        if (isDx(dir) && (n > LINK_MAX || n == 2)) {
            n = 1;
        }
        int links = n;
        session.updateInode(h, dirIno, w -> w.linksCount(links));
    }

    /** {@code ext4_dec_count} of a directory: one fewer, unless it counts 2 or fewer (1 means "many"). */
    private void decDirLinks(Handle h, long dirIno) throws IOException {
        InodeRecord dir = volume.readInode(dirIno);
        if (dir.linksCount > 2) {
            int links = dir.linksCount - 1;
            session.updateInode(h, dirIno, w -> w.linksCount(links));
        }
    }
}
