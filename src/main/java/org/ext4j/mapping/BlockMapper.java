package org.ext4j.mapping;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.extents.BlockMap;
import org.ext4j.extents.ExtentTreeWriter;
import org.ext4j.extents.IndirectMapWriter;
import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;
import org.ext4j.format.ExtentNode;
import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.txn.Handle;
import org.ext4j.txn.Journal;
import org.ext4j.volume.Volume;

/**
 * Block mapping of one inode: {@code ext4_map_blocks} and its delayed-allocation twin
 * {@code ext4_da_map_blocks} ({@code fs/ext4/inode.c}), over the extent status tree (the cache and
 * the source of the sequence counter) and the on-disk extent tree, or, for a block-mapped
 * (ext2/ext3, no EXTENTS flag) file, the indirect map ({@link IndirectMapWriter}, {@code fs/ext4/indirect.c}).
 *
 * <p><b>Block-mapped files</b> go through the same status tree and the same lookups, so everything
 * said here about sequence values holds for them too; only the on-disk side differs. A block map
 * has no unwritten state: writeback maps a DELAYED range as WRITTEN blocks straight away (the
 * kernel's {@code ext4_ind_map_blocks}; the data reaches the disk before the map, because the map's
 * buffers are written when the writeback operation completes), fallocate's unwritten allocation is
 * refused (EOPNOTSUPP, as the kernel refuses it), and punch and truncate free through
 * {@code ext4_ind_remove_space} / {@code ext4_ind_truncate}.
 *
 * <p><b>Every lookup hands out the sequence value it read under.</b> {@link #lookup} and both
 * lookups of {@link #daMap} (the first without the mapping lock, the second under it in write mode
 * just before inserting DELAYED) return the status tree's entry together with the counter value read
 * under the same lock; a delayed insert returns the value its own change produced. A site that
 * forgot would let a buffered write trust a mapping that writeback has since changed: the bug the
 * seed fixes.
 *
 * <p>Locks: the mapping lock ({@code i_data_sem}) guards the on-disk tree and ordering of status
 * tree changes with it; the status tree has its own short lock inside. Taken after the folio lock by
 * writeback, after the inode writer lock by writes; never held while waiting for either.
 */
public final class BlockMapper {
    private final Journal journal;
    private final BlockAllocator allocator;
    private final InodeState inode;
    private final ExtentStatusTree es;
    /** The extent tree of an extent-mapped file; null for a block-mapped one. */
    private final ExtentTreeWriter tree;
    /** The indirect map of a block-mapped file; null for an extent-mapped one. */
    private final IndirectMapWriter ind;
    private final Volume volume;
    private final Reservations reservations;
    private final ReentrantReadWriteLock mappingLock = new ReentrantReadWriteLock();

    public BlockMapper(Volume volume, Journal journal, BlockAllocator allocator, InodeState inode, ExtentStatusTree es,
            Reservations reservations) throws IOException {
        this.journal = journal;
        this.allocator = allocator;
        this.inode = inode;
        this.es = es;
        this.reservations = reservations;
        this.volume = volume;
        if (inode.extents()) {
            this.tree = new ExtentTreeWriter(volume, allocator, inode.number(), inode.iBlock(), inode.checksumSeed(),
                    inode.goalHint());
            this.ind = null;
        } else {
            this.tree = null;
            this.ind = new IndirectMapWriter(volume, allocator, inode.number(), inode.iBlock(), inode.goalHint());
        }
    }

    /** Whether the file is block-mapped (no EXTENTS flag): no unwritten blocks, no fallocate. */
    public boolean blockMapped() {
        return ind != null;
    }

    public ExtentStatusTree statusTree() {
        return es;
    }

    /** {@code ext4_map_blocks} without create: the status tree, else the extent tree (then cached). */
    public Lookup lookup(long lblk) throws IOException {
        Lookup l = es.lookup(lblk);
        if (l.found()) {
            return l;
        }
        // the tree writer keeps per-operation state, so even its lookups are serialised
        mappingLock.writeLock().lock();
        try {
            return lookupLocked(lblk);
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * With the mapping lock held: the status tree's answer, else the on-disk tree's, cached. Every
     * status change happens under the mapping lock too, so the counter read here, after the tree,
     * is the one the tree's answer is valid under, even if the shrinker drops the cached entry at once.
     */
    private Lookup lookupLocked(long lblk) throws IOException {
        Lookup l = es.lookup(lblk);
        if (l.found()) {
            return l;
        }
        BlockMap.Mapping m = tree != null ? tree.map(lblk, (1L << 32) - lblk) : ind.map(lblk, (1L << 32) - lblk);
        Status st = switch (m.state()) {
            case WRITTEN -> Status.WRITTEN;
            case UNWRITTEN -> Status.UNWRITTEN;
            case HOLE -> Status.HOLE;
        };
        long pblk = st == Status.HOLE ? ExtentStatusTree.NO_PBLK : m.physical();
        // the disk's answer holds only up to the next range the status tree knows: a hole on disk
        // may already hold DELAYED blocks further on, which exist only in the status tree
        long len = m.length();
        Lookup next = es.nextAfter(lblk);
        if (next.found() && next.entry().lblk() > lblk) {
            len = Math.min(len, next.entry().lblk() - lblk);
        }
        long seq = es.cache(lblk, len, pblk, st);
        return new Lookup(new Entry(lblk, len, pblk, st), seq);
    }

    /**
     * What {@link #daMap} answers: the entry with the counter value it was read or made under, and
     * whether this call inserted it (a new DELAYED range, {@code IOMAP_F_NEW}). A {@code seq} of
     * {@link #NO_SEQ} means none was handed out (only when a test switched that protection off).
     */
    public record DaMapping(Entry entry, long seq, boolean created) {
    }

    /** A sequence value never handed out. */
    public static final long NO_SEQ = -1;

    /**
     * {@code ext4_da_map_blocks}: for a buffered write. Lookup #1 without the mapping lock; on a hole,
     * the mapping lock in write mode, lookup #2, and then a reservation and a DELAYED entry. Each way
     * out returns the counter value it read or produced under the status tree's lock.
     */
    public DaMapping daMap(long lblk, long maxBlocks) throws IOException {
        Lookup first = lookup(lblk); // lookup #1
        Interleave.point(Interleave.DA_AFTER_LOOKUP1);
        if (first.entry().status() != Status.HOLE) {
            return new DaMapping(first.entry(), Protections.on(Protection.DA_LOOKUP1_SEQ) ? first.seq() : NO_SEQ, false);
        }
        DaMapping m;
        mappingLock.writeLock().lock();
        try {
            Lookup second = Protections.on(Protection.DA_LOOKUP2) ? lookupLocked(lblk) // lookup #2, under the mapping lock
                    : first;
            Entry e = second.entry();
            if (e.status() != Status.HOLE) {
                // filled meanwhile (DELAYED by another writer, UNWRITTEN by fallocate): as is, with
                // no second reservation
                m = new DaMapping(e, Protections.on(Protection.DA_LOOKUP2_SEQ) ? second.seq() : NO_SEQ, false);
            } else {
                long n = Math.min(e.lblk() + e.len() - lblk, maxBlocks);
                reservations.reserve(n);
                long seq = es.insertDelayed(lblk, n).seq();
                m = new DaMapping(new Entry(lblk, n, ExtentStatusTree.NO_PBLK, Status.DELAYED), seq, true);
            }
        } finally {
            mappingLock.writeLock().unlock();
        }
        Interleave.point(Interleave.DA_AFTER_LOOKUP2);
        return m;
    }

    /**
     * Gives back the reservation of the DELAYED blocks in {@code [lblk, lblk+len)}: a failed write
     * reserved them and no dirty folio backs them. Blocks that are no longer DELAYED (written back
     * meanwhile) are left alone. The counter moves, as for any removal.
     */
    public void punchDelalloc(long lblk, long len) {
        mappingLock.writeLock().lock();
        try {
            long cur = lblk;
            long end = lblk + len;
            while (cur < end) {
                Lookup l = es.lookup(cur);
                long runEnd = l.found() ? Math.min(end, l.entry().end() + 1) : cur + 1;
                if (l.found() && l.entry().status() == Status.DELAYED) {
                    long released = es.remove(cur, runEnd - cur).delayedBefore();
                    reservations.release(released);
                }
                cur = runEnd;
            }
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * Writeback's mapping ({@code ext4_iomap_map_blocks}): a DELAYED range gets blocks, in one run as
     * long as the allocator can give, inserted as an unwritten extent (converted at completion, so
     * a crash never exposes stale blocks); UNWRITTEN and WRITTEN ranges are returned as they are.
     */
    public Lookup mapForWriteback(long lblk, long maxBlocks) throws IOException {
        mappingLock.writeLock().lock();
        try {
            Lookup l = lookupLocked(lblk);
            Entry e = l.entry();
            if (e.status() == Status.WRITTEN || e.status() == Status.UNWRITTEN) {
                return l;
            }
            if (e.status() == Status.HOLE) {
                throw new IllegalStateException("writeback of block " + lblk + " of inode " + inode.number()
                        + ", which holds no data");
            }
            if (ind != null) {
                return allocateIndirect(lblk, Math.min(e.lblk() + e.len() - lblk, maxBlocks));
            }
            long want = Math.min(Math.min(e.lblk() + e.len() - lblk, maxBlocks), ExtentNode.UNWRITTEN_MAX_LEN);
            BlockAllocator.Run run = allocateUnwrittenRun(lblk, want);
            reservations.release(run.length());
            // every status change happens under the mapping lock, so this is the value the
            // allocation left behind
            return new Lookup(new Entry(lblk, run.length(), run.start(), Status.UNWRITTEN), es.seq());
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * With the mapping lock held, for a block-mapped file: maps {@code lblk} and as many of the
     * {@code want} DELAYED blocks after it as one leaf of the map holds ({@code ext4_ind_map_blocks}
     * with create), as WRITTEN on disk and in the status tree (the counter moves). The data blocks
     * give back their reservation; the indirect blocks the map needed count in i_blocks too.
     */
    private Lookup allocateIndirect(long lblk, long want) throws IOException {
        try {
            return allocateIndirectOnce(lblk, want);
        } catch (org.ext4j.alloc.NoSpaceException e) {
            if (!allocator.hasBlocksAwaitingCommit() || !journal.commitForSpace()) {
                throw e;
            }
            return allocateIndirectOnce(lblk, want);
        }
    }

    private Lookup allocateIndirectOnce(long lblk, long want) throws IOException {
        IndirectMapWriter.Allocation a;
        try (Handle h = journal.start(IndirectMapWriter.ALLOC_CREDITS + 1)) {
            a = ind.allocate(h, lblk, want);
            inode.addBlocks(a.length() + a.mapBlocks());
            inode.write(h, -1, 0);
        }
        reservations.release(a.length());
        es.insert(lblk, a.length(), a.pblk(), Status.WRITTEN);
        // every status change happens under the mapping lock, so this is the value the allocation left
        return new Lookup(new Entry(lblk, a.length(), a.pblk(), Status.WRITTEN), es.seq());
    }

    /** i_blocks in file system blocks: bounds the walk over a block map (a damaged map cannot loop it). */
    private long mapBlockLimit() {
        return inode.blocks512() / (volume.blockSize() / 512);
    }

    /**
     * Makes every check {@link #removeBlocks} of {@code [lblk, lblk+len)} will make before it frees
     * anything, changing nothing ({@link ExtentTreeWriter#checkRemovable}): truncate and punch call it
     * before their first change, zeroing of partial blocks included.
     */
    public void checkRemovable(long lblk, long len) throws IOException {
        if (len <= 0) {
            return;
        }
        mappingLock.writeLock().lock(); // the tree writer's state is the mapping lock's
        try {
            if (ind != null) {
                ind.checkRemovable(lblk, lblk + len, mapBlockLimit());
                return;
            }
            tree.checkRemovable(lblk, len);
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * Unmaps {@code [lblk, lblk+len)} ({@code ext4_punch_hole}'s extent removal): the status tree
     * forgets the range (counter moves), delayed blocks give back their reservations, the on-disk
     * tree frees the blocks in credit-bounded handles, and the range is cached as a hole.
     */
    public void removeBlocks(long lblk, long len) throws IOException {
        if (len <= 0) {
            return;
        }
        mappingLock.writeLock().lock();
        try {
            long delayed = es.remove(lblk, len).delayedBefore();
            if (delayed > 0) {
                reservations.release(delayed);
            }
            if (ind != null) {
                removeIndirect(lblk, len);
                es.insert(lblk, len, ExtentStatusTree.NO_PBLK, Status.HOLE);
                return;
            }
            long remaining = len;
            while (remaining > 0) {
                int credits = Math.max(tree.removeStepCredits(), 64);
                try (Handle h = journal.start(credits + 1)) {
                    ExtentTreeWriter.Change c = tree.removeRange(h, lblk, remaining, credits);
                    inode.addBlocks(c.blocksDelta());
                    inode.write(h, -1, 0);
                    if (c.remaining() >= remaining) {
                        throw new IllegalStateException("punch made no progress at block " + lblk);
                    }
                    remaining = c.remaining();
                }
            }
            es.insert(lblk, len, ExtentStatusTree.NO_PBLK, Status.HOLE);
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * With the mapping lock held, for a block-mapped file: the map forgets {@code [lblk, lblk+len)}
     * and the inode is written with i_blocks lower in one handle, then the blocks are freed
     * (a crash in between leaks them, never frees a mapped one).
     */
    private void removeIndirect(long lblk, long len) throws IOException {
        long[] freed;
        try (Handle h = journal.start(IndirectMapWriter.REMOVE_CREDITS + 1)) {
            freed = ind.remove(h, lblk, lblk + len, mapBlockLimit());
            inode.addBlocks(-freed.length);
            inode.write(h, -1, 0);
        }
        IndirectMapWriter.freeBlocks(volume, journal, allocator, freed);
    }

    /**
     * Allocates unwritten extents for the holes of {@code [lblk, lblk+len)} ({@code ext4_alloc_file_blocks}
     * with {@code EXT4_GET_BLOCKS_CREATE_UNWRIT_EXT}): blocks are reserved on disk and read as zeros
     * until written. Ranges already mapped are left alone; the caller has written back delayed data.
     */
    public void allocateUnwritten(long lblk, long len) throws IOException {
        if (ind != null) {
            // the caller refuses this first; never reached with a block map
            throw new org.ext4j.error.UnsupportedFeatureException("unwritten blocks",
                    "a block-mapped file (inode " + inode.number() + ") has no unwritten blocks (EOPNOTSUPP)");
        }
        mappingLock.writeLock().lock();
        try {
            long cur = lblk;
            long end = lblk + len;
            while (cur < end) {
                Entry e = lookupLocked(cur).entry();
                long runEnd = Math.min(end, e.lblk() + e.len());
                if (e.status() != Status.HOLE) {
                    if (e.status() == Status.DELAYED) {
                        throw new IllegalStateException("fallocate over delayed blocks at " + cur + ": write back first");
                    }
                    cur = runEnd;
                    continue;
                }
                long want = Math.min(runEnd - cur, ExtentNode.UNWRITTEN_MAX_LEN);
                if (allocator.freeBlocks() - reservations.reserved() - want < 0) {
                    throw new org.ext4j.alloc.NoSpaceException("no space left for " + want + " block(s)");
                }
                cur += allocateUnwrittenRun(cur, want).length();
            }
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /**
     * With the mapping lock held: allocates up to {@code want} blocks near the tree's goal for
     * {@code lblk}, inserts them as an unwritten extent on disk and in the status tree (the counter
     * moves), and accounts them in the inode. Shared by writeback of delayed ranges and fallocate.
     */
    private BlockAllocator.Run allocateUnwrittenRun(long lblk, long want) throws IOException {
        try {
            return allocateUnwrittenRunOnce(lblk, want);
        } catch (org.ext4j.alloc.NoSpaceException e) {
            if (!allocator.hasBlocksAwaitingCommit() || !journal.commitForSpace()) {
                throw e;
            }
            return allocateUnwrittenRunOnce(lblk, want); // ext4_should_retry_alloc: freed blocks are free after the commit
        }
    }

    private BlockAllocator.Run allocateUnwrittenRunOnce(long lblk, long want) throws IOException {
        BlockAllocator.Run run;
        try (Handle h = journal.start(tree.insertCredits() + tree.creditsForSingleExtent(want) + 1)) {
            run = allocator.allocate(h, tree.findGoal(lblk), 1, want);
            ExtentTreeWriter.Change c = tree.insert(h, lblk, (int) run.length(), run.start(), true);
            inode.addBlocks(run.length() + c.blocksDelta());
            inode.write(h, -1, 0);
        }
        es.insert(lblk, run.length(), run.start(), Status.UNWRITTEN);
        return run;
    }

    /**
     * Drops every block from {@code lblk} on ({@code ext4_truncate} / {@code ext4_ext_remove_space}):
     * the status tree forgets the range first (the counter moves, so a mapping handed out before is
     * stale), delayed blocks give back their reservations, and the on-disk tree frees its extents in
     * handles of bounded credits, restarting as the kernel does.
     */
    public void truncateBlocks(long lblk) throws IOException {
        removeBlocks(lblk, (1L << 32) - lblk);
    }

    /**
     * Writeback completion ({@code ext4_convert_unwritten_extents}): the blocks from {@code pblk} on
     * that were written for {@code [lblk, lblk+len)} now hold data. Where the range is still
     * unwritten at exactly those blocks, convert it on disk and in the status tree (the counter
     * moves: a writer still holding the UNWRITTEN mapping will see it stale). Parts punched,
     * truncated or mapped elsewhere meanwhile are left as they are: a late completion never brings
     * freed blocks back (docs/RACES.md R10). The on-disk size moves up to {@code newDiskSize} if larger.
     */
    public void writebackDone(long lblk, long len, long pblk, boolean unwritten, long newDiskSize) throws IOException {
        mappingLock.writeLock().lock();
        try {
            if (unwritten) {
                long cur = lblk;
                long end = lblk + len;
                while (cur < end) {
                    Entry e = lookupLocked(cur).entry();
                    long runEnd = Math.min(end, e.lblk() + e.len());
                    if (e.status() == Status.UNWRITTEN && e.pblkOf(cur) == pblk + (cur - lblk)) {
                        convertWritten(cur, runEnd - cur);
                    }
                    cur = runEnd;
                }
            }
            if (newDiskSize > inode.diskSize()) {
                try (Handle h = journal.start(1)) {
                    inode.setDiskSize(newDiskSize);
                    inode.write(h, -1, 0);
                }
            }
        } finally {
            mappingLock.writeLock().unlock();
        }
    }

    /** With the mapping lock held: {@code [lblk, lblk+len)} is unwritten; mark it written on disk and in the status tree. */
    private void convertWritten(long lblk, long len) throws IOException {
        try (Handle h = journal.start(tree.convertCredits(lblk, len) + 1)) {
            ExtentTreeWriter.Change c = tree.convertToWritten(h, lblk, len);
            inode.addBlocks(c.blocksDelta());
            inode.write(h, -1, 0);
        }
        es.convertUnwritten(lblk, len);
    }
}
