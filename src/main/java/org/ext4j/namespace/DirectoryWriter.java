package org.ext4j.namespace;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.extents.BlockMap;
import org.ext4j.extents.BlockMap.Mapping;
import org.ext4j.extents.ExtentTreeWriter;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.DxHash;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Adding and removing directory entries on disk: the write side of {@code fs/ext4/namei.c}.
 *
 * <p><b>Linear directories</b> ({@code ext4_add_entry}, {@code add_dirent_to_buf},
 * {@code ext4_find_dest_de}, {@code ext4_insert_dentry}): the first record, in logical block order,
 * whose slack (its rec_len minus what its own name needs, all of it for an unused record) holds the
 * new record takes it: a live record is cut to its minimal length and the new one takes the rest.
 * The scan reads every block anyway, to refuse a name that exists. When no block has room, a
 * block is appended ({@code ext4_append}: allocated near the directory's last block, mapped by the
 * extent tree, i_size and i_blocks grown) holding one unused record up to the checksum tail. As
 * in the kernel, a directory of exactly one full block on a file system with dir_index is turned
 * into an htree instead ({@code make_indexed_dir}): block 0 becomes the dx root, its entries move
 * to a new block 1, which is split at once.
 *
 * <p><b>Indexed directories</b> ({@code ext4_dx_add_entry}, {@code dx_probe}, {@code do_split}):
 * the name's hash (the root's hash version, made unsigned by the superblock flag, seeded with
 * s_hash_seed) selects the leaf. A full leaf is split: its live records are sorted by hash, the
 * upper ones (at most half the block, else half the records) move to an appended block, both
 * blocks are packed, and (hash of the first moved record, plus 1 when the hash run continues
 * across the cut, the collision bit) is inserted into the parent index node after the old leaf's
 * entry; the new record goes to whichever half covers its hash. Before a leaf is split its index
 * node must have room: otherwise the topmost full node whose parent has room is split in two
 * (upper half of its entries to an appended node, its first hash into the parent), or, when every
 * level up to the root is full, a level is added (the root's entries move to a new node below it,
 * {@code indirect_levels} grows), and the probe starts again. With every level full at the
 * maximum depth (2 index levels, 3 with large_dir) the add fails with {@link NoSpaceException},
 * the kernel's "Directory index full"; the directory is unchanged then.
 *
 * <p><b>Removal</b> ({@code ext4_delete_entry}, {@code ext4_generic_delete_entry}): the record is
 * merged into its predecessor in the block (the predecessor's rec_len grows and the record is
 * wiped), or, being the first of its block, gets inode 0 and its name wiped. Blocks are never
 * freed and htree leaves never merged, as in the kernel.
 *
 * <p><b>Checksums</b>: every leaf changed gets its {@code ext4_dir_entry_tail} checksum set (crc32c
 * of the block up to the tail, seeded with the directory inode's seed); every index block its
 * {@code dx_tail}.
 *
 * <p><b>Reading</b>: every block an operation reads is checked as {@link Directory} checks it when
 * listing, before anything is changed: i_size a positive multiple of the block size, block 0 no
 * hole and starting with "." and "..", no other "." or ".." and no record naming the directory
 * itself, every leaf's checksum tail present and matching (a leaf without one, as turning
 * metadata_csum on without {@code e2fsck -D} leaves, fails the kernel's read too), every index
 * block on the probe's way checked as {@code dx_probe} checks it ({@link DxNode#readRoot},
 * {@link DxNode#readNode}), and every block the index points at neither an index block above it
 * nor past i_size nor a hole. A block is appended only where none is mapped
 * ({@code ext4_append}: "logical block already allocated").
 *
 * <p><b>The directory inode</b>: each operation reads it, and writes it back (i_size, i_blocks,
 * i_block, the index flag, mtime and ctime from the injected clock, checksum) inside the caller's
 * handle, as {@code add_dirent_to_buf} and {@code __ext4_unlink} do. Callers that also change the
 * directory inode (the link count for mkdir) read it again afterwards. Links of the child inode
 * are the caller's business.
 *
 * <p><b>Inline directories</b> (inline_data) are changed in their inode by {@link InlineDirectory};
 * one whose inode is full is converted to one block, to which the name is then added here.
 *
 * <p><b>Refused</b>: encrypted and casefolded directories. A block-mapped (non-extent) directory
 * grows through its block map, as ext3's does ({@link org.ext4j.extents.IndirectMapWriter}: the
 * block and the indirect blocks its pointer needs). A malformed htree index makes the
 * add fail with {@link CorruptionException} of kind BAD_HTREE (the kernel refuses it with
 * metadata_csum, and without it drops the index and adds linearly); a removal then still finds the
 * name by a linear scan.
 *
 * <p><b>Concurrency</b>: one operation at a time per directory: the caller holds the directory's
 * lock (the kernel's {@code i_rwsem}, exclusive). Buffers are changed under their own lock, with
 * write access taken before and the buffer marked dirty after, so different directories may be
 * changed concurrently.
 */
public final class DirectoryWriter {
    /** Buffers {@link #removeEntry} and {@link #replaceEntry} dirty: the leaf and the inode. */
    public static final int REMOVE_CREDITS = 2;
    /** Buffers {@link #setParent} dirties: block 0. */
    public static final int SET_PARENT_CREDITS = 1;
    /** Buffers {@link #initDirectoryBlock} dirties. */
    public static final int INIT_BLOCK_CREDITS = 1;

    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator allocator;
    private final Clock clock;
    private final int bs;
    private final boolean csum;
    private final int csumSize;
    private final boolean fileType;
    private final boolean dirIndex;
    private final int maxLevels;
    /** Debug: entries at which an index node counts as full (the kernel's limit is used when smaller). */
    private final int dxCapacity;
    /** Inline directories (inline_data), changed in the inode. */
    private final InlineDirectory inline;

    /** A writer for directories of {@code volume}, allocating blocks from {@code allocator}, timestamps from {@code clock}. */
    public DirectoryWriter(Volume volume, BlockAllocator allocator, Clock clock) {
        this(volume, allocator, clock, Integer.MAX_VALUE);
    }

    /**
     * As the public constructor, with index nodes counted as full at {@code dxCapacity} entries
     * (tests: forces index splits, new levels and "index full" with few names; the on-disk limit
     * stays the real one, which is what e2fsck checks).
     */
    DirectoryWriter(Volume volume, BlockAllocator allocator, Clock clock, int dxCapacity) {
        if (dxCapacity < 2) {
            throw new IllegalArgumentException("an index node must hold at least 2 entries, not " + dxCapacity);
        }
        this.volume = volume;
        this.sb = volume.superblock();
        this.allocator = allocator;
        this.clock = clock;
        this.bs = volume.blockSize();
        this.csum = sb.hasMetadataCsum();
        this.csumSize = csum ? DirEntry.TAIL_SIZE : 0;
        this.fileType = sb.hasIncompat(Features.INCOMPAT_FILETYPE);
        this.dirIndex = sb.hasCompat(Features.COMPAT_DIR_INDEX);
        this.maxLevels = sb.hasIncompat(Features.INCOMPAT_LARGEDIR) ? DxNode.MAX_LEVELS_LARGEDIR : 2;
        this.dxCapacity = dxCapacity;
        this.inline = new InlineDirectory(volume, allocator, clock);
    }

    // ------------------------------------------------------------------ credits

    /**
     * Credits one {@link #addEntry} into {@code dirIno} may need: every block it may append (one
     * for a linear directory, two for the conversion to an htree, one per index level plus the leaf
     * for an htree), each with its allocation and an extent insert that may deepen the tree, plus
     * the index nodes, leaves and inode it changes.
     */
    public int addCredits(long dirIno) throws IOException {
        InodeRecord rec = volume.readInode(dirIno);
        int appends;
        if (rec.hasFlag(InodeRecord.FL_INDEX)) {
            appends = maxLevels + 1;
        } else {
            appends = dirIndex && rec.size <= bs ? 2 : 1;
        }
        if (!rec.hasFlag(InodeRecord.FL_EXTENTS)) {
            // each append: the block and the indirect blocks of its path (IndirectMapWriter.ALLOC_CREDITS)
            return appends * (org.ext4j.extents.IndirectMapWriter.ALLOC_CREDITS + 2) + (maxLevels + 1) + 2 + 1;
        }
        int depth = ExtentNodeWriter.depth(rec.iBlock(), 0);
        // as ExtentTreeWriter.insertCredits: base 2, the path, (depth + 2) new blocks with their groups,
        // a folded leaf freed; each append may deepen the tree by one level
        int perLevel = 1 + (1 + BlockAllocator.ALLOC_CREDITS);
        int insert = 2 + depth + (depth + 2) * (1 + BlockAllocator.ALLOC_CREDITS)
                + BlockAllocator.FREE_CREDITS_PER_GROUP + appends * perLevel;
        int perAppend = 1 + BlockAllocator.ALLOC_CREDITS + insert;
        // an inline directory may first be converted to one block (InlineDirectory)
        int convert = InlineDirectory.isInline(rec) ? InlineDirectory.CONVERT_CREDITS : 0;
        return appends * perAppend + (maxLevels + 1) + 2 + 1 + convert;
    }

    // ------------------------------------------------------------------ public operations

    /**
     * Adds {@code name} for inode {@code childIno} of directory-entry type {@code type}
     * ({@link DirEntry#FT_REG_FILE}...; stored only with the filetype feature) to directory
     * {@code dirIno}. Credits: {@link #addCredits}. A directory that grew keeps its new blocks even when the add fails
     * later (the directory is consistent either way).
     *
     * @throws EntryExistsException when the name is there already
     * @throws NoSpaceException when no block can be allocated, or the htree is full
     * @throws IllegalArgumentException for a name that is empty, longer than 255 bytes, holds '/' or
     *         NUL, or is "." or ".."; an inode number or type out of range, or the directory itself
     *         (a record naming its own directory is corruption to every reader)
     */
    public void addEntry(Handle h, long dirIno, byte[] name, long childIno, int type) throws IOException {
        checkName(name);
        checkInode(childIno);
        checkType(type);
        if (inlineDir(dirIno)) {
            checkNotSelf(dirIno, childIno);
            if (inline.add(h, dirIno, name, childIno, type)) {
                return;
            } // converted to one block: added below as to any linear directory
        }
        Dir d = open(dirIno);
        checkNotSelf(dirIno, childIno);
        boolean ok = false;
        try {
            if (d.indexed()) {
                addIndexed(h, d, name, childIno, type);
            } else {
                addLinear(h, d, name, childIno, type);
            }
            ok = true;
        } finally {
            if (ok || d.changed) {
                d.writeInode(h, ok);
            }
        }
    }

    /**
     * Removes {@code name} from directory {@code dirIno} and returns the entry it held.
     * Credits: {@link #REMOVE_CREDITS}.
     *
     * @throws NotFoundException when there is no such name
     */
    public DirEntry removeEntry(Handle h, long dirIno, byte[] name) throws IOException {
        checkName(name);
        volume.names().forget(dirIno, name);
        if (inlineDir(dirIno)) {
            return inline.remove(h, dirIno, name);
        }
        Dir d = open(dirIno);
        Location loc = find(d, name);
        if (loc == null) {
            throw new NotFoundException("no entry " + printable(name) + " in directory " + dirIno);
        }
        deleteAt(h, d, loc);
        d.writeInode(h, true);
        return loc.entry;
    }

    /**
     * Points the existing entry {@code name} at {@code newIno} of type {@code type} in place,
     * as rename over an existing target does ({@code ext4_setent}), and returns the entry as it
     * was. Credits: {@link #REMOVE_CREDITS}.
     *
     * @throws NotFoundException when there is no such name
     * @throws IllegalArgumentException when {@code newIno} is the directory itself
     */
    public DirEntry replaceEntry(Handle h, long dirIno, byte[] name, long newIno, int type) throws IOException {
        checkName(name);
        checkInode(newIno);
        checkType(type);
        volume.names().forget(dirIno, name);
        if (inlineDir(dirIno)) {
            checkNotSelf(dirIno, newIno);
            return inline.replace(h, dirIno, name, newIno, type);
        }
        Dir d = open(dirIno);
        Location loc = find(d, name);
        if (loc == null) {
            throw new NotFoundException("no entry " + printable(name) + " in directory " + dirIno);
        }
        checkNotSelf(dirIno, newIno);
        h.getWriteAccess(loc.buf);
        loc.buf.lock().lock();
        try {
            byte[] b = loc.buf.data();
            Le.put32(b, loc.offset, newIno);
            b[loc.offset + 7] = (byte) (fileType ? type : 0);
            setLeafChecksum(b, d);
        } finally {
            loc.buf.lock().unlock();
        }
        h.markDirty(loc.buf);
        d.writeInode(h, true);
        return loc.entry;
    }

    /**
     * Points ".." of directory {@code dirIno} at {@code parentIno} (a directory moved by rename,
     * {@code ext4_rename_dir_finish}) and returns the old parent. The directory inode is not
     * written. Credits: {@link #SET_PARENT_CREDITS}.
     */
    public long setParent(Handle h, long dirIno, long parentIno) throws IOException {
        checkInode(parentIno);
        if (inlineDir(dirIno)) {
            return inline.setParent(h, dirIno, parentIno); // the inline directory's inode is written
        }
        Dir d = open(dirIno);
        MetaBuffer buf = d.dirBlock(0);
        checkBlockZero(d, buf);
        int off = dotDotOffset(d, buf);
        long old;
        h.getWriteAccess(buf);
        buf.lock().lock();
        try {
            byte[] b = buf.data();
            old = Le.u32(b, off);
            Le.put32(b, off, parentIno);
            if (d.indexed()) {
                if (csum) {
                    DxNodeWriter.setTail(b, DxNode.ROOT_ENTRIES_OFFSET, d.seed);
                }
            } else {
                setLeafChecksum(b, d);
            }
        } finally {
            buf.lock().unlock();
        }
        h.markDirty(buf);
        return old;
    }

    /**
     * Makes the new directory {@code dirIno} (no blocks yet) an inline one holding ".." only, when
     * the file system has inline_data and the inode has room ({@code ext4_try_create_inline_dir});
     * false, changing nothing, otherwise: the caller gives it a block. Credits: 1.
     */
    public boolean createInline(Handle h, long dirIno, long parentIno) throws IOException {
        checkInode(parentIno);
        return inline.create(h, dirIno, parentIno);
    }

    /** Whether directory {@code dirIno} holds nothing but "." and ".." ({@code ext4_empty_dir}). */
    public boolean isEmpty(long dirIno) throws IOException {
        Directory dir = new Directory(volume, Inode.load(volume, dirIno));
        boolean[] empty = {true};
        dir.forEach(e -> {
            if (!e.isDot() && !e.isDotDot()) {
                empty[0] = false;
                return false;
            }
            return true;
        });
        return empty[0];
    }

    /**
     * Writes the first block of a new directory {@code dirIno} into physical block {@code pblk}
     * (allocated and mapped by the caller, i_size one block): "." and ".." pointing at
     * {@code parentIno}, with the checksum tail seeded with {@code dirSeed}
     * ({@link InodeRecord#checksumSeed(Superblock, long, long)} of the new inode). Credits:
     * {@link #INIT_BLOCK_CREDITS}.
     */
    public void initDirectoryBlock(Handle h, long pblk, long dirIno, int dirSeed, long parentIno) throws IOException {
        volume.checkRange(pblk, 1, dirIno);
        MetaBuffer buf = volume.bufferCache().getZeroed(pblk);
        h.getWriteAccess(buf);
        buf.lock().lock();
        try {
            DirEntryWriter.initDotBlock(buf.data(), bs, dirIno, parentIno, fileType, csum, dirSeed);
        } finally {
            buf.lock().unlock();
        }
        h.markDirty(buf);
    }

    // ------------------------------------------------------------------ names

    private static void checkName(byte[] name) {
        if (name.length < 1 || name.length > DirEntryWriter.MAX_NAME_LEN) {
            throw new IllegalArgumentException("a name is 1.." + DirEntryWriter.MAX_NAME_LEN + " bytes, not "
                    + name.length);
        }
        for (byte c : name) {
            if (c == '/' || c == 0) {
                throw new IllegalArgumentException("a name may not hold '/' or NUL: " + printable(name));
            }
        }
        if (Arrays.equals(name, DOT) || Arrays.equals(name, DOTDOT)) {
            throw new IllegalArgumentException("\".\" and \"..\" are not added or removed by name");
        }
    }

    private static String printable(byte[] name) {
        StringBuilder s = new StringBuilder("\"");
        for (byte c : name) {
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                s.append((char) c);
            } else {
                s.append(String.format("\\x%02x", c & 0xFF));
            }
        }
        return s.append('"').toString();
    }

    private void checkInode(long ino) {
        if (ino < 1 || ino > sb.inodesCount) {
            throw new IllegalArgumentException("inode " + ino + " is not in 1.." + sb.inodesCount);
        }
    }

    private static void checkNotSelf(long dirIno, long childIno) {
        if (dirIno == childIno) {
            throw new IllegalArgumentException("directory " + dirIno + " cannot hold an entry naming itself");
        }
    }

    private static void checkType(int type) {
        if (type < DirEntry.FT_UNKNOWN || type > DirEntry.FT_SYMLINK) {
            throw new IllegalArgumentException("directory entry type " + type + " is not in 0..7");
        }
    }

    // ------------------------------------------------------------------ the directory being changed

    /** What one operation knows of its directory: the inode bytes, its block map, and what changed. */
    private final class Dir {
        final long ino;
        final byte[] raw;
        final int seed;
        final byte[] iBlock;
        final ExtentTreeWriter tree;
        /** The block map's writer of a block-mapped (non-extent) directory; null with extents. */
        final org.ext4j.extents.IndirectMapWriter blockMap;
        final BlockMap map;
        long size;
        long blocks512;
        long flags;
        /** i_size, i_blocks, i_block or flags changed: the inode must be written even on failure. */
        boolean changed;

        Dir(InodeRecord rec) throws IOException {
            this.ino = rec.number;
            this.raw = rec.raw();
            this.seed = rec.checksumSeed(sb);
            this.iBlock = rec.iBlock();
            this.size = rec.size;
            this.blocks512 = rec.blocks512(sb);
            this.flags = rec.flags;
            long goal = sb.groupFirstBlock((ino - 1) / sb.inodesPerGroup);
            if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
                this.tree = new ExtentTreeWriter(volume, allocator, ino, iBlock, seed, goal);
                this.blockMap = null;
                this.map = tree;
            } else {
                // ext4_ind_map_blocks over the live i_block, which an append changes
                this.tree = null;
                this.blockMap = new org.ext4j.extents.IndirectMapWriter(volume, allocator, ino, iBlock, goal);
                this.map = blockMap::map;
            }
        }

        boolean indexed() {
            return (flags & InodeRecord.FL_INDEX) != 0;
        }

        /** Blocks the directory spans ({@code i_size >> blocksize_bits}). */
        long blocks() {
            return size / bs;
        }

        /**
         * The buffer of directory block {@code lblk}, which must exist: inside i_size, mapped and
         * written (block 0, and every block an htree points at; the kernel's read fails otherwise).
         */
        MetaBuffer dirBlock(long lblk) throws IOException {
            if (lblk >= blocks()) {
                throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino)
                        .build("directory block " + lblk + " is past i_size (" + blocks() + " blocks)");
            }
            Mapping m = map.map(lblk, 1);
            if (m.state() != BlockMap.State.WRITTEN) {
                throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino).build("directory block " + lblk + " is "
                        + (m.state() == BlockMap.State.HOLE ? "a hole" : "unwritten"));
            }
            return volume.buffer(m.physical(), ino);
        }

        /**
         * {@code ext4_append}: a zeroed buffer for a new block at logical {@code i_size / bs},
         * allocated near the directory's last block and mapped; i_size and i_blocks grow.
         */
        Appended append(Handle h) throws IOException {
            long lblk = blocks();
            if (map.map(lblk, 1).state() != BlockMap.State.HOLE) {
                throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino).build("directory block " + lblk
                        + ", at i_size, is already mapped: i_size is short of the directory's blocks");
            }
            // without large_dir a directory's i_size is 32 bits; an htree addresses 28-bit blocks
            long limit = sb.hasIncompat(Features.INCOMPAT_LARGEDIR) ? 0x0FFFFFFFL : Math.min(0x0FFFFFFFL, 0xFFFFFFFFL / bs);
            if (lblk + 1 > limit) {
                throw new NoSpaceException("directory " + ino + " has reached its largest size");
            }
            if (tree == null) {
                // a block-mapped directory: the block and the indirect blocks its pointer needs
                org.ext4j.extents.IndirectMapWriter.Allocation a = blockMap.allocate(h, lblk, 1);
                blocks512 += (1 + a.mapBlocks()) * (bs / 512);
                size += bs;
                changed = true;
                return new Appended(lblk, volume.bufferCache().getZeroed(a.pblk()));
            }
            long goal = tree.findGoal(lblk);
            BlockAllocator.Run run = allocator.allocate(h, goal, 1, 1);
            ExtentTreeWriter.Change c;
            try {
                c = tree.insert(h, lblk, 1, run.start(), false);
            } catch (IOException | RuntimeException e) {
                ExtentTreeWriter.Change partial = tree.takeChange();
                blocks512 += partial.blocksDelta() * (bs / 512);
                changed = true;
                allocator.free(h, run.start(), 1);
                throw e;
            }
            blocks512 += (1 + c.blocksDelta()) * (bs / 512);
            size += bs;
            changed = true;
            return new Appended(lblk, volume.bufferCache().getZeroed(run.start()));
        }

        /** Writes the inode back: size, blocks, i_block, flags, and (when {@code touch}) mtime and ctime. */
        void writeInode(Handle h, boolean touch) throws IOException {
            InodeWriter w = new InodeWriter(sb, ino, raw).iBlock(iBlock).size(size).flags(flags).blocks512(blocks512);
            if (touch) {
                Instant now = clock.instant();
                w.mtime(now.getEpochSecond(), now.getNano()).ctime(now.getEpochSecond(), now.getNano());
            }
            w.setChecksum();
            volume.writeInode(h, ino, raw);
        }
    }

    private record Appended(long lblk, MetaBuffer buf) {
    }

    /**
     * Whether {@code dirIno} is an inline directory, for {@link InlineDirectory}; refuses what
     * {@link #open} refuses of any directory first.
     */
    private boolean inlineDir(long dirIno) throws IOException {
        InodeRecord rec = volume.readInode(dirIno);
        if (!rec.isDirectory()) {
            throw new WrongTypeException("inode " + dirIno + " is not a directory");
        }
        if (rec.hasFlag(InodeRecord.FL_ENCRYPT)) {
            throw new UnsupportedFeatureException("encrypt", "changing encrypted directories is not implemented");
        }
        if (rec.hasFlag(InodeRecord.FL_CASEFOLD)) {
            throw new UnsupportedFeatureException("casefold", "changing casefolded directories is not implemented");
        }
        return InlineDirectory.isInline(rec);
    }

    private Dir open(long dirIno) throws IOException {
        InodeRecord rec = volume.readInode(dirIno);
        if (!rec.isDirectory()) {
            throw new WrongTypeException("inode " + dirIno + " is not a directory");
        }
        if (rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            throw new IllegalStateException("inline directory " + dirIno + " reached the block directory writer");
        }
        if (rec.hasFlag(InodeRecord.FL_ENCRYPT)) {
            throw new UnsupportedFeatureException("encrypt", "changing encrypted directories is not implemented");
        }
        if (rec.hasFlag(InodeRecord.FL_CASEFOLD)) {
            throw new UnsupportedFeatureException("casefold", "changing casefolded directories is not implemented");
        }
        Directory.blocks(sb, rec); // i_size, and the index flag with metadata_csum
        if (rec.hasFlag(InodeRecord.FL_INDEX) && !dirIndex) {
            // the kernel reads such a directory as a linear one; adding to it linearly would leave
            // a stale index for e2fsck to find, so it is refused
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(dirIno)
                    .build("indexed directory on a file system without dir_index");
        }
        return new Dir(rec);
    }

    // ------------------------------------------------------------------ leaves

    /** Where an entry is: its block's buffer, the record's offset, and the record as decoded. */
    private record Location(long lblk, MetaBuffer buf, int offset, DirEntry entry) {
    }

    /** The end of the records in a leaf: before the tail when there is one. */
    private int leafEnd(byte[] b) {
        return csum && DirEntry.hasTail(b, bs) ? bs - DirEntry.TAIL_SIZE : bs;
    }

    /** Sets the leaf's tail checksum when the file system has them and the block has a tail. */
    private void setLeafChecksum(byte[] b, Dir d) {
        if (csum && DirEntry.hasTail(b, bs)) {
            DirEntryWriter.setTailChecksum(b, bs, d.seed);
        }
    }

    /**
     * The records of directory block {@code lblk} (a leaf, or a linear directory's block) at
     * {@code pblk}, checked as {@link Directory} checks them: with metadata_csum the tail must be
     * there and match; "." and ".." first in block 0 and nowhere else; no record naming the
     * directory itself.
     */
    private List<DirEntry> records(byte[] b, Dir d, long lblk, long pblk) throws CorruptionException {
        int end = bs;
        if (csum) {
            if (!DirEntry.hasTail(b, bs)) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(d.ino).block(pblk).offset(bs - DirEntry.TAIL_SIZE)
                        .build("directory block " + lblk + " has no checksum tail");
            }
            DirEntry.verifyTail(b, bs, d.seed, d.ino, pblk);
            end = bs - DirEntry.TAIL_SIZE;
        }
        List<DirEntry> out = new ArrayList<>();
        DirEntry.walk(b, 0, end, bs, fileType, sb.inodesCount, d.ino, pblk, e -> {
            Directory.checkRecord(d.ino, lblk, pblk, out.size(), e);
            out.add(e);
            return true;
        });
        Directory.checkBlockEnd(d.ino, lblk, pblk, out.size());
        return out;
    }

    /**
     * Block 0 before "..", which it holds, is changed: a linear directory's as any leaf; an
     * indexed one's dx root with its checksum (a malformed index does not matter to "..", and the
     * kernel's read of block 0 for rename does not look at it).
     */
    private void checkBlockZero(Dir d, MetaBuffer buf) throws CorruptionException {
        byte[] b = buf.snapshot();
        if (!d.indexed()) {
            records(b, d, 0, buf.block());
            return;
        }
        if (csum) {
            try {
                DxNode.readRoot(b, bs, true, d.seed, maxLevels, d.ino, buf.block());
            } catch (CorruptionException e) {
                if (e.kind() != Kind.BAD_HTREE) {
                    throw e;
                }
            }
        }
        int[] n = {0};
        DirEntry.walk(b, 0, bs, bs, fileType, sb.inodesCount, d.ino, buf.block(), e -> {
            Directory.checkRecord(d.ino, 0, buf.block(), n[0]++, e);
            return n[0] < 2;
        });
        Directory.checkBlockEnd(d.ino, 0, buf.block(), n[0]);
    }

    /** {@code ext4_find_dest_de}: the offset of the first record with room for {@code need} bytes, or -1. */
    private static int findSlot(List<DirEntry> records, int need) {
        for (DirEntry e : records) {
            int used = e.inode() != 0 ? DirEntry.recLenFor(e.name().length) : 0;
            if (e.recLen() - used >= need) {
                return e.offset();
            }
        }
        return -1;
    }

    /** {@code ext4_insert_dentry} at the record at {@code off}, then the tail checksum. */
    private void insertAt(Handle h, Dir d, MetaBuffer buf, int off, byte[] name, long child, int type)
            throws IOException {
        h.getWriteAccess(buf);
        buf.lock().lock();
        try {
            byte[] b = buf.data();
            DirEntryWriter.insert(b, off, child, name, type, fileType, bs);
            setLeafChecksum(b, d);
        } finally {
            buf.lock().unlock();
        }
        h.markDirty(buf);
    }

    /** {@code ext4_generic_delete_entry}: merge into the predecessor, or empty the block's first record. */
    private void deleteAt(Handle h, Dir d, Location loc) throws IOException {
        h.getWriteAccess(loc.buf);
        loc.buf.lock().lock();
        try {
            byte[] b = loc.buf.data();
            int prev = -1;
            int off = 0;
            int end = leafEnd(b);
            while (off < loc.offset) {
                int r = DirEntry.recLenFromDisk(Le.u16(b, off + 4), bs);
                if (r < DirEntry.recLenFor(1) || off + r > end) {
                    throw CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(d.ino).block(loc.buf.block()).offset(off)
                            .build("directory block changed under a removal");
                }
                prev = off;
                off += r;
            }
            if (off != loc.offset) {
                throw CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(d.ino).block(loc.buf.block()).offset(off)
                        .build("no record starts at " + loc.offset);
            }
            int len = DirEntry.recLenFromDisk(Le.u16(b, off + 4), bs);
            if (prev >= 0) {
                int plen = DirEntry.recLenFromDisk(Le.u16(b, prev + 4), bs);
                DirEntryWriter.setRecLen(b, prev, plen + len, bs);
                Arrays.fill(b, off, off + len, (byte) 0);
            } else {
                Le.put32(b, off, 0);
                Arrays.fill(b, off + 6, off + len, (byte) 0);
            }
            setLeafChecksum(b, d);
        } finally {
            loc.buf.lock().unlock();
        }
        h.markDirty(loc.buf);
    }

    // ------------------------------------------------------------------ linear directories

    private void addLinear(Handle h, Dir d, byte[] name, long child, int type) throws IOException {
        int need = DirEntry.recLenFor(name.length);
        long blocks = d.blocks();
        Location slot = null;
        for (long lblk = 0; lblk < blocks;) {
            Mapping m = d.map.map(lblk, blocks - lblk);
            if (m.state() != BlockMap.State.WRITTEN) {
                if (lblk == 0) {
                    d.dirBlock(0); // throws: block 0 holds "." and ".."
                }
                lblk += m.length(); // holes and unwritten blocks hold no entries
                continue;
            }
            for (long i = 0; i < m.length(); i++) {
                long pblk = m.physical() + i;
                MetaBuffer buf = volume.buffer(pblk, d.ino);
                byte[] b = buf.snapshot();
                List<DirEntry> recs = records(b, d, lblk + i, pblk);
                for (DirEntry e : recs) {
                    if (e.inode() != 0 && e.nameEquals(name)) {
                        throw new EntryExistsException(printable(name) + " exists in directory " + d.ino);
                    }
                }
                if (slot == null) {
                    int off = findSlot(recs, need);
                    if (off >= 0) {
                        slot = new Location(lblk + i, buf, off, null);
                    }
                }
            }
            lblk += m.length();
        }
        if (slot != null) {
            insertAt(h, d, slot.buf, slot.offset, name, child, type);
            return;
        }
        if (blocks == 1 && dirIndex && d.tree != null && makeIndexed(h, d, name, child, type)) {
            return;
        }
        Appended a = d.append(h);
        h.getWriteAccess(a.buf);
        a.buf.lock().lock();
        try {
            DirEntryWriter.initEmptyLeaf(a.buf.data(), bs, csum, d.seed);
            DirEntryWriter.put(a.buf.data(), 0, child, bs - csumSize, name, type, fileType, bs);
            if (csum) {
                DirEntryWriter.setTailChecksum(a.buf.data(), bs, d.seed);
            }
        } finally {
            a.buf.lock().unlock();
        }
        h.markDirty(a.buf);
    }

    // ------------------------------------------------------------------ htree

    /** One level of a probe: the index block, where its entries start, and the entry followed. */
    private static final class Frame {
        final long lblk;
        final MetaBuffer buf;
        final int entriesOffset;
        int at;

        Frame(long lblk, MetaBuffer buf, int entriesOffset, int at) {
            this.lblk = lblk;
            this.buf = buf;
            this.entriesOffset = entriesOffset;
            this.at = at;
        }

        int count() {
            return DxNodeWriter.count(buf.snapshot(), entriesOffset);
        }
    }

    /** A {@code dx_probe} result: the hash version used, the name's hash, and the path from the root. */
    private record Probe(int version, long hash, List<Frame> frames) {
        Frame leafParent() {
            return frames.get(frames.size() - 1);
        }
    }

    /** The hash version of a root, made unsigned as the superblock says ({@code dx_probe}). */
    private int hashVersion(int rootVersion, long ino) throws CorruptionException {
        int version = rootVersion;
        if (version <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
            version += 3;
        }
        if (version > DxHash.TEA_UNSIGNED) {
            throw CorruptionException.of(Kind.BAD_HTREE).inode(ino).build("unsupported dx hash version " + rootVersion);
        }
        return version;
    }

    private long hashOf(byte[] name, int off, int len, int version) {
        return DxHash.hash(name, off, len, version, sb.hashSeed).major() & 0xFFFFFFFFL;
    }

    /**
     * {@code dx_probe}: checks each index block on the way down as {@link DxNode#readRoot} and
     * {@link DxNode#readNode} do, and each pointer followed ({@link #checkChild}).
     */
    private Probe probe(Dir d, byte[] name) throws IOException {
        MetaBuffer buf = d.dirBlock(0);
        long rootVersion = buf.version();
        byte[] root = buf.snapshot();
        BlockCheck rootKey = BlockCheck.root(d.ino, buf.block(), maxLevels);
        long rootBlock = buf.block();
        DxNode node = rootKey.node(buf, rootVersion, root, b -> DxNode.readRoot(b, bs, csum, d.seed, maxLevels, d.ino, rootBlock));
        DxNode.RootInfo info = DxNode.rootInfo(root);
        int version = hashVersion(info.hashVersion(), d.ino);
        long hash = hashOf(name, 0, name.length, version);
        List<Frame> frames = new ArrayList<>();
        long lblk = 0;
        int entriesOffset = DxNode.ROOT_ENTRIES_OFFSET;
        for (int level = 0;; level++) {
            int at = node.find(hash);
            frames.add(new Frame(lblk, buf, entriesOffset, at));
            checkChild(d, frames, node.block(at));
            if (level == info.indirectLevels()) {
                return new Probe(version, hash, frames);
            }
            lblk = node.block(at);
            buf = d.dirBlock(lblk);
            long nodeLblk = lblk;
            long nodeBlock = buf.block();
            node = BlockCheck.node(d.ino, lblk, nodeBlock).node(buf,
                    b -> DxNode.readNode(b, bs, csum, d.seed, d.ino, nodeLblk, nodeBlock));
            entriesOffset = DxNode.NODE_ENTRIES_OFFSET;
        }
    }

    /**
     * A block an index entry below {@code path} points at: none of the index blocks of the path (the
     * kernel's "tree cycle"), and inside i_size.
     */
    private void checkChild(Dir d, List<Frame> path, long child) throws CorruptionException {
        for (Frame f : path) {
            if (f.lblk == child) {
                throw CorruptionException.of(Kind.BAD_HTREE).inode(d.ino).build("htree cycle: directory block "
                        + path.get(path.size() - 1).lblk + " points back at directory block " + child);
            }
        }
        if (child >= d.blocks()) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(d.ino).build("the htree points at directory block "
                    + child + ", past i_size (" + d.blocks() + " blocks)");
        }
    }

    /** The leaf the probe's deepest frame points at. */
    private Location leafOf(Dir d, Probe p) throws IOException {
        Frame f = p.leafParent();
        long lblk = DxNodeWriter.block(f.buf.snapshot(), f.entriesOffset, f.at);
        checkChild(d, p.frames, lblk);
        return new Location(lblk, d.dirBlock(lblk), 0, null);
    }

    /**
     * {@code ext4_htree_next_block}: moves the frames to the next leaf when its index hash continues
     * {@code hash} (equal but for the collision bit), crossing index nodes, each checked; false
     * otherwise.
     */
    private boolean nextLeaf(Dir d, Probe p) throws IOException {
        List<Frame> frames = p.frames;
        int k = frames.size() - 1;
        while (frames.get(k).at + 1 >= frames.get(k).count()) {
            if (k == 0) {
                return false;
            }
            k--;
        }
        Frame f = frames.get(k);
        f.at++;
        long bhash = DxNodeWriter.hash(f.buf.snapshot(), f.entriesOffset, f.at);
        if ((bhash & ~1L) != p.hash) {
            return false;
        }
        for (int j = k + 1; j < frames.size(); j++) {
            Frame up = frames.get(j - 1);
            long lblk = DxNodeWriter.block(up.buf.snapshot(), up.entriesOffset, up.at);
            checkChild(d, frames.subList(0, j), lblk);
            MetaBuffer buf = d.dirBlock(lblk);
            DxNode.readNode(buf.snapshot(), bs, csum, d.seed, d.ino, lblk, buf.block());
            frames.set(j, new Frame(lblk, buf, DxNode.NODE_ENTRIES_OFFSET, 0));
        }
        return true;
    }

    /** Searches one leaf for a live record of {@code name}. */
    private Location searchLeaf(Dir d, long lblk, MetaBuffer buf, byte[] name) throws IOException {
        byte[] b = checkedLeaf(d, lblk, buf);
        DirEntry e = DirEntry.find(b, 0, leafEnd(b), bs, fileType, name);
        return e == null ? null : new Location(lblk, buf, e.offset(), e);
    }

    /**
     * The bytes of leaf {@code lblk}, its records checked as {@link #records} checks them: once per
     * change of the block ({@link MetaBuffer#verified}), since the directory's lock, which the
     * caller holds, keeps other writers out; then scanned in place.
     */
    private byte[] checkedLeaf(Dir d, long lblk, MetaBuffer buf) throws CorruptionException {
        BlockCheck key = BlockCheck.leaf(d.ino, lblk, buf.block());
        long version = buf.version();
        byte[] b = buf.snapshot();
        if (buf.verified(key) == null) {
            records(b, d, lblk, buf.block());
            buf.setVerified(key, version, Boolean.TRUE);
        }
        return b;
    }

    /** {@code ext4_dx_find_entry}: the probed leaf, then continuation leaves. */
    private Location dxFind(Dir d, byte[] name) throws IOException {
        Probe p = probe(d, name);
        do {
            Location leaf = leafOf(d, p);
            Location hit = searchLeaf(d, leaf.lblk, leaf.buf, name);
            if (hit != null) {
                return hit;
            }
        } while (nextLeaf(d, p));
        return null;
    }

    /**
     * {@code ext4_find_entry}: by the index when there is one (a malformed index falls back to a
     * linear scan of the leaves, as {@code ERR_BAD_DX_DIR}), else every block in order.
     */
    private Location find(Dir d, byte[] name) throws IOException {
        if (d.indexed()) {
            try {
                return dxFind(d, name);
            } catch (CorruptionException e) {
                if (e.kind() != Kind.BAD_HTREE) {
                    throw e;
                }
            }
        }
        long blocks = d.blocks();
        for (long lblk = 0; lblk < blocks;) {
            Mapping m = d.map.map(lblk, blocks - lblk);
            if (m.state() != BlockMap.State.WRITTEN) {
                if (lblk == 0) {
                    d.dirBlock(0); // throws: block 0 holds "." and ".."
                }
                lblk += m.length();
                continue;
            }
            for (long i = 0; i < m.length(); i++) {
                long l = lblk + i;
                MetaBuffer buf = volume.buffer(m.physical() + i, d.ino);
                if (d.indexed() && (l == 0 || isDxNode(buf.snapshot()))) {
                    continue; // the root and interior index blocks hold no names
                }
                Location hit = searchLeaf(d, l, buf, name);
                if (hit != null) {
                    return hit;
                }
            }
            lblk += m.length();
        }
        return null;
    }

    private boolean isDxNode(byte[] b) {
        return Le.u32(b, 0) == 0 && DirEntry.recLenFromDisk(Le.u16(b, 4), bs) == bs;
    }

    /** Offset of ".." in block 0: the second record, which follows a 12-byte ".". */
    private int dotDotOffset(Dir d, MetaBuffer buf) throws CorruptionException {
        byte[] b = buf.snapshot();
        int dotLen = DirEntry.recLenFromDisk(Le.u16(b, 4), bs);
        int off = dotLen;
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(d.ino).block(buf.block());
        if (Le.u8(b, 6) != 1 || b[8] != '.' || dotLen < DirEntry.recLenFor(1) || off + DirEntry.recLenFor(2) > bs) {
            throw err.offset(0).build("block 0 does not start with \".\"");
        }
        if (Le.u8(b, off + 6) != 2 || b[off + 8] != '.' || b[off + 9] != '.') {
            throw err.offset(off).build("\"..\" does not follow \".\"");
        }
        return off;
    }

    /** An index node is full at its limit, or at the debug capacity. */
    private boolean full(Frame f) {
        byte[] b = f.buf.snapshot();
        return DxNodeWriter.count(b, f.entriesOffset) >= Math.min(DxNodeWriter.limit(b, f.entriesOffset), dxCapacity);
    }

    private void addIndexed(Handle h, Dir d, byte[] name, long child, int type) throws IOException {
        if (dxFind(d, name) != null) {
            throw new EntryExistsException(printable(name) + " exists in directory " + d.ino);
        }
        int need = DirEntry.recLenFor(name.length);
        // each round either adds the entry or changes one index level: bounded by the levels
        for (int round = 0; round <= 2 * maxLevels + 2; round++) {
            Probe p = probe(d, name);
            Frame parent = p.leafParent();
            Location leaf = leafOf(d, p);
            byte[] lb = checkedLeaf(d, leaf.lblk, leaf.buf);
            int off = DirEntry.findRoom(lb, 0, leafEnd(lb), bs, fileType, need);
            if (off >= 0) {
                insertAt(h, d, leaf.buf, off, name, child, type);
                // a checked leaf with one well-formed record more is still checked (buffer_verified
                // stays set across the kernel's own changes): the next lookup need not walk it again
                leaf.buf.setVerified(BlockCheck.leaf(d.ino, leaf.lblk, leaf.buf.block()), leaf.buf.version(), Boolean.TRUE);
                return;
            }
            if (full(parent)) {
                List<Frame> frames = p.frames;
                int k = frames.size() - 1;
                while (k > 0 && full(frames.get(k - 1))) {
                    k--;
                }
                if (k == 0) {
                    if (frames.size() >= maxLevels) {
                        throw new NoSpaceException("directory " + d.ino + " index full at " + frames.size()
                                + " levels" + (maxLevels < DxNode.MAX_LEVELS_LARGEDIR ? " (large_dir is off)" : ""));
                    }
                    addLevel(h, d, frames.get(0));
                } else {
                    splitNode(h, d, frames.get(k - 1), frames.get(k));
                }
                continue;
            }
            Location target = split(h, d, leaf, parent, p.version, p.hash);
            off = findSlot(records(target.buf.snapshot(), d, target.lblk, target.buf.block()), need);
            if (off < 0) {
                throw new IllegalStateException("a split leaf has no room for " + need + " bytes");
            }
            insertAt(h, d, target.buf, off, name, child, type);
            return;
        }
        throw new IllegalStateException("htree insert of " + printable(name) + " did not settle");
    }

    /** Puts {@code edit}'s result into an index block and sets its dx_tail. */
    private interface Edit {
        void apply(byte[] b);
    }

    private void editIndex(Handle h, Dir d, MetaBuffer buf, int entriesOffset, Edit edit) throws IOException {
        h.getWriteAccess(buf);
        buf.lock().lock();
        try {
            edit.apply(buf.data());
            if (csum) {
                DxNodeWriter.setTail(buf.data(), entriesOffset, d.seed);
            }
        } finally {
            buf.lock().unlock();
        }
        h.markDirty(buf);
    }

    /** The root's entries move to a new node below it; the root keeps one entry pointing there. */
    private void addLevel(Handle h, Dir d, Frame root) throws IOException {
        Appended a = d.append(h);
        byte[] r = root.buf.snapshot();
        int count = DxNodeWriter.count(r, root.entriesOffset);
        int levels = DxNode.rootInfo(r).indirectLevels();
        editIndex(h, d, a.buf, DxNode.NODE_ENTRIES_OFFSET, b -> {
            DxNodeWriter.initNode(b, bs, csum);
            System.arraycopy(r, root.entriesOffset, b, DxNode.NODE_ENTRIES_OFFSET, count * DxNode.ENTRY_SIZE);
            DxNodeWriter.setLimit(b, DxNode.NODE_ENTRIES_OFFSET, DxNodeWriter.nodeLimit(bs, csum));
            DxNodeWriter.setCount(b, DxNode.NODE_ENTRIES_OFFSET, count);
        });
        editIndex(h, d, root.buf, root.entriesOffset, b -> {
            DxNodeWriter.setCount(b, root.entriesOffset, 1);
            DxNodeWriter.setBlock(b, root.entriesOffset, 0, a.lblk);
            DxNodeWriter.setIndirectLevels(b, levels + 1);
        });
    }

    /** The upper half of a full node's entries move to a new node, whose first hash goes to the parent. */
    private void splitNode(Handle h, Dir d, Frame parent, Frame node) throws IOException {
        Appended a = d.append(h);
        byte[] n = node.buf.snapshot();
        int count = DxNodeWriter.count(n, node.entriesOffset);
        int keep = count / 2;
        int moved = count - keep;
        long hash2 = DxNodeWriter.hash(n, node.entriesOffset, keep);
        editIndex(h, d, a.buf, DxNode.NODE_ENTRIES_OFFSET, b -> {
            DxNodeWriter.initNode(b, bs, csum);
            System.arraycopy(n, node.entriesOffset + keep * DxNode.ENTRY_SIZE, b, DxNode.NODE_ENTRIES_OFFSET,
                    moved * DxNode.ENTRY_SIZE);
            DxNodeWriter.setLimit(b, DxNode.NODE_ENTRIES_OFFSET, DxNodeWriter.nodeLimit(bs, csum));
            DxNodeWriter.setCount(b, DxNode.NODE_ENTRIES_OFFSET, moved);
        });
        editIndex(h, d, node.buf, node.entriesOffset, b -> DxNodeWriter.setCount(b, node.entriesOffset, keep));
        editIndex(h, d, parent.buf, parent.entriesOffset,
                b -> DxNodeWriter.insert(b, parent.entriesOffset, parent.at, hash2, a.lblk));
    }

    /** A live record of a leaf being split ({@code struct dx_map_entry}). */
    private record MapEntry(long hash, int offset, int size, int nameLen) {
    }

    /**
     * {@code do_split}: moves the upper records by hash of a full leaf to an appended block, packs
     * both, inserts the new block into the parent after the leaf's entry, and returns the block
     * whose hash range holds {@code hash}.
     */
    private Location split(Handle h, Dir d, Location leaf, Frame parent, int version, long hash) throws IOException {
        byte[] old = leaf.buf.snapshot();
        List<MapEntry> map = new ArrayList<>();
        for (DirEntry e : records(old, d, leaf.lblk, leaf.buf.block())) {
            if (e.inode() != 0 && e.name().length != 0) {
                map.add(new MapEntry(hashOf(e.name(), 0, e.name().length, version), e.offset(), e.recLen(),
                        e.name().length));
            }
        }
        int count = map.size();
        if (count < 2) {
            throw CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(d.ino).block(leaf.buf.block())
                    .build("a full htree leaf holds " + count + " live record(s)");
        }
        map.sort((x, y) -> x.hash != y.hash ? Long.compare(x.hash, y.hash) : Integer.compare(x.offset, y.offset));
        // ensure that neither block is more than half full, as the kernel does
        int size = 0;
        int move = 0;
        int i;
        for (i = count - 1; i >= 0; i--) {
            if (size + map.get(i).size / 2 > bs / 2) {
                break;
            }
            size += map.get(i).size;
            move++;
        }
        int splitAt = i > 0 ? count - move : count / 2;
        long hash2 = map.get(splitAt).hash;
        int continued = hash2 == map.get(splitAt - 1).hash ? 1 : 0;

        List<MapEntry> stay = new ArrayList<>(map.subList(0, splitAt));
        stay.sort((x, y) -> Integer.compare(x.offset, y.offset));
        List<MapEntry> go = map.subList(splitAt, count);
        byte[] kept = pack(old, stay, d);
        byte[] moved = pack(old, go, d);

        Appended a = d.append(h);
        h.getWriteAccess(leaf.buf);
        leaf.buf.lock().lock();
        try {
            System.arraycopy(kept, 0, leaf.buf.data(), 0, bs);
        } finally {
            leaf.buf.lock().unlock();
        }
        h.markDirty(leaf.buf);
        h.getWriteAccess(a.buf);
        a.buf.lock().lock();
        try {
            System.arraycopy(moved, 0, a.buf.data(), 0, bs);
        } finally {
            a.buf.lock().unlock();
        }
        h.markDirty(a.buf);
        editIndex(h, d, parent.buf, parent.entriesOffset,
                b -> DxNodeWriter.insert(b, parent.entriesOffset, parent.at, hash2 + continued, a.lblk));
        return hash >= hash2 ? new Location(a.lblk, a.buf, 0, null) : leaf;
    }

    /**
     * {@code dx_move_dirents} / {@code dx_pack_dirents}: the records of {@code which}, in that order,
     * each at its minimal length and the last one spanning to the tail; with csum, the tail.
     */
    private byte[] pack(byte[] from, List<MapEntry> which, Dir d) {
        byte[] b = new byte[bs];
        int end = bs - csumSize;
        int pos = 0;
        for (int k = 0; k < which.size(); k++) {
            MapEntry e = which.get(k);
            int len = DirEntry.recLenFor(e.nameLen);
            System.arraycopy(from, e.offset, b, pos, DirEntry.HEADER_SIZE + e.nameLen);
            DirEntryWriter.setRecLen(b, pos, k == which.size() - 1 ? end - pos : len, bs);
            pos += len;
        }
        if (csum) {
            DirEntryWriter.initTail(b, bs);
            DirEntryWriter.setTailChecksum(b, bs, d.seed);
        }
        return b;
    }

    /**
     * {@code make_indexed_dir}: the one full block becomes the dx root; the records after ".." move to
     * a new block 1, which is split at once; the new record goes where its hash says. False (nothing
     * changed) when block 0 does not start with a 12-byte "." and "..", or holds no records after them.
     */
    private boolean makeIndexed(Handle h, Dir d, byte[] name, long child, int type) throws IOException {
        MetaBuffer rootBuf = d.dirBlock(0);
        byte[] b0 = rootBuf.snapshot();
        List<DirEntry> recs = records(b0, d, 0, rootBuf.block()); // "." and ".." first, the tail checked
        if (recs.size() < 3 || recs.get(0).recLen() != DirEntry.recLenFor(1)) {
            return false;
        }
        int start = recs.get(1).offset() + recs.get(1).recLen();
        int end = bs - csumSize;
        if (start >= end) {
            return false;
        }
        int version = hashVersion(sb.defHashVersion, d.ino);
        Appended a = d.append(h);
        byte[] leaf = new byte[bs];
        System.arraycopy(b0, start, leaf, 0, end - start);
        DirEntry last = recs.get(recs.size() - 1);
        DirEntryWriter.setRecLen(leaf, last.offset() - start, end - (last.offset() - start), bs);
        if (csum) {
            DirEntryWriter.initTail(leaf, bs);
            DirEntryWriter.setTailChecksum(leaf, bs, d.seed);
        }
        h.getWriteAccess(a.buf);
        a.buf.lock().lock();
        try {
            System.arraycopy(leaf, 0, a.buf.data(), 0, bs);
        } finally {
            a.buf.lock().unlock();
        }
        h.markDirty(a.buf);
        editIndex(h, d, rootBuf, DxNode.ROOT_ENTRIES_OFFSET, b -> {
            // ".." keeps its first 12 bytes; the rest of the block becomes the root
            DxNodeWriter.initRoot(b, bs, csum, sb.defHashVersion, a.lblk);
        });
        d.flags |= InodeRecord.FL_INDEX;
        d.changed = true;
        long hash = hashOf(name, 0, name.length, version);
        Frame root = new Frame(0, rootBuf, DxNode.ROOT_ENTRIES_OFFSET, 0);
        Location target = split(h, d, new Location(a.lblk, a.buf, 0, null), root, version, hash);
        int off = findSlot(records(target.buf.snapshot(), d, target.lblk, target.buf.block()),
                DirEntry.recLenFor(name.length));
        if (off < 0) {
            throw new IllegalStateException("a split leaf has no room for " + printable(name));
        }
        insertAt(h, d, target.buf, off, name, child, type);
        return true;
    }
}
