package org.ext4j.inode;

import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.format.XattrEntry;
import org.ext4j.mapping.Reservations;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Setting and removing extended attributes: {@code ext4_xattr_set_handle} with
 * {@code ext4_xattr_ibody_set}, {@code ext4_xattr_block_set} and {@code ext4_xattr_release_block}
 * ({@code fs/ext4/xattr.c}), and {@code ext4_set_acl}'s conversion ({@code fs/ext4/acl.c}).
 *
 * <p>The operations work on the bytes of an inode the caller holds (the file system layer owns
 * open inodes): they change those bytes (the in-body area, i_file_acl, i_blocks, the checksum)
 * and write the external block, its replacement and the old one's reference count through the
 * handle; the caller writes the inode back when {@link #set} or {@link #remove} returns true.
 * Times (ctime) are the caller's, as the VFS's.
 *
 * <p><b>Placement</b>, as the kernel places: a value goes into the inode body first; when it does
 * not fit there, into the block, and then leaves the body; a value that fits the body leaves the
 * block. In the body entries are appended, in the block they are kept sorted by name index, name
 * length and name; entries' and values' bytes are where the kernel's {@code ext4_xattr_set_entry}
 * puts them ({@link XattrArea}). Block entries carry the unsigned-char name hash, the block its
 * hash and, with metadata_csum, its checksum.
 *
 * <p><b>Shared blocks</b> ({@code h_refcount} above 1) are copied on write: the changed copy
 * goes to a new block near the start of the inode's group (refcount 1) and the old one loses a
 * reference; a block whose last attribute is removed is released. Identical blocks are not shared
 * on creation (the kernel's mbcache is an optimisation, not a format rule).
 *
 * <p><b>Validate, then change</b>: the in-body area and the block (range, system zone, header,
 * checksum, entries, values, reference count) are read and checked, the new contents are built in
 * private copies, every value inode whose reference count changes is read and checked (with the
 * blocks and inode it will free when it loses its last), the block to be freed is checked in its
 * bitmap, and a new value inode's inode and blocks are checked to be free (its blocks against
 * delayed allocations' reservations) before anything is written; the steps that can then fail for
 * lack of space, creating the value inode and allocating the new block, come first, and a failure
 * of the second gives the first back, so a refusal leaves the image and the caller's bytes as they
 * were.
 *
 * <p><b>Values in their own inode</b> (ea_inode, {@link XattrValueInode}), as the kernel decides:
 * a value whose padded size exceeds {@code EXT4_XATTR_MIN_LARGE_EA_SIZE(blocksize)}, or one that
 * fits neither the body nor the block, goes to a new value inode (one reference) and the entry,
 * in the body or the block, holds its number, the value's size and a hash over the name and the
 * value's crc32c; the inode's i_blocks is charged the value's size rounded up to a cluster. An
 * entry replaced or removed drops its value inode's reference (the last one evicts that inode)
 * and the charge; a shared block copied on write takes a reference on every value inode its
 * entries name ({@code ext4_xattr_inode_inc_ref_all}), the shared original keeps its own. Value
 * inodes are never shared on creation (the kernel's mbcache lookup is an optimisation). An inode's
 * eviction drops its references through {@link #checkDeleteInode} and {@link #deleteInode}.
 */
public final class XattrWriter {
    /** What {@link #set} does when the attribute exists or not ({@code XATTR_CREATE}, {@code XATTR_REPLACE}). */
    public enum Mode {
        /** Only a new attribute: EEXIST ({@link XattrExistsException}) when it exists. */
        CREATE,
        /** Only an existing attribute: ENODATA ({@link NotFoundException}) when it does not. */
        REPLACE,
        /** Either. */
        EITHER
    }

    /** {@code XATTR_SIZE_MAX}: the VFS refuses larger values (E2BIG). */
    public static final int VALUE_MAX = 65536;

    /**
     * Credits of one {@link #set} or {@link #remove}, the caller's inode write included: the new or
     * changed block, its allocation, the old block's reference count or its free, the superblock
     * (ext_attr feature), the inode table block.
     */
    public static final int CREDITS = 1 + BlockAllocator.ALLOC_CREDITS
            + Math.max(1, BlockAllocator.FREE_CREDITS_PER_GROUP) + 1 + 1;

    /**
     * Credits of one {@link #set} of a value of {@code valueLen} bytes or {@link #remove}
     * ({@code valueLen} 0) on a file system with ea_inode ({@code __ext4_xattr_set_credits}): on top
     * of {@link #CREDITS}, a new value inode (inode, bitmap, descriptor, its blocks with their
     * bitmaps and descriptors), an old one freed, and the reference counts of the value inodes a
     * copied block refers to (at most one per entry of a block).
     */
    public static int credits(Superblock sb, int valueLen) {
        if (!sb.hasIncompat(Features.INCOMPAT_EA_INODE)) {
            return CREDITS;
        }
        int newBlocks = (valueLen + sb.blockSize - 1) / sb.blockSize + 1;
        int oldBlocks = VALUE_MAX / sb.blockSize + 1;
        int refs = sb.blockSize / XattrEntry.entryLen(0);
        return CREDITS + 1 + InodeAllocator.ALLOC_CREDITS + newBlocks * 3 + 1 + InodeAllocator.FREE_CREDITS
                + oldBlocks * BlockAllocator.FREE_CREDITS_PER_GROUP + refs;
    }

    private static final int IBODY_HEADER = 4;
    /** The value inode number an entry holds until its inode is created (never a valid inode's). */
    private static final long STAND_IN_INUM = 0xFFFFFFFFL;

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator blocks;
    private final XattrValueInode values;
    private final Reservations reservations;

    /**
     * A writer allocating attribute blocks from {@code blocks} and value inodes (ea_inode) from
     * {@code inodes}; without an inode allocator (null) a value that needs its own inode is refused
     * ({@link UnsupportedFeatureException} "ea_inode").
     */
    private java.time.Clock clock = java.time.Clock.systemUTC();

    public XattrWriter(Volume volume, BlockAllocator blocks, InodeAllocator inodes) {
        this(volume, blocks, inodes, null);
    }

    /**
     * As {@link #XattrWriter(Volume, BlockAllocator, InodeAllocator)}, with a value inode's blocks
     * taken only from what delayed allocations have not been promised ({@code reservations}, with
     * its margin), as a value inode's blocks are data to the kernel's allocator.
     */
    public XattrWriter(Volume volume, BlockAllocator blocks, InodeAllocator inodes, Reservations reservations) {
        this.volume = volume;
        this.sb = volume.superblock();
        this.blocks = blocks;
        this.values = inodes == null ? null : new XattrValueInode(volume, blocks, inodes);
        this.reservations = reservations;
    }

    /**
     * This writer stamping value inodes with {@code clock}'s time, and giving them generation 0
     * rather than a random one when {@code zeroGenerations} (a reproducible write session).
     */
    public XattrWriter reproducible(java.time.Clock clock, boolean zeroGenerations) {
        this.clock = clock;
        if (values != null) {
            values.zeroGenerations = zeroGenerations;
        }
        return this;
    }

    /**
     * Sets attribute {@code name} of inode {@code ino}, whose on-disk bytes are {@code rawInode}
     * (changed in place), to {@code value}; POSIX ACLs are given in the VFS's
     * {@code posix_acl_xattr} form, and one of no entries removes the ACL. Returns whether
     * {@code rawInode} changed (then its checksum is set and the caller writes it back); setting
     * the value an attribute already has changes nothing.
     *
     * @throws XattrExistsException with {@link Mode#CREATE} when the attribute exists (EEXIST)
     * @throws NotFoundException with {@link Mode#REPLACE} when it does not (ENODATA)
     * @throws InvalidArgumentException a name refused by {@link XattrName#parse}, a value over
     *     {@link #VALUE_MAX} (E2BIG), a malformed ACL
     * @throws NoSpaceException the value fits neither the inode body nor the block (nor, with
     *     ea_inode, an inode of its own), or no block or inode could be allocated (ENOSPC)
     * @throws UnsupportedFeatureException ("ea_inode") where a value inode would be needed and this
     *     writer has no inode allocator
     */
    public boolean set(Handle h, long ino, byte[] rawInode, String name, byte[] value, Mode mode) throws IOException {
        Objects.requireNonNull(value, "value");
        XattrName n = XattrName.parse(name);
        if (value.length > VALUE_MAX) {
            throw new InvalidArgumentException("value of " + value.length + " bytes for " + name + ": at most "
                    + VALUE_MAX + " (E2BIG)");
        }
        byte[] stored = value;
        if (n.isAcl()) {
            stored = PosixAcl.toDisk(value);
            if (stored == null) {
                // posix_acl_from_xattr gives no ACL, and ext4_set_acl removes the attribute
                return apply(h, ino, rawInode, n, name, null, mode == Mode.REPLACE ? Mode.REPLACE : Mode.EITHER);
            }
        }
        return apply(h, ino, rawInode, n, name, stored, mode);
    }

    /**
     * Removes attribute {@code name} of inode {@code ino} ({@code removexattr(2)}); returns true
     * (the caller writes {@code rawInode} back).
     *
     * @throws NotFoundException when there is no such attribute (ENODATA)
     */
    public boolean remove(Handle h, long ino, byte[] rawInode, String name) throws IOException {
        XattrName n = XattrName.parse(name);
        return apply(h, ino, rawInode, n, name, null, Mode.REPLACE);
    }

    /** {@code ext4_xattr_set_handle}: {@code value} null removes. */
    private boolean apply(Handle h, long ino, byte[] raw, XattrName n, String fullName, byte[] value, Mode mode)
            throws IOException {
        if (raw.length != sb.inodeSize) {
            throw new IllegalArgumentException("inode " + ino + " of " + raw.length + " bytes");
        }
        InodeRecord rec = InodeRecord.decodeUnverified(sb, ino, raw);
        boolean eaInode = sb.hasIncompat(Features.INCOMPAT_EA_INODE);
        int reserve = eaInode ? Math.min(sb.blockSize / 8, 1024) : 0;
        int index = n.index();
        byte[] name = n.suffix();

        // ---- read and check everything this may change
        XattrArea body = bodyArea(rec, raw, eaInode);
        long oldBlock = rec.fileAcl;
        XattrArea block = null;
        long refcount = 0;
        if (oldBlock != 0) {
            refcount = checkedRefcount(volume, ino, oldBlock);
            byte[] b = volume.readBlock(oldBlock, ino);
            block = new XattrArea(b, 0, XattrEntry.BLOCK_HEADER_SIZE, b.length, true, ino, oldBlock);
            block.check(eaInode, sb.inodesCount);
        }
        boolean inBody = false;
        boolean inBlock = false;
        boolean blockSearched = false;
        if (body != null) {
            body.find(index, name, false);
            inBody = body.found;
        }
        if (!inBody && block != null) {
            block.find(index, name, true);
            inBlock = block.found;
            blockSearched = true;
        }
        if (!inBody && !inBlock) {
            if (mode == Mode.REPLACE) {
                throw new NotFoundException("no attribute " + fullName + " of inode " + ino + " (ENODATA)");
            }
            if (value == null) {
                return false;
            }
        } else if (mode == Mode.CREATE) {
            throw new XattrExistsException("attribute " + fullName + " of inode " + ino + " exists (EEXIST)");
        }

        // ---- build the new contents in the private copies
        boolean bodyChanged = false;
        boolean blockChanged = false;
        boolean inInode = false;
        XattrArea placed = null;
        long valueHash = 0;
        if (value == null) {
            if (inBody) {
                body.setEntry(index, name, null, reserve);
                bodyChanged = true;
            } else {
                block.setEntry(index, name, null, reserve);
                blockChanged = true;
            }
        } else {
            if (inBody && body.valueSame(value) || inBlock && block.valueSame(value)) {
                return false;
            }
            if (eaInode && value.length > 0) {
                valueHash = XattrValueInode.valueHash(sb, value);
                inInode = XattrEntry.valueLen(value.length) > minLargeEaSize();
            }
            while (true) { // retry_inode
                if (inInode && values == null) {
                    throw new UnsupportedFeatureException("ea_inode", "attribute " + fullName + " of inode " + ino
                            + " needs a value inode, and this writer has no inode allocator");
                }
                long inum = inInode ? STAND_IN_INUM : 0;
                if (body != null && body.setEntry(index, name, value, reserve, inum, valueHash)) {
                    bodyChanged = true;
                    placed = body;
                    if (inBlock) {
                        block.setEntry(index, name, null, reserve);
                        blockChanged = true;
                    }
                    break;
                }
                if (block == null) {
                    block = newBlockArea(ino);
                }
                if (!blockSearched) {
                    block.find(index, name, true);
                    blockSearched = true;
                }
                if (block.setEntry(index, name, value, reserve, inum, valueHash)) {
                    blockChanged = true;
                    placed = block;
                    if (inBody) {
                        body.setEntry(index, name, null, reserve);
                        bodyChanged = true;
                    }
                    break;
                }
                if (eaInode && value.length > 0 && !inInode) {
                    inInode = true; // the value does not fit the block: store it in an inode
                    continue;
                }
                throw new NoSpaceException("attribute " + fullName + " of " + value.length + " bytes fits neither in"
                        + " inode " + ino + " nor in its attribute block");
            }
        }
        int placedAt = inInode ? placed.here : -1;

        // ---- decide about blocks, check what will be freed
        long newBlock = oldBlock;
        boolean allocate = false;
        if (blockChanged) {
            if (block.isEmpty()) {
                newBlock = 0;
            } else if (oldBlock == 0 || refcount > 1) {
                allocate = true;
            }
        }
        // a shared block keeps its own references to value inodes; its copy takes new ones
        boolean cloned = blockChanged && oldBlock != 0 && refcount > 1;
        Map<Long, Integer> refDeltas = new LinkedHashMap<>();
        long quota512 = 0;
        if (bodyChanged && body.droppedInum != 0) {
            refDeltas.merge(body.droppedInum, -1, Integer::sum);
            quota512 -= XattrValueInode.quota512(sb, body.droppedSize);
        }
        if (blockChanged && block.droppedInum != 0) {
            if (!cloned) {
                refDeltas.merge(block.droppedInum, -1, Integer::sum);
            }
            quota512 -= XattrValueInode.quota512(sb, block.droppedSize);
        }
        if (cloned && allocate) {
            for (long inum : block.valueInodes(placed == block ? placedAt : -1)) {
                refDeltas.merge(inum, 1, Integer::sum); // ext4_xattr_inode_inc_ref_all
            }
        }
        if (inInode) {
            quota512 += XattrValueInode.quota512(sb, value.length);
        }
        List<XattrValueInode.Change> refChanges = refDeltas.isEmpty() ? List.of() : values.check(rec, refDeltas);
        int reserved = 0;
        if (inInode) {
            values.checkCreate(ino, value.length, allocate ? 1 : 0);
            if (reservations != null) {
                reserved = values.dataBlocks(value.length);
                reservations.reserve(reserved); // refuses (ENOSPC) what delayed allocations were promised
            }
        }
        boolean releaseOld = oldBlock != 0 && (newBlock != oldBlock || allocate);
        if (releaseOld && refcount == 1) {
            blocks.checkFree(oldBlock, 1);
        }
        boolean setExtAttr = value != null && !volume.currentSuperblock().hasCompat(Features.COMPAT_EXT_ATTR);

        // ---- change: the allocations first, as the steps that may still fail for lack of space
        Instant now = clock.instant();
        long valueInum = 0;
        if (inInode) {
            try {
                valueInum = values.create(h, rec, value, valueHash, now);
            } finally {
                if (reserved > 0) {
                    reservations.release(reserved);
                }
            }
            placed.setValueInum(placedAt, valueInum);
        }
        long per = clusterBlocks512();
        long blocks512 = rec.blocks512(sb);
        if (allocate) {
            long group = (ino - 1) / sb.inodesPerGroup;
            long goal = sb.firstDataBlock + group * sb.blocksPerGroup;
            try {
                newBlock = blocks.allocate(h, goal, 1, 1).start();
            } catch (IOException | RuntimeException e) {
                if (valueInum != 0) {
                    values.apply(h, values.check(rec, Map.of(valueInum, -1)), now);
                }
                throw e;
            }
            try {
                volume.checkFileBlocks(ino, -1, newBlock, 1, XattrReader.XATTR_BLOCK);
            } catch (CorruptionException e) {
                blocks.free(h, newBlock, 1);
                if (valueInum != 0) {
                    values.apply(h, values.check(rec, Map.of(valueInum, -1)), now);
                }
                throw e;
            }
            Le.put32(block.buf, XattrEntry.REFCOUNT_OFFSET, 1);
            XattrEntry.setBlockChecksum(sb, block.buf, newBlock);
            MetaBuffer b = volume.bufferCache().getZeroed(newBlock);
            write(h, b, block.buf);
            blocks512 += per;
        } else if (blockChanged && newBlock != 0) {
            XattrEntry.setBlockChecksum(sb, block.buf, oldBlock);
            write(h, volume.buffer(oldBlock, ino), block.buf);
        }
        if (releaseOld) {
            releaseBlock(volume, blocks, h, ino, oldBlock);
            blocks512 -= per;
        }
        if (!refChanges.isEmpty()) {
            values.apply(h, refChanges, now);
        }
        blocks512 += quota512;
        if (setExtAttr) {
            volume.updateSuperblock(h, s -> Le.put32(s, 0x5C, Le.u32(s, 0x5C) | Features.COMPAT_EXT_ATTR));
        }
        if (bodyChanged) {
            int hdr = Superblock.GOOD_OLD_INODE_SIZE + rec.extraIsize;
            Le.put32(body.buf, hdr, body.isEmpty() ? 0 : XattrEntry.MAGIC);
            System.arraycopy(body.buf, hdr, raw, hdr, raw.length - hdr);
        }
        InodeWriter w = new InodeWriter(sb, ino, raw);
        if (newBlock != oldBlock) {
            w.fileAcl(newBlock);
        }
        if (newBlock != oldBlock || quota512 != 0) {
            w.blocks512(Math.max(0, blocks512));
        }
        w.setChecksum();
        return true;
    }

    /**
     * What {@link #deleteInode} will do to the value inodes of a dying inode, checked: opaque to
     * callers.
     */
    public static final class ValueRefs {
        private final List<XattrValueInode.Change> changes;
        private final long charged512;

        private ValueRefs(List<XattrValueInode.Change> changes, long charged512) {
            this.changes = changes;
            this.charged512 = charged512;
        }

        /** The i_blocks charge (512-byte units) of the values held in inodes, which the dying inode gives back. */
        public long charged512() {
            return charged512;
        }
    }

    /**
     * {@code ext4_xattr_delete_inode}'s reading half, for inode {@code rec} about to be freed: every
     * value inode its in-body entries name loses a reference, and those its block's entries name
     * too when it holds the block's last reference ({@code ext4_xattr_release_block}'s
     * {@code ext4_xattr_inode_dec_ref_all}); a value inode left with none will be freed. All of it
     * is read and checked here (the body's entries, the block, each value inode, what will be
     * freed), changing nothing.
     */
    public ValueRefs checkDeleteInode(InodeRecord rec) throws IOException {
        if (!sb.hasIncompat(Features.INCOMPAT_EA_INODE)) {
            return new ValueRefs(List.of(), 0);
        }
        Map<Long, Integer> deltas = new LinkedHashMap<>();
        long charged = 0;
        XattrArea body = bodyArea(rec, rec.raw(), true);
        if (body != null) {
            for (int e = body.first; !body.isLast(e); e = body.next(e)) {
                long inum = Le.u32(body.buf, e + XattrEntry.E_VALUE_INUM);
                if (inum != 0) {
                    deltas.merge(inum, -1, Integer::sum);
                    charged += XattrValueInode.quota512(sb, Le.u32(body.buf, e + XattrEntry.E_VALUE_SIZE));
                }
            }
        }
        if (rec.fileAcl != 0) {
            long refcount = checkedRefcount(volume, rec.number, rec.fileAcl);
            byte[] b = volume.readBlock(rec.fileAcl, rec.number);
            XattrArea block = new XattrArea(b, 0, XattrEntry.BLOCK_HEADER_SIZE, b.length, true, rec.number, rec.fileAcl);
            block.check(true, sb.inodesCount);
            for (int e = block.first; !block.isLast(e); e = block.next(e)) {
                long inum = Le.u32(b, e + XattrEntry.E_VALUE_INUM);
                if (inum != 0) {
                    if (refcount == 1) {
                        deltas.merge(inum, -1, Integer::sum);
                    }
                    charged += XattrValueInode.quota512(sb, Le.u32(b, e + XattrEntry.E_VALUE_SIZE));
                }
            }
        }
        if (deltas.isEmpty()) {
            return new ValueRefs(List.of(), charged);
        }
        if (values == null) {
            throw new UnsupportedFeatureException("ea_inode", "inode " + rec.number + " refers to value inodes,"
                    + " and this writer has no inode allocator");
        }
        return new ValueRefs(values.check(rec, deltas), charged);
    }

    /**
     * {@code ext4_xattr_delete_inode}'s changing half: drops the references {@link #checkDeleteInode}
     * counted (and frees value inodes left without any, {@code ext4_xattr_inode_array_free}).
     * The caller still releases the block ({@link #releaseBlock}) and takes
     * {@link ValueRefs#charged512} off i_blocks. Credits: see {@link #credits}.
     */
    public void deleteInode(Handle h, ValueRefs refs, Instant now) throws IOException {
        if (!refs.changes.isEmpty()) {
            values.apply(h, refs.changes, now);
        }
    }

    /**
     * The inode body's attribute area, checked, or null where there is none
     * ({@code EXT4_INODE_HAS_XATTR_SPACE}). An area without the magic holds no attributes; its
     * copy is cleared so that leftovers are never read as entries.
     */
    private XattrArea bodyArea(InodeRecord rec, byte[] raw, boolean eaInode) throws CorruptionException {
        int extra = rec.extraIsize;
        int hdr = Superblock.GOOD_OLD_INODE_SIZE + extra;
        if (raw.length <= Superblock.GOOD_OLD_INODE_SIZE || extra == 0 || hdr + IBODY_HEADER + 4 > raw.length) {
            return null;
        }
        byte[] copy = raw.clone();
        int first = hdr + IBODY_HEADER;
        XattrArea a = new XattrArea(copy, first, first, raw.length, false, rec.number, -1);
        if (Le.u32(copy, hdr) == XattrEntry.MAGIC) {
            a.check(eaInode, sb.inodesCount);
        } else {
            Arrays.fill(copy, hdr, raw.length, (byte) 0);
        }
        return a;
    }

    /** A new, empty block's contents: magic, one reference, h_blocks 1. */
    private XattrArea newBlockArea(long ino) {
        byte[] b = new byte[sb.blockSize];
        Le.put32(b, 0, XattrEntry.MAGIC);
        Le.put32(b, XattrEntry.REFCOUNT_OFFSET, 1);
        Le.put32(b, 8, 1);
        return new XattrArea(b, 0, XattrEntry.BLOCK_HEADER_SIZE, b.length, true, ino, 0);
    }

    /** {@code EXT4_XATTR_MIN_LARGE_EA_SIZE}: with ea_inode, padded values above this go to a value inode. */
    private int minLargeEaSize() {
        return sb.blockSize - XattrEntry.entryLen(3) - XattrEntry.BLOCK_HEADER_SIZE - 4;
    }

    /** The 512-byte units one block (one cluster with bigalloc) adds to i_blocks. */
    private long clusterBlocks512() {
        return (long) sb.blockSize / 512 * (1L << Math.max(0, sb.logClusterSize - sb.logBlockSize));
    }

    private static void write(Handle h, MetaBuffer b, byte[] bytes) throws IOException {
        h.getWriteAccess(b);
        b.lock().lock();
        try {
            System.arraycopy(bytes, 0, b.data(), 0, bytes.length);
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
    }

    /**
     * What an access ACL (in {@code posix_acl_xattr} form) does to an inode of {@code mode}
     * ({@code posix_acl_update_mode}): element 0 is the new mode, element 1 is 1 when the ACL says
     * no more than the mode and is therefore not stored.
     */
    public static int[] aclUpdateMode(byte[] value, int mode) throws IOException {
        return PosixAcl.equivalentMode(value, mode);
    }

    /**
     * The {@code h_refcount} of attribute block {@code blk} of inode {@code ino}, after checking
     * the block as the kernel reads it ({@code ext4_xattr_check_block}): inside the file system and
     * outside its metadata, magic and h_blocks, checksum with metadata_csum. A count of 0 is
     * corruption (the inode refers to it).
     */
    public static long checkedRefcount(Volume volume, long ino, long blk) throws IOException {
        volume.checkFileBlocks(ino, -1, blk, 1, XattrReader.XATTR_BLOCK); // never free or rewrite metadata
        byte[] bytes = volume.readBlock(blk, ino);
        XattrEntry.checkBlockHeader(bytes, ino, blk);
        if (volume.superblock().hasMetadataCsum()) {
            XattrEntry.verifyBlock(volume.superblock(), bytes, ino, blk);
        }
        long ref = Le.u32(bytes, XattrEntry.REFCOUNT_OFFSET);
        if (ref == 0) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(ino).block(blk).offset(XattrEntry.REFCOUNT_OFFSET)
                    .build("xattr block has a reference count of 0 but inode " + ino + " refers to it");
        }
        return ref;
    }

    /**
     * {@code ext4_xattr_release_block}: block {@code blk} loses inode {@code ino}'s reference; the
     * last one frees it (and drops any pending write of it), others leave it with the count one
     * lower and its checksum set again. The count is read and changed under the buffer's lock, so
     * two inodes releasing one block at once both count. The caller checked the block with
     * {@link #checkedRefcount} (and, where it may be the last reference, checked the free with
     * {@link BlockAllocator#checkFree}) and takes the block off i_file_acl and i_blocks.
     * Credits: {@link BlockAllocator#FREE_CREDITS_PER_GROUP}.
     */
    public static void releaseBlock(Volume volume, BlockAllocator blocks, Handle h, long ino, long blk) throws IOException {
        MetaBuffer b = volume.buffer(blk, ino);
        h.getWriteAccess(b);
        boolean last;
        b.lock().lock();
        try {
            byte[] data = b.data();
            long ref = Le.u32(data, XattrEntry.REFCOUNT_OFFSET);
            if (ref == 0) {
                throw CorruptionException.of(Kind.BAD_XATTR).inode(ino).block(blk).offset(XattrEntry.REFCOUNT_OFFSET)
                        .build("xattr block has a reference count of 0 but inode " + ino + " refers to it");
            }
            last = ref == 1;
            if (!last) {
                Le.put32(data, XattrEntry.REFCOUNT_OFFSET, ref - 1);
                XattrEntry.setBlockChecksum(volume.superblock(), data, blk);
            }
        } finally {
            b.lock().unlock();
        }
        if (last) {
            volume.bufferCache().forget(blk);
            blocks.free(h, blk, 1);
        } else {
            h.markDirty(b);
        }
    }
}
