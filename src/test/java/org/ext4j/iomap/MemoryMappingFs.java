package org.ext4j.iomap;

import java.io.IOException;
import java.util.Arrays;

import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;

/**
 * A one-file mapping layer for driving iomap at the mapping level (docs/RACES.md: "scenarios that need a
 * writer without the inode lock are driven at the mapping layer"): the real {@link ExtentStatusTree}
 * as the only record of block states, a byte-array disk, and a bump allocator. {@link #begin} hands
 * out the sequence value read with each answer (both delayed-allocation lookups included), and
 * {@link #valid} compares it with the tree's counter, as ext4's {@code ext4_iomap_valid}.
 */
final class MemoryMappingFs implements IomapOps, WritebackOps, BlockIO {
    final int bs;
    final ExtentStatusTree es = new ExtentStatusTree();
    final byte[] disk;
    long nextFree = 16;
    long size;
    /** Test switch for the seed's bug: the second delayed lookup forgets its sequence value. */
    boolean dropDelayedCookie;

    MemoryMappingFs(int bs, int diskBlocks) {
        this.bs = bs;
        this.disk = new byte[bs * diskBlocks];
    }

    /** fallocate: allocate and mark unwritten. */
    void fallocate(long lblk, long len) {
        es.insert(lblk, len, allocate(len), Status.UNWRITTEN);
    }

    private synchronized long allocate(long len) {
        long p = nextFree;
        nextFree += len;
        return p;
    }

    @Override
    public Iomap begin(long pos, long length, int flags) {
        long lblk = pos / bs;
        Lookup l = es.lookup(lblk);
        Entry e = l.entry();
        if (e == null || e.status() == Status.HOLE) {
            Lookup next = es.nextAfter(lblk);
            long end = next.entry() != null ? next.entry().lblk() : lblk + (length + bs - 1) / bs + 1;
            long blocks = Math.max(1, Math.min(end, (pos + length + bs - 1) / bs) - lblk);
            if ((flags & WRITE) != 0) {
                long seq = es.insertDelayed(lblk, blocks).seq(); // lookup #2 and insert, seq read under the lock
                return new Iomap(lblk * bs, blocks * bs, Iomap.NO_ADDR, Iomap.Type.DELALLOC,
                        Iomap.F_NEW | (dropDelayedCookie ? 0 : Iomap.F_VALID_COOKIE), seq);
            }
            return new Iomap(lblk * bs, blocks * bs, Iomap.NO_ADDR, Iomap.Type.HOLE, Iomap.F_VALID_COOKIE, l.seq());
        }
        Iomap.Type type = switch (e.status()) {
            case WRITTEN -> Iomap.Type.MAPPED;
            case UNWRITTEN -> Iomap.Type.UNWRITTEN;
            case DELAYED -> Iomap.Type.DELALLOC;
            case HOLE -> Iomap.Type.HOLE;
        };
        long addr = e.status().hasPblk() ? e.pblk() * bs : Iomap.NO_ADDR;
        int cookieFlag = dropDelayedCookie && e.status() == Status.DELAYED ? 0 : Iomap.F_VALID_COOKIE;
        return new Iomap(e.lblk() * bs, e.len() * bs, addr, type, cookieFlag, l.seq());
    }

    @Override
    public void end(long pos, long length, long written, int flags, Iomap map) {
    }

    @Override
    public void punchDelalloc(long pos, long length) {
        es.remove(pos / bs, (pos + length + bs - 1) / bs - pos / bs);
    }

    @Override
    public boolean valid(Iomap map) {
        return !map.hasCookie() || es.isCurrent(map.validityCookie());
    }

    @Override
    public long fileSize() {
        return size;
    }

    @Override
    public Iomap mapForWriteback(long pos, long length) {
        long lblk = pos / bs;
        Lookup l = es.lookup(lblk);
        Entry e = l.entry();
        if (e == null || e.status() == Status.HOLE) {
            throw new IllegalStateException("writeback of an unmapped block " + lblk);
        }
        if (e.status() == Status.DELAYED) {
            long len = e.lblk() + e.len() - lblk; // Entry.end() is inclusive
            long pblk = allocate(len);
            es.insert(lblk, len, pblk, Status.UNWRITTEN); // allocated unwritten, converted at completion
            return new Iomap(lblk * bs, len * bs, pblk * bs, Iomap.Type.UNWRITTEN, 0, 0);
        }
        Iomap.Type t = e.status() == Status.WRITTEN ? Iomap.Type.MAPPED : Iomap.Type.UNWRITTEN;
        long len = e.lblk() + e.len() - lblk; // Entry.end() is inclusive
        return new Iomap(lblk * bs, len * bs, e.pblkOf(lblk) * bs, t, 0, 0);
    }

    @Override
    public void writebackDone(long pos, long length, Iomap map) {
        if (map.type() == Iomap.Type.UNWRITTEN) {
            es.convertUnwritten(pos / bs, (length + bs - 1) / bs);
        }
    }

    @Override
    public synchronized void read(long addr, byte[] dst, int off, int len) {
        System.arraycopy(disk, (int) addr, dst, off, len);
    }

    @Override
    public synchronized void write(long addr, byte[] src, int off, int len) throws IOException {
        System.arraycopy(src, off, disk, (int) addr, len);
    }

    /** What a reader of the disk sees for the file, block states applied (unwritten reads zero). */
    byte[] diskView(long fileSize) {
        byte[] out = new byte[(int) fileSize];
        for (long b = 0; b * bs < fileSize; b++) {
            Entry e = es.lookup(b).entry();
            if (e != null && e.status() == Status.WRITTEN) {
                int n = (int) Math.min(bs, fileSize - b * bs);
                System.arraycopy(disk, (int) (e.pblkOf(b) * bs), out, (int) (b * bs), n);
            }
        }
        return out;
    }

    static byte[] filled(int len, char c) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) c);
        return b;
    }
}
