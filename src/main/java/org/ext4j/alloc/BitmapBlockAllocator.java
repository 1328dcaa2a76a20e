package org.ext4j.alloc;

import java.io.IOException;

import org.ext4j.alloc.GroupAllocator.GroupInfo;
import org.ext4j.alloc.GroupAllocator.LoadedBitmap;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Goal-directed block allocation on the group block bitmaps, in the spirit of
 * {@code fs/ext4/mballoc.c} without its buddy cache and preallocation: three passes, each cheaper to
 * satisfy than the last.
 *
 * <ol>
 * <li><b>At the goal</b> ({@code ext4_mb_find_by_goal}): if the goal block is free and the free run
 * starting there holds at least {@code minLen} blocks, take up to {@code maxLen} of it. Consecutive
 * allocations with the previous run's end as goal are therefore adjacent whenever the space is free,
 * also across a group boundary when the next group starts with a free block.</li>
 * <li><b>First full run</b>: from the goal onward through the goal's group, then the part of that
 * group before the goal, then the following groups, wrapping: the first free run of {@code maxLen}
 * ({@code ext4_mb_regular_allocator}'s goal-length criteria). Groups whose descriptor counts fewer
 * free blocks, or whose known longest run is shorter, are skipped without reading their bitmap.</li>
 * <li><b>Longest run</b>, when {@code minLen < maxLen}: in the same order, the first group holding a
 * run of at least {@code minLen} gives its longest run ({@code CR_ANY_FREE}).</li>
 * </ol>
 *
 * <p>A run never spans two groups. Each chosen run is checked against the system zone
 * ({@link GroupLayout#overlapsMetadata}) before it is marked: a bitmap that calls metadata free is
 * corrupt, and the group is skipped from then on. See {@link GroupAllocator} for the locking: every
 * look at and change of a group's bitmap and descriptor happens under that group's lock, taken one
 * group at a time.
 */
final class BitmapBlockAllocator implements BlockAllocator {
    private enum Mode { AT_GOAL, FIRST_FULL, LONGEST }

    private final GroupAllocator groups;
    private final Volume volume;
    private final Superblock sb;

    BitmapBlockAllocator(GroupAllocator groups) {
        this.groups = groups;
        this.volume = groups.volume();
        this.sb = groups.superblock();
    }

    @Override
    public long freeBlocks() {
        return groups.freeBlocks();
    }

    @Override
    public Run allocate(Handle h, long goal, long minLen, long maxLen) throws IOException {
        if (minLen < 1 || maxLen < minLen) {
            throw new IllegalArgumentException("bad run length bounds " + minLen + ".." + maxLen);
        }
        maxLen = Math.min(maxLen, sb.blocksPerGroup);
        if (minLen > maxLen) {
            throw new NoSpaceException("no run of " + minLen + " blocks: runs never span groups of "
                    + sb.blocksPerGroup + " blocks");
        }
        if (goal < sb.firstDataBlock || goal >= sb.blocksCount) {
            goal = sb.firstDataBlock; // as ext4_mb_initialize_context
        }
        int n = groups.groupCount();
        long goalGroup = (goal - sb.firstDataBlock) / sb.blocksPerGroup;
        int goalBit = (int) ((goal - sb.firstDataBlock) % sb.blocksPerGroup);

        Run r = inGroup(h, goalGroup, goalBit, minLen, maxLen, Mode.AT_GOAL);
        for (int i = 0; r == null && i < n; i++) {
            long g = (goalGroup + i) % n;
            if (worthScanning(g, maxLen)) {
                r = inGroup(h, g, i == 0 ? goalBit : 0, maxLen, maxLen, Mode.FIRST_FULL);
            }
        }
        for (int i = 0; r == null && minLen < maxLen && i < n; i++) {
            long g = (goalGroup + i) % n;
            if (worthScanning(g, minLen)) {
                r = inGroup(h, g, i == 0 ? goalBit : 0, minLen, maxLen, Mode.LONGEST);
            }
        }
        if (r == null) {
            throw new NoSpaceException("no free run of " + minLen + " block(s); " + groups.freeBlocks()
                    + " blocks free in all");
        }
        // clean_bdev_aliases: a cached buffer of a block freed earlier (a directory's, say) may
        // still wait to be written; written after the block's new contents, it would overwrite them
        volume.bufferCache().forget(r.start(), r.length());
        return r;
    }

    /** A hint read without the group lock: the scan under the lock decides. */
    private boolean worthScanning(long g, long len) {
        GroupInfo gi = groups.info(g);
        return !gi.blockBitmapCorrupt && gi.longestFreeBound >= len && volume.group(g).freeBlocksCount() >= len;
    }

    /** Searches group {@code g} from bit {@code from} per {@code mode} and takes the run found, or returns null. */
    private Run inGroup(Handle h, long g, int from, long minLen, long maxLen, Mode mode) throws IOException {
        GroupInfo gi = groups.info(g);
        gi.lock.lock(); // ext4_lock_group: bitmap, descriptor and GroupInfo of g; no other group lock is held
        try {
            GroupDescriptor d = volume.group(g);
            if (gi.blockBitmapCorrupt || d.freeBlocksCount() < minLen) {
                return null;
            }
            LoadedBitmap lb;
            try {
                lb = groups.loadBlockBitmap(g);
            } catch (CorruptionException e) {
                return null; // recorded in corruptGroups(); other groups may still serve
            }
            if (lb.free() < minLen) {
                return null;
            }
            byte[] bits = lb.buffer().data(); // stable: only the holder of g's lock changes it
            if (!gi.busy.isEmpty()) {
                bits = bits.clone(); // blocks freed in an uncommitted transaction count as used
                for (int[] run : gi.busy) {
                    BitSearch.setRange(bits, run[0], run[1]);
                }
            }
            int limit = (int) sb.blocksInGroup(g);
            if (from >= limit) {
                from = 0;
            }
            int start;
            int len;
            if (mode == Mode.AT_GOAL) {
                if (Bitmaps.test(bits, from)) {
                    return null;
                }
                start = from;
                len = BitSearch.nextOne(bits, from, (int) Math.min(limit, from + maxLen)) - from;
                if (len < minLen) {
                    return null;
                }
            } else {
                long found = scan(gi, bits, from, limit, minLen, maxLen, mode);
                if (found < 0) {
                    return null;
                }
                start = (int) (found >>> 32);
                len = (int) Math.min(found & 0xFFFFFFFFL, maxLen);
            }
            long first = sb.groupFirstBlock(g);
            if (groups.layout().overlapsMetadata(first + start, len)) {
                // ext4_mb_mark_diskspace_used: "Allocating blocks ... which overlap fs metadata"
                groups.markBlockBitmapCorrupt(g, "block bitmap marks metadata in " + (first + start) + "+" + len + " free");
                return null;
            }
            take(h, g, d, lb, start, len);
            return new Run(first + start, len);
        } finally {
            gi.lock.unlock();
        }
    }

    /**
     * Walks the free runs of the group from {@code from} to its end, then from its start up to
     * {@code from}; returns {@code start << 32 | length} of the run chosen per {@code mode}, or -1.
     * A walk that saw every run records the exact longest run in the group's bound.
     */
    private static long scan(GroupInfo gi, byte[] bits, int from, int limit, long minLen, long maxLen, Mode mode) {
        int bestStart = -1;
        int bestLen = 0;
        int longest = 0;
        int[][] segments = from == 0 ? new int[][] {{0, limit}} : new int[][] {{from, limit}, {0, from}};
        for (int[] seg : segments) {
            int pos = seg[0];
            while (pos < seg[1]) {
                int s = BitSearch.nextZero(bits, pos, seg[1]);
                if (s >= seg[1]) {
                    break;
                }
                int e = BitSearch.nextOne(bits, s, limit); // a run may continue past the segment's end
                int len = e - s;
                longest = Math.max(longest, len);
                if (len >= maxLen && (mode == Mode.FIRST_FULL || mode == Mode.LONGEST)) {
                    return (long) s << 32 | len; // nothing can beat it; the scan stays partial
                }
                if (mode == Mode.LONGEST && len >= minLen && len > bestLen) {
                    bestStart = s;
                    bestLen = len;
                }
                pos = e;
            }
        }
        gi.longestFreeBound = longest;
        return bestStart < 0 ? -1 : (long) bestStart << 32 | bestLen;
    }

    /** Marks bits {@code [start, start+len)} of group {@code g} used, with descriptor and counters (lock held). */
    private void take(Handle h, long g, GroupDescriptor d, LoadedBitmap lb, int start, int len) throws IOException {
        MetaBuffer b = lb.buffer();
        h.getWriteAccess(b);
        long csum;
        b.lock().lock();
        try {
            BitSearch.setRange(b.data(), start, start + len);
            csum = groups.metadataCsum() ? Bitmaps.blockBitmapChecksum(sb, b.data()) : d.blockBitmapCsum();
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
        int flags = d.flags();
        if (lb.initialisedNow()) {
            flags &= ~GroupDescriptor.BG_BLOCK_UNINIT; // and the free count is the initialised bitmap's
        }
        GroupDescriptor nd = d.withFlags(flags).withFreeBlocks(lb.free() - len).withBitmapChecksums(csum, d.inodeBitmapCsum());
        volume.updateGroup(h, nd);
        groups.freeBlocksCounter().addAndGet(lb.free() - d.freeBlocksCount() - len);
    }

    /** Blocks in the groups' busy runs (freed, waiting for their transaction's commit). */
    private final java.util.concurrent.atomic.AtomicLong awaitingCommit = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public boolean hasBlocksAwaitingCommit() {
        return awaitingCommit.get() > 0;
    }

    @Override
    public void free(Handle h, long start, long length) throws IOException {
        // like ext4_free_blocks, one group at a time; a failure in a later group leaves earlier ones
        // freed, which is why callers check the whole range first (checkFree)
        forEachGroup(start, length, (g, block, count) -> freeInGroup(h, g, block, count));
    }

    @Override
    public void checkFree(long start, long length) throws IOException {
        forEachGroup(start, length, (g, block, count) -> {
            GroupInfo gi = groups.info(g);
            gi.lock.lock();
            try {
                checkInUse(g, block, count);
            } finally {
                gi.lock.unlock();
            }
        });
    }

    /** Receives the piece of a range inside one group. */
    private interface GroupPiece {
        void accept(long g, long block, long count) throws IOException;
    }

    /** Checks that {@code [start, start+length)} may be freed at all and hands it out group by group. */
    private void forEachGroup(long start, long length, GroupPiece piece) throws IOException {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        if (length == 0) {
            return;
        }
        volume.checkRange(start, length, -1);
        if (groups.layout().overlapsMetadata(start, length)) {
            // ext4_free_blocks: "Freeing blocks in system zone"
            throw CorruptionException.of(Kind.BLOCK_OUT_OF_RANGE).block(start)
                    .build(length + " block(s) from " + start + " overlap file system metadata");
        }
        long end = start + length;
        long pos = start;
        while (pos < end) {
            long g = (pos - sb.firstDataBlock) / sb.blocksPerGroup;
            long groupEnd = sb.groupFirstBlock(g) + sb.blocksInGroup(g);
            long pieceEnd = Math.min(end, groupEnd);
            piece.accept(g, pos, pieceEnd - pos);
            pos = pieceEnd;
        }
    }

    /**
     * With group {@code g}'s lock held: its block bitmap is valid and has every block of
     * {@code [block, block+count)} in use ({@code ext4_mb_clear_bb}'s checks), or corruption is
     * reported. Returns the loaded bitmap.
     */
    private LoadedBitmap checkInUse(long g, long block, long count) throws IOException {
        GroupInfo gi = groups.info(g);
        GroupDescriptor d = volume.group(g);
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(block);
        if (gi.blockBitmapCorrupt) {
            throw err.build("freeing blocks in group " + g + ", whose block bitmap is corrupt");
        }
        if (groups.blockUninit(d)) {
            throw err.build("freeing block " + block + " in group " + g + ", which is BLOCK_UNINIT (all free)");
        }
        LoadedBitmap lb = groups.loadBlockBitmap(g);
        long first = sb.groupFirstBlock(g);
        int s = (int) (block - first);
        int e = (int) (s + count);
        int free = BitSearch.nextZero(lb.buffer().data(), s, e);
        if (free < e) {
            throw CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(first + free)
                    .build("freeing block " + (first + free) + ", which the block bitmap of group " + g + " already has free");
        }
        return lb;
    }

    private void freeInGroup(Handle h, long g, long block, long count) throws IOException {
        GroupInfo gi = groups.info(g);
        gi.lock.lock(); // ext4_lock_group for the bitmap and descriptor of g only
        try {
            GroupDescriptor d = volume.group(g);
            MetaBuffer b = checkInUse(g, block, count).buffer();
            long first = sb.groupFirstBlock(g);
            int s = (int) (block - first);
            int e = (int) (s + count);
            h.getWriteAccess(b);
            long csum;
            b.lock().lock();
            try {
                BitSearch.clearRange(b.data(), s, e);
                csum = groups.metadataCsum() ? Bitmaps.blockBitmapChecksum(sb, b.data()) : d.blockBitmapCsum();
            } finally {
                b.lock().unlock();
            }
            h.markDirty(b);
            volume.updateGroup(h, d.withFreeBlocks(d.freeBlocksCount() + count).withBitmapChecksums(csum, d.inodeBitmapCsum()));
            groups.freeBlocksCounter().addAndGet(count);
            h.blocksFreed(block, count);
            int[] run = {s, e};
            gi.busy.add(run);
            awaitingCommit.addAndGet(count);
            h.afterCommit(() -> {
                gi.lock.lock();
                try {
                    gi.busy.remove(run);
                    awaitingCommit.addAndGet(-count);
                    gi.longestFreeBound = Integer.MAX_VALUE; // runs may have merged: unknown until the next full scan
                } finally {
                    gi.lock.unlock();
                }
            });
        } finally {
            gi.lock.unlock();
        }
    }
}
