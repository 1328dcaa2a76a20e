package org.ext4j.volume;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.Ext4IoException;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;

/**
 * A device seen as an ext4 volume: the superblock, the group descriptor table, range-checked block
 * reads, and inode table lookups. Everything above addresses the disk through here, so every block
 * number from the image is checked against the file system's size in one place.
 *
 * <p>Mirrors the parts of {@code fs/ext4/super.c} that load the descriptors ({@code descriptor_loc},
 * {@code ext4_check_descriptors}) and of {@code inode.c} that locate an inode ({@code __ext4_get_inode_loc}).
 * Thread-safe: the state is immutable after {@link #open}, and the metadata block cache is synchronised.
 *
 * <p>{@link #open} also builds the {@link SystemZone} ({@code ext4_setup_system_zone}), and
 * {@link #checkFileBlocks} is {@code ext4_inode_block_valid}: what every decoded file mapping must pass.
 */
public final class Volume {
    private static final int CACHE_BYTES = 8 << 20;

    private final BlockDevice device;
    private final Superblock sb;
    private final GroupDescriptor[] groups;
    private final int blockSize;
    private final long deviceBlocks;
    private final BufferCache cache;
    /**
     * The metadata blocks no file may map; set once by {@link #open} before the volume is handed out
     * (null while it is being built, when only the range is checked).
     */
    private volatile SystemZone zone;

    private Volume(BlockDevice device, Superblock sb, GroupDescriptor[] groups, long deviceBlocks) {
        this.device = device;
        this.sb = sb;
        this.groups = groups;
        this.blockSize = sb.blockSize;
        this.deviceBlocks = deviceBlocks;
        this.cache = new BufferCache(device, blockSize, CACHE_BYTES);
    }

    /** Reads the primary superblock ({@code s_magic} checked, checksum verified when present). */
    public static Superblock readSuperblock(BlockDevice device) throws IOException {
        byte[] b = new byte[Superblock.SIZE];
        int n = device.read(Superblock.OFFSET, ByteBuffer.wrap(b));
        if (n < Superblock.SIZE) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).offset(Superblock.OFFSET)
                    .build("image of " + device.size() + " bytes is too small to hold a superblock");
        }
        Superblock sb = Superblock.decode(b);
        if (sb.hasMetadataCsum()) {
            if (sb.checksumType != 1) {
                throw CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(Superblock.OFFSET + 0x175)
                        .build("s_checksum_type " + sb.checksumType + " is not crc32c (1)");
            }
            long computed = sb.computeChecksum() & 0xFFFFFFFFL;
            if (computed != sb.checksum) {
                throw CorruptionException.of(Kind.CHECKSUM).block(Superblock.OFFSET / sb.blockSize)
                        .offset(Superblock.OFFSET + Superblock.CHECKSUM_OFFSET)
                        .checksum("superblock", sb.checksum, computed);
            }
        }
        return sb;
    }

    /**
     * Opens a volume on a device whose superblock was already read and whose features were
     * accepted: checks that the device holds the whole file system, then loads and verifies every
     * group descriptor and the placement of its bitmaps and inode table.
     */
    public static Volume open(BlockDevice device, Superblock sb) throws IOException {
        long deviceBlocks = device.size() / sb.blockSize;
        if (sb.blocksCount > deviceBlocks) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE)
                    .build("s_blocks_count " + sb.blocksCount + " exceeds the device's " + deviceBlocks + " blocks");
        }
        if (sb.groupCount > Integer.MAX_VALUE / 2) {
            throw CorruptionException.of(Kind.BAD_SUPERBLOCK).build("too many groups: " + sb.groupCount);
        }
        GroupDescriptor[] groups = new GroupDescriptor[(int) sb.groupCount];
        Volume v = new Volume(device, sb, groups, deviceBlocks);
        int dpb = sb.descriptorsPerBlock;
        byte[] block = null;
        long loaded = -1;
        for (int g = 0; g < groups.length; g++) {
            long db = v.descriptorBlock(g);
            if (db != loaded) {
                block = v.readBlockUncached(db, -1);
                loaded = db;
            }
            int off = (g % dpb) * sb.descriptorSize;
            GroupDescriptor.verify(sb, block, off, sb.descriptorSize, g, db);
            GroupDescriptor d = GroupDescriptor.decode(block, off, sb.descriptorSize, g);
            v.checkDescriptor(d, db);
            groups[g] = d;
        }
        v.zone = SystemZone.build(v);
        return v;
    }

    /** Block holding the descriptor of group {@code g} ({@code descriptor_loc}, meta_bg aware). */
    private long descriptorBlock(long g) {
        long nr = g / sb.descriptorsPerBlock;
        if (!sb.hasIncompat(org.ext4j.format.Features.INCOMPAT_META_BG) || nr < sb.firstMetaBg) {
            // right after the superblock's block: with 1 KiB blocks that is block 1 even when
            // s_first_data_block is 0 (bigalloc), as the kernel's logical_sb_block
            return Superblock.OFFSET / blockSize + 1 + nr;
        }
        long first = nr * sb.descriptorsPerBlock;
        int hasSuper = sb.groupHasSuper(first) ? 1 : 0;
        if (blockSize == 1024 && nr == 0 && sb.firstDataBlock == 0) {
            hasSuper++;
        }
        return sb.groupFirstBlock(first) + hasSuper;
    }

    /** {@code ext4_check_descriptors}: bitmaps and the inode table must lie inside the file system. */
    private void checkDescriptor(GroupDescriptor d, long db) throws CorruptionException {
        long itableBlocks = (sb.inodesPerGroup * sb.inodeSize + blockSize - 1) / blockSize;
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(db);
        if (d.blockBitmap() < sb.firstDataBlock || d.blockBitmap() >= sb.blocksCount) {
            throw err.build("group " + d.group() + " block bitmap " + d.blockBitmap() + " is outside the file system");
        }
        if (d.inodeBitmap() < sb.firstDataBlock || d.inodeBitmap() >= sb.blocksCount) {
            throw err.build("group " + d.group() + " inode bitmap " + d.inodeBitmap() + " is outside the file system");
        }
        if (d.inodeTable() < sb.firstDataBlock || d.inodeTable() + itableBlocks > sb.blocksCount) {
            throw err.build("group " + d.group() + " inode table " + d.inodeTable() + " is outside the file system");
        }
    }

    public Superblock superblock() {
        return sb;
    }

    public int blockSize() {
        return blockSize;
    }

    public long groupCount() {
        return groups.length;
    }

    public GroupDescriptor group(long g) {
        synchronized (groups) {
            return groups[(int) g];
        }
    }

    /**
     * Writes a changed group descriptor into its descriptor-table block inside handle {@code h}
     * (checksum set by the codec), and makes it the current one. The caller serialises changes to
     * one group (the allocator's per-group lock, as the kernel's {@code ext4_lock_group}).
     */
    public void updateGroup(Handle h, GroupDescriptor d) throws IOException {
        long db = descriptorBlock(d.group());
        MetaBuffer b = buffer(db, -1);
        h.getWriteAccess(b);
        b.lock().lock();
        try {
            int off = (int) (d.group() % sb.descriptorsPerBlock) * sb.descriptorSize;
            GroupDescriptor.encode(sb, b.data(), off, sb.descriptorSize, d);
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
        synchronized (groups) {
            groups[(int) d.group()] = d;
        }
    }

    /**
     * Edits the primary superblock's bytes inside handle {@code h} and sets its checksum
     * ({@code ext4_superblock_csum_set}). {@code edit} receives the 1024 superblock bytes.
     */
    public void updateSuperblock(Handle h, java.util.function.Consumer<byte[]> edit) throws IOException {
        long blk = Superblock.OFFSET / blockSize;
        int off = Superblock.OFFSET % blockSize;
        MetaBuffer b = cache.get(blk);
        if (b == null) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).block(blk).build("superblock block is missing");
        }
        h.getWriteAccess(b);
        b.lock().lock();
        try {
            byte[] raw = java.util.Arrays.copyOfRange(b.data(), off, off + Superblock.SIZE);
            edit.accept(raw);
            Superblock.setChecksum(raw);
            System.arraycopy(raw, 0, b.data(), off, Superblock.SIZE);
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
    }

    /**
     * Edits the primary superblock on the device itself, bypassing handles and the cache: the
     * superblock as last written is read, edited, given its checksum and written and flushed at
     * once, as the kernel's error path commits the superblock directly ({@code ext4_commit_super}).
     * For recording an error after the journal threw away what it held; the cached copy is dropped
     * so later reads see the disk.
     */
    public void writeSuperblockNow(java.util.function.Consumer<byte[]> edit) throws IOException {
        byte[] raw = new byte[Superblock.SIZE];
        readFully(Superblock.OFFSET, ByteBuffer.wrap(raw), -1, Superblock.OFFSET / blockSize);
        edit.accept(raw);
        Superblock.setChecksum(raw);
        try {
            device.write(Superblock.OFFSET, ByteBuffer.wrap(raw));
            device.flush();
        } catch (IOException e) {
            throw new Ext4IoException("writing the superblock of " + device, e);
        }
        cache.forget(Superblock.OFFSET / blockSize);
    }

    /**
     * Free blocks and free inodes summed over the group descriptors as the device holds them now
     * (bypassing the cache and the in-memory descriptors): the counts to store in the superblock
     * after changes were thrown away.
     */
    public long[] freeCountsOnDisk() throws IOException {
        long blocks = 0;
        long inodes = 0;
        byte[] block = null;
        long loaded = -1;
        for (int g = 0; g < groups.length; g++) {
            long db = descriptorBlock(g);
            if (db != loaded) {
                block = readBlockUncached(db, -1);
                loaded = db;
            }
            GroupDescriptor d = GroupDescriptor.decode(block, (g % sb.descriptorsPerBlock) * sb.descriptorSize,
                    sb.descriptorSize, g);
            blocks += d.freeBlocksCount();
            inodes += d.freeInodesCount();
        }
        return new long[] {blocks, inodes};
    }

    /** The current superblock bytes as the buffer holds them (with the write path's updates). */
    public Superblock currentSuperblock() throws IOException {
        long blk = Superblock.OFFSET / blockSize;
        int off = Superblock.OFFSET % blockSize;
        MetaBuffer b = cache.get(blk);
        byte[] bytes = b.snapshot();
        return Superblock.decode(java.util.Arrays.copyOfRange(bytes, off, off + Superblock.SIZE));
    }

    public BlockDevice device() {
        return device;
    }

    /** Throws unless {@code pblk .. pblk+count} lies inside the file system. */
    public void checkRange(long pblk, long count, long inode) throws CorruptionException {
        // as ext4_sb_block_valid: nothing at or below s_first_data_block (the superblock) is file data
        if (pblk <= sb.firstDataBlock || count < 0 || pblk + count > sb.blocksCount) {
            throw CorruptionException.of(Kind.BLOCK_OUT_OF_RANGE).inode(inode).block(pblk)
                    .build(count + " block(s) from " + pblk + ", file system has " + sb.blocksCount);
        }
    }

    /** The system zone: the metadata blocks no file may map, for the allocators' queries. */
    public SystemZone systemZone() {
        return zone;
    }

    /**
     * Throws unless the {@code count} blocks from {@code pblk}, which inode {@code ino} maps at
     * logical block {@code lblk} (-1 for blocks that are not file data at a logical position: an
     * xattr block), lie inside the file system and outside the system zone, or in a part of the zone
     * the inode owns itself (the journal's blocks for the journal inode). The kernel's
     * {@code ext4_inode_block_valid}, asked by every path that decodes a file's mapping (extent tree
     * nodes, indirect blocks, the xattr block) before anything is read or written through it; a
     * mapping is checked where it is decoded, not on every read of it.
     *
     * @param what what the blocks are to the inode ("file data", "extent tree block", ...), for the message
     */
    public void checkFileBlocks(long ino, long lblk, long pblk, long count, String what) throws CorruptionException {
        if (pblk <= sb.firstDataBlock || count < 0 || pblk + count > sb.blocksCount || pblk + count < pblk) {
            throw CorruptionException.of(Kind.BLOCK_OUT_OF_RANGE).inode(ino).logical(lblk).block(pblk)
                    .build(what + ": " + count + " block(s) from " + pblk + ", file system has " + sb.blocksCount);
        }
        SystemZone z = zone;
        if (z == null) {
            return;
        }
        long bad = z.firstConflict(pblk, count, ino);
        if (bad >= 0) {
            throw CorruptionException.of(Kind.BLOCK_IN_SYSTEM_ZONE).inode(ino)
                    .logical(lblk < 0 ? -1 : lblk + (bad - pblk)).block(bad)
                    .build(what + " in " + z.describe(bad));
        }
    }

    /** {@link #checkFileBlocks(long, long, long, long, String)} for file data. */
    public void checkFileBlocks(long ino, long lblk, long pblk, long count) throws CorruptionException {
        checkFileBlocks(ino, lblk, pblk, count, "file data");
    }

    /** Reads metadata block {@code pblk} through the cache (a copy); {@code inode} names the owner for errors. */
    public byte[] readBlock(long pblk, long inode) throws IOException {
        return buffer(pblk, inode).snapshot();
    }

    /** The cached buffer of metadata block {@code pblk}, range-checked, for reading or (in a handle) writing. */
    public MetaBuffer buffer(long pblk, long inode) throws IOException {
        checkRange(pblk, 1, inode);
        MetaBuffer b;
        try {
            b = cache.get(pblk);
        } catch (IOException e) {
            throw new Ext4IoException("reading block " + pblk + " of " + device, e);
        }
        if (b == null) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).inode(inode).block(pblk)
                    .build("device ends before the block");
        }
        return b;
    }

    /** The metadata buffer cache, for the write path's transaction handles. */
    public BufferCache bufferCache() {
        return cache;
    }

    private byte[] readBlockUncached(long pblk, long inode) throws IOException {
        checkRange(pblk, 1, inode);
        byte[] b = new byte[blockSize];
        readFully(pblk * blockSize, ByteBuffer.wrap(b), inode, pblk);
        return b;
    }

    /**
     * Reads file data: {@code dst.remaining()} bytes from the start of block {@code pblk}, bypassing
     * the metadata cache. The range is checked first.
     */
    public void readData(long pblk, ByteBuffer dst, long inode) throws IOException {
        long blocks = (dst.remaining() + blockSize - 1) / blockSize;
        checkRange(pblk, blocks, inode);
        readFully(pblk * blockSize, dst, inode, pblk);
    }

    private void readFully(long offset, ByteBuffer dst, long inode, long pblk) throws IOException {
        int want = dst.remaining();
        int n;
        try {
            n = device.read(offset, dst);
        } catch (IOException e) {
            throw new Ext4IoException("reading block " + pblk + " of " + device, e);
        }
        if (n < want) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).inode(inode).block(pblk)
                    .build("device ends " + (want - n) + " bytes short of the block");
        }
    }

    /** Reads the on-disk inode {@code ino}, verifying its checksum. */
    public InodeRecord readInode(long ino) throws IOException {
        if (ino < 1 || ino > sb.inodesCount) {
            throw CorruptionException.of(Kind.BAD_INODE_NUMBER).inode(ino)
                    .build("inode " + ino + " is not in 1.." + sb.inodesCount);
        }
        long group = (ino - 1) / sb.inodesPerGroup;
        long index = (ino - 1) % sb.inodesPerGroup;
        long byteOff = index * sb.inodeSize;
        long pblk = groups[(int) group].inodeTable() + byteOff / blockSize;
        int inBlock = (int) (byteOff % blockSize);
        byte[] block = readBlock(pblk, ino);
        byte[] raw = java.util.Arrays.copyOfRange(block, inBlock, inBlock + sb.inodeSize);
        return InodeRecord.decode(sb, ino, raw, pblk, inBlock);
    }

    /**
     * Writes inode {@code ino}'s raw bytes (whose checksum the caller set with
     * {@link org.ext4j.format.InodeWriter#setChecksum}) into its inode table block inside {@code h}.
     */
    public void writeInode(Handle h, long ino, byte[] raw) throws IOException {
        if (ino < 1 || ino > sb.inodesCount || raw.length != sb.inodeSize) {
            throw new IllegalArgumentException("inode " + ino + " of " + raw.length + " bytes");
        }
        long group = (ino - 1) / sb.inodesPerGroup;
        long byteOff = ((ino - 1) % sb.inodesPerGroup) * sb.inodeSize;
        long pblk = group(group).inodeTable() + byteOff / blockSize;
        int inBlock = (int) (byteOff % blockSize);
        MetaBuffer b = buffer(pblk, ino);
        h.getWriteAccess(b);
        b.lock().lock();
        try {
            System.arraycopy(raw, 0, b.data(), inBlock, raw.length);
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
    }

    /** Blocks the device holds, which may exceed the file system's size. */
    public long deviceBlocks() {
        return deviceBlocks;
    }
}
