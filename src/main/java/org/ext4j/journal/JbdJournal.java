package org.ext4j.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.buffer.BufferCache;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.extents.BlockMap;
import org.ext4j.format.Crc32c;
import org.ext4j.inode.Inode;
import org.ext4j.txn.Handle;
import org.ext4j.txn.JournalBase;
import org.ext4j.txn.NoJournal;
import org.ext4j.txn.OperationUndo;

/**
 * jbd2 in the journal inode ({@code fs/jbd2/transaction.c}, {@code commit.c}, {@code checkpoint.c},
 * {@code revoke.c}): handles join the running transaction; a commit closes it once no handle is
 * open (jbd2's T_LOCKED waits for {@code t_updates}), takes the bytes of every buffer it dirtied,
 * and writes them to the log behind descriptor blocks (tags of 8, 12 or 16 bytes, the first with
 * the journal's UUID, copies that begin with the jbd2 magic escaped), then revoke blocks, then,
 * after a device flush that also makes every data block written before durable (ordered mode: a
 * file's new blocks are written before the extents that make them written are committed), the
 * commit block, and flushes again (the kernel's REQ_PREFLUSH | REQ_FUA). Checksums v3 where the
 * file system has metadata_csum, none otherwise, 64-bit tags where it is 64bit, as ext4 sets the
 * journal's features at mount.
 *
 * <p><b>Checkpoint.</b> Once its commit block is durable, a transaction's blocks are written to
 * their home locations at once (not flushed): the log is then only needed until those writes are
 * durable. The log's tail moves (the journal superblock's {@code s_start} and {@code s_sequence},
 * after a flush) only when a commit needs the space; until then its transactions stay replayable,
 * which is why a block freed while a copy of it is in the live log gets a revoke record, and why
 * blocks freed in a transaction are handed out again only after it commits ({@link
 * Handle#afterCommit}). {@link #close()} commits, flushes, and leaves the log empty
 * ({@code s_start} 0), as {@code jbd2_journal_destroy} does; the file system then clears
 * needs_recovery.
 *
 * <p><b>When commits happen.</b> {@link #commit()} (fsync, sync, close) commits at once in the
 * caller. Otherwise the commit thread does, every commit interval ({@code commit=}, 5 s) and as soon
 * as the running transaction holds a quarter of the log; a deterministic journal has no thread and
 * commits those at the end of an operation instead, so its log depends on nothing but the
 * operations. A barrier that open handles do not leave within a few milliseconds is lifted and
 * tried again, so a handle waiting for a lock whose holder waits to start a handle never
 * deadlocks the commit.
 *
 * <p><b>Aborts.</b> As {@link NoJournal}: operations still running are taken back
 * ({@link OperationUndo}), what completed ones left is committed, and every later handle is
 * refused. A commit whose I/O fails aborts the journal with nothing more written.
 */
public final class JbdJournal extends JournalBase {
    /** {@code JBD2_MIN_JOURNAL_BLOCKS}: jbd2 refuses smaller journals. */
    public static final int MIN_JOURNAL_BLOCKS = 1024;
    private static final int CRC32C_CHKSUM = 4;
    private static final long BARRIER_TRY_MILLIS = 20;

    /** Tuning: the commit interval, and whether a thread commits in the background. */
    public record Options(long commitMillis, boolean background, Clock clock) {
    }

    private final BlockDevice device;
    private final Options options;
    private final long ino;
    private final int bs;
    /** The physical block of each journal block. */
    private final long[] physical;
    private final long first;
    private final long last;
    private final boolean v3;
    private final boolean is64;
    private final int seed;
    private final byte[] jsb;
    private final int maxTransactionBlocks;
    /** Buffers at which new handles wait for a commit ({@code start_this_handle} waiting for log space). */
    private final int throttleBlocks;
    /** Notified after every commit, for handles waiting on a full transaction. */
    private final Object committed = new Object();
    private static final long THROTTLE_MAX_MILLIS = 2_000;

    // the log, guarded by commitLock
    private final ReentrantLock commitLock = new ReentrantLock();
    private long head;
    private long tail;
    /** Whether the journal superblock on disk says the log holds something (s_start not 0). */
    private boolean live;
    /** Blocks with a copy in the live log (from the tail on): the ones a free must revoke. */
    private final Set<Long> logged = ConcurrentHashMap.newKeySet();
    /** The sequence of the next transaction written to the log (guarded by commitLock). */
    private long nextSequence;
    private final JournalStats stats = new JournalStats();

    // the running transaction, guarded by its own monitor
    private Transaction running;

    // the barrier between handles and a commit closing the transaction
    private final Object gate = new Object();
    private int openHandles;
    private boolean barrier;
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);

    private final Thread committer;
    private volatile boolean stopping;
    private final Object wake = new Object();
    private volatile IOException committerError;

    /** What the journal did, for {@code ext4j info} and the benchmarks. */
    public static final class JournalStats {
        public volatile long commits;
        public volatile long loggedBlocks;
        public volatile long revokes;
        public volatile long checkpoints;
    }

    private static final class Transaction {
        /** When the first change joined (the commit interval runs from there, as jbd2's t_expires). */
        long startNanos = System.nanoTime();
        final LinkedHashMap<Long, MetaBuffer> buffers = new LinkedHashMap<>();
        final Set<Long> revoked = new HashSet<>();
        final List<Runnable> callbacks = new ArrayList<>();

        boolean isEmpty() {
            return buffers.isEmpty() && revoked.isEmpty() && callbacks.isEmpty();
        }
    }

    private JbdJournal(BufferCache cache, BlockDevice device, BeforeFirstHandle beforeFirst, Options options,
            long ino, long[] physical, byte[] jsb, JournalLog.Header h, boolean metadataCsum, boolean fs64) {
        super(cache, beforeFirst);
        this.device = device;
        this.options = options;
        this.ino = ino;
        this.bs = h.blockSize();
        this.physical = physical;
        this.first = h.first();
        this.last = h.last();
        this.v3 = metadataCsum;
        this.is64 = fs64;
        this.seed = Crc32c.update(~0, h.uuid(), 0, 16);
        this.jsb = jsb;
        this.maxTransactionBlocks = (int) Math.max(16, (last - first) / 4);
        this.throttleBlocks = (int) Math.max(32, (last - first) / 2);
        this.head = first;
        this.tail = first;
        this.nextSequence = h.sequence();
        this.running = new Transaction();
        this.committer = new Thread(this::commitLoop, "ext4j-jbd2");
        this.committer.setDaemon(true);
    }

    /**
     * Loads the journal in inode {@code journal} (number {@code ino}) of a file system of
     * {@code blocksCount} blocks for writing ({@code jbd2_journal_load} after recovery): the log must
     * be empty, every journal block mapped inside the file system, and the journal at least
     * {@value #MIN_JOURNAL_BLOCKS} blocks. Nothing is written until the first commit.
     */
    public static JbdJournal open(BufferCache cache, BlockDevice device, Inode journal, long ino, long blocksCount,
            boolean metadataCsum, boolean fs64, Options options, BeforeFirstHandle beforeFirst)
            throws IOException {
        int bs = cache.blockSize();
        JournalLog log = JournalLog.read(journal, ino, bs);
        JournalLog.Header h = log.header();
        if (h.needsRecovery()) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("the journal holds transactions to replay");
        }
        if (h.maxLen() < MIN_JOURNAL_BLOCKS) {
            throw new UnsupportedFeatureException("journal-size", "the journal (inode " + ino + ") has " + h.maxLen()
                    + " blocks, fewer than jbd2's minimum of " + MIN_JOURNAL_BLOCKS + " (\"JBD2: journal file too short\")");
        }
        if (h.blockType() != JournalLog.SUPERBLOCK_V2) {
            throw new UnsupportedFeatureException("journal-v1", "the journal (inode " + ino
                    + ") has a version 1 superblock; ext4j writes version 2 journals only");
        }
        long[] phys = new long[(int) h.maxLen()];
        long lblk = 0;
        while (lblk < h.maxLen()) {
            BlockMap.Mapping m = journal.blockMap().map(lblk, h.maxLen() - lblk);
            if (m.state() != BlockMap.State.WRITTEN || m.physical() <= 0 || m.length() <= 0
                    || m.physical() + m.length() > blocksCount) {
                throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).block(lblk)
                        .build("journal block " + lblk + " is not mapped to a block of the file system");
            }
            for (long i = 0; i < m.length() && lblk < h.maxLen(); i++, lblk++) {
                phys[(int) lblk] = m.physical() + i;
            }
        }
        byte[] jsb = new byte[bs];
        if (journal.read(0, jsb, 0, bs) != bs) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("the journal superblock is cut short");
        }
        JbdJournal j = new JbdJournal(cache, device, beforeFirst, options, ino, phys, jsb, h, metadataCsum, fs64);
        if (options.background()) {
            j.committer.start();
        }
        return j;
    }

    public JournalStats stats() {
        return stats;
    }

    // ---------------------------------------------------------------- handles

    @Override
    public Handle start(int credits) throws IOException {
        beforeHandle(credits);
        int[] d = depth.get();
        if (d[0] == 0 && !options.background() && commitDue()) {
            commit(); // no commit thread: the transaction is full, commit before it grows
        }
        if (d[0] == 0 && options.background()) {
            throttle();
        }
        if (d[0] == 0) {
            synchronized (gate) {
                while (barrier) {
                    try {
                        gate.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted waiting for a journal commit");
                    }
                }
                openHandles++;
            }
        }
        d[0]++;
        return new JbdHandle(credits);
    }

    /**
     * A new outermost handle waits while the running transaction holds half the log, until the
     * commit thread has committed it, so a transaction never outgrows the log. The wait is bounded:
     * a thread that holds a lock a handle of the transaction waits for must not stall the commit.
     */
    private void throttle() throws IOException {
        long deadline = System.nanoTime() + THROTTLE_MAX_MILLIS * 1_000_000;
        while (aborted == null && runningBlocks() >= throttleBlocks && System.nanoTime() < deadline) {
            wakeCommitter();
            synchronized (committed) {
                try {
                    committed.wait(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted waiting for a journal commit");
                }
            }
        }
    }

    private synchronized int runningBlocks() {
        return running.buffers.size();
    }

    private final class JbdHandle extends BaseHandle {
        JbdHandle(int credits) {
            super(credits);
        }

        @Override
        protected void dirtied(MetaBuffer b) {
            boolean full;
            synchronized (JbdJournal.this) {
                if (running.isEmpty()) {
                    running.startNanos = System.nanoTime();
                }
                running.buffers.put(b.block(), b);
                running.revoked.remove(b.block()); // jbd2_journal_cancel_revoke: logged again, replayed from here
                full = running.buffers.size() >= maxTransactionBlocks;
            }
            if (full) {
                wakeCommitter();
            }
        }

        @Override
        public void blocksFreed(long start, long count) throws IOException {
            check();
            synchronized (JbdJournal.this) {
                Transaction t = running;
                if (count > logged.size() + t.buffers.size()) {
                    for (Long b : logged) {
                        if (b >= start && b - start < count) {
                            t.revoked.add(b);
                        }
                    }
                    for (Long b : List.copyOf(t.buffers.keySet())) {
                        if (b >= start && b - start < count) {
                            t.revoked.add(b);
                        }
                    }
                } else {
                    for (long b = start; b < start + count; b++) {
                        if (logged.contains(b) || t.buffers.containsKey(b)) {
                            t.revoked.add(b);
                        }
                    }
                }
            }
        }

        @Override
        public void afterCommit(Runnable r) {
            synchronized (JbdJournal.this) {
                running.callbacks.add(r);
            }
        }

        @Override
        public void close() {
            if (!markClosed()) {
                return;
            }
            int[] d = depth.get();
            if (--d[0] == 0) {
                synchronized (gate) {
                    if (--openHandles == 0) {
                        gate.notifyAll();
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- operations

    @Override
    public void endOperation() throws IOException {
        operationEnded();
        IOException e = committerError;
        if (e != null) {
            committerError = null;
            throw e;
        }
        if (!options.background() && aborted == null && depth.get()[0] == 0 && commitDue()) {
            commit();
        }
    }

    /** A quarter of the log filled, or (with a commit thread) the commit interval gone since the transaction began. */
    private synchronized boolean commitDue() {
        Transaction t = running;
        return !t.isEmpty() && (t.buffers.size() >= maxTransactionBlocks || options.background()
                && (System.nanoTime() - t.startNanos) / 1_000_000 >= options.commitMillis());
    }

    // ---------------------------------------------------------------- commits

    private void wakeCommitter() {
        if (options.background()) {
            synchronized (wake) {
                wake.notifyAll();
            }
        }
    }

    /** {@code kjournald2}: commits every interval, and when the running transaction fills a quarter of the log. */
    private void commitLoop() {
        while (!stopping) {
            synchronized (wake) {
                try {
                    if (!stopping && !commitDue()) {
                        wake.wait(Math.max(1, options.commitMillis() / 4));
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (stopping || aborted != null) {
                return;
            }
            if (commitDue()) {
                try {
                    commit();
                } catch (IOException e) {
                    committerError = committerError == null ? e : committerError;
                } catch (RuntimeException e) {
                    committerError = committerError == null ? new IOException("journal commit failed", e) : committerError;
                }
            }
        }
    }

    @Override
    public void writeOut() throws IOException {
        commit();
    }

    @Override
    public void writeOutIfIdle(long maxAgeMillis) throws IOException {
        if (aborted == null && commitDue()) {
            commit();
        }
    }

    /**
     * Commits the running transaction and waits until its commit block is durable; with nothing to
     * commit, flushes the device (so fsync of data alone is durable too).
     */
    @Override
    public void commit() throws IOException {
        if (depth.get()[0] != 0) {
            throw new IllegalStateException("a commit from inside a handle would wait for itself");
        }
        commitLock.lock();
        try {
            checkAborted();
            commitLocked();
        } finally {
            commitLock.unlock();
        }
    }

    @Override
    public boolean commitForSpace() throws IOException {
        if (depth.get()[0] != 0) {
            return false;
        }
        commit();
        return true;
    }

    private void commitLocked() throws IOException {
        Transaction t = lockTransaction();
        List<BufferCache.Frozen> frozen = new ArrayList<>();
        List<Long> revokes;
        try {
            synchronized (this) {
                for (MetaBuffer b : t.buffers.values()) {
                    if (t.revoked.contains(b.block())) {
                        cache.forget(b); // freed in this transaction: neither logged nor written home
                        continue;
                    }
                    BufferCache.Frozen f = cache.freeze(b);
                    if (f != null) {
                        frozen.add(f);
                    }
                }
                revokes = new ArrayList<>();
                for (Long b : t.revoked) {
                    if (logged.contains(b)) {
                        revokes.add(b);
                    }
                }
                for (BufferCache.Frozen f : frozen) {
                    logged.add(f.block()); // before handles go on: a free from now on revokes it
                }
            }
        } finally {
            releaseBarrier();
        }
        try {
            if (frozen.isEmpty() && revokes.isEmpty()) {
                device.flush();
            } else {
                // the sequence is taken only by a transaction that reaches the log: recovery stops at a gap
                writeTransaction(nextSequence, frozen, revokes);
                nextSequence = (nextSequence + 1) & 0xFFFFFFFFL;
            }
        } catch (IOException | RuntimeException e) {
            abortAfterFailedCommit(e);
            throw e;
        }
        for (Runnable r : t.callbacks) {
            r.run();
        }
        synchronized (committed) {
            committed.notifyAll();
        }
    }

    /**
     * T_LOCKED: new handles wait, open ones finish; then the running transaction is swapped for a
     * new one. Returns with the barrier up: the caller takes the buffers' bytes, then lifts it.
     */
    private Transaction lockTransaction() throws IOException {
        while (true) {
            synchronized (gate) {
                barrier = true;
                long deadline = System.nanoTime() + BARRIER_TRY_MILLIS * 1_000_000;
                while (openHandles > 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        gate.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        barrier = false;
                        gate.notifyAll();
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted waiting for handles to finish");
                    }
                }
                if (openHandles == 0) {
                    synchronized (this) {
                        Transaction t = running;
                        running = new Transaction();
                        return t;
                    }
                }
                barrier = false; // a handle may wait for a lock whose holder waits for us: let them on
                gate.notifyAll();
            }
            Thread.yield();
        }
    }

    private void releaseBarrier() {
        synchronized (gate) {
            barrier = false;
            gate.notifyAll();
        }
    }

    /** The log blocks a transaction of {@code n} copies and {@code r} revokes takes, commit block included. */
    private long blocksNeeded(int n, int r) {
        int tagBytes = tagBytes();
        int room = bs - (v3 ? 4 : 0) - 12; // after the header, before the tail
        int perDescriptor = 1 + (room - tagBytes - 16) / tagBytes; // the first tag carries the UUID
        long descriptors = (n + perDescriptor - 1) / perDescriptor;
        int perRevoke = (bs - 16 - (v3 ? 4 : 0)) / (is64 ? 8 : 4);
        long revokeBlocks = (r + perRevoke - 1) / perRevoke;
        return descriptors + n + revokeBlocks + 1;
    }

    private int tagBytes() {
        return v3 ? 16 : is64 ? 12 : 8;
    }

    private long freeLogBlocks() {
        long size = last - first;
        long used = head >= tail ? head - tail : size - (tail - head);
        return size - used - 1;
    }

    private long nextLog(long b) {
        return b + 1 >= last ? first : b + 1;
    }

    /** Writes transaction {@code sequence} to the log, commits it, and writes its blocks home. */
    private void writeTransaction(long sequence, List<BufferCache.Frozen> frozen, List<Long> revokes) throws IOException {
        long need = blocksNeeded(frozen.size(), revokes.size());
        if (need > last - first - 1) {
            throw new IOException("a transaction of " + need + " journal blocks does not fit the journal of "
                    + (last - first) + " log blocks");
        }
        if (need > freeLogBlocks()) {
            moveTail(sequence); // every earlier transaction's blocks were written home: flush and free the log
            for (BufferCache.Frozen f : frozen) {
                logged.add(f.block());
            }
        }
        if (!live) {
            writeSuperblock(sequence, head); // jbd2_journal_update_sb_log_tail before the first transaction
            live = true;
        }
        Map<Long, byte[]> out = new LinkedHashMap<>();
        long pos = head;
        int tagBytes = tagBytes();
        int room = bs - (v3 ? 4 : 0);
        int i = 0;
        while (i < frozen.size()) {
            byte[] desc = new byte[bs];
            ByteBuffer d = ByteBuffer.wrap(desc).order(ByteOrder.BIG_ENDIAN);
            header(d, JournalLog.DESCRIPTOR_BLOCK, sequence);
            long descAt = pos;
            pos = nextLog(pos);
            int p = 12;
            boolean firstTag = true;
            int lastTagAt = -1;
            while (i < frozen.size() && p + tagBytes + (firstTag ? 16 : 0) <= room) {
                BufferCache.Frozen f = frozen.get(i);
                byte[] copy = f.bytes();
                int flags = firstTag ? 0 : JournalLog.FLAG_SAME_UUID;
                if (ByteBuffer.wrap(copy).order(ByteOrder.BIG_ENDIAN).getInt(0) == JournalLog.MAGIC) {
                    copy = copy.clone();
                    copy[0] = copy[1] = copy[2] = copy[3] = 0;
                    flags |= JournalLog.FLAG_ESCAPE;
                }
                long blk = f.block();
                d.putInt(p, (int) blk);
                if (v3) {
                    d.putInt(p + 4, flags);
                    d.putInt(p + 8, (int) (blk >>> 32));
                    d.putInt(p + 12, dataChecksum(sequence, copy));
                } else {
                    d.putShort(p + 4, (short) 0);
                    d.putShort(p + 6, (short) flags);
                    if (is64) {
                        d.putInt(p + 8, (int) (blk >>> 32));
                    }
                }
                lastTagAt = p;
                p += tagBytes;
                if (firstTag) {
                    System.arraycopy(jsb, 0x30, desc, p, 16);
                    p += 16;
                    firstTag = false;
                }
                out.put(pos, copy);
                pos = nextLog(pos);
                i++;
            }
            if (v3) {
                d.putInt(lastTagAt + 4, d.getInt(lastTagAt + 4) | JournalLog.FLAG_LAST_TAG);
            } else {
                d.putShort(lastTagAt + 6, (short) (d.getShort(lastTagAt + 6) | JournalLog.FLAG_LAST_TAG));
            }
            if (v3) {
                d.putInt(bs - 4, Crc32c.update(seed, desc, 0, bs));
            }
            out.put(descAt, desc);
        }
        int record = is64 ? 8 : 4;
        int r = 0;
        while (r < revokes.size()) {
            byte[] rb = new byte[bs];
            ByteBuffer d = ByteBuffer.wrap(rb).order(ByteOrder.BIG_ENDIAN);
            header(d, JournalLog.REVOKE_BLOCK, sequence);
            int p = 16;
            while (r < revokes.size() && p + record <= bs - (v3 ? 4 : 0)) {
                if (is64) {
                    d.putLong(p, revokes.get(r));
                } else {
                    d.putInt(p, (int) (long) revokes.get(r));
                }
                p += record;
                r++;
            }
            d.putInt(12, p);
            if (v3) {
                d.putInt(bs - 4, Crc32c.update(seed, rb, 0, bs));
            }
            out.put(pos, rb);
            pos = nextLog(pos);
        }
        if (!revokes.isEmpty() && (ByteBuffer.wrap(jsb).order(ByteOrder.BIG_ENDIAN).getInt(0x28) & JournalLog.INCOMPAT_REVOKE) == 0) {
            writeSuperblock(-1, -1); // jbd2_journal_revoke sets the revoke feature first
        }
        writeLog(out);
        device.flush(); // the log blocks, and ordered data written before, durable before the commit block
        byte[] commit = new byte[bs];
        ByteBuffer c = ByteBuffer.wrap(commit).order(ByteOrder.BIG_ENDIAN);
        header(c, JournalLog.COMMIT_BLOCK, sequence);
        Instant now = options.clock().instant();
        c.putLong(0x30, now.getEpochSecond());
        c.putInt(0x38, now.getNano());
        if (v3) {
            c.putInt(0x10, Crc32c.update(seed, commit, 0, bs));
        }
        Map<Long, byte[]> cb = new LinkedHashMap<>();
        cb.put(pos, commit);
        writeLog(cb);
        device.flush();
        head = nextLog(pos);
        stats.commits++;
        stats.loggedBlocks += frozen.size();
        stats.revokes += revokes.size();
        writeHome(frozen);
    }

    private static void header(ByteBuffer b, int type, long sequence) {
        b.putInt(0, JournalLog.MAGIC);
        b.putInt(4, type);
        b.putInt(8, (int) sequence);
    }

    /** {@code jbd2_block_tag_csum_set}: crc32c of the sequence, then the copy as logged. */
    private int dataChecksum(long sequence, byte[] copy) {
        byte[] s = {(byte) (sequence >>> 24), (byte) (sequence >>> 16), (byte) (sequence >>> 8), (byte) sequence};
        return Crc32c.update(Crc32c.update(seed, s, 0, 4), copy, 0, bs);
    }

    /** Writes log blocks (journal block number to bytes), merging runs contiguous on the device. */
    private void writeLog(Map<Long, byte[]> blocks) throws IOException {
        List<long[]> order = new ArrayList<>();
        for (Long lb : blocks.keySet()) {
            order.add(new long[] {physical[(int) (long) lb], lb});
        }
        order.sort((a, b) -> Long.compare(a[0], b[0]));
        int i = 0;
        while (i < order.size()) {
            int j = i + 1;
            while (j < order.size() && order.get(j)[0] == order.get(j - 1)[0] + 1 && j - i < 256) {
                j++;
            }
            ByteBuffer buf = ByteBuffer.allocate((j - i) * bs);
            for (int k = i; k < j; k++) {
                buf.put(blocks.get(order.get(k)[1]));
            }
            buf.flip();
            device.write(order.get(i)[0] * bs, buf);
            i = j;
        }
    }

    /** The checkpoint of one transaction: its copies to their homes, merging contiguous runs. */
    private void writeHome(List<BufferCache.Frozen> frozen) throws IOException {
        List<BufferCache.Frozen> sorted = new ArrayList<>(frozen);
        sorted.sort((a, b) -> Long.compare(a.block(), b.block()));
        int i = 0;
        while (i < sorted.size()) {
            int j = i + 1;
            while (j < sorted.size() && sorted.get(j).block() == sorted.get(j - 1).block() + 1 && j - i < 256) {
                j++;
            }
            ByteBuffer buf = ByteBuffer.allocate((j - i) * bs);
            for (int k = i; k < j; k++) {
                buf.put(sorted.get(k).bytes());
            }
            buf.flip();
            device.write(sorted.get(i).block() * bs, buf);
            i = j;
        }
        for (BufferCache.Frozen f : frozen) {
            cache.written(f);
        }
    }

    /**
     * {@code jbd2_cleanup_journal_tail}: every committed transaction is home; once that is durable,
     * the log starts at the head again with {@code sequence}, the next transaction.
     */
    private void moveTail(long sequence) throws IOException {
        device.flush();
        writeSuperblock(sequence, head);
        device.flush();
        tail = head;
        logged.clear();
        stats.checkpoints++;
    }

    /**
     * Writes the journal superblock: {@code s_sequence} and {@code s_start} (unless negative), the
     * features ext4 sets at mount (64bit as the file system, checksum v3 with metadata_csum, no v2,
     * no v1, no async commit; revoke once one is written), and its checksum.
     */
    private void writeSuperblock(long sequence, long start) throws IOException {
        ByteBuffer j = ByteBuffer.wrap(jsb).order(ByteOrder.BIG_ENDIAN);
        if (sequence >= 0) {
            j.putInt(0x18, (int) sequence);
            j.putInt(0x1C, (int) start);
        }
        int compat = j.getInt(0x24) & ~JournalLog.COMPAT_CHECKSUM;
        int incompat = j.getInt(0x28) & ~(JournalLog.INCOMPAT_CSUM_V2 | JournalLog.INCOMPAT_CSUM_V3
                | JournalLog.INCOMPAT_ASYNC_COMMIT | JournalLog.INCOMPAT_64BIT);
        if (v3) {
            incompat |= JournalLog.INCOMPAT_CSUM_V3;
        }
        if (is64) {
            incompat |= JournalLog.INCOMPAT_64BIT;
        }
        if (sequence < 0 || stats.revokes > 0) {
            incompat |= JournalLog.INCOMPAT_REVOKE;
        }
        j.putInt(0x24, compat);
        j.putInt(0x28, incompat);
        if (v3) {
            jsb[0x50] = CRC32C_CHKSUM;
        }
        if (v3) {
            j.putInt(0xFC, 0);
            j.putInt(0xFC, Crc32c.update(~0, jsb, 0, 1024));
        }
        device.write(physical[0] * bs, ByteBuffer.wrap(jsb.clone()));
    }

    /**
     * {@code jbd2_journal_destroy}: commits what is running, makes every home write durable and
     * leaves the log empty ({@code s_start} 0, {@code s_sequence} the next transaction), so no
     * recovery is needed. Stops the commit thread.
     */
    @Override
    public void close() throws IOException {
        stopping = true;
        wakeCommitter();
        try {
            if (committer.isAlive()) {
                committer.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IOException e = committerError;
        committerError = null;
        if (!started()) {
            return; // nothing was ever changed: nothing to write
        }
        commitLock.lock();
        try {
            checkAborted();
            commitLocked();
            if (live) {
                device.flush();
                writeSuperblock(nextSequence, 0);
                device.flush();
                live = false;
                tail = head;
                logged.clear();
            }
        } finally {
            commitLock.unlock();
        }
        if (e != null) {
            throw e;
        }
    }

    /** Whether the journal superblock on disk says the log holds transactions (needs_recovery must stay). */
    public boolean live() {
        commitLock.lock();
        try {
            return live;
        } finally {
            commitLock.unlock();
        }
    }

    // ---------------------------------------------------------------- abort

    @Override
    public void abort(Throwable cause) {
        commitLock.lock();
        try {
            if (aborted != null) {
                return;
            }
            takeBackRunning();
            if (depth.get()[0] == 0) {
                try {
                    commitLocked(); // what completed operations left
                } catch (IOException | RuntimeException e) {
                    cause.addSuppressed(e);
                }
            } else {
                cache.discardDirty(); // inside a handle the barrier would wait for it: the transaction is lost, as jbd2's abort loses it
            }
            aborted = cause;
        } finally {
            commitLock.unlock();
        }
        stopping = true;
        wakeCommitter();
    }

    private void abortAfterFailedCommit(Throwable e) {
        if (aborted == null) {
            aborted = e;
        }
        cache.discardDirty();
        stopping = true;
        wakeCommitter();
    }

    @Override
    public String toString() {
        return "jbd2 journal in inode " + ino;
    }
}
