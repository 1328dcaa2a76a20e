package org.ext4j.iomap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.extentstatus.ExtentStatusTree.Status;
import org.ext4j.interleave.Interleave;
import org.ext4j.pagecache.AddressSpace;
import org.ext4j.pagecache.Folio;
import org.ext4j.pagecache.PageCacheLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Writeback's bios: dirty data goes out of the staging buffer with one positioned write per run of
 * contiguous device addresses (across folios, up to the buffer's size), the snapshot taken under the
 * folio lock is what reaches the disk even if a writer dirties the folio again before the bio is
 * written, and a range whose write failed is never converted to written.
 */
class WritebackBioTest {
    private static final int B = 1024;

    /** The device under {@link MemoryMappingFs}, recording every write as {address, length}. */
    private static final class RecordingIO implements BlockIO {
        final MemoryMappingFs fs;
        final List<long[]> writes = new ArrayList<>();
        boolean fail;

        RecordingIO(MemoryMappingFs fs) {
            this.fs = fs;
        }

        @Override
        public void read(long addr, byte[] dst, int off, int len) {
            fs.read(addr, dst, off, len);
        }

        @Override
        public void write(long addr, byte[] src, int off, int len) throws IOException {
            if (fail) {
                throw new IOException("test: write fails");
            }
            writes.add(new long[] {addr, len});
            fs.write(addr, src, off, len);
        }
    }

    @AfterEach
    void reset() {
        Interleave.install(null);
    }

    private static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i / 7 + seed);
        }
        return b;
    }

    @Test
    void contiguousFoliosGoOutAsOneWrite() throws Exception {
        MemoryMappingFs fs = new MemoryMappingFs(B, 2048);
        RecordingIO dev = new RecordingIO(fs);
        AddressSpace space = new AddressSpace(B, 4 * B, new PageCacheLimits(8 << 20, 4 << 20, 4 << 20));
        BufferedIO io = new BufferedIO(space, dev);
        byte[] data = pattern(256 * B, 1); // 64 folios of 4 blocks, one delayed range
        io.write(fs, 0, data, 0, data.length, () -> fs.size, n -> fs.size = n);

        assertEquals(data.length, io.writeback(fs, 0, Long.MAX_VALUE, fs.size));
        assertEquals(1, dev.writes.size(), "one write for one contiguous run");
        assertEquals(data.length, dev.writes.get(0)[1]);
        assertArrayEquals(data, fs.diskView(fs.size));
        assertEquals(Status.WRITTEN, fs.es.lookup(0).entry().status());
        assertEquals(Status.WRITTEN, fs.es.lookup(255).entry().status());
    }

    @Test
    void runsLongerThanTheStagingBufferAreSplitAtItsSize() throws Exception {
        int len = BufferedIO.STAGING_BYTES * 2 + 8 * B;
        MemoryMappingFs fs = new MemoryMappingFs(B, len / B + 64);
        RecordingIO dev = new RecordingIO(fs);
        AddressSpace space = new AddressSpace(B, new PageCacheLimits(16 << 20, 8 << 20, 8 << 20));
        BufferedIO io = new BufferedIO(space, dev);
        byte[] data = pattern(len, 2);
        io.write(fs, 0, data, 0, data.length, () -> fs.size, n -> fs.size = n);

        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        assertEquals(3, dev.writes.size());
        for (int i = 1; i < dev.writes.size(); i++) {
            assertEquals(dev.writes.get(i - 1)[0] + dev.writes.get(i - 1)[1], dev.writes.get(i)[0], "in address order");
        }
        assertArrayEquals(data, fs.diskView(fs.size));
    }

    /**
     * Pieces whose device addresses do not follow each other end a write: clean blocks inside a
     * folio, and ranges allocated apart (here fallocated with another file's blocks between them).
     */
    @Test
    void discontiguousPiecesAreWrittenApart() throws Exception {
        MemoryMappingFs fs = new MemoryMappingFs(B, 256);
        fs.fallocate(0, 8);
        fs.fallocate(100, 10); // blocks between the two ranges, on the device
        fs.fallocate(40, 12);
        RecordingIO dev = new RecordingIO(fs);
        AddressSpace space = new AddressSpace(B, 4 * B, new PageCacheLimits(8 << 20, 4 << 20, 4 << 20));
        BufferedIO io = new BufferedIO(space, dev);
        byte[] whole = new byte[64 * B];
        for (long[] w : new long[][] {{0, 3 * B}, {5 * B, 2 * B}, {40 * B, 12 * B}}) {
            byte[] d = pattern((int) w[1], (int) w[0]);
            io.write(fs, w[0], d, 0, d.length, () -> fs.size, n -> fs.size = n);
            System.arraycopy(d, 0, whole, (int) w[0], d.length);
        }
        fs.size = whole.length;
        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        assertEquals(3, dev.writes.size(), "blocks 0-2, 5-6 and 40-51");
        assertArrayEquals(whole, fs.diskView(fs.size));
    }

    /** A writer dirtying a folio after its snapshot, before its bio is written: the snapshot reaches the disk. */
    @Test
    void theSnapshotIsWrittenWhileTheFolioIsDirtiedAgain() throws Exception {
        MemoryMappingFs fs = new MemoryMappingFs(B, 256);
        RecordingIO dev = new RecordingIO(fs);
        AddressSpace space = new AddressSpace(B, 4 * B, new PageCacheLimits(8 << 20, 4 << 20, 4 << 20));
        BufferedIO io = new BufferedIO(space, dev);
        byte[] first = pattern(16 * B, 3);
        io.write(fs, 0, first, 0, first.length, () -> fs.size, n -> fs.size = n);
        byte[] second = pattern(B, 4);
        boolean[] done = {false};
        Interleave.install(point -> {
            if (point.equals(Interleave.WRITEBACK_AFTER_SUBMIT) && !done[0]) {
                done[0] = true;
                assertTrue(dev.writes.isEmpty(), "the first folio's bio is still being built");
                try {
                    io.write(fs, B, second, 0, second.length, () -> fs.size, n -> fs.size = n);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }
        });
        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        Interleave.install(null);
        assertArrayEquals(first, fs.diskView(fs.size), "the bytes snapshotted under the folio lock");
        Folio f = space.find(B);
        assertTrue(f.isDirty(1), "dirtied again for the next round");

        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        byte[] want = first.clone();
        System.arraycopy(second, 0, want, B, B);
        assertArrayEquals(want, fs.diskView(fs.size));
    }

    /** A failed write converts nothing of its range: the blocks stay unwritten (read as zeros), never stale. */
    @Test
    void aFailedWriteLeavesItsRangeUnwritten() throws Exception {
        MemoryMappingFs fs = new MemoryMappingFs(B, 256);
        Arrays.fill(fs.disk, (byte) 'S'); // stale contents of the blocks writeback will allocate
        RecordingIO dev = new RecordingIO(fs);
        AddressSpace space = new AddressSpace(B, 4 * B, new PageCacheLimits(8 << 20, 4 << 20, 4 << 20));
        BufferedIO io = new BufferedIO(space, dev);
        byte[] data = pattern(32 * B, 5);
        io.write(fs, 0, data, 0, data.length, () -> fs.size, n -> fs.size = n);
        dev.fail = true;

        assertThrows(IOException.class, () -> io.writeback(fs, 0, Long.MAX_VALUE, fs.size));
        assertEquals(Status.UNWRITTEN, fs.es.lookup(0).entry().status());
        assertEquals(Status.UNWRITTEN, fs.es.lookup(31).entry().status());
        assertArrayEquals(new byte[data.length], fs.diskView(fs.size));
        for (Folio f : space.folios()) {
            assertFalse(f.isWriteback(), "every folio left writeback");
        }
    }
}
