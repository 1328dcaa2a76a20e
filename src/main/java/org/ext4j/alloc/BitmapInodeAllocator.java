package org.ext4j.alloc;

import java.io.IOException;
import java.util.function.IntUnaryOperator;

import org.ext4j.alloc.GroupAllocator.GroupInfo;
import org.ext4j.alloc.GroupAllocator.LoadedBitmap;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.DxHash;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Inode allocation on the group inode bitmaps, following {@code fs/ext4/ialloc.c}:
 *
 * <ul>
 * <li>Directories: Orlov's allocator ({@code find_group_orlov}). A top-level directory (child of the
 * root, or of a directory flagged TOPDIR) goes to the group, or flex group, with the fewest
 * directories among those with at least average free inodes and free blocks, searching from a start
 * given by the name's half-MD4 hash (random without a name), so unrelated trees spread over the
 * disk. Other directories stay near the parent (its last allocation group first) unless its group is
 * crowded with directories or short of inodes or blocks. Everything else failing, the first group
 * from the parent's with at least average free inodes, then any free inode.</li>
 * <li>Other inodes: {@code find_group_other}: the parent's flex group, first group with a free inode;
 * without flex_bg the parent's group if it has free inodes and blocks, then a quadratic hash from the
 * parent, then a linear scan.</li>
 * <li>Within the chosen group, then the following ones, the lowest free inode
 * ({@code ext4_new_inode}); in group 0 never one below {@code s_first_ino}: a clear bit there means a
 * corrupt bitmap, and the group is skipped ("reserved inode found cleared").</li>
 * </ul>
 *
 * <p>On first use of an {@code INODE_UNINIT} group the bitmap starts all clear and the flag is
 * dropped; a {@code BLOCK_UNINIT} group's block bitmap is initialised at the same time, as the kernel
 * does. An inode beyond the group's {@code bg_itable_unused} high-water mark lowers it; in a table not
 * flagged {@code INODE_ZEROED} the slots newly below the mark are zeroed, since e2fsck reads every
 * slot below it. The statistics Orlov reads (free and used counts) are exact here, where the kernel
 * reads per-CPU counters that may lag by a few.
 */
final class BitmapInodeAllocator implements InodeAllocator {
    private final GroupAllocator groups;
    private final Volume volume;
    private final Superblock sb;
    private final IntUnaryOperator randomBelow;

    BitmapInodeAllocator(GroupAllocator groups, IntUnaryOperator randomBelow) {
        this.groups = groups;
        this.volume = groups.volume();
        this.sb = groups.superblock();
        this.randomBelow = randomBelow;
    }

    @Override
    public long freeInodes() {
        return groups.freeInodes();
    }

    @Override
    public Result allocate(Handle h, Request r) throws IOException {
        if (r.parent() < 1 || r.parent() > sb.inodesCount) {
            throw new IllegalArgumentException("parent inode " + r.parent() + " is not in 1.." + sb.inodesCount);
        }
        long group = r.directory() ? findGroupOrlov(r, r.name()) : findGroupOther(r);
        if (group < 0) {
            throw new NoSpaceException("no free inode (" + groups.freeInodes() + " free)");
        }
        int n = groups.groupCount();
        for (int i = 0; i < n; i++) {
            long g = (group + i) % n;
            long ino = tryGroup(h, g, r.directory());
            if (ino > 0) {
                return new Result(ino, group);
            }
        }
        throw new NoSpaceException("no free inode in any group (" + groups.freeInodes() + " counted free)");
    }

    private long parentGroup(Request r) {
        return (r.parent() - 1) / sb.inodesPerGroup;
    }

    /** Free inodes, free blocks and directories of a group, or summed over a flex group. */
    private record Stats(long freeInodes, long freeBlocks, long usedDirs) {
    }

    private Stats stats(long g, int flexSize) {
        if (flexSize == 1) {
            GroupDescriptor d = volume.group(g);
            return new Stats(d.freeInodesCount(), d.freeBlocksCount(), d.usedDirsCount());
        }
        long fi = 0;
        long fb = 0;
        long ud = 0;
        long end = Math.min((g + 1) * flexSize, groups.groupCount());
        for (long i = g * flexSize; i < end; i++) {
            GroupDescriptor d = volume.group(i);
            fi += d.freeInodesCount();
            fb += d.freeBlocksCount();
            ud += d.usedDirsCount();
        }
        return new Stats(fi, fb, ud);
    }

    /** {@code find_group_orlov}; {@code name} null means no name (random start for top-level directories). */
    private long findGroupOrlov(Request r, byte[] name) {
        int flexSize = groups.flexSize();
        long realGroups = groups.groupCount();
        long ngroups = flexSize > 1 ? (realGroups + flexSize - 1) / flexSize : realGroups;
        long parentGroup = parentGroup(r) / flexSize;
        long ipg = sb.inodesPerGroup;
        long freei = Math.max(0, groups.freeInodes());
        long avefreei = freei / ngroups;
        long freec = Math.max(0, groups.freeBlocks());
        long avefreec = freec / ngroups;
        long ndirs = Math.max(0, groups.directories());

        boolean topLevel = r.directory() && (r.parent() == ROOT_INO || r.parentTopDir());
        if (topLevel) {
            long start = name != null
                    ? Integer.toUnsignedLong(DxHash.hash(name, 0, name.length, DxHash.HALF_MD4, sb.hashSeed).major()) % ngroups
                    : randomBelow.applyAsInt((int) Math.min(ngroups, Integer.MAX_VALUE));
            long bestNdir = ipg;
            long best = -1;
            for (long i = 0; i < ngroups; i++) {
                long g = (start + i) % ngroups;
                Stats s = stats(g, flexSize);
                if (s.freeInodes() == 0 || s.usedDirs() >= bestNdir || s.freeInodes() < avefreei
                        || s.freeBlocks() < avefreec) {
                    continue;
                }
                best = g;
                bestNdir = s.usedDirs();
            }
            if (best >= 0) {
                long g = firstWithFreeInodes(best, flexSize);
                if (g >= 0) {
                    return g;
                }
            }
            return orlovFallback(r, freei);
        }

        long maxDirs = ndirs / ngroups + ipg * flexSize / 16;
        long minInodes = avefreei - ipg * flexSize / 4;
        if (minInodes < 1) {
            minInodes = 1;
        }
        // clamped at 0 as current kernels do: older ones compared a negative int with a __u64 free
        // count and so rejected every group (theKernelPlacesTheSameEntriesOnTheSameInodes tells them apart)
        long minClusters = Math.max(0, avefreec - sb.blocksPerGroup * flexSize / 4);
        if (r.parentLastAllocGroup() >= 0 && r.parentLastAllocGroup() < realGroups) {
            parentGroup = r.parentLastAllocGroup() / flexSize;
        }
        for (long i = 0; i < ngroups; i++) {
            long g = (parentGroup + i) % ngroups;
            Stats s = stats(g, flexSize);
            if (s.usedDirs() >= maxDirs || s.freeInodes() < minInodes || s.freeBlocks() < minClusters) {
                continue;
            }
            long found = firstWithFreeInodes(g, flexSize);
            if (found >= 0) {
                return found;
            }
            return orlovFallback(r, freei);
        }
        return orlovFallback(r, freei);
    }

    /** {@code found_flex_bg}: the group itself, or the first group of the flex group with a free inode. */
    private long firstWithFreeInodes(long g, int flexSize) {
        if (flexSize == 1) {
            return g;
        }
        for (long i = g * flexSize; i < (g + 1) * flexSize && i < groups.groupCount(); i++) {
            if (volume.group(i).freeInodesCount() > 0) {
                return i;
            }
        }
        return -1;
    }

    /** The {@code fallback} of {@code find_group_orlov}, over real groups from the parent's group. */
    private long orlovFallback(Request r, long freei) {
        long n = groups.groupCount();
        long parentGroup = parentGroup(r);
        for (long avefreei = freei / n; ; avefreei = 0) {
            for (long i = 0; i < n; i++) {
                long g = (parentGroup + i) % n;
                long free = volume.group(g).freeInodesCount();
                if (free > 0 && free >= avefreei) {
                    return g;
                }
            }
            if (avefreei == 0) {
                return -1;
            }
        }
    }

    /** {@code find_group_other}. */
    private long findGroupOther(Request r) {
        int flexSize = groups.flexSize();
        long n = groups.groupCount();
        long parentGroup = parentGroup(r);
        if (flexSize > 1) {
            long[] tries = r.parentLastAllocGroup() >= 0 && r.parentLastAllocGroup() < n
                    ? new long[] {parentGroup, r.parentLastAllocGroup()} : new long[] {parentGroup};
            for (long t : tries) {
                long first = t & ~(long) (flexSize - 1);
                long last = Math.min(first + flexSize, n);
                for (long g = first; g < last; g++) {
                    if (volume.group(g).freeInodesCount() > 0) {
                        return g;
                    }
                }
            }
            // the parent's flex group is full: Orlov's non-top-level search picks another one
            return findGroupOrlov(new Request(r.parent(), false, false, r.parentLastAllocGroup(), null), null);
        }
        GroupDescriptor d = volume.group(parentGroup);
        if (d.freeInodesCount() > 0 && d.freeBlocksCount() > 0) {
            return parentGroup;
        }
        // files of one directory together, but directories sharing a group apart: hash in the parent's number
        long g = (parentGroup + r.parent()) % n;
        for (long i = 1; i < n; i <<= 1) {
            g += i;
            if (g >= n) {
                g -= n;
            }
            d = volume.group(g);
            if (d.freeInodesCount() > 0 && d.freeBlocksCount() > 0) {
                return g;
            }
        }
        g = parentGroup;
        for (long i = 0; i < n; i++) {
            if (++g >= n) {
                g = 0;
            }
            if (volume.group(g).freeInodesCount() > 0) {
                return g;
            }
        }
        return -1;
    }

    /** Takes the lowest free inode of group {@code g}, or returns -1 (the loop body of {@code ext4_new_inode}). */
    private long tryGroup(Handle h, long g, boolean directory) throws IOException {
        GroupInfo gi = groups.info(g);
        gi.lock.lock(); // ext4_lock_group: inode bitmap, block bitmap and descriptor of g; no other group lock held
        try {
            GroupDescriptor d = volume.group(g);
            if (d.freeInodesCount() == 0 || gi.inodeBitmapCorrupt) {
                return -1;
            }
            MetaBuffer ib;
            try {
                ib = groups.loadInodeBitmap(g);
            } catch (CorruptionException e) {
                return -1; // recorded in corruptGroups()
            }
            int ipg = (int) sb.inodesPerGroup;
            int bit = BitSearch.nextZero(ib.data(), 0, ipg);
            if (bit >= ipg) {
                return -1;
            }
            if (g == 0 && bit + 1 < sb.firstIno) {
                groups.markInodeBitmapCorrupt(g, "reserved inode " + (bit + 1) + " found free");
                return -1;
            }
            LoadedBitmap bb = null;
            if (groups.blockUninit(d)) {
                try {
                    bb = groups.loadBlockBitmap(g);
                } catch (CorruptionException e) {
                    return -1;
                }
            }
            long ino = g * sb.inodesPerGroup + bit + 1;

            int flags = d.flags();
            long itableUnused = d.itableUnused();
            boolean zeroSlot = false;
            if (groups.groupCsum()) {
                long used = groups.inodeUninit(d) ? 0 : sb.inodesPerGroup - d.itableUnused();
                if (bit > used) {
                    // the lowest free inode lies past the first never-used slot: an inode above the
                    // high-water mark is marked in use, which no consistent group has
                    groups.markInodeBitmapCorrupt(g, "inodes in use above bg_itable_unused (" + used + " used slots)");
                    return -1;
                }
                flags &= ~GroupDescriptor.BG_INODE_UNINIT;
                if (bit == used) {
                    itableUnused = sb.inodesPerGroup - (bit + 1);
                    // the slot comes below the high-water mark, where e2fsck reads it: it must not hold garbage
                    zeroSlot = (d.flags() & GroupDescriptor.BG_INODE_ZEROED) == 0;
                }
            }
            if (zeroSlot) {
                volume.writeInode(h, ino, new byte[sb.inodeSize]);
            }

            h.getWriteAccess(ib);
            long icsum;
            ib.lock().lock();
            try {
                Bitmaps.set(ib.data(), bit);
                icsum = groups.metadataCsum() ? Bitmaps.inodeBitmapChecksum(sb, ib.data()) : d.inodeBitmapCsum();
            } finally {
                ib.lock().unlock();
            }
            h.markDirty(ib);

            GroupDescriptor nd = d;
            if (bb != null) {
                nd = groups.commitBlockBitmapInit(h, g, nd, bb);
                flags &= ~GroupDescriptor.BG_BLOCK_UNINIT;
            }
            nd = nd.withFlags(flags).withItableUnused(itableUnused).withFreeInodes(d.freeInodesCount() - 1)
                    .withUsedDirs(d.usedDirsCount() + (directory ? 1 : 0)).withBitmapChecksums(nd.blockBitmapCsum(), icsum);
            volume.updateGroup(h, nd);
            groups.freeInodesCounter().decrementAndGet();
            if (directory) {
                groups.directoriesCounter().incrementAndGet();
            }
            return ino;
        } finally {
            gi.lock.unlock();
        }
    }

    @Override
    public void free(Handle h, long ino, boolean directory) throws IOException {
        long g = (ino - 1) / sb.inodesPerGroup;
        int bit = (int) ((ino - 1) % sb.inodesPerGroup);
        GroupInfo gi = g >= 0 && g < groups.groupCount() ? groups.info(g) : null;
        if (gi == null) {
            checkInUse(ino, directory); // throws: reserved or nonexistent
            return;
        }
        gi.lock.lock(); // ext4_lock_group for g only
        try {
            GroupDescriptor d = volume.group(g);
            MetaBuffer ib = checkInUse(ino, directory);
            h.getWriteAccess(ib);
            long icsum;
            ib.lock().lock();
            try {
                Bitmaps.clear(ib.data(), bit);
                icsum = groups.metadataCsum() ? Bitmaps.inodeBitmapChecksum(sb, ib.data()) : d.inodeBitmapCsum();
            } finally {
                ib.lock().unlock();
            }
            h.markDirty(ib);
            volume.updateGroup(h, d.withFreeInodes(d.freeInodesCount() + 1)
                    .withUsedDirs(d.usedDirsCount() - (directory ? 1 : 0))
                    .withBitmapChecksums(d.blockBitmapCsum(), icsum));
            groups.freeInodesCounter().incrementAndGet();
            if (directory) {
                groups.directoriesCounter().decrementAndGet();
            }
        } finally {
            gi.lock.unlock();
        }
    }

    @Override
    public void checkFree(long ino, boolean directory) throws IOException {
        long g = (ino - 1) / sb.inodesPerGroup;
        if (g < 0 || g >= groups.groupCount()) {
            checkInUse(ino, directory); // throws: reserved or nonexistent
            return;
        }
        GroupInfo gi = groups.info(g);
        gi.lock.lock();
        try {
            checkInUse(ino, directory);
        } finally {
            gi.lock.unlock();
        }
    }

    /**
     * With the inode's group lock held (when it has a group): the checks of {@code ext4_free_inode}
     * (a reserved or nonexistent inode, a corrupt or uninitialised bitmap, a bit already clear, a
     * directory in a group counting none). Returns the loaded inode bitmap.
     */
    private MetaBuffer checkInUse(long ino, boolean directory) throws IOException {
        if (ino < sb.firstIno || ino > sb.inodesCount) {
            // ext4_free_inode: "reserved or nonexistent inode"
            throw CorruptionException.of(Kind.BAD_INODE_NUMBER).inode(ino)
                    .build("freeing inode " + ino + ", which is reserved or past " + sb.inodesCount);
        }
        long g = (ino - 1) / sb.inodesPerGroup;
        int bit = (int) ((ino - 1) % sb.inodesPerGroup);
        GroupInfo gi = groups.info(g);
        GroupDescriptor d = volume.group(g);
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).inode(ino).block(d.inodeBitmap());
        if (gi.inodeBitmapCorrupt) {
            throw err.build("freeing an inode of group " + g + ", whose inode bitmap is corrupt");
        }
        if (groups.inodeUninit(d)) {
            throw err.build("freeing inode " + ino + " of group " + g + ", which is INODE_UNINIT (all free)");
        }
        MetaBuffer ib = groups.loadInodeBitmap(g);
        if (!Bitmaps.test(ib.data(), bit)) {
            throw err.build("freeing inode " + ino + ", which the inode bitmap already has free");
        }
        if (directory && d.usedDirsCount() == 0) {
            throw err.build("freeing directory inode " + ino + ", but group " + g + " counts no directories");
        }
        return ib;
    }
}
