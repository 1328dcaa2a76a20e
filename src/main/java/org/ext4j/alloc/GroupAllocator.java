package org.ext4j.alloc;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntUnaryOperator;

import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * The allocation state of an open file system: one lock and one in-memory record per block group
 * (the kernel's {@code ext4_group_info} and {@code ext4_lock_group}), the bitmap loading that both
 * allocators share ({@code ext4_read_block_bitmap}, {@code ext4_read_inode_bitmap} with lazy
 * initialisation of {@code BLOCK_UNINIT} / {@code INODE_UNINIT} groups and validation), and the
 * file-system-wide counters ({@code s_freeclusters_counter}, {@code s_freeinodes_counter},
 * {@code s_dirs_counter}), written to the superblock by {@link #syncCounters}.
 *
 * <p><b>Locking.</b> A group's lock guards its block bitmap, its inode bitmap, its descriptor (the
 * read-modify-write through {@link Volume#group} and {@link Volume#updateGroup}) and its
 * {@link GroupInfo}. Group locks are taken one at a time and never nested: an allocation that moves
 * on to the next group releases the previous one first. Under a group lock a thread may take buffer
 * locks ({@link MetaBuffer#lock()}: the bitmap's, then the descriptor block's inside
 * {@code updateGroup}, or an inode table block's), never the other way round. The counters are
 * atomics, updated after the group's change, so they may briefly lag the descriptors as the kernel's
 * per-CPU counters do. {@link #syncCounters} takes no group lock.
 *
 * <p>Group descriptor flags ({@code BLOCK_UNINIT}, {@code INODE_UNINIT}, {@code INODE_ZEROED}) and
 * {@code bg_itable_unused} are honoured only with {@code uninit_bg} or {@code metadata_csum}, as the
 * kernel's {@code ext4_has_group_desc_csum} decides; bitmap checksums exist only with metadata_csum.
 *
 * <p>A group whose bitmap fails validation (checksum, metadata bits not set, free count disagreeing
 * with its descriptor) is marked corrupt and skipped by allocation from then on, as the kernel's
 * {@code EXT4_GROUP_INFO_BBITMAP_CORRUPT}; {@link #corruptGroups()} lists them. Freeing into such a
 * group throws.
 */
public final class GroupAllocator {
    private final Volume volume;
    private final Superblock sb;
    private final GroupLayout layout;
    private final GroupInfo[] groups;
    private final boolean groupCsum;
    private final boolean metadataCsum;
    private final int flexSize;
    private final AtomicLong freeBlocks = new AtomicLong();
    private final AtomicLong freeInodes = new AtomicLong();
    /** Free blocks and inodes of corrupt groups, out of the counts above but still free on disk. */
    private final AtomicLong corruptFreeBlocks = new AtomicLong();
    private final AtomicLong corruptFreeInodes = new AtomicLong();
    private final AtomicLong directories = new AtomicLong();
    /**
     * The free blocks (as the descriptors counted them at open) of groups whose block bitmap has not
     * been checked yet: {@code freeBlocks - uncheckedFreeBlocks} is free space a bitmap has vouched for.
     */
    private final AtomicLong uncheckedFreeBlocks = new AtomicLong();
    /** Each group's free block count at open, taken out of {@link #uncheckedFreeBlocks} once checked. */
    private final long[] freeBlocksAtOpen;
    /** Where {@link #freeBlocksFor} goes on checking bitmaps. */
    private final java.util.concurrent.atomic.AtomicInteger nextToCheck = new java.util.concurrent.atomic.AtomicInteger();
    private final Map<Long, String> corrupt = new ConcurrentSkipListMap<>();
    private final BitmapBlockAllocator blocks;
    private final BitmapInodeAllocator inodes;

    /** In-memory state of one group; every field is guarded by {@link #lock} unless said otherwise. */
    static final class GroupInfo {
        final ReentrantLock lock = new ReentrantLock();
        /**
         * An upper bound on the longest free run in the group's block bitmap; exact after a full scan,
         * still an upper bound after allocations, unknown ({@code Integer.MAX_VALUE}) after a free.
         * Written under the lock, read without it as a hint for skipping groups.
         */
        volatile int longestFreeBound = Integer.MAX_VALUE;
        volatile boolean blockBitmapCorrupt;
        volatile boolean inodeBitmapCorrupt;
        /** Set once the block bitmap has been loaded and validated, or the group found corrupt. */
        volatile boolean blockBitmapChecked;
        /** The buffer last validated: a re-read buffer (evicted and loaded again) is validated again. */
        MetaBuffer verifiedBlockBitmap;
        MetaBuffer verifiedInodeBitmap;
        /**
         * Runs of bits ({@code [start, end)}) freed in a journal transaction not committed yet: free
         * in the bitmap, not handed out until the commit ({@code ext4_mb_free_metadata}'s busy
         * extents), so a crash never gives a file blocks that hold another file's new data.
         */
        final java.util.List<int[]> busy = new java.util.ArrayList<>();
    }

    /** A group's block bitmap ready for changes, with its free count (computed when just initialised). */
    record LoadedBitmap(MetaBuffer buffer, boolean initialisedNow, long free) {
    }

    private GroupAllocator(Volume volume, IntUnaryOperator randomBelow) throws CorruptionException {
        this.volume = volume;
        this.sb = volume.superblock();
        this.layout = new GroupLayout(sb, volume.systemZone());
        this.groups = new GroupInfo[(int) volume.groupCount()];
        this.groupCsum = sb.hasMetadataCsum() || sb.hasGdtCsum();
        this.metadataCsum = sb.hasMetadataCsum();
        int log = sb.hasIncompat(Features.INCOMPAT_FLEX_BG) ? sb.logGroupsPerFlex : 0;
        // ext4_fill_flex_info: a log outside 1..31 means no flex grouping (30 keeps the size an int)
        this.flexSize = log < 1 || log > 31 ? 1 : 1 << Math.min(log, 30);
        long fb = 0;
        long fi = 0;
        long nd = 0;
        this.freeBlocksAtOpen = new long[groups.length];
        for (int g = 0; g < groups.length; g++) {
            groups[g] = new GroupInfo();
            GroupDescriptor d = volume.group(g);
            freeBlocksAtOpen[g] = d.freeBlocksCount();
            if (groupCsum && d.itableUnused() > sb.inodesPerGroup) {
                // e2fsck's "invalid unused inodes count": it would skip the group's inodes as unused,
                // so a change to any of them (a new name in a directory there) would be lost to it
                throw CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).build("group " + g + "'s bg_itable_unused "
                        + d.itableUnused() + " exceeds the " + sb.inodesPerGroup + " inodes of a group; run e2fsck before writing");
            }
            // ext4_count_free_clusters / ext4_count_free_inodes / ext4_count_dirs: sums of the descriptors
            fb += d.freeBlocksCount();
            fi += d.freeInodesCount();
            nd += d.usedDirsCount();
        }
        freeBlocks.set(fb);
        uncheckedFreeBlocks.set(fb);
        freeInodes.set(fi);
        directories.set(nd);
        this.blocks = new BitmapBlockAllocator(this);
        this.inodes = new BitmapInodeAllocator(this, randomBelow);
    }

    /** The allocators of {@code volume}, with a random start for unnamed top-level directories. */
    public static GroupAllocator open(Volume volume) throws CorruptionException, UnsupportedFeatureException {
        return open(volume, n -> ThreadLocalRandom.current().nextInt(n));
    }

    /**
     * As {@link #open(Volume)}, with {@code randomBelow(n)} (a number in {@code [0, n)}) choosing where
     * the search for an unnamed top-level directory starts ({@code get_random_u32_below}).
     */
    public static GroupAllocator open(Volume volume, IntUnaryOperator randomBelow)
            throws CorruptionException, UnsupportedFeatureException {
        Superblock sb = volume.superblock();
        if (sb.hasRoCompat(Features.RO_COMPAT_BIGALLOC)) {
            throw new UnsupportedFeatureException("bigalloc", "allocation in clusters is not implemented");
        }
        return new GroupAllocator(volume, randomBelow);
    }

    public BlockAllocator blocks() {
        return blocks;
    }

    public InodeAllocator inodes() {
        return inodes;
    }

    public GroupLayout layout() {
        return layout;
    }

    public long freeBlocks() {
        return freeBlocks.get();
    }

    public long freeInodes() {
        return freeInodes.get();
    }

    /**
     * The free blocks a promise of {@code need} blocks may count on ({@code ext4_da_reserve_space}):
     * {@link #freeBlocks}, once the block bitmaps of enough groups have been checked against their
     * descriptors that checked groups alone hold {@code need} free blocks, or all are checked. The
     * kernel checks a bitmap only when it first allocates from the group, so a group whose bitmap
     * disagrees with its descriptor leaves the count after delayed allocation has promised its blocks,
     * and writeback fails for lack of space with the write already accepted. Checking before
     * promising takes such a group's blocks out first: the write itself is refused (ENOSPC) and the
     * image is left as it was. Each group is checked once, in group order, only as far as needed.
     */
    public long freeBlocksFor(long need) throws IOException {
        while (freeBlocks.get() - uncheckedFreeBlocks.get() < need) {
            int g = nextToCheck.getAndIncrement();
            if (g >= groups.length) {
                nextToCheck.set(groups.length);
                break;
            }
            GroupInfo gi = groups[g];
            if (gi.blockBitmapChecked) {
                continue;
            }
            gi.lock.lock();
            try {
                if (!gi.blockBitmapCorrupt) {
                    loadBlockBitmap(g);
                }
            } catch (CorruptionException e) {
                // recorded: the group is corrupt and out of the count
            } finally {
                checked(g);
                gi.lock.unlock();
            }
        }
        return freeBlocks.get();
    }

    /** Group {@code g}'s block bitmap has been checked: its free blocks no longer count as unchecked. */
    private void checked(long g) {
        GroupInfo gi = groups[(int) g];
        if (!gi.blockBitmapChecked) {
            gi.blockBitmapChecked = true;
            uncheckedFreeBlocks.addAndGet(-freeBlocksAtOpen[(int) g]);
        }
    }

    /** Directories in use ({@code s_dirs_counter}). */
    public long directories() {
        return directories.get();
    }

    /** Groups found corrupt and skipped since open, with the reason. */
    public Map<Long, String> corruptGroups() {
        return Map.copyOf(corrupt);
    }

    /**
     * Writes the free block and free inode counts into the superblock inside {@code h} (1 credit), as
     * {@code ext4_commit_super} refreshes {@code s_free_blocks_count} and {@code s_free_inodes_count}
     * from the counters. Called at commit and close; between those the superblock's counts are stale,
     * which e2fsck tolerates on a mounted file system and which this makes right on an unmounted one.
     */
    public void syncCounters(Handle h) throws IOException {
        // what the descriptors count: the free space of corrupt groups is out of allocation's reach,
        // not gone from the disk
        long fb = Math.max(0, freeBlocks.get() + corruptFreeBlocks.get());
        long fi = Math.max(0, freeInodes.get() + corruptFreeInodes.get());
        boolean is64 = sb.is64bit();
        volume.updateSuperblock(h, raw -> {
            Le.put32(raw, 0x0C, fb); // s_free_blocks_count_lo
            if (is64) {
                Le.put32(raw, 0x158, fb >>> 32); // s_free_blocks_count_hi
            }
            Le.put32(raw, 0x10, fi); // s_free_inodes_count
        });
    }

    // ---- shared machinery for the two allocators (callers hold the group's lock where stated) ----

    Volume volume() {
        return volume;
    }

    Superblock superblock() {
        return sb;
    }

    int groupCount() {
        return groups.length;
    }

    GroupInfo info(long g) {
        return groups[(int) g];
    }

    boolean groupCsum() {
        return groupCsum;
    }

    boolean metadataCsum() {
        return metadataCsum;
    }

    /** Groups per flex group ({@code ext4_flex_bg_size}), 1 without flex_bg. */
    int flexSize() {
        return flexSize;
    }

    AtomicLong freeBlocksCounter() {
        return freeBlocks;
    }

    AtomicLong freeInodesCounter() {
        return freeInodes;
    }

    AtomicLong directoriesCounter() {
        return directories;
    }

    boolean blockUninit(GroupDescriptor d) {
        return groupCsum && (d.flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0;
    }

    boolean inodeUninit(GroupDescriptor d) {
        return groupCsum && (d.flags() & GroupDescriptor.BG_INODE_UNINIT) != 0;
    }

    /**
     * Records group {@code g} as corrupt for block allocation (the lock holder calls this). Its free
     * blocks leave the free count, as {@code ext4_mark_group_bitmap_corrupted} takes them out of
     * {@code s_freeclusters_counter}: delayed allocation then runs out of space when it reserves, not
     * at writeback.
     */
    void markBlockBitmapCorrupt(long g, String why) {
        GroupInfo gi = groups[(int) g];
        if (!gi.blockBitmapCorrupt) {
            gi.blockBitmapCorrupt = true;
            long free = volume.group(g).freeBlocksCount();
            freeBlocks.addAndGet(-free);
            corruptFreeBlocks.addAndGet(free);
        }
        checked(g);
        corrupt.merge(g, why, (a, b) -> a + "; " + b);
    }

    /** As {@link #markBlockBitmapCorrupt}, for inode allocation and the free inode count. */
    void markInodeBitmapCorrupt(long g, String why) {
        GroupInfo gi = groups[(int) g];
        if (!gi.inodeBitmapCorrupt) {
            gi.inodeBitmapCorrupt = true;
            long free = volume.group(g).freeInodesCount();
            freeInodes.addAndGet(-free);
            corruptFreeInodes.addAndGet(free);
        }
        corrupt.merge(g, why, (a, b) -> a + "; " + b);
    }

    /**
     * The block bitmap of group {@code g} (lock held): initialised in the buffer cache when the group
     * is BLOCK_UNINIT (not yet dirtied: the caller does that when it changes it), otherwise read and,
     * the first time this buffer is seen, validated. A failed validation marks the group corrupt and
     * throws.
     */
    LoadedBitmap loadBlockBitmap(long g) throws IOException {
        GroupDescriptor d = volume.group(g);
        int blocks = (int) sb.blocksInGroup(g);
        if (blockUninit(d)) {
            MetaBuffer b = volume.bufferCache().getZeroed(d.blockBitmap());
            int free;
            b.lock().lock();
            try {
                layout.initBlockBitmap(g, b.data());
                free = BitSearch.countZeros(b.data(), blocks);
            } finally {
                b.lock().unlock();
            }
            checked(g);
            return new LoadedBitmap(b, true, free);
        }
        GroupInfo gi = groups[(int) g];
        MetaBuffer b = volume.buffer(d.blockBitmap(), -1);
        if (gi.verifiedBlockBitmap != b) {
            validateBlockBitmap(g, d, b.snapshot(), blocks);
            gi.verifiedBlockBitmap = b;
        }
        checked(g);
        return new LoadedBitmap(b, false, d.freeBlocksCount());
    }

    /** {@code ext4_validate_block_bitmap} plus the free-count check of {@code ext4_mb_generate_buddy}. */
    private void validateBlockBitmap(long g, GroupDescriptor d, byte[] bits, int blocks) throws CorruptionException {
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(d.blockBitmap());
        if (metadataCsum) {
            long computed = Bitmaps.blockBitmapChecksum(sb, bits);
            if (computed != d.blockBitmapCsum()) {
                markBlockBitmapCorrupt(g, "block bitmap checksum");
                throw CorruptionException.of(Kind.CHECKSUM).block(d.blockBitmap())
                        .checksum("block bitmap of group " + g, d.blockBitmapCsum(), computed);
            }
        }
        long first = sb.groupFirstBlock(g);
        long[] unmarked = {-1};
        if (!BitSearch.allSet(bits, 0, (int) Math.min(layout.baseMetaBlocks(g), blocks))) {
            unmarked[0] = first;
        }
        layout.forEachZoneExtent(first, first + blocks, (s, e) -> {
            if (unmarked[0] < 0 && !BitSearch.allSet(bits, (int) (s - first), (int) (e - first))) {
                unmarked[0] = s + BitSearch.nextZero(bits, (int) (s - first), (int) (e - first)) - (s - first);
            }
        });
        if (unmarked[0] >= 0) {
            markBlockBitmapCorrupt(g, "metadata block " + unmarked[0] + " is free in the block bitmap");
            throw err.build("group " + g + ": metadata block " + unmarked[0] + " is marked free in the block bitmap");
        }
        int free = BitSearch.countZeros(bits, blocks);
        if (free != d.freeBlocksCount()) {
            markBlockBitmapCorrupt(g, "free block count " + d.freeBlocksCount() + " vs bitmap " + free);
            throw err.build("group " + g + ": descriptor counts " + d.freeBlocksCount() + " free blocks, bitmap " + free);
        }
    }

    /**
     * Writes a BLOCK_UNINIT group's freshly initialised bitmap and returns the descriptor with the flag
     * cleared, the free count after initialisation and the bitmap checksum (lock held). The caller
     * stores the descriptor. Mirrors the block-bitmap part of {@code ext4_new_inode} and
     * {@code ext4_mb_mark_diskspace_used}.
     */
    GroupDescriptor commitBlockBitmapInit(Handle h, long g, GroupDescriptor d, LoadedBitmap lb) throws IOException {
        h.getWriteAccess(lb.buffer());
        long csum = blockBitmapCsum(lb.buffer(), d);
        h.markDirty(lb.buffer());
        freeBlocks.addAndGet(lb.free() - d.freeBlocksCount());
        return d.withFlags(d.flags() & ~GroupDescriptor.BG_BLOCK_UNINIT).withFreeBlocks(lb.free())
                .withBitmapChecksums(csum, d.inodeBitmapCsum());
    }

    /** The checksum to store for a block bitmap: computed with metadata_csum, else left as it was. */
    long blockBitmapCsum(MetaBuffer b, GroupDescriptor d) {
        if (!metadataCsum) {
            return d.blockBitmapCsum();
        }
        b.lock().lock();
        try {
            return Bitmaps.blockBitmapChecksum(sb, b.data());
        } finally {
            b.lock().unlock();
        }
    }

    long inodeBitmapCsum(MetaBuffer b, GroupDescriptor d) {
        if (!metadataCsum) {
            return d.inodeBitmapCsum();
        }
        b.lock().lock();
        try {
            return Bitmaps.inodeBitmapChecksum(sb, b.data());
        } finally {
            b.lock().unlock();
        }
    }

    /**
     * The inode bitmap of group {@code g} (lock held): zeroed with its padding set when the group is
     * INODE_UNINIT, otherwise read and validated the first time this buffer is seen
     * ({@code ext4_read_inode_bitmap}, {@code ext4_validate_inode_bitmap}).
     */
    MetaBuffer loadInodeBitmap(long g) throws IOException {
        GroupDescriptor d = volume.group(g);
        int ipg = (int) sb.inodesPerGroup;
        if (inodeUninit(d)) {
            if (g == 0) {
                markInodeBitmapCorrupt(g, "group 0 is INODE_UNINIT");
                throw CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(d.inodeBitmap())
                        .build("group 0 has INODE_UNINIT set, but it holds the reserved inodes");
            }
            MetaBuffer b = volume.bufferCache().getZeroed(d.inodeBitmap());
            b.lock().lock();
            try {
                // ext4_mark_bitmap_end: bits past the last inode of the group read as in use
                BitSearch.setRange(b.data(), ipg, b.data().length * 8);
            } finally {
                b.lock().unlock();
            }
            return b;
        }
        GroupInfo gi = groups[(int) g];
        MetaBuffer b = volume.buffer(d.inodeBitmap(), -1);
        if (gi.verifiedInodeBitmap != b) {
            byte[] bits = b.snapshot();
            if (metadataCsum) {
                long computed = Bitmaps.inodeBitmapChecksum(sb, bits);
                if (computed != d.inodeBitmapCsum()) {
                    markInodeBitmapCorrupt(g, "inode bitmap checksum");
                    throw CorruptionException.of(Kind.CHECKSUM).block(d.inodeBitmap())
                            .checksum("inode bitmap of group " + g, d.inodeBitmapCsum(), computed);
                }
            }
            int free = BitSearch.countZeros(bits, ipg);
            if (free != d.freeInodesCount()) {
                markInodeBitmapCorrupt(g, "free inode count " + d.freeInodesCount() + " vs bitmap " + free);
                throw CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(d.inodeBitmap())
                        .build("group " + g + ": descriptor counts " + d.freeInodesCount() + " free inodes, bitmap " + free);
            }
            gi.verifiedInodeBitmap = b;
        }
        return b;
    }
}
