package org.ext4j.fs;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.alloc.GroupAllocator;
import org.ext4j.blockdev.BlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.FileSystemErrorException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.extentstatus.ExtentStatusShrinker;
import org.ext4j.format.Features;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.journal.JbdJournal;
import org.ext4j.mapping.InodeState;
import org.ext4j.mapping.Reservations;
import org.ext4j.pagecache.PageCacheLimits;
import org.ext4j.txn.Handle;
import org.ext4j.txn.Journal;
import org.ext4j.txn.NoJournal;
import org.ext4j.volume.Volume;

/**
 * The read-write half of a mounted file system ({@code ext4_fill_super}'s RW checks,
 * {@code ext4_setup_super}, {@code ext4_put_super}, {@code ext4_handle_error}): features checked for
 * writing, the file system marked in use while changed, allocators, reservations, page cache limits
 * and the status trees' shrinker shared by all open files, and an orderly close that writes
 * everything back and marks the file system clean.
 *
 * <p><b>Nothing is written until something changes.</b> Opening writes no byte: the superblock is
 * marked in use (not clean, mount count and mount time) just before the first handle starts, and a
 * session that never changed anything closes without writing. So an open or an operation that is
 * refused leaves the image exactly as it was.
 *
 * <p><b>Errors after a change</b> ({@link #change}): every operation that changes the image runs
 * inside {@code change}, one journal operation ({@link Journal#beginOperation}), which the journal
 * can take back alone; completed operations are written out together, every few thousand buffers
 * or seconds, at sync and at close. Operations read and verify what they will modify before
 * their first change, so damage normally refuses them with the image untouched. Damage found only
 * after the operation has changed something makes the session fail ({@link #fail}): the journal is
 * aborted, throwing away the half-done operation, the error is recorded in the superblock as the
 * kernel's {@code __ext4_error} does (EXT4_ERROR_FS, the error count, first and last error with time,
 * function, inode and block), and every later write is refused with
 * {@link FileSystemErrorException}: the kernel's {@code errors=remount-ro}. The image then holds what
 * the last completed operation left, plus the error record that tells e2fsck to check it.
 */
final class WriteSession {
    /** Incompatible features the write path handles. */
    static final long INCOMPAT_WRITABLE = Features.INCOMPAT_FILETYPE | Features.INCOMPAT_EXTENTS
            | Features.INCOMPAT_64BIT | Features.INCOMPAT_FLEX_BG | Features.INCOMPAT_CSUM_SEED
            | Features.INCOMPAT_LARGEDIR | Features.INCOMPAT_INLINE_DATA | Features.INCOMPAT_EA_INODE;
    /** Read-only-compatible features the write path keeps right. */
    static final long RO_COMPAT_WRITABLE = Features.RO_COMPAT_SPARSE_SUPER | Features.RO_COMPAT_LARGE_FILE
            | Features.RO_COMPAT_HUGE_FILE | Features.RO_COMPAT_GDT_CSUM | Features.RO_COMPAT_DIR_NLINK
            | Features.RO_COMPAT_EXTRA_ISIZE | Features.RO_COMPAT_METADATA_CSUM | Features.RO_COMPAT_ORPHAN_PRESENT;

    final Volume volume;
    final BlockDevice device;
    final Journal journal;
    final GroupAllocator allocator;
    final Reservations reservations;
    final PageCacheLimits limits;
    final ExtentStatusShrinker shrinker;
    final Map<Long, Ext4File> openFiles = new ConcurrentHashMap<>();
    /** Per-inode namespace locks (i_rwsem): see {@link InodeLocks} for the order. */
    final InodeLocks locks = new InodeLocks();
    /** {@code s_vfs_rename_mutex}: cross-directory renames, one at a time; outermost of the namespace locks. */
    final ReentrantLock renameLock = new ReentrantLock();
    /** Leaf locks of {@link #updateInode}: one inode's read-modify-write at a time (striped; nothing is taken inside). */
    private final Object[] updateLocks = new Object[64];

    {
        for (int i = 0; i < updateLocks.length; i++) {
            updateLocks[i] = new Object();
        }
    }
    /** Inodes that lost their last link and are not freed yet ({@link OrphanList}, which guards itself). */
    final OrphanList orphans;
    final int maxFolioBytes;
    /**
     * Regular files created in this session that may still become inline at their first write
     * (the kernel's {@code EXT4_STATE_MAY_INLINE_DATA}, which lives as long as the in-memory inode);
     * see {@link InlineFile}.
     */
    final java.util.Set<Long> mayInline = ConcurrentHashMap.newKeySet();
    /** Who owns what this session creates (the calling process, as {@code current_fsuid()}). */
    final Namei.Owner owner = Ext4FileSystem.processOwner();
    private final int originalState;
    /** How deep the calling thread is in {@link #change} calls. */
    private final ThreadLocal<int[]> changeDepth = ThreadLocal.withInitial(() -> new int[1]);
    /** Set once the superblock says "in use": from then on close must mark the file system clean again. */
    private volatile boolean inUse;
    private final Thread flusher;
    private final long flushIntervalMillis;
    private final long dirtyExpireMillis;
    private volatile boolean stopping;
    /** The flusher sleeps on this; never interrupted, because an interrupt closes the FileChannel. */
    private final Object wake = new Object();
    private volatile IOException flusherError;
    /** The session's time: the system clock, or {@link WriteOptions#fixedTime} for a reproducible session. */
    final java.time.Clock clock;
    /** Whether the session must not depend on randomness or thread timing ({@link WriteOptions#fixedTime} given). */
    final boolean deterministic;
    private static final java.security.SecureRandom GENERATIONS = new java.security.SecureRandom();

    private WriteSession(Volume volume, BlockDevice device, WriteOptions options) throws IOException {
        this.volume = volume;
        this.device = device;
        // an unnamed top-level directory's random start group: group 0 in a reproducible session
        this.allocator = options.fixedTime() != null ? GroupAllocator.open(volume, n -> 0) : GroupAllocator.open(volume);
        this.reservations = new Reservations(allocator::freeBlocksFor, Reservations.SESSION_MARGIN_BLOCKS);
        this.limits = new PageCacheLimits(options.pageCacheBytes(), options.dirtyBackgroundBytes(),
                options.dirtyLimitBytes());
        this.shrinker = new ExtentStatusShrinker(options.statusTreeEntries());
        this.orphans = OrphanList.load(this);
        this.maxFolioBytes = options.maxFolioBytes();
        this.originalState = volume.superblock().state;
        this.flushIntervalMillis = Math.max(1, options.flushIntervalMillis());
        this.dirtyExpireMillis = Math.max(0, options.dirtyExpireMillis());
        this.deterministic = options.fixedTime() != null;
        this.clock = deterministic ? java.time.Clock.fixed(options.fixedTime(), java.time.ZoneOffset.UTC)
                : java.time.Clock.systemUTC();
        this.journal = openJournal(volume, device, options);
        this.flusher = new Thread(this::flushLoop, "ext4j-flusher");
        this.flusher.setDaemon(true);
    }

    /**
     * The journal handles go through: jbd2 in the journal inode where the file system has one
     * (refused by name where the journal is on another device), else {@link NoJournal}.
     */
    private Journal openJournal(Volume volume, BlockDevice device, WriteOptions options) throws IOException {
        Superblock sb = volume.superblock();
        if (!sb.hasCompat(Features.COMPAT_HAS_JOURNAL)) {
            return new NoJournal(volume.bufferCache(), device, this::markInUse);
        }
        if (sb.journalInum == 0) {
            throw new UnsupportedFeatureException("external-journal",
                    "the journal is on another device (journal_dev); ext4j writes only journals in an inode (open read-only)");
        }
        org.ext4j.inode.Inode j = org.ext4j.inode.Inode.load(volume, sb.journalInum);
        return JbdJournal.open(volume.bufferCache(), device, j, sb.journalInum, sb.blocksCount,
                sb.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM), sb.is64bit(),
                new JbdJournal.Options(options.commitMillis(), !deterministic, clock), this::markInUse);
    }

    /**
     * The background flusher ({@code wb_workfn}): every interval, writes back files whose dirty data
     * is older than the age limit, and all files while dirty bytes are above the background
     * threshold. It takes no inode writer lock, so it runs against writers for real.
     */
    private void flushLoop() {
        long lastFull = System.nanoTime();
        while (!stopping) {
            synchronized (wake) {
                try {
                    if (!stopping) {
                        wake.wait(flushIntervalMillis);
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (stopping) {
                return;
            }
            boolean expired = (System.nanoTime() - lastFull) / 1_000_000 >= dirtyExpireMillis;
            if (!expired && !limits.backgroundFlushNeeded()) {
                continue;
            }
            for (Ext4File f : openFiles.values()) {
                if (stopping) {
                    return;
                }
                try {
                    if (f.hasDirtyData()) {
                        f.writeback();
                    }
                } catch (IOException e) {
                    flusherError = flusherError == null ? e : flusherError; // reported at fsync and close
                } catch (RuntimeException e) {
                    flusherError = flusherError == null ? new IOException("background writeback failed", e)
                            : flusherError;
                }
            }
            if (expired) {
                lastFull = System.nanoTime();
                try {
                    journal.writeOutIfIdle(dirtyExpireMillis); // metadata of operations done since
                } catch (IOException e) {
                    flusherError = flusherError == null ? e : flusherError;
                }
            }
        }
    }

    /** A failure of background writeback, reported once to the next fsync or close, as the kernel's errseq. */
    void checkFlusher() throws IOException {
        IOException e = flusherError;
        if (e != null) {
            flusherError = null;
            throw e;
        }
    }

    /** Refuses write access by name where ext4j cannot keep the file system right. */
    static void checkWritable(Superblock sb) throws UnsupportedFeatureException {
        checkWritable(sb, false);
    }

    /** {@link #checkWritable(Superblock)}, with {@code replaying} not counting needs_recovery (the open replays first). */
    static void checkWritable(Superblock sb, boolean replaying) throws UnsupportedFeatureException {
        long incompat = sb.featureIncompat & ~INCOMPAT_WRITABLE & ~(replaying ? Features.INCOMPAT_RECOVER : 0);
        if (incompat != 0) {
            if ((incompat & Features.INCOMPAT_RECOVER) != 0) {
                throw new UnsupportedFeatureException("needs_recovery",
                        "the journal needs recovery; writing would lose what it holds (open read-only)");
            }
            throw new UnsupportedFeatureException(String.join(",", Features.incompatNames(incompat)),
                    "ext4j cannot write file systems with this feature yet (open read-only)");
        }
        long ro = sb.featureRoCompat & ~RO_COMPAT_WRITABLE;
        if (ro != 0) {
            throw new UnsupportedFeatureException(String.join(",", Features.roCompatNames(ro)),
                    "ext4j cannot write file systems with this feature yet (open read-only)");
        }
        if (sb.hasRoCompat(Features.RO_COMPAT_ORPHAN_PRESENT) && !sb.hasCompat(Features.COMPAT_ORPHAN_FILE)) {
            throw new UnsupportedFeatureException("orphan_present",
                    "orphan_present is set without orphan_file (e2fsck's \"orphan_present set but orphan_file is not\"):"
                    + " run e2fsck before writing");
        }
        if ((sb.state & Superblock.STATE_ERROR) != 0) {
            throw new UnsupportedFeatureException("errors", "the file system has errors: run e2fsck before writing");
        }
        if ((sb.state & Superblock.STATE_VALID) == 0) {
            throw new UnsupportedFeatureException("not-clean",
                    "the file system was not cleanly unmounted: run e2fsck before writing");
        }
    }

    /**
     * Opens the write session and frees the orphans an earlier session or the kernel left
     * ({@link #cleanupOrphans}). Without orphans nothing is written yet: the file system is marked in
     * use just before the first change ({@link #markInUse}).
     */
    static WriteSession start(Volume volume, BlockDevice device, WriteOptions options) throws IOException {
        checkWritable(volume.superblock());
        WriteSession s = new WriteSession(volume, device, options);
        try {
            s.cleanupOrphans();
        } catch (IOException | RuntimeException e) {
            try {
                s.close(); // a cleanup that changed something and then failed left the error recorded
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        if (!s.deterministic) {
            s.flusher.start(); // a reproducible session writes back only at the writer's throttle, fsync and close
        }
        return s;
    }

    /**
     * {@code ext4_orphan_cleanup} at a read-write open: every orphan on the classic list and in the
     * orphan file is checked first (nothing written if one is damaged: the open is refused), then
     * processed in list order, then file order ({@link Unlinker#processOrphan}): an inode without
     * links is evicted, one with links truncated to its size. A read-only open never gets here.
     */
    private void cleanupOrphans() throws IOException {
        { // at open, before any other thread can use the file system: no lock needed
            List<org.ext4j.format.InodeRecord> found = orphans.collect();
            if (found.isEmpty()) {
                return;
            }
            Unlinker unlinker = new Unlinker(this, clock);
            for (org.ext4j.format.InodeRecord rec : found) {
                unlinker.checkOrphan(rec);
            }
            change("ext4_orphan_cleanup", () -> {
                for (org.ext4j.format.InodeRecord rec : found) {
                    unlinker.processOrphan(rec.number);
                }
                return null;
            });
        }
    }

    /**
     * Changes fields of inode {@code ino} in {@code h} that no open file manages (links, i_dtime,
     * and every attribute changed by name: mode, owner, times, xattrs): through the open file's
     * in-memory inode when there is one (it writes every byte of the inode back, so a change made
     * past it would be undone), else on the inode table directly, one read-modify-write of an
     * inode at a time. The caller holds the inode's lock ({@link InodeLocks}), under which files
     * are opened too, or (the orphan list's links) the orphan list's monitor.
     */
    void updateInode(Handle h, long ino, java.util.function.Consumer<org.ext4j.format.InodeWriter> change)
            throws IOException {
        synchronized (updateLocks[(int) (ino % updateLocks.length)]) {
            Ext4File f = openFiles.get(ino);
            if (f != null) {
                f.inodeState().update(h, change);
                return;
            }
            byte[] raw = volume.readInode(ino).raw();
            org.ext4j.format.InodeWriter w = new org.ext4j.format.InodeWriter(volume.superblock(), ino, raw);
            change.accept(w);
            w.setChecksum();
            volume.writeInode(h, ino, raw);
        }
    }

    /**
     * Runs before the journal's first handle ({@code ext4_setup_super} of a read-write mount): the
     * superblock loses its clean state, counts a mount and takes the mount time, and reaches the disk
     * before anything else the session changes.
     */
    private void markInUse() throws IOException {
        long now = clock.instant().getEpochSecond();
        if (journal instanceof JbdJournal) {
            // with a journal the state stays valid and needs_recovery says the log may hold
            // something: written at once, before the first log block (ext4_setup_super, ext4_commit_super)
            boolean orphanFile = orphans.hasFile();
            volume.writeSuperblockNow(raw -> {
                Le.put32(raw, 0x60, Le.u32(raw, 0x60) | Features.INCOMPAT_RECOVER);
                Le.put16(raw, 0x34, Le.u16(raw, 0x34) + 1);
                putTime(raw, 0x2C, 0x275, now);
                if (orphanFile) {
                    Le.put32(raw, 0x64, Le.u32(raw, 0x64) | Features.RO_COMPAT_ORPHAN_PRESENT);
                }
            });
            inUse = true;
            return;
        }
        try (Handle h = journal.start(1)) {
            volume.updateSuperblock(h, raw -> {
                Le.put16(raw, 0x3A, Le.u16(raw, 0x3A) & ~Superblock.STATE_VALID);
                Le.put16(raw, 0x34, Le.u16(raw, 0x34) + 1);
                putTime(raw, 0x2C, 0x275, now);
                if (orphans.hasFile()) { // ext4_setup_super: e2fsck looks in the orphan file while set
                    Le.put32(raw, 0x64, Le.u32(raw, 0x64) | Features.RO_COMPAT_ORPHAN_PRESENT);
                }
            });
        }
        journal.commit();
        inUse = true;
    }

    /**
     * {@code i_generation} of a new inode: random, as the kernel's {@code prandom_u32}; 0 in a
     * reproducible session, as mke2fs {@code -d} leaves it.
     */
    long newGeneration() {
        return deterministic ? 0 : GENERATIONS.nextInt() & 0xFFFFFFFFL;
    }

    /** An operation of the file system that may change the image. */
    interface Change<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code op}, an operation that may change the image, named after the kernel function it
     * mirrors ({@code "ext4_unlink"}): refused when an earlier error made the session read-only;
     * what it changed joins the next write-out when it completes ({@link Journal#endOperation}), and
     * an abort takes back only operations still running; and a failure after
     * {@code op} changed metadata fails the session
     * ({@link #fail}) before it propagates. A failure before any change propagates alone: the
     * operation was refused and the image is as it was. Running out of space is not a failure of the
     * file system: every operation leaves it consistent then (the kernel returns ENOSPC without
     * {@code ext4_error}).
     */
    <T> T change(String function, Change<T> op) throws IOException {
        checkNotFailed();
        int[] depth = changeDepth.get();
        if (depth[0] == 0) {
            journal.beginOperation(); // only the outermost: a nested one is part of it
        }
        long before = journal.changesByCurrentThread();
        depth[0]++;
        Throwable thrown = null;
        try {
            return op.run();
        } catch (org.ext4j.alloc.NoSpaceException e) {
            thrown = e;
            throw e; // not damage: operations leave the file system consistent when space runs out
        } catch (IOException | RuntimeException | Error e) {
            thrown = e;
            if (journal.changesByCurrentThread() != before) {
                fail(function, e);
            }
            throw e;
        } finally {
            if (--depth[0] == 0) {
                endOperation(function, thrown);
            }
        }
    }

    /**
     * The outermost operation ends (completed, refused, or taken back by a failure): its changes
     * join what the next write-out writes, which may be now. A write-out that fails fails the
     * session; an exception the operation threw already keeps going, with that failure attached.
     */
    private void endOperation(String function, Throwable thrown) throws IOException {
        try {
            journal.endOperation();
        } catch (IOException | RuntimeException e) {
            fail(function, e);
            if (thrown == null) {
                throw e;
            }
            thrown.addSuppressed(e);
        }
    }

    /** Refuses a write after an error made the session read-only. */
    void checkNotFailed() throws FileSystemErrorException {
        Throwable cause = journal.abortCause();
        if (cause != null) {
            throw new FileSystemErrorException(cause);
        }
    }

    /** Whether an error made the session read-only. */
    boolean failed() {
        return journal.abortCause() != null;
    }

    /**
     * Damage (or an I/O failure) met after an operation began changing the image
     * ({@code ext4_handle_error} with {@code errors=remount-ro}): the journal is aborted, so the
     * operation's changes never reach the disk; the error is recorded in the superblock on disk;
     * every later write is refused. Only the first failure is recorded.
     */
    void fail(String function, Throwable cause) {
        synchronized (this) {
            if (journal.abortCause() != null) {
                return;
            }
            journal.abort(cause);
            volume.names().clear(); // names the aborted operation added or removed are back as the disk has them
        }
        stopping = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        long ino = 0;
        long block = 0;
        int code = Superblock.ERR_UNKNOWN;
        if (cause instanceof CorruptionException c) {
            ino = Math.max(0, c.inode());
            block = Math.max(0, c.block());
            code = c.kind() == CorruptionException.Kind.CHECKSUM ? Superblock.ERR_EFSBADCRC : Superblock.ERR_EFSCORRUPTED;
        } else if (cause instanceof IOException) {
            code = Superblock.ERR_EIO;
        }
        long now = clock.instant().getEpochSecond();
        long errIno = ino;
        long errBlock = block;
        int errCode = code;
        long[] counts;
        try {
            // the free counts of what the disk holds now, as ext4_commit_super stores the counters
            counts = volume.freeCountsOnDisk();
        } catch (IOException | RuntimeException e) {
            counts = null; // the descriptors cannot be read: record the error, leave the counts
        }
        long[] free = counts;
        boolean is64 = volume.superblock().is64bit();
        try {
            volume.writeSuperblockNow(raw -> {
                Superblock.recordError(raw, now, errIno, errBlock, function, 0, errCode);
                if (free != null) {
                    Le.put32(raw, 0x0C, free[0]);
                    if (is64) {
                        Le.put32(raw, 0x158, free[0] >>> 32);
                    }
                    Le.put32(raw, 0x10, free[1]);
                }
            });
        } catch (IOException e) {
            cause.addSuppressed(e); // the device failed too: nothing more can be written
        }
    }

    private static void putTime(byte[] raw, int lo, int hi, long t) {
        Le.put32(raw, lo, t);
        raw[hi] = (byte) (t >>> 32);
    }

    /**
     * Called by {@link Ext4File#close()} once the file is written back (or, without links, its data
     * dropped) and has left {@link #openFiles}: an inode unlinked while it was open is freed now
     * ({@code iput} of the last reference reaching {@code ext4_evict_inode}).
     */
    /** Inode {@code ino} as it is now: an open file's in-memory bytes, else the inode table's. */
    org.ext4j.format.InodeRecord currentInode(long ino) throws IOException {
        Ext4File open = openFiles.get(ino);
        if (open == null) {
            return volume.readInode(ino);
        }
        return org.ext4j.format.InodeRecord.decode(volume.superblock(), ino, open.inodeState().rawCopy(), -1, -1);
    }

    /**
     * The last close of {@code f}: it leaves the open files, and an inode without links is evicted,
     * under the inode's lock, so an unlink either saw it open (and left the eviction to this) or
     * waits and sees it closed; never both evicting it.
     */
    void fileClosed(Ext4File f) throws IOException {
        try (InodeLocks.Held held = locks.exclusive(f.inode())) {
            openFiles.remove(f.inode(), f);
            change("ext4_evict_inode", () -> {
                new Unlinker(this, clock).released(f.inode());
                return null;
            });
        }
    }

    /**
     * Writes every open file back, syncs counters and marks the file system clean; writes nothing
     * when nothing was changed. After an error ({@link #fail}) nothing more is written: open files
     * are dropped with their unwritten data, the superblock keeps the error, and close throws
     * {@link FileSystemErrorException} (the error may have struck the background flusher).
     */
    void close() throws IOException {
        stopping = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        try {
            if (flusher.isAlive()) {
                flusher.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failed()) {
            for (Ext4File f : List.copyOf(openFiles.values())) {
                f.abandon();
            }
            // said again: the failure may have struck background writeback, where no caller saw it
            throw new FileSystemErrorException(journal.abortCause());
        }
        IOException first = flusherError;
        for (Ext4File f : List.copyOf(openFiles.values())) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (inUse && !failed()) {
            long now = clock.instant().getEpochSecond();
            try (Handle h = journal.start(2)) {
                allocator.syncCounters(h);
                boolean noOrphans = orphans.isEmpty();
                volume.updateSuperblock(h, raw -> {
                    Le.put16(raw, 0x3A, originalState | Superblock.STATE_VALID);
                    putTime(raw, 0x30, 0x274, now);
                    if (noOrphans) { // ext4_put_super
                        Le.put32(raw, 0x64, Le.u32(raw, 0x64) & ~Features.RO_COMPAT_ORPHAN_PRESENT);
                    }
                });
            }
        }
        if (!failed()) {
            journal.close(); // jbd2: everything home and the log empty
            if (inUse && journal instanceof JbdJournal) {
                volume.writeSuperblockNow(raw -> Le.put32(raw, 0x60, Le.u32(raw, 0x60) & ~Features.INCOMPAT_RECOVER));
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
