package org.ext4j.iomap;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.LongSupplier;

import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.pagecache.AddressSpace;
import org.ext4j.pagecache.Folio;

/**
 * iomap's buffered I/O ({@code fs/iomap/buffered-io.c}) over one file's page cache: write, read and
 * writeback, driven by the file system's {@link IomapOps} and {@link WritebackOps}.
 *
 * <p><b>The validity protocol.</b> A buffered write asks {@link IomapOps#begin} for a mapping
 * without holding anything that stops writeback; by the time it has locked the folio to copy into,
 * writeback may have allocated, written and converted the blocks, and reclaim may have evicted the
 * clean folio. So after locking each folio, and before looking at the mapping's type to decide
 * whether a partially written block must be read or zeroed, the write asks {@link IomapOps#valid}.
 * A stale mapping is dropped and the rest of the write maps again ({@code IOMAP_F_STALE}). Without
 * that check a stale UNWRITTEN mapping zeroes a block that writeback already wrote: silent data
 * corruption (docs/RACES.md R1, the seed of this project).
 *
 * <p>The caller of {@link #write} holds the inode writer lock; {@link #read} and
 * {@link #writeback} take none. Folio locks are the only locks taken here, one at a time.
 */
public final class BufferedIO {
    private final AddressSpace space;
    private final BlockIO io;
    private final int blockSize;

    public BufferedIO(AddressSpace space, BlockIO io) {
        this.space = space;
        this.io = io;
        this.blockSize = space.blockSize();
    }

    /** Size change requests from a write: the file system moves i_size ({@code iomap_write_end}). */
    @FunctionalInterface
    public interface SizeUpdater {
        void extendTo(long newSize) throws IOException;
    }

    /**
     * Buffered write of {@code len} bytes at {@code pos} ({@code iomap_file_buffered_write}).
     * Returns the bytes written; fewer than {@code len} only if the file system ran out of space
     * part way (the exception of the first failing mapping is rethrown when nothing was written).
     *
     * <p>For each folio: lock it, ask whether the mapping is still valid, and only then look at the
     * mapping's type (read or zero a partial block) and copy. A stale mapping is mapped again while
     * the folio stays locked ({@code IOMAP_F_STALE}, then a new {@code iomap_begin}): nothing that
     * could change this folio's blocks runs while its lock and the inode writer lock are held
     * (writeback and reclaim need the folio lock; fallocate, punch and truncate the inode lock;
     * a completion converts only blocks of folios under writeback, which are uptodate and never
     * read or zeroed), so the fresh mapping is good for this folio and every remap copies at least
     * one folio: constant changes elsewhere in the file cannot starve the write (docs/RACES.md R12).
     */
    public long write(IomapOps ops, long pos, byte[] src, int off, int len, LongSupplier size, SizeUpdater sizeUpdate)
            throws IOException {
        long done = 0;
        Iomap map = null;
        long at = pos; // where the current mapping's part of the write starts
        long mapEnd = pos;
        long copied = 0; // bytes copied under the current mapping
        try {
            while (done < len) {
                long p = pos + done;
                if (map == null) {
                    try {
                        map = ops.begin(p, len - done, IomapOps.WRITE);
                    } catch (IOException e) {
                        if (done == 0) {
                            throw e;
                        }
                        return done;
                    }
                    at = p;
                    mapEnd = Math.min(map.end(), pos + len);
                    copied = 0;
                    Interleave.point(Interleave.WRITE_AFTER_BEGIN);
                }
                Folio f = space.lockOrCreate(p, (int) Math.min(AddressSpace.MAX_FOLIO_SIZE, mapEnd - p));
                long n;
                try {
                    Interleave.point(Interleave.WRITE_AFTER_FOLIO_LOCK);
                    Interleave.point(Interleave.WRITE_BEFORE_VALID);
                    if (Protections.on(Protection.VALIDITY_CHECK) && !ops.valid(map)) {
                        // IOMAP_F_STALE: end what the stale mapping covered and map again from here
                        Iomap stale = map;
                        map = null;
                        endMapping(ops, stale, at, mapEnd, copied, false);
                        if (!Protections.on(Protection.REMAP_UNDER_FOLIO_LOCK)) {
                            continue; // iomap's way: drop the folio, map again, look the folio up again
                        }
                        try {
                            map = ops.begin(p, len - done, IomapOps.WRITE);
                        } catch (IOException e) {
                            if (done == 0) {
                                throw e;
                            }
                            return done; // out of space part way: a short write
                        }
                        at = p;
                        mapEnd = Math.min(map.end(), pos + len);
                        copied = 0;
                        Interleave.point(Interleave.WRITE_AFTER_REMAP);
                    }
                    Interleave.point(Interleave.WRITE_AFTER_VALID);
                    int inFolio = (int) (p - f.pos());
                    n = Math.min(f.size() - inFolio, mapEnd - p);
                    prepareBlocks(f, inFolio, (int) n, map, size.getAsLong());
                    System.arraycopy(src, (int) (off + done), f.data(), inFolio, (int) n);
                    space.markDirty(f, inFolio / blockSize, (int) ((inFolio + n + blockSize - 1) / blockSize));
                    if (p + n > size.getAsLong()) {
                        sizeUpdate.extendTo(p + n);
                    }
                } finally {
                    f.lock().unlock();
                }
                copied += n;
                done += n;
                if (at + copied >= mapEnd) {
                    Iomap m = map;
                    map = null;
                    endMapping(ops, m, at, mapEnd, copied, false);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            if (map != null) {
                endMapping(ops, map, at, mapEnd, copied, true);
            }
            throw e;
        }
        return done;
    }

    /**
     * {@code iomap_end} for the part {@code [at, mapEnd)} of the write that {@code map} covered, of
     * which {@code copied} bytes were copied; after a failure, the reservations of a new delayed
     * range that no dirty folio backs go back ({@code iomap_write_delalloc_release}).
     */
    private void endMapping(IomapOps ops, Iomap map, long at, long mapEnd, long copied, boolean failed)
            throws IOException {
        ops.end(at, mapEnd - at, copied, IomapOps.WRITE, map);
        if (failed && map.type() == Iomap.Type.DELALLOC && map.isNew()
                && Protections.on(Protection.SHORT_WRITE_RELEASE)) {
            releaseUnbacked(ops, at + copied, mapEnd);
        }
    }

    /**
     * A write failed part way through a range it had just reserved ({@code iomap_write_delalloc_release}):
     * the blocks of {@code [from, to)} that no dirty folio backs give back their delayed reservation;
     * the dirty ones, a partial block this write filled or blocks another writer dirtied meanwhile,
     * keep theirs, so their data still reaches disk (docs/RACES.md R5).
     */
    private void releaseUnbacked(IomapOps ops, long from, long to) throws IOException {
        long b = from / blockSize;
        long end = (to + blockSize - 1) / blockSize;
        while (b < end) {
            if (space.isBlockDirty(b * blockSize)) {
                b++;
                continue;
            }
            long runStart = b;
            while (b < end && !space.isBlockDirty(b * blockSize)) {
                b++;
            }
            ops.punchDelalloc(runStart * blockSize, (b - runStart) * blockSize);
        }
    }

    /**
     * {@code __iomap_write_begin}: blocks the write covers only in part, and that are not uptodate,
     * are read from disk when the mapping says they hold written data, and zeroed otherwise.
     */
    private void prepareBlocks(Folio f, int from, int n, Iomap map, long fileSize) throws IOException {
        int firstBlock = from / blockSize;
        int lastBlock = (from + n - 1) / blockSize;
        for (int b = firstBlock; b <= lastBlock; b++) {
            if (f.isUptodate(b)) {
                continue;
            }
            int bStart = b * blockSize;
            int bEnd = bStart + blockSize;
            boolean whole = from <= bStart && from + n >= bEnd;
            if (whole) {
                continue; // fully overwritten: neither read nor zero
            }
            long blockPos = f.pos() + bStart;
            if (needsZeroing(map, blockPos, fileSize)) {
                Arrays.fill(f.data(), bStart, bEnd, (byte) 0);
            } else {
                io.read(map.addrOf(blockPos), f.data(), bStart, blockSize);
            }
            f.setUptodate(b, b + 1);
        }
    }

    /** {@code iomap_block_needs_zeroing}: only a MAPPED, not new, block inside the file holds data. */
    static boolean needsZeroing(Iomap map, long blockPos, long fileSize) {
        return map.type() != Iomap.Type.MAPPED || map.isNew() || blockPos >= fileSize;
    }

    /**
     * Buffered read ({@code iomap_read_folio} / readahead): copies from uptodate folios, filling the
     * blocks that are not from disk (MAPPED) or with zeros (anything else). Returns bytes read, -1 at EOF.
     */
    public int read(IomapOps ops, long pos, byte[] dst, int off, int len, long fileSize) throws IOException {
        if (pos >= fileSize) {
            return len == 0 ? 0 : -1;
        }
        int want = (int) Math.min(len, fileSize - pos);
        int done = 0;
        while (done < want) {
            long p = pos + done;
            Folio f = space.lockOrCreate(p, (int) Math.min(AddressSpace.MAX_FOLIO_SIZE, Math.max(blockSize, want - done)));
            try {
                fillFolio(ops, f, fileSize);
                int inFolio = (int) (p - f.pos());
                int n = Math.min(f.size() - inFolio, want - done);
                System.arraycopy(f.data(), inFolio, dst, off + done, n);
                done += n;
            } finally {
                f.lock().unlock();
            }
        }
        return done;
    }

    private void fillFolio(IomapOps ops, Folio f, long fileSize) throws IOException {
        int b = 0;
        while (b < f.blocks()) {
            if (f.isUptodate(b)) {
                b++;
                continue;
            }
            long blockPos = f.pos() + (long) b * blockSize;
            Iomap map = ops.begin(blockPos, f.pos() + f.size() - blockPos, IomapOps.REPORT);
            int runEnd = (int) Math.min(f.blocks(), (map.end() - f.pos() + blockSize - 1) / blockSize);
            for (int k = b; k < runEnd; k++) {
                if (f.isUptodate(k)) {
                    continue;
                }
                long kp = f.pos() + (long) k * blockSize;
                if (map.type() == Iomap.Type.MAPPED && kp < fileSize) {
                    io.read(map.addrOf(kp), f.data(), k * blockSize, blockSize);
                } else {
                    Arrays.fill(f.data(), k * blockSize, (k + 1) * blockSize, (byte) 0);
                }
                f.setUptodate(k, k + 1);
            }
            b = Math.max(runEnd, b + 1);
        }
    }

    /**
     * Writes back dirty folios in {@code [pos, end)} ({@code iomap_writepages}): for each dirty
     * folio, lock it, take its dirty blocks (later writes dirty it again) and copy them into the
     * staging buffer (the snapshot), map them for writeback (allocating delayed blocks), submit them,
     * and complete, converting unwritten extents before the folio leaves writeback. Submitted pieces
     * at contiguous device addresses go out together, one positioned write per run ({@link Bio}),
     * always before the completion that marks their blocks written. Returns the bytes written.
     */
    public long writeback(WritebackOps ops, long pos, long end, long fileSize) throws IOException {
        Completion done = new Completion(ops);
        try {
            for (Folio f : space.dirtyFolios(pos, end)) {
                BitSet blocks;
                int staged; // where the folio's snapshot starts in the staging buffer
                done.makeRoom(f.size());
                Interleave.point(Interleave.WRITEBACK_BEFORE_FOLIO_LOCK);
                f.lock().lock();
                try {
                    if (!space.isCached(f) || !f.isDirty() || f.pos() >= fileSize) {
                        continue;
                    }
                    // blocks past the size writeback was asked to write stay dirty: a writer may be
                    // appending into them right now, and their data is not part of this round
                    int limit = (int) Math.min(f.blocks(), (fileSize - f.pos() + blockSize - 1) / blockSize);
                    blocks = space.startWriteback(f, limit);
                    if (blocks.isEmpty()) {
                        space.endWriteback(f);
                        continue;
                    }
                    // the part of the EOF block past the size never reaches the disk as anything but
                    // zeros, whatever a store past EOF left in memory (iomap_writepage_handle_eof).
                    // The size is read now, under the folio lock: a write extends it while holding
                    // this lock, so bytes an append put here since this round began are kept
                    long eof = Protections.on(Protection.WRITEBACK_EOF_UNDER_FOLIO_LOCK)
                            ? Math.max(fileSize, ops.fileSize()) : fileSize;
                    // the snapshot: writers may dirty the folio again as soon as it is unlocked
                    staged = done.bio.snapshot(f, blocks, fileSize, eof);
                } finally {
                    f.lock().unlock();
                }
                done.folios.add(f); // leaves writeback only after its range is converted
                int at = staged;
                for (int b = blocks.nextSetBit(0); b >= 0; ) {
                    int runEnd = blocks.nextClearBit(b);
                    long p = f.pos() + (long) b * blockSize;
                    long runLen = runBytes(f, b, runEnd, fileSize);
                    long doneInRun = 0;
                    while (doneInRun < runLen) {
                        long q = p + doneInRun;
                        Iomap map = done.mapping(q, runLen - doneInRun);
                        long n = Math.min(map.end() - q, runLen - doneInRun);
                        done.submit(map.addrOf(q), at, (int) n);
                        at += (int) n;
                        Interleave.point(Interleave.WRITEBACK_AFTER_SUBMIT);
                        done.add(map, q, n);
                        doneInRun += n;
                    }
                    b = blocks.nextSetBit(runEnd);
                }
                if (done.folios.size() >= BATCH_FOLIOS) {
                    done.complete();
                }
            }
        } finally {
            try {
                done.complete();
            } finally {
                done.bio.release();
            }
        }
        return done.written;
    }

    /**
     * Bytes writeback writes for dirty blocks {@code [b, runEnd)} of {@code f}: up to the size it
     * was asked to write, rounded up to whole blocks.
     */
    private long runBytes(Folio f, int b, int runEnd, long fileSize) {
        long p = f.pos() + (long) b * blockSize;
        long runLen = Math.min((long) (runEnd - b) * blockSize, Math.max(0, fileSize - p));
        return (runLen + blockSize - 1) / blockSize * blockSize;
    }

    /** Size of a staging buffer: the longest single write writeback issues. */
    static final int STAGING_BYTES = 1 << 20;
    /** Staging buffers kept for the next writeback (direct memory, allocated on demand beyond these). */
    private static final java.util.concurrent.BlockingQueue<ByteBuffer> STAGING_POOL =
            new java.util.concurrent.ArrayBlockingQueue<>(4);

    /**
     * Writeback's staging buffer and the bio being built in it ({@code struct bio} in an
     * {@code iomap_ioend}). Under each folio's lock, the folio's dirty runs are copied into the
     * buffer one after the other: that copy is the snapshot that lets writers dirty the folio again
     * while it is written, and it is made straight into direct memory, so the bytes are copied once
     * on their way to the device. Pieces submitted at device addresses that continue the pending bio
     * (and that follow it in the buffer) join it; the bio is written with one positioned write when
     * a piece does not continue it, when the buffer needs room for the next folio, and before any
     * completion ({@link Completion#convertPending}), so no block is marked written before its data
     * was written. A piece's bytes stay in the buffer until then; its folio stays under writeback.
     */
    private final class Bio {
        private ByteBuffer buf;
        /** End of the snapshots in {@link #buf}. */
        private int staged;
        /** The pending bio: {@code buf[start, end)} goes to device byte address {@link #addr}. */
        private int start;
        private int end;
        private long addr;
        /** Length of the piece submitted last, the pending bio's tail. */
        private int last;

        /** Makes room for the snapshot of a folio of {@code bytes}, writing what is staged if needed. */
        void makeRoom(int bytes) throws IOException {
            if (buf == null) {
                buf = STAGING_POOL.poll();
                if (buf == null) {
                    buf = ByteBuffer.allocateDirect(Math.max(STAGING_BYTES, AddressSpace.MAX_FOLIO_SIZE));
                }
            }
            if (buf.capacity() - staged < bytes) {
                if (end != staged) {
                    throw new IllegalStateException("staged bytes " + end + ".." + staged + " were never submitted");
                }
                flush();
                staged = 0; // all of it written: the buffer starts over
                start = 0;
                end = 0;
            }
        }

        /**
         * With the folio's lock held: copies its dirty runs as writeback writes them (see
         * {@link #runBytes}), bytes at or past {@code eof} as zeros; returns where they start.
         */
        int snapshot(Folio f, BitSet blocks, long fileSize, long eof) {
            int first = staged;
            byte[] data = f.data();
            for (int b = blocks.nextSetBit(0); b >= 0; ) {
                int runEnd = blocks.nextClearBit(b);
                long p = f.pos() + (long) b * blockSize;
                int runLen = (int) runBytes(f, b, runEnd, fileSize);
                int keep = (int) Math.max(0, Math.min(runLen, eof - p));
                buf.put(staged, data, b * blockSize, keep);
                if (keep < runLen) {
                    buf.put(staged + keep, new byte[runLen - keep]);
                }
                staged += runLen;
                b = blocks.nextSetBit(runEnd);
            }
            return first;
        }

        /** Submits {@code buf[at, at+len)} for device address {@code to}: joins the pending bio or starts one. */
        void submit(long to, int at, int len) throws IOException {
            if (end > start && at == end && to == addr + (end - start)) {
                end += len;
                last = len;
                return;
            }
            flush();
            start = at;
            end = at + len;
            addr = to;
            last = len;
        }

        /** Writes the pending bio. */
        void flush() throws IOException {
            write(end);
        }

        /**
         * Writes the pending bio but for the piece submitted last, which stays as the start of the
         * next bio: it belongs to the range after the one being completed.
         */
        void flushAllButLast() throws IOException {
            write(end - last);
        }

        /**
         * Writes {@code buf[start, upTo)} and leaves {@code [upTo, end)} pending. A failed write
         * drops the whole pending bio, so nothing is tried again; the caller makes sure no range
         * whose data may be in it is converted.
         */
        private void write(int upTo) throws IOException {
            if (upTo <= start) {
                return;
            }
            ByteBuffer out = buf.duplicate();
            out.limit(upTo);
            out.position(start);
            long to = addr;
            addr += upTo - start;
            start = upTo;
            if (start == end && end == staged) {
                staged = 0; // everything staged is submitted and written: the buffer starts over
                start = 0;
                end = 0;
            }
            try {
                io.write(to, out);
            } catch (IOException | RuntimeException | Error e) {
                start = end;
                throw e;
            }
        }

        /** Back to the pool, whatever was not written dropped (only after a failure). */
        void release() {
            if (buf != null) {
                staged = 0;
                start = 0;
                end = 0;
                STAGING_POOL.offer(buf);
                buf = null;
            }
        }
    }

    /** Folios completed together: at most this many stay under writeback before their conversion. */
    private static final int BATCH_FOLIOS = 256;

    /**
     * Writeback's completion side ({@code iomap_finish_ioend}): contiguous ranges written with the
     * same type to contiguous blocks are completed with one {@link WritebackOps#writebackDone} (one
     * conversion for a streaming write, not one per folio), and only then do their folios leave
     * writeback.
     *
     * <p>The mapping is cached across folios, as XFS's {@code wpc->iomap}, and like XFS's
     * {@code xfs_imap_valid} it is asked whether it is still current before each reuse: a truncate,
     * punch or conversion elsewhere in the file moves the counter, and writeback maps again instead
     * of writing into blocks that may have been freed (docs/RACES.md R6).
     */
    private final class Completion {
        private final WritebackOps ops;
        private final List<Folio> folios = new java.util.ArrayList<>();
        final Bio bio = new Bio();
        private Iomap cached;
        private Iomap pendingMap;
        private long pendingStart = -1;
        private long pendingEnd = -1;
        long written;

        Completion(WritebackOps ops) {
            this.ops = ops;
        }

        Iomap mapping(long q, long len) throws IOException {
            if (cached == null || q < cached.offset() || q >= cached.end()
                    || Protections.on(Protection.WRITEBACK_MAP_CHECK) && !ops.valid(cached)) {
                cached = ops.mapForWriteback(q, len);
                Interleave.point(Interleave.WRITEBACK_AFTER_MAP);
            }
            return cached;
        }

        /** {@link Bio#makeRoom}; if it fails, the pending range is not converted (its data may not be written). */
        void makeRoom(int bytes) throws IOException {
            try {
                bio.makeRoom(bytes);
            } catch (IOException | RuntimeException | Error e) {
                pendingMap = null;
                throw e;
            }
        }

        /** {@link Bio#submit}; if it fails, the pending range is not converted (its data may not be written). */
        void submit(long addr, int at, int len) throws IOException {
            try {
                bio.submit(addr, at, len);
            } catch (IOException | RuntimeException | Error e) {
                pendingMap = null;
                throw e;
            }
        }

        void add(Iomap map, long q, long n) throws IOException {
            written += n;
            if (pendingMap != null && q == pendingEnd && map.type() == pendingMap.type()
                    && map.addrOf(q) == pendingMap.addrOf(pendingEnd)) {
                pendingEnd += n;
                return;
            }
            convertPending(true);
            pendingMap = map;
            pendingStart = q;
            pendingEnd = q + n;
        }

        /**
         * Completes the pending range: its data is written first, then its blocks are converted.
         * The bio holds only pieces of this range and, with {@code holdLast}, after them the piece
         * just submitted for the next range, which stays pending. If the write fails, nothing of
         * the range is converted, as ext4 leaves a failed ioend unwritten.
         */
        private void convertPending(boolean holdLast) throws IOException {
            if (pendingMap != null) {
                Iomap m = pendingMap;
                pendingMap = null;
                if (holdLast) {
                    bio.flushAllButLast();
                } else {
                    bio.flush();
                }
                Interleave.point(Interleave.WRITEBACK_BEFORE_CONVERT);
                ops.writebackDone(pendingStart, pendingEnd - pendingStart, m);
                Interleave.point(Interleave.WRITEBACK_AFTER_CONVERT);
            }
        }

        /** Writes and converts what is pending, then lets the batch's folios leave writeback. */
        void complete() throws IOException {
            try {
                convertPending(false);
                bio.flush(); // normally empty by now: every submitted piece belongs to the pending range
            } finally {
                cached = null;
                for (Folio f : folios) {
                    space.endWriteback(f);
                    Interleave.point(Interleave.WRITEBACK_END);
                }
                folios.clear();
            }
        }
    }
}
