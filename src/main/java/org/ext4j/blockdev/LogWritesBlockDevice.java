package org.ext4j.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;

/**
 * A device that passes all I/O through to another and logs every write (its offset and a copy of
 * its bytes) and every flush, in the order they reached it: Linux's {@code dm-log-writes} target
 * ({@code drivers/md/dm-log-writes.c}) and the replay half of its {@code replay-log} tool, for crash
 * tests.
 *
 * <p><b>Crash states.</b> A flush splits the log into epochs: epoch {@code k} holds the writes issued
 * after the {@code k}-th flush and before the next one (epoch 0: before the first flush). A disk that
 * loses power during epoch {@code k} has durably kept every write of the epochs before {@code k},
 * and any subset of epoch {@code k}'s writes, in any combination, since it may reorder and keep or
 * drop what was not yet flushed. {@link #replay} writes exactly such a state onto a copy of the
 * image the log started from. A write is kept or lost whole; {@link #sectors} splits an epoch's
 * writes into sector-sized pieces for the torn-write case, where a disk keeps only some sectors of
 * one large write. Later writes to the same bytes win, as on the disk, because a crash state applies
 * its writes in log order.
 *
 * <p>Writes and flushes are logged under one lock together with the pass-through call, so the log's
 * order is the order the inner device saw them, with concurrent writers too.
 */
public final class LogWritesBlockDevice implements BlockDevice {

    /** One logged write: where, what, and in which epoch (the number of flushes logged before it). */
    public record Write(long offset, byte[] data, int epoch) {
        public long end() {
            return offset + data.length;
        }

        @Override
        public String toString() {
            return "write " + data.length + " bytes at " + offset + " (epoch " + epoch + ")";
        }
    }

    private final BlockDevice inner;
    /** Guarded by {@code this}. */
    private final List<Write> writes = new ArrayList<>();
    /** Guarded by {@code this}: index in {@link #writes} of the first write after each flush. */
    private final List<Integer> flushes = new ArrayList<>();
    /** Guarded by {@code this}. */
    private boolean recording = true;

    public LogWritesBlockDevice(BlockDevice inner) {
        this.inner = inner;
    }

    @Override
    public long size() throws IOException {
        return inner.size();
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        return inner.read(offset, dst);
    }

    @Override
    public long transferTo(long offset, long count, java.nio.channels.WritableByteChannel target)
            throws IOException {
        return inner.transferTo(offset, count, target);
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        byte[] copy = new byte[src.remaining()];
        src.duplicate().get(copy);
        inner.write(offset, src);
        if (recording) {
            writes.add(new Write(offset, copy, flushes.size()));
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        inner.flush();
        if (recording) {
            flushes.add(writes.size());
        }
    }

    /**
     * Stops logging: I/O still passes through, but the log stays as it is (for a harness that closes
     * the file system after the part it studies).
     */
    public synchronized void stopRecording() {
        recording = false;
    }

    /** Every write logged, in order. */
    public synchronized List<Write> writes() {
        return Collections.unmodifiableList(new ArrayList<>(writes));
    }

    /** Flushes logged. */
    public synchronized int flushCount() {
        return flushes.size();
    }

    /** Epochs in the log: one more than the flushes, the last being the writes after the last flush. */
    public synchronized int epochCount() {
        return flushes.size() + 1;
    }

    /** The writes of epoch {@code k}, in order. */
    public synchronized List<Write> epoch(int k) {
        if (k < 0 || k > flushes.size()) {
            throw new IndexOutOfBoundsException("epoch " + k + " of " + epochCount());
        }
        int from = k == 0 ? 0 : flushes.get(k - 1);
        int to = k == flushes.size() ? writes.size() : flushes.get(k);
        return Collections.unmodifiableList(new ArrayList<>(writes.subList(from, to)));
    }

    /**
     * Writes onto {@code target}, which must hold the image this log started from, the crash state
     * "power lost during epoch {@code k}": every write of the epochs before {@code k}, then those of
     * {@code kept}, in their order (normally a subset of {@link #epoch}{@code (k)} or of its
     * {@link #sectors}). Returns the number of writes applied.
     */
    public int replay(BlockDevice target, int k, List<Write> kept) throws IOException {
        List<Write> before;
        synchronized (this) {
            if (k < 0 || k > flushes.size()) {
                throw new IndexOutOfBoundsException("epoch " + k + " of " + epochCount());
            }
            before = new ArrayList<>(writes.subList(0, k == 0 ? 0 : flushes.get(k - 1)));
        }
        apply(target, before);
        apply(target, kept);
        return before.size() + kept.size();
    }

    /** Writes {@code ws} onto {@code target} in order. */
    public static void apply(BlockDevice target, List<Write> ws) throws IOException {
        for (Write w : ws) {
            target.write(w.offset(), ByteBuffer.wrap(w.data()));
        }
    }

    /** The writes of {@code ws} whose index is set in {@code chosen}, in order. */
    public static List<Write> subset(List<Write> ws, BitSet chosen) {
        List<Write> out = new ArrayList<>();
        for (int i = chosen.nextSetBit(0); i >= 0 && i < ws.size(); i = chosen.nextSetBit(i + 1)) {
            out.add(ws.get(i));
        }
        return out;
    }

    /**
     * {@code ws} split at every multiple of {@code sectorSize} (a power of two), in order: what a disk
     * that keeps sectors, not whole writes, may keep any subset of (torn writes).
     */
    public static List<Write> sectors(List<Write> ws, int sectorSize) {
        if (sectorSize <= 0 || Integer.bitCount(sectorSize) != 1) {
            throw new IllegalArgumentException("sector size " + sectorSize + " is not a power of two");
        }
        List<Write> out = new ArrayList<>();
        for (Write w : ws) {
            long pos = w.offset();
            while (pos < w.end()) {
                long next = Math.min(w.end(), (pos / sectorSize + 1) * sectorSize);
                byte[] part = new byte[(int) (next - pos)];
                System.arraycopy(w.data(), (int) (pos - w.offset()), part, 0, part.length);
                out.add(new Write(pos, part, w.epoch()));
                pos = next;
            }
        }
        return out;
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }

    @Override
    public String toString() {
        return inner + " (writes logged)";
    }
}
