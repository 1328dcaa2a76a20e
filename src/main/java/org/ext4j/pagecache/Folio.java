package org.ext4j.pagecache;

import java.util.BitSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A folio: a power-of-two run of file bytes (one or more blocks, up to {@link AddressSpace#MAX_FOLIO_SIZE})
 * cached in memory, with per-block uptodate and dirty bits (iomap's {@code struct iomap_folio_state})
 * and the folio lock. A folio is under writeback while its dirty bytes are being written; a new dirty
 * marking during writeback keeps it dirty for the next round.
 *
 * <p>Locking: {@link #lock()} guards {@link #data()} and both bit sets. Writers hold it while copying
 * in; writeback holds it while it snapshots dirty blocks and sets {@link #writeback}; readers hold it
 * while filling blocks from disk.
 */
public final class Folio {
    private final long pos;
    private final int size;
    private final int blockSize;
    private final byte[] data;
    private final BitSet uptodate;
    private final BitSet dirty;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when writeback ends; waited on with {@link #lock} held. */
    private final java.util.concurrent.locks.Condition writebackEnded = lock.newCondition();
    /** Guarded by {@link #lock}. */
    private boolean writeback;
    /** Guarded by the owning AddressSpace's monitor: last-use stamp for the LRU. */
    long lastUse;

    Folio(long pos, int size, int blockSize) {
        if (Integer.bitCount(size) != 1 || size < blockSize || pos % size != 0) {
            throw new IllegalArgumentException("folio of " + size + " bytes at " + pos);
        }
        this.pos = pos;
        this.size = size;
        this.blockSize = blockSize;
        this.data = new byte[size];
        this.uptodate = new BitSet(size / blockSize);
        this.dirty = new BitSet(size / blockSize);
    }

    /** File offset of the first byte. */
    public long pos() {
        return pos;
    }

    public int size() {
        return size;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blocks() {
        return size / blockSize;
    }

    public byte[] data() {
        return data;
    }

    public ReentrantLock lock() {
        return lock;
    }

    public boolean isUptodate(int block) {
        return uptodate.get(block);
    }

    public void setUptodate(int from, int to) {
        uptodate.set(from, to);
    }

    public boolean isFullyUptodate() {
        return uptodate.cardinality() == blocks();
    }

    public boolean isDirty(int block) {
        return dirty.get(block);
    }

    public boolean isDirty() {
        return !dirty.isEmpty();
    }

    public int dirtyBlocks() {
        return dirty.cardinality();
    }

    void setDirty(int from, int to) {
        dirty.set(from, to);
    }

    void clearDirty(int block) {
        dirty.clear(block);
    }

    /** The dirty bits as they are now, for writeback to take under the folio lock. */
    public BitSet dirtySnapshot() {
        return (BitSet) dirty.clone();
    }

    public boolean isWriteback() {
        return writeback;
    }

    void setWriteback(boolean v) {
        writeback = v;
        if (!v) {
            writebackEnded.signalAll();
        }
    }

    /** With the lock held: waits until the folio is not under writeback ({@code folio_wait_writeback}). */
    void awaitWriteback() {
        while (writeback) {
            writebackEnded.awaitUninterruptibly();
        }
    }

    @Override
    public String toString() {
        return "folio@" + pos + "+" + size + " uptodate=" + uptodate + " dirty=" + dirty;
    }
}
