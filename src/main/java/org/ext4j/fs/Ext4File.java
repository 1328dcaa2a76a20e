package org.ext4j.fs;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.ext4j.error.FileTooLargeException;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.WrongTypeException;
import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.format.InodeRecord;
import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.iomap.BlockIO;
import org.ext4j.iomap.BufferedIO;
import org.ext4j.mapping.BlockMapper;
import org.ext4j.mapping.Ext4IomapOps;
import org.ext4j.mapping.InodeState;
import org.ext4j.pagecache.AddressSpace;
import org.ext4j.txn.Handle;

/**
 * A regular file open for reading and writing on a read-write {@link Ext4FileSystem}: buffered
 * writes through iomap with delayed allocation, reads through the page cache, writeback on
 * {@link #fsync} and when the dirty limit is reached, and everything written back on
 * {@link #close}.
 *
 * <p>Locks: {@link #writerLock} is the inode writer lock ({@code i_rwsem}): writes take it; reads
 * and writeback do not. Below it, folio locks, then the mapper's mapping lock, then the status
 * tree's lock.
 */
public final class Ext4File implements Closeable {
    private final WriteSession session;
    private final InodeState inode;
    private final AddressSpace space;
    private final BufferedIO io;
    /** Null while the file's data is inline (i_block is no extent root then): built by {@link #mapBlocks}. */
    private volatile Ext4IomapOps ops;
    private final ExtentStatusTree es;
    private volatile BlockMapper mapper;
    private final ReentrantLock writerLock = new ReentrantLock();
    /** Writeback versus freeing blocks; taken after {@link #writerLock} when both are held. */
    private final Object writebackMutex = new Object();
    /**
     * The kernel's {@code mapping->invalidate_lock}: reads hold it shared while they fill the page
     * cache; truncate, punch and zero range hold it exclusive from dropping the cached folios until
     * the blocks behind them are unmapped, so no read caches a freed block's old bytes in between.
     * Taken after {@link #writebackMutex}, before any folio lock.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock invalidateLock =
            new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final AtomicLong size;
    private final long maxSize;
    /** The file system's {@code s_maxbytes}, which {@code vfs_fallocate} checks whatever the file's map. */
    private final long fallocateMax;
    /** The file's inline data, or whether it may become inline; null when it never will (InlineFile). */
    private final InlineFile inline;
    private volatile boolean closed;

    Ext4File(WriteSession session, InodeRecord rec) throws IOException {
        if (!rec.isRegular()) {
            throw new WrongTypeException("inode " + rec.number + " is not a regular file");
        }
        // extent-mapped, block-mapped (ext2/ext3) and inline files are all written
        this.session = session;
        this.inode = new InodeState(session.volume, rec);
        this.inline = InlineFile.of(session, inode, rec);
        int bs = session.volume.blockSize();
        this.es = new ExtentStatusTree(session.shrinker);
        this.size = new AtomicLong(rec.size);
        this.fallocateMax = maxBytes(session.volume.superblock());
        // an inline file becomes extent-mapped on a file system with extents, block-mapped without
        boolean extentLimit = rec.hasFlag(InodeRecord.FL_EXTENTS) || rec.hasFlag(InodeRecord.FL_INLINE_DATA)
                && session.volume.superblock().hasIncompat(org.ext4j.format.Features.INCOMPAT_EXTENTS);
        this.maxSize = extentLimit ? fallocateMax : maxBitmapBytes(session.volume.superblock());
        if (inline == null || !inline.hasData()) {
            mapBlocks();
        }
        this.space = new AddressSpace(bs, Math.max(bs, session.maxFolioBytes), session.limits);
        this.io = new BufferedIO(space, new DeviceIO(session));
    }

    /** The block mapper and iomap ops over the extent tree in i_block (not while the data is inline). */
    private void mapBlocks() throws IOException {
        BlockMapper m = new BlockMapper(session.volume, session.journal, session.allocator.blocks(), inode, es,
                session.reservations);
        this.ops = new Ext4IomapOps(m, session.volume.blockSize(), size::get);
        this.mapper = m;
    }

    /** Data I/O straight to the device by byte address. */
    private static final class DeviceIO implements BlockIO {
        private final WriteSession session;

        DeviceIO(WriteSession session) {
            this.session = session;
        }

        @Override
        public void read(long addr, byte[] dst, int off, int len) throws IOException {
            session.device.read(addr, ByteBuffer.wrap(dst, off, len));
        }

        @Override
        public void write(long addr, byte[] src, int off, int len) throws IOException {
            session.device.write(addr, ByteBuffer.wrap(src, off, len));
        }

        @Override
        public void write(long addr, ByteBuffer src) throws IOException {
            session.device.write(addr, src);
        }
    }

    public long inode() {
        return inode.number();
    }

    /** Whether {@link #close} has begun (an open by name must not hand this one out again). */
    boolean isClosed() {
        return closed;
    }

    /** The in-memory inode, through which changes by name reach an open file's inode ({@link WriteSession#updateInode}). */
    InodeState inodeState() {
        return inode;
    }

    /**
     * The largest size of an extent-mapped file, the kernel's {@code s_maxbytes} from
     * {@code ext4_max_size}: 2^32 - 1 blocks (the extent's 32-bit logical start), and without
     * huge_file no more than i_blocks' 2^32 - 1 sectors can count, rounded down to whole blocks.
     * Writes, truncates and fallocates past it are EFBIG.
     */
    static long maxBytes(org.ext4j.format.Superblock sb) {
        int bits = Integer.numberOfTrailingZeros(sb.blockSize);
        long res = ((1L << 32) - 1) << bits;
        if (!sb.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_HUGE_FILE)) {
            long upper = (((1L << 32) - 1) >> (bits - 9)) << bits;
            res = Math.min(res, upper);
        }
        return res;
    }

    /**
     * The largest size of a block-mapped (ext2/ext3) file, the kernel's {@code s_bitmap_maxbytes} from
     * {@code ext4_max_bitmap_size}: the blocks twelve direct pointers and the single, double and triple
     * indirect blocks address, less what i_blocks cannot count (2^32 - 1 sectors without huge_file,
     * 2^48 - 1 with it) once the indirect blocks a dense file needs are counted too; and no more
     * than 2^32 - 1 blocks, a logical block number's 32 bits. Writes and truncates of a block-mapped
     * file past it are EFBIG ({@code ext4_write_checks}, {@code ext4_setattr}).
     */
    static long maxBitmapBytes(org.ext4j.format.Superblock sb) {
        int bits = Integer.numberOfTrailingZeros(sb.blockSize);
        long ppb = 1L << (bits - 2);
        long upper = sb.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_HUGE_FILE) ? (1L << 48) - 1
                : ((1L << 32) - 1) >> (bits - 9);
        long res = 12 + ppb + ppb * ppb + ppb * ppb * ppb;
        long meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
        if (res + meta > upper) {
            // how many blocks fit once the indirect blocks that address them are counted too
            res = upper;
            long left = upper - 12 - ppb;
            meta = 1;
            if (left < ppb * ppb) {
                meta += 1 + (left + ppb - 1) / ppb;
            } else {
                meta += 1 + ppb;
                left -= ppb * ppb;
                meta += 1 + (left + ppb - 1) / ppb + (left + ppb * ppb - 1) / (ppb * ppb);
            }
            res -= meta;
        }
        res = Math.min(res, (1L << 32) - 1);
        return Math.min(res << bits, Long.MAX_VALUE);
    }

    /** The largest size this file may reach ({@link #maxBytes}, or {@link #maxBitmapBytes} for a block-mapped file). */
    public long maxSize() {
        return maxSize;
    }

    /**
     * A buffer range must lie inside its array: the kernel's EFAULT for a buffer outside the
     * address space, refused before anything is locked.
     */
    private static void checkBuffer(String op, byte[] buf, int off, int len) throws InvalidArgumentException {
        if (buf == null) {
            throw new InvalidArgumentException(op + ": no buffer (null) (EFAULT)");
        }
        if (off < 0 || len < 0 || off > buf.length - len) {
            throw new InvalidArgumentException(op + ": " + len + " bytes at index " + off + " do not fit a buffer of "
                    + buf.length + " bytes (EFAULT)");
        }
    }

    /**
     * {@code rw_verify_area}: a negative position, or a position plus length past 2^63 - 1, is
     * EINVAL (the length is an int here, so never negative once the buffer checked out).
     */
    private static void checkRange(String op, long pos, int len) throws InvalidArgumentException {
        if (pos < 0) {
            throw new InvalidArgumentException(op + " at negative offset " + pos + " (EINVAL)");
        }
        if (pos > Long.MAX_VALUE - len) {
            throw new InvalidArgumentException(op + " of " + len + " bytes at " + pos
                    + " ends past the largest offset, 2^63 - 1 (EINVAL)");
        }
    }

    /**
     * The layers under this file, for the race harness ({@code org.ext4j.race}) and tests that drive
     * the mapping layer directly, as a writer without the inode writer lock would (the kernel's
     * {@code page_mkwrite}). Using them bypasses every lock of this class: never for ordinary I/O.
     */
    public record Layers(AddressSpace space, BufferedIO io, Ext4IomapOps ops, BlockMapper mapper) {
    }

    public Layers layers() {
        return new Layers(space, io, ops, mapper);
    }

    public long size() {
        return size.get();
    }

    public int blockSize() {
        return session.volume.blockSize();
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("file (inode " + inode.number() + ") is closed");
        }
    }

    /**
     * Writes {@code len} bytes at {@code pos} (pwrite); returns the count. As the kernel's
     * {@code rw_verify_area} and {@code generic_write_checks}: a bad buffer range, a negative
     * position or one whose end passes 2^63 - 1 is refused ({@link InvalidArgumentException}); an
     * empty write does nothing; a write starting at or past {@link #maxSize()} is EFBIG
     * ({@link FileTooLargeException}); one that crosses it is shortened there.
     */
    public long pwrite(long pos, byte[] src, int off, int len) throws IOException {
        checkOpen();
        checkBuffer("write", src, off, len);
        checkRange("write", pos, len);
        if (len == 0) {
            return 0;
        }
        if (pos >= maxSize) {
            throw new FileTooLargeException("write at offset " + pos + ": file too large", maxSize);
        }
        len = (int) Math.min(len, maxSize - pos);
        session.checkNotFailed();
        long n = 0;
        // file_update_time: the write's time, stored with the inode once the write has changed the
        // file (the kernel stamps it first; a write refused by damage it meets then leaves the inode
        // as it was here: validate, then change)
        Instant now = session.clock.instant();
        writerLock.lock(); // i_rwsem
        try {
            if (inline != null && inline.active()) {
                if (inline.tryWrite(pos, src, off, len)) {
                    n = len;
                    inode.setDiskSize(size.accumulateAndGet(pos + len, Math::max));
                    return n;
                }
                convertInline();
            }
            zeroPastEof(pos);
            // in pieces, so that the dirty limit is checked as the write goes (balance_dirty_pages)
            int piece = (int) Math.max(session.volume.blockSize(), Math.min(1 << 20, session.limits.dirtyLimit() / 2));
            while (n < len) {
                int chunk = (int) Math.min(piece, len - n);
                long w = io.write(ops, pos + n, src, (int) (off + n), chunk, size::get,
                        newSize -> size.accumulateAndGet(newSize, Math::max));
                n += w;
                if (session.limits.throttleNeeded()) {
                    writeback(); // the writer pays for writeback over the limit
                }
                if (w < chunk) {
                    break;
                }
            }
        } finally {
            if (n > 0) {
                inode.touch(now.getEpochSecond(), now.getNano());
            }
            writerLock.unlock();
        }
        return n;
    }

    /** Appends at the current end of file. */
    public long append(byte[] src, int off, int len) throws IOException {
        writerLock.lock();
        try {
            return pwrite(size.get(), src, off, len);
        } finally {
            writerLock.unlock();
        }
    }

    /**
     * Sets the file's size ({@code truncate}): shrinking zeroes the tail of the new last block,
     * drops cached folios and frees every block past it; growing leaves a hole (the old last block's
     * tail past the old end is zeroed, so no stale bytes appear, docs/RACES.md R8).
     */
    public void truncate(long newSize) throws IOException {
        checkOpen();
        if (newSize < 0) {
            throw new InvalidArgumentException("truncate to negative size " + newSize + " (EINVAL)");
        }
        if (newSize > maxSize) {
            throw new FileTooLargeException("truncate to " + newSize + " bytes: file too large", maxSize);
        }
        session.change("ext4_truncate", () -> {
            truncateLocked(newSize);
            return null;
        });
    }

    private void truncateLocked(long newSize) throws IOException {
        int bs = session.volume.blockSize();
        writerLock.lock();
        try {
            Interleave.point(Interleave.TRUNCATE_BEGIN);
            long old = size.get();
            if (newSize == old) {
                return;
            }
            if (inline != null && inline.hasData()) {
                if (newSize <= inline.capacity()) { // ext4_inline_data_truncate
                    inline.truncate(newSize);
                    size.set(newSize);
                    inode.setDiskSize(newSize);
                    writeInodeNow();
                    return;
                }
                convertInline(); // ext4_setattr: a size past i_inline_size converts first
            }
            if (newSize < old) {
                // validate, then change: the blocks to free are checked before a byte is zeroed
                mapper.checkRemovable((newSize + bs - 1) / bs, (1L << 32) - (newSize + bs - 1) / bs);
            }
            // zero the rest of the block that holds the lower of the two ends, up to the other end:
            // it is read from disk first if written, and no stale byte past an end survives
            long zeroFrom = Math.min(old, newSize);
            long zeroTo = Math.min((zeroFrom + bs - 1) / bs * bs, Math.max(old, newSize));
            if (zeroTo > zeroFrom) {
                int n = (int) (zeroTo - zeroFrom);
                io.write(ops, zeroFrom, new byte[n], 0, n, size::get, s -> { });
            }
            if (newSize < old) {
                long firstGone = (newSize + bs - 1) / bs;
                synchronized (writebackMutex) { // no flusher may write into blocks being freed
                    io.writeback(ops, 0, Long.MAX_VALUE, size.get());
                    invalidateLock.writeLock().lock(); // no read refills the cache from freed blocks
                    try {
                        size.set(newSize); // first, as truncate_setsize: reads from now on stop there
                        space.truncate(firstGone * bs);
                        mapper.truncateBlocks(firstGone);
                    } finally {
                        invalidateLock.writeLock().unlock();
                    }
                }
                Interleave.point(Interleave.TRUNCATE_AFTER_UNMAP);
            }
            size.set(newSize);
            inode.setDiskSize(newSize);
            writeInodeNow();
        } finally {
            writerLock.unlock();
        }
    }

    /** fallocate(2) modes ext4j implements (the Linux flag values). */
    public static final int FALLOC_KEEP_SIZE = 0x01;
    public static final int FALLOC_PUNCH_HOLE = 0x02;
    public static final int FALLOC_ZERO_RANGE = 0x10;

    /** The kernel's other fallocate modes, which ext4j does not implement. */
    private static final int FALLOC_COLLAPSE_RANGE = 0x08;
    private static final int FALLOC_INSERT_RANGE = 0x20;
    private static final int FALLOC_UNSHARE_RANGE = 0x40;

    /**
     * {@code fallocate(2)}: mode 0 allocates unwritten blocks (reads zero) and grows the size;
     * {@code KEEP_SIZE} allocates without growing it; {@code PUNCH_HOLE|KEEP_SIZE} frees the range
     * (partial blocks zeroed); {@code ZERO_RANGE} makes the range read zero and stay allocated.
     * Checked in {@code vfs_fallocate}'s order before anything is locked: a negative offset or a
     * length of zero or less, then a mode the kernel refuses (unknown bits, punch with zero range,
     * punch without keep-size: EOPNOTSUPP), are {@link InvalidArgumentException}; the kernel's
     * collapse, insert and unshare modes are not implemented ({@link UnsupportedFeatureException});
     * a range ending past the file system's largest file ({@link #maxBytes}, the {@code s_maxbytes}
     * of {@code vfs_fallocate}) or past 2^63 - 1 is EFBIG ({@link FileTooLargeException}). A
     * block-mapped file has no unwritten blocks: every mode but punch is refused there
     * ({@link UnsupportedFeatureException}, the kernel's EOPNOTSUPP from {@code ext4_do_fallocate}
     * and {@code ext4_zero_range}) before anything changes.
     */
    public void fallocate(int mode, long pos, long len) throws IOException {
        checkOpen();
        if (pos < 0 || len <= 0) {
            throw new InvalidArgumentException("fallocate of " + len + " bytes at offset " + pos
                    + ": the offset must be 0 or more and the length more than 0 (EINVAL)");
        }
        boolean punch = (mode & FALLOC_PUNCH_HOLE) != 0;
        boolean zero = (mode & FALLOC_ZERO_RANGE) != 0;
        boolean keep = (mode & FALLOC_KEEP_SIZE) != 0;
        int known = FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE | FALLOC_ZERO_RANGE | FALLOC_COLLAPSE_RANGE
                | FALLOC_INSERT_RANGE | FALLOC_UNSHARE_RANGE;
        if ((mode & ~known) != 0 || punch && zero || punch && !keep) {
            throw new InvalidArgumentException(String.format("fallocate mode 0x%x is not a valid mode (EOPNOTSUPP)", mode));
        }
        if ((mode & (FALLOC_COLLAPSE_RANGE | FALLOC_INSERT_RANGE | FALLOC_UNSHARE_RANGE)) != 0) {
            throw new org.ext4j.error.UnsupportedFeatureException(String.format("fallocate mode 0x%x", mode),
                    "collapse, insert and unshare ranges are not implemented");
        }
        if (pos > fallocateMax - len) {
            throw new FileTooLargeException("fallocate of " + len + " bytes at offset " + pos + ": file too large",
                    fallocateMax);
        }
        // an inline file (no mapper yet) is converted first: to extents where the file system has them
        boolean blockMapped = mapper != null ? mapper.blockMapped()
                : !session.volume.superblock().hasIncompat(org.ext4j.format.Features.INCOMPAT_EXTENTS);
        if (!punch && blockMapped) {
            throw new org.ext4j.error.UnsupportedFeatureException(zero ? "zero range" : "fallocate",
                    "inode " + inode.number() + " is block-mapped (no extents): it cannot hold unwritten blocks (EOPNOTSUPP)");
        }
        session.change("ext4_fallocate", () -> {
            fallocateLocked(pos, len, punch, zero, keep);
            return null;
        });
    }

    private void fallocateLocked(long pos, long len, boolean punch, boolean zero, boolean keep) throws IOException {
        int bs = session.volume.blockSize();
        long end = pos + len;
        writerLock.lock();
        try {
            if (inline != null) {
                convertInline(); // ext4_fallocate and ext4_punch_hole convert first
            }
            Interleave.point(punch ? Interleave.PUNCH_BEGIN : zero ? Interleave.ZERO_BEGIN : Interleave.FALLOC_BEGIN);
            long fileSize = size.get();
            if (punch || zero) {
                long limit = punch ? Math.min(end, fileSize) : end;
                long firstWhole = (pos + bs - 1) / bs;
                long endWhole = limit / bs;
                // validate, then change: the blocks to free are checked before the edges are zeroed
                mapper.checkRemovable(firstWhole, endWhole - firstWhole);
                // partial blocks at the edges become zeros through the page cache
                zeroBytes(pos, Math.min(limit, firstWhole * bs), fileSize);
                if (endWhole >= firstWhole) {
                    zeroBytes(Math.max(pos, endWhole * bs), limit, fileSize);
                }
                if (endWhole > firstWhole) {
                    synchronized (writebackMutex) { // no flusher may write into blocks being freed
                        io.writeback(ops, 0, Long.MAX_VALUE, size.get());
                        invalidateLock.writeLock().lock(); // no read refills the cache from freed blocks
                        try {
                            space.discard(firstWhole * bs, endWhole * bs);
                            mapper.removeBlocks(firstWhole, endWhole - firstWhole);
                            if (zero) {
                                mapper.allocateUnwritten(firstWhole, endWhole - firstWhole);
                            }
                        } finally {
                            invalidateLock.writeLock().unlock();
                        }
                    }
                    Interleave.point(punch ? Interleave.PUNCH_AFTER_UNMAP : Interleave.ZERO_AFTER_UNMAP);
                }
            } else {
                synchronized (writebackMutex) { // delayed blocks in the range get their real blocks first
                    io.writeback(ops, 0, Long.MAX_VALUE, size.get());
                    long first = pos / bs;
                    mapper.allocateUnwritten(first, (end + bs - 1) / bs - first);
                }
                Interleave.point(Interleave.FALLOC_END);
            }
            if (!keep && end > fileSize) {
                size.set(end);
                inode.setDiskSize(end);
            }
            writeInodeNow();
        } finally {
            writerLock.unlock();
        }
    }

    /**
     * Before a write at {@code pos} beyond the end of file: the rest of the old end-of-file block,
     * past the old size, is zeroed through the page cache, so nothing a store past EOF left in the
     * cached block, and nothing stale on disk behind it, appears inside the grown file (docs/RACES.md R8;
     * the kernel's {@code iomap_zero_range} from the old size). A hole or an unwritten block with
     * nothing cached reads zero already and is left alone.
     */
    private void zeroPastEof(long pos) throws IOException {
        long old = size.get();
        int bs = session.volume.blockSize();
        if (pos <= old || old % bs == 0 || !Protections.on(Protection.EOF_ZERO)) {
            return;
        }
        long to = Math.min(pos, (old + bs - 1) / bs * bs);
        org.ext4j.iomap.Iomap m = ops.begin(old, to - old, org.ext4j.iomap.IomapOps.REPORT);
        boolean holdsData = m.type() == org.ext4j.iomap.Iomap.Type.MAPPED
                || m.type() == org.ext4j.iomap.Iomap.Type.DELALLOC || space.find(old) != null;
        if (holdsData) {
            int n = (int) (to - old);
            io.write(ops, old, new byte[n], 0, n, size::get, s -> { });
        }
    }

    /**
     * {@code ext4_convert_inline_data} / {@code ext4_da_convert_inline_data_to_extent}, under the
     * writer lock: the inline bytes leave the inode (now an empty extent-mapped file) and are written
     * back at offset 0 through the page cache, where writeback gives them a block; the file will not
     * be inline again. When the bytes cannot be written (no space for their reservation) the inode is
     * put back as it was.
     */
    private void convertInline() throws IOException {
        if (!inline.hasData()) {
            inline.clearMay();
            return;
        }
        synchronized (writebackMutex) {
            invalidateLock.writeLock().lock(); // no read between the inline bytes and the page cache
            try {
                InlineFile.Undo[] undo = new InlineFile.Undo[1];
                byte[] data = inline.destroy(size.get(), undo);
                try {
                    mapBlocks(); // i_block is an empty extent root now
                    if (data.length > 0) {
                        io.write(ops, 0, data, 0, data.length, size::get, s -> { });
                    }
                } catch (IOException | RuntimeException e) {
                    space.truncate(0);
                    ops = null;
                    mapper = null;
                    inline.restore(undo[0]);
                    throw e;
                }
            } finally {
                invalidateLock.writeLock().unlock();
            }
        }
        inline.clearMay();
    }

    /** Zeroes bytes through the page cache; past the end of file there is nothing to zero. */
    private void zeroBytes(long from, long to, long fileSize) throws IOException {
        to = Math.min(to, fileSize);
        if (to > from) {
            int n = (int) (to - from);
            io.write(ops, from, new byte[n], 0, n, size::get, s -> { });
        }
    }

    /** One run of a file's block map as {@code fiemap} reports it; {@code physical} is -1 for holes and delayed runs. */
    public record MappedRun(long logical, long blocks, long physical, String state) {
    }

    /**
     * The file's block map from the status tree and the extent tree (FIEMAP): WRITTEN, UNWRITTEN,
     * DELAYED (dirty, no blocks yet) and HOLE runs up to the end of file.
     */
    public java.util.List<MappedRun> fiemap() throws IOException {
        checkOpen();
        int bs = session.volume.blockSize();
        long blocks = (size.get() + bs - 1) / bs;
        java.util.List<MappedRun> out = new java.util.ArrayList<>();
        if (inline != null && inline.hasData()) { // FIEMAP_EXTENT_DATA_INLINE
            if (blocks > 0) {
                out.add(new MappedRun(0, blocks, -1, "INLINE"));
            }
            return out;
        }
        long cur = 0;
        while (cur < blocks) {
            ExtentStatusTree.Entry e = mapper.lookup(cur).entry();
            long n = Math.min(e.lblk() + e.len(), blocks) - cur;
            long p = e.status().hasPblk() ? e.pblkOf(cur) : -1;
            MappedRun last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.state().equals(e.status().name())
                    && (p < 0 ? last.physical() < 0 : last.physical() >= 0 && last.physical() + last.blocks() == p)) {
                out.set(out.size() - 1, new MappedRun(last.logical(), last.blocks() + n, last.physical(), last.state()));
            } else {
                out.add(new MappedRun(cur, n, p, e.status().name()));
            }
            cur += n;
        }
        return out;
    }

    /**
     * {@code lseek(SEEK_DATA / SEEK_HOLE)}: the first offset at or after {@code pos} holding data
     * (written or delayed blocks, or unwritten blocks whose page cache is uptodate), or the first hole
     * (the end of file counts as one); -1 (ENXIO) for SEEK_DATA when there is no more data, and for
     * both when {@code pos} is negative or at or past the end of file, as {@code iomap_seek_data}
     * and {@code iomap_seek_hole} answer.
     */
    public long seek(long pos, boolean data) throws IOException {
        checkOpen();
        long fileSize = size.get();
        if (pos < 0 || pos >= fileSize) {
            return -1;
        }
        if (inline != null && inline.hasData()) {
            return data ? pos : fileSize; // inline bytes are data up to the end of file
        }
        int bs = session.volume.blockSize();
        long cur = pos / bs;
        long blocks = (fileSize + bs - 1) / bs;
        while (cur < blocks) {
            ExtentStatusTree.Entry e = mapper.lookup(cur).entry();
            long runEnd = Math.min(e.lblk() + e.len(), blocks);
            for (long b = cur; b < runEnd; b++) {
                boolean isData = switch (e.status()) {
                    case WRITTEN, DELAYED -> true;
                    case HOLE -> false;
                    case UNWRITTEN -> {
                        org.ext4j.pagecache.Folio f = space.find(b * bs);
                        // as mapping_seek_hole_data: cached, uptodate contents of unwritten blocks are data
                        yield f != null && f.isUptodate((int) ((b * bs - f.pos()) / bs));
                    }
                };
                if (isData == data) {
                    return Math.max(pos, b * bs);
                }
                if (e.status() != ExtentStatusTree.Status.UNWRITTEN) {
                    b = runEnd - 1; // the whole run answers alike
                }
            }
            cur = runEnd;
        }
        return data ? -1 : fileSize;
    }

    /** Writes the inode with mtime and ctime set to now, in a handle of its own. */
    private void writeInodeNow() throws IOException {
        try (Handle h = session.journal.start(1)) {
            Instant now = session.clock.instant();
            inode.write(h, now.getEpochSecond(), now.getNano());
        }
    }

    /**
     * Reads up to {@code len} bytes at {@code pos}; -1 at end of file. A bad buffer range, a
     * negative position, or one whose end passes 2^63 - 1 is refused
     * ({@link InvalidArgumentException}, as {@code rw_verify_area}).
     */
    public int pread(long pos, byte[] dst, int off, int len) throws IOException {
        checkOpen();
        checkBuffer("read", dst, off, len);
        checkRange("read", pos, len);
        invalidateLock.readLock().lock();
        try {
            if (inline != null && inline.hasData()) {
                return inline.read(pos, dst, off, len, size.get());
            }
            return io.read(ops, pos, dst, off, len, size.get());
        } finally {
            invalidateLock.readLock().unlock();
        }
    }

    /**
     * Writes back every dirty folio. Takes no inode writer lock (writes go on meanwhile, which is
     * the point), only {@link #writebackMutex}, which truncate, punch and zero range hold while they
     * free blocks, as the kernel's truncate waits for folios under writeback.
     */
    public long writeback() throws IOException {
        return session.change("ext4_writepages", () -> {
            synchronized (writebackMutex) {
                if (ops == null) {
                    return 0L; // inline: nothing in the page cache
                }
                return io.writeback(ops, 0, Long.MAX_VALUE, size.get());
            }
        });
    }

    /** Whether any folio is dirty (for the flusher). */
    boolean hasDirtyData() {
        return space.hasDirtyFolios();
    }

    /** Data and metadata to disk ({@code fsync}). */
    public void fsync() throws IOException {
        checkOpen();
        flush(true);
    }

    /**
     * Writes the file's dirty data back and its inode out; {@code durable} also flushes the
     * device (fsync). A close does not: as the kernel's close, it leaves durability to a later
     * fsync, sync or the session's close, so closing thousands of files costs no device flush each.
     */
    private void flush(boolean durable) throws IOException {
        session.change(durable ? "ext4_sync_file" : "ext4_release_file", () -> {
            writeback();
            session.checkFlusher();
            inode.setDiskSize(Math.max(inode.diskSize(), size.get()));
            if (inode.dirty()) { // the times of writes, a size the completions did not store
                try (Handle h = session.journal.start(1)) {
                    inode.write(h, -1, 0);
                }
            }
            if (durable) {
                session.journal.commit();
            }
            return null;
        });
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        if (session.failed()) {
            abandon();
            return;
        }
        if (inode.linksCount() == 0) {
            dropForEviction(); // unlinked while open: the inode is freed below, its data never read again
        } else {
            checkOpen();
            flush(false);
        }
        closed = true;
        space.release();
        es.close();
        session.fileClosed(this); // leaves the open files under the inode's lock; unlinked while open: freed now (Unlinker)
    }

    /**
     * The last close of a file with no name left ({@code ext4_evict_inode}'s
     * {@code truncate_inode_pages_final}): dirty folios are dropped, not written back, and the
     * reservations of their delayed blocks given back, since the eviction that follows frees
     * everything the file has. Waits for writeback already under way (the flusher's), which holds
     * the writeback mutex, so no completion lands after the eviction.
     */
    private void dropForEviction() {
        writerLock.lock();
        try {
            synchronized (writebackMutex) {
                invalidateLock.writeLock().lock();
                try {
                    space.truncate(0);
                    long last = ExtentStatusTree.MAX_LBLK; // every logical block
                    long cur = 0;
                    while (cur <= last) {
                        ExtentStatusTree.Lookup l = es.findFirst(cur, last,
                                java.util.EnumSet.of(ExtentStatusTree.Status.DELAYED));
                        if (!l.found()) {
                            break;
                        }
                        long from = Math.max(cur, l.entry().lblk());
                        long to = l.entry().end() + 1;
                        mapper.punchDelalloc(from, to - from); // the reservation comes back
                        cur = to;
                    }
                } finally {
                    invalidateLock.writeLock().unlock();
                }
            }
        } finally {
            writerLock.unlock();
        }
    }

    /**
     * Closes the file without writing anything: after an error made the session read-only, its
     * dirty data and inode changes are dropped, as the kernel's shut-down file system drops them.
     */
    void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        space.release();
        es.close();
        session.openFiles.remove(inode.number(), this);
    }
}
