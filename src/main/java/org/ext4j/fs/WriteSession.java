package org.ext4j.fs;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.alloc.GroupAllocator;
import org.ext4j.blockdev.BlockDevice;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.extentstatus.ExtentStatusShrinker;
import org.ext4j.format.Features;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.mapping.Reservations;
import org.ext4j.pagecache.PageCacheLimits;
import org.ext4j.txn.Handle;
import org.ext4j.txn.Journal;
import org.ext4j.txn.NoJournal;
import org.ext4j.volume.Volume;

/**
 * The read-write half of a mounted file system ({@code ext4_fill_super}'s RW checks,
 * {@code ext4_setup_super}, {@code ext4_put_super}): features checked for writing, the file system
 * marked in use while open, allocators, reservations, page cache limits and the status trees'
 * shrinker shared by all open files, and an orderly close that writes everything back and marks
 * the file system clean.
 */
final class WriteSession {
    /** Incompatible features the write path handles. */
    static final long INCOMPAT_WRITABLE = Features.INCOMPAT_FILETYPE | Features.INCOMPAT_EXTENTS
            | Features.INCOMPAT_64BIT | Features.INCOMPAT_FLEX_BG | Features.INCOMPAT_CSUM_SEED
            | Features.INCOMPAT_LARGEDIR;
    /** Read-only-compatible features the write path keeps right. */
    static final long RO_COMPAT_WRITABLE = Features.RO_COMPAT_SPARSE_SUPER | Features.RO_COMPAT_LARGE_FILE
            | Features.RO_COMPAT_HUGE_FILE | Features.RO_COMPAT_GDT_CSUM | Features.RO_COMPAT_DIR_NLINK
            | Features.RO_COMPAT_EXTRA_ISIZE | Features.RO_COMPAT_METADATA_CSUM;

    final Volume volume;
    final BlockDevice device;
    final Journal journal;
    final GroupAllocator allocator;
    final Reservations reservations;
    final PageCacheLimits limits;
    final ExtentStatusShrinker shrinker;
    final Map<Long, Ext4File> openFiles = new ConcurrentHashMap<>();
    /**
     * Namespace changes (unlink, create) and the opening of files by name, one at a time: the
     * parent directory's {@code i_rwsem}, taken for the whole file system for now. Outermost: taken
     * before an inode writer lock and the allocators' group locks, never while holding them; so an
     * unlink cannot slip between an open's lookup and its entry in {@link #openFiles}.
     */
    final ReentrantLock namespaceLock = new ReentrantLock();
    /**
     * Links unlinked from inodes that were open at the time, by inode: dropped on disk, and the
     * inode freed at zero, when its last {@link Ext4File} closes ({@link Unlinker}). Changed under
     * {@link #namespaceLock}; read without it by stat.
     */
    final Map<Long, Integer> deferredUnlinks = new ConcurrentHashMap<>();
    final int maxFolioBytes;
    private final int originalState;
    private final Thread flusher;
    private final long flushIntervalMillis;
    private final long dirtyExpireMillis;
    private volatile boolean stopping;
    /** The flusher sleeps on this; never interrupted, because an interrupt closes the FileChannel. */
    private final Object wake = new Object();
    private volatile IOException flusherError;

    private WriteSession(Volume volume, BlockDevice device, WriteOptions options) throws IOException {
        this.volume = volume;
        this.device = device;
        this.journal = new NoJournal(volume.bufferCache(), device);
        this.allocator = GroupAllocator.open(volume);
        this.reservations = new Reservations(allocator::freeBlocks, 256);
        this.limits = new PageCacheLimits(options.pageCacheBytes(), options.dirtyBackgroundBytes(),
                options.dirtyLimitBytes());
        this.shrinker = new ExtentStatusShrinker(options.statusTreeEntries());
        this.maxFolioBytes = options.maxFolioBytes();
        this.originalState = volume.superblock().state;
        this.flushIntervalMillis = Math.max(1, options.flushIntervalMillis());
        this.dirtyExpireMillis = Math.max(0, options.dirtyExpireMillis());
        this.flusher = new Thread(this::flushLoop, "ext4j-flusher");
        this.flusher.setDaemon(true);
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
        long incompat = sb.featureIncompat & ~INCOMPAT_WRITABLE;
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
        if ((sb.state & Superblock.STATE_ERROR) != 0) {
            throw new UnsupportedFeatureException("errors", "the file system has errors: run e2fsck before writing");
        }
        if ((sb.state & Superblock.STATE_VALID) == 0) {
            throw new UnsupportedFeatureException("not-clean",
                    "the file system was not cleanly unmounted: run e2fsck before writing");
        }
    }

    /** Opens the write session and marks the file system in use (not clean) on disk right away. */
    static WriteSession start(Volume volume, BlockDevice device, WriteOptions options) throws IOException {
        checkWritable(volume.superblock());
        WriteSession s = new WriteSession(volume, device, options);
        long now = Instant.now().getEpochSecond();
        try (Handle h = s.journal.start(1)) {
            volume.updateSuperblock(h, raw -> {
                Le.put16(raw, 0x3A, Le.u16(raw, 0x3A) & ~Superblock.STATE_VALID);
                Le.put16(raw, 0x34, Le.u16(raw, 0x34) + 1);
                putTime(raw, 0x2C, 0x275, now);
            });
        }
        s.journal.commit();
        s.flusher.start();
        return s;
    }

    private static void putTime(byte[] raw, int lo, int hi, long t) {
        Le.put32(raw, lo, t);
        raw[hi] = (byte) (t >>> 32);
    }

    /**
     * Called by {@link Ext4File#close()} once the file is written back and has left
     * {@link #openFiles}: links unlinked while it was open are dropped now, and an inode left with
     * none is freed ({@code iput} of the last reference reaching {@code ext4_evict_inode}).
     */
    void fileClosed(Ext4File f) throws IOException {
        namespaceLock.lock();
        try {
            new Unlinker(this, java.time.Clock.systemUTC()).released(f.inode());
        } finally {
            namespaceLock.unlock();
        }
    }

    /** Writes every open file back, syncs counters and marks the file system clean. */
    void close() throws IOException {
        stopping = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        try {
            flusher.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IOException first = flusherError;
        for (Ext4File f : List.copyOf(openFiles.values())) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        long now = Instant.now().getEpochSecond();
        try (Handle h = journal.start(2)) {
            allocator.syncCounters(h);
            volume.updateSuperblock(h, raw -> {
                Le.put16(raw, 0x3A, originalState | Superblock.STATE_VALID);
                putTime(raw, 0x30, 0x274, now);
            });
        }
        journal.commit();
        if (first != null) {
            throw first;
        }
    }
}
