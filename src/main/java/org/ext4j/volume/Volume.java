package org.ext4j.volume;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.Ext4IoException;
import org.ext4j.error.UnsupportedFeatureException;
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
 *
 * <h2>What an open checks, rule by rule</h2>
 * Every check the kernel's mount path ({@code __ext4_fill_super}, kernel 6.12 source, behaviour of
 * the running 6.18 kernel) makes before it mounts, in its order, and where ext4j makes it. A
 * refusal is a {@code CorruptionException} whose message starts with the kernel function holding
 * the rule and names the field and its value ("ext4_handle_clustersize: s_clusters_per_group 16384
 * differs from s_blocks_per_group 4096 without bigalloc"). SB = {@code Superblock.load}, GEO =
 * {@code Superblock.checkGeometry}, DESC = {@link #checkDescriptor}, MC = {@code fs.MountChecks},
 * JF = {@link #checkJournalFields}, RW = {@code Superblock.checkWritable} (read-write opens only).
 * Tests: {@code SuperblockTest} (one mutation per rule), {@code MountRulesKernelTest} (the
 * kernel's answer to each).
 * <pre>
 * kernel function               rule                                                  ext4j
 * ext4_load_super               s_magic == 0xEF53                                     SB  BAD_MAGIC
 *                               s_log_block_size &lt;= 6                                SB
 *                               s_log_cluster_size &lt;= 20                              SB
 *                               block size &lt;= page size (sb_set_blocksize)            no: ext4j reads 8-64 KiB blocks (*)
 * ext4_init_metadata_csum       s_checksum_type crc32c with metadata_csum             SB
 *                               superblock crc32c                                     SB  CHECKSUM
 * ext4_inode_info_init          s_first_ino &gt;= 11 (rev 1)                             SB
 *                               s_inode_size power of 2 in 128..block size (rev 1)    SB
 *                               s_want_/s_min_extra_isize &lt;= inode size - 128          SB
 * ext4_encoding_init            casefold encoding known                               casefold: exit 3 first
 * ext4_check_feature_compat...  feature flags honoured on revision 0                  Superblock (decoded whatever the revision)
 *                               Hurd with 64bit or ea_inode                           SB
 *   ext4_feature_set_ok         unknown incompat feature                              fs.Ext4FileSystem.checkFeatures, exit 3
 *                               (rw) unknown ro_compat feature                        fs.WriteSession.checkWritable, exit 3
 *                               (rw) bigalloc without extents                         RW
 *                               (rw) bigalloc with s_first_data_block != 0            RW
 *                               encrypt with s_encryption_level != 0                  encrypt: exit 3 first
 * ext4_block_group_meta_init    s_desc_size power of 2 in 64..1024 (64bit)            GEO
 *                               s_blocks_per_group != 0                               GEO
 *                               s_inodes_per_group in inodes per block..8*block size  GEO (6.12 also wants a multiple of 8; 6.18 does not)
 * ext4_hash_info_init           s_def_hash_version &lt;= 6 and not siphash (6)           GEO
 * ext4_handle_clustersize       bigalloc: cluster size &gt;= block size                  GEO
 *                               no bigalloc: s_log_cluster_size == s_log_block_size   GEO
 *                               no bigalloc: s_blocks_per_group &lt;= 8*block size       GEO
 *                               s_clusters_per_group &lt;= 8*block size                  GEO (6.12: multiple of 8 too)
 *                               s_blocks_per_group == s_clusters_per_group * ratio    GEO (issue 8 defect 5)
 * ext4_check_geometry           s_reserved_gdt_blocks &lt;= block size / 4               GEO
 *                               generic_check_addressable                             always true on 64-bit
 *                               s_blocks_count &lt;= device blocks                       GEO TRUNCATED_IMAGE
 *                               s_first_data_block &lt; s_blocks_count                   GEO
 *                               not s_first_data_block 0 with 1 KiB blocks, ratio 1   GEO
 *                               groups &lt;= 2^32 - descriptors per block               GEO (ext4j holds at most 2^30 - 1: exit 3)
 *                               s_inodes_count == groups * s_inodes_per_group         GEO
 * ext4_group_desc_init          meta_bg: s_first_meta_bg &lt;= descriptor blocks         GEO
 *                               descriptor blocks readable                            open TRUNCATED_IMAGE
 * ext4_check_descriptors        bitmaps, inode table not on the superblock's block    DESC (kernel: rw; ro fails in the system zone)
 *                               ... not in the primary descriptor table               DESC (likewise)
 *                               ... inside their group (no flex_bg), else the fs      DESC
 *                               descriptor checksum (kernel: rw only)                 GroupDescriptor.verify, ro too (*)
 * ext4_setup_system_zone        metadata overlapping other metadata                   the system zone; s_first_data_block other
 *                                                                                     than 1 (1 KiB blocks) or 0: GEO
 * ext4_load_journal             not both s_journal_inum and s_journal_dev             JF (checkJournalFields, in open)
 *                               has_journal with neither (device 0:0 not found)       JF
 *                               external journal device present                       no: ext4j never replays (*)
 *                               needs_recovery on a read-only device                  no: a warning, read without replay (*)
 * ext4_get_journal_inode        inode number valid                                    JF  BAD_JOURNAL
 *                               allocated, regular, unencrypted                       MC  BAD_JOURNAL
 * journal_check_superblock      magic, block size, block type, s_maxlen, s_first,     MC  BAD_JOURNAL, CHECKSUM
 *                               features, length, checksum flags, type, checksum
 * ext4_clear_journal_err        s_errno set: needs a write (refused on ro devices)    no (*)
 * __ext4_fill_super, ext4_iget  root inode allocated, a directory, blocks and size    MC  BAD_INODE
 * ext4_setup_super              s_rev_level &gt; 1: mounts read-only                     read; RW refuses writes, exit 3
 * ext4_mb_init                  flex_bg: s_log_groups_per_flex &lt; 32                  GEO
 * ext4_fill_flex_info           s_log_groups_per_flex 0 or &gt; 31: no flex groups      accepted
 * ext4_init_orphan_info         orphan_file: inode, at most 512 blocks, each block's  MC  BAD_INODE, CHECKSUM
 *                               magic and checksum
 * ext4_multi_mount_protect,     read-write only, and they write                       not applicable (ext4j writes no MMP)
 *   ext4_enable_quotas
 * (*) a deliberate difference, asserted in MountRulesKernelTest or listed in docs/ARCHITECTURE.md
 * </pre>
 */
public final class Volume {
    private static final int CACHE_BYTES = 8 << 20;
    /** Group descriptors one volume holds (one array); the kernel's limit is 2^32 less a block's worth. */
    static final long MAX_GROUPS = Integer.MAX_VALUE / 2;

    private final BlockDevice device;
    private final Superblock sb;
    private final GroupDescriptor[] groups;
    private final int blockSize;
    private final long deviceBlocks;
    private final BufferCache cache;
    private final NameCache names = new NameCache();
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

    /**
     * Reads the primary superblock and makes the checks the kernel makes before it looks at the
     * feature flags ({@link Superblock#load}: magic, block and cluster size limits, checksum type
     * and checksum, inode size, first inode, extra inode sizes). The geometry is checked by
     * {@link #open}, after the caller has refused unknown incompatible features.
     */
    public static Superblock readSuperblock(BlockDevice device) throws IOException {
        byte[] b = new byte[Superblock.SIZE];
        int n = device.read(Superblock.OFFSET, ByteBuffer.wrap(b));
        if (n < Superblock.SIZE) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).offset(Superblock.OFFSET)
                    .build("image of " + device.size() + " bytes is too small to hold a superblock");
        }
        return Superblock.load(b);
    }

    /**
     * Opens a volume on a device whose superblock was read by {@link #readSuperblock} and whose
     * features were accepted: checks the geometry, the device's size included
     * ({@link Superblock#checkGeometry(long)}), then loads every group descriptor and checks it as
     * {@code ext4_check_descriptors} does (see {@link #checkDescriptor}). Nothing is written.
     */
    public static Volume open(BlockDevice device, Superblock sb) throws IOException {
        long deviceBlocks = device.size() / sb.blockSize;
        sb.checkGeometry(deviceBlocks);
        checkJournalFields(sb);
        if (sb.groupCount > MAX_GROUPS) {
            // the kernel takes up to 2^32 - descriptors per block; one Java array holds the descriptors here
            throw new UnsupportedFeatureException(sb.groupCount + " groups",
                    "ext4j holds at most " + MAX_GROUPS + " group descriptors");
        }
        GroupDescriptor[] groups = new GroupDescriptor[(int) sb.groupCount];
        Volume v = new Volume(device, sb, groups, deviceBlocks);
        int dpb = sb.descriptorsPerBlock;
        byte[] block = null;
        long loaded = -1;
        long firstBlock = sb.firstDataBlock;
        for (int g = 0; g < groups.length; g++) {
            long db = v.descriptorBlock(g);
            if (db != loaded) {
                block = v.readBlockUncached(db, -1);
                loaded = db;
            }
            int off = (g % dpb) * sb.descriptorSize;
            GroupDescriptor d = GroupDescriptor.decode(block, off, sb.descriptorSize, g);
            v.checkDescriptor(d, db, firstBlock);
            GroupDescriptor.verify(sb, block, off, sb.descriptorSize, g, db);
            groups[g] = d;
            if (!sb.hasIncompat(org.ext4j.format.Features.INCOMPAT_FLEX_BG)) {
                firstBlock += sb.blocksPerGroup;
            }
        }
        v.zone = SystemZone.build(v);
        return v;
    }

    /**
     * The superblock's journal fields as {@code ext4_load_journal} and {@code ext4_get_journal_inode}
     * take them: not both an inode and a device, not neither, and an inode number that exists. The
     * journal inode itself and its superblock are checked by {@code fs.MountChecks}; these come
     * first because everything that reads the journal inode (the system zone protects its blocks)
     * needs a valid number.
     */
    static void checkJournalFields(Superblock sb) throws CorruptionException {
        if (!sb.hasCompat(org.ext4j.format.Features.COMPAT_HAS_JOURNAL)) {
            return;
        }
        long ino = sb.journalInum;
        if (ino != 0 && sb.journalDev != 0) {
            throw CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(Superblock.OFFSET + 0xE0)
                    .build("ext4_load_journal: both a journal inode (" + ino + ") and a journal device (0x"
                            + Long.toHexString(sb.journalDev) + ")");
        }
        if (ino == 0 && sb.journalDev == 0) {
            // the kernel then looks for device 0:0 and fails ("failed to open journal device")
            throw CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(Superblock.OFFSET + 0xE0)
                    .build("ext4_load_journal: has_journal with neither s_journal_inum nor s_journal_dev");
        }
        if (ino > sb.inodesCount) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("ext4_get_journal_inode: s_journal_inum "
                    + ino + " is past s_inodes_count " + sb.inodesCount);
        }
    }

    /**
     * The rules the kernel applies to a read-write mount only (a read-only mount succeeds):
     * called before anything is written. See {@link Superblock#checkWritable}.
     */
    public void checkWritable() throws IOException {
        sb.checkWritable();
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

    /**
     * {@code ext4_check_descriptors} for one group: its block bitmap, inode bitmap and inode table
     * must not be the superblock's block, must not lie in the primary descriptor table, and must
     * lie inside their own group ({@code firstBlock} .. its last block), or anywhere in the file
     * system with flex_bg and in the last group. The kernel refuses the two overlaps only on a
     * read-write mount, but a read-only mount then fails in {@code ext4_setup_system_zone}, where
     * they overlap group 0's superblock and descriptors: the outcome is the same refusal.
     */
    private void checkDescriptor(GroupDescriptor d, long db, long firstBlock) throws CorruptionException {
        boolean flex = sb.hasIncompat(org.ext4j.format.Features.INCOMPAT_FLEX_BG);
        long lastBlock = d.group() == sb.groupCount - 1 || flex ? sb.blocksCount - 1 : firstBlock + sb.blocksPerGroup - 1;
        long sbBlock = Superblock.OFFSET / blockSize; // the kernel's logical_sb_block
        long lastDescBlock = sbBlock + primaryDescriptorBlocks();
        long itableBlocks = sb.inodesPerGroup / (blockSize / sb.inodeSize); // s_itb_per_group
        long[] starts = {d.blockBitmap(), d.inodeBitmap(), d.inodeTable()};
        long[] lengths = {1, 1, itableBlocks};
        String[] names = {"block bitmap", "inode bitmap", "inode table"};
        int[] fields = {0x0, 0x4, 0x8};
        int off = (int) (d.group() % sb.descriptorsPerBlock) * sb.descriptorSize;
        for (int i = 0; i < 3; i++) {
            long start = starts[i];
            CorruptionException.Builder err = CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(db).offset(off + fields[i]);
            String what = "ext4_check_descriptors: group " + d.group() + " " + names[i] + " at block " + start;
            if (start == sbBlock) {
                throw err.build(what + " overlaps the superblock");
            }
            if (start > sbBlock && start <= lastDescBlock) {
                throw err.build(what + " overlaps the group descriptors (blocks " + (sbBlock + 1) + ".." + lastDescBlock + ")");
            }
            if (start < firstBlock || start + lengths[i] - 1 > lastBlock || start + lengths[i] - 1 < start) {
                throw err.build(what + (lengths[i] > 1 ? " (" + lengths[i] + " blocks)" : "") + " is not in "
                        + (flex ? "the file system" : "its group") + " (blocks " + firstBlock + ".." + lastBlock + ")");
            }
        }
    }

    /** {@code ext4_bg_num_gdb(sb, 0)}: blocks of the descriptor table after group 0's superblock. */
    private long primaryDescriptorBlocks() {
        long tableBlocks = (sb.groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock;
        if (!sb.hasIncompat(org.ext4j.format.Features.INCOMPAT_META_BG)) {
            return tableBlocks;
        }
        return sb.firstMetaBg > 0 ? sb.firstMetaBg : 1;
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

    /** The names already looked up ({@link NameCache}). */
    public NameCache names() {
        return names;
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
        byte[] raw = buffer(pblk, ino).copy(inBlock, sb.inodeSize);
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
