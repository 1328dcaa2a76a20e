package org.ext4j.mapping;

import java.io.IOException;
import java.util.function.LongSupplier;

import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.iomap.Iomap;
import org.ext4j.iomap.IomapOps;
import org.ext4j.iomap.WritebackOps;

/**
 * ext4's side of iomap for one file ({@code ext4_iomap_buffered_write_ops},
 * {@code ext4_iomap_writeback_ops} and {@code ext4_iomap_valid}): mappings from the
 * {@link BlockMapper} with the status tree's counter as their validity cookie.
 */
public final class Ext4IomapOps implements IomapOps, WritebackOps {
    private final BlockMapper mapper;
    private final int blockSize;
    private final LongSupplier fileSize;

    public Ext4IomapOps(BlockMapper mapper, int blockSize, LongSupplier fileSize) {
        this.mapper = mapper;
        this.blockSize = blockSize;
        this.fileSize = fileSize;
    }

    @Override
    public Iomap begin(long pos, long length, int flags) throws IOException {
        long lblk = pos / blockSize;
        long lastBlock = (pos + Math.max(1, length) - 1) / blockSize;
        Entry e;
        long seq;
        boolean created = false;
        if ((flags & WRITE) != 0) {
            BlockMapper.DaMapping m = mapper.daMap(lblk, lastBlock - lblk + 1);
            e = m.entry();
            seq = m.seq();
            created = m.created();
        } else {
            Lookup l = mapper.lookup(lblk);
            e = l.entry();
            seq = l.seq();
        }
        return toIomap(lblk, e, seq, created ? Iomap.F_NEW : 0);
    }

    /** The iomap for block {@code lblk} inside {@code e}, carrying {@code seq} as its cookie ({@code ext4_set_iomap}). */
    private Iomap toIomap(long lblk, Entry e, long seq, int flags) {
        long blocks = e.lblk() + e.len() - lblk;
        Iomap.Type type = switch (e.status()) {
            case WRITTEN -> Iomap.Type.MAPPED;
            case UNWRITTEN -> Iomap.Type.UNWRITTEN;
            case DELAYED -> Iomap.Type.DELALLOC;
            case HOLE -> Iomap.Type.HOLE;
        };
        long addr = e.status().hasPblk() ? e.pblkOf(lblk) * blockSize : Iomap.NO_ADDR;
        if (seq != BlockMapper.NO_SEQ) {
            flags |= Iomap.F_VALID_COOKIE;
        }
        return new Iomap(lblk * blockSize, blocks * blockSize, addr, type, flags, seq);
    }

    @Override
    public void end(long pos, long length, long written, int flags, Iomap map) {
        // nothing to do: a failed write's unbacked reservations come back through punchDelalloc
    }

    @Override
    public void punchDelalloc(long pos, long length) {
        long lblk = pos / blockSize;
        long end = (pos + length + blockSize - 1) / blockSize;
        mapper.punchDelalloc(lblk, end - lblk);
    }

    /** {@code ext4_iomap_valid}: the cookie is still the status tree's counter. */
    @Override
    public boolean valid(Iomap map) {
        return !map.hasCookie() || mapper.statusTree().isCurrent(map.validityCookie());
    }

    @Override
    public long fileSize() {
        return fileSize.getAsLong();
    }

    @Override
    public Iomap mapForWriteback(long pos, long length) throws IOException {
        long lblk = pos / blockSize;
        // allocate the whole delayed run, not just this folio's part: one large extent for a
        // streaming write instead of one per folio (the kernel's mpage_map_and_submit_extent)
        Lookup l = mapper.mapForWriteback(lblk, Long.MAX_VALUE);
        return toIomap(lblk, l.entry(), l.seq(), 0);
    }

    @Override
    public void writebackDone(long pos, long length, Iomap map) throws IOException {
        long lblk = pos / blockSize;
        long blocks = (pos + length + blockSize - 1) / blockSize - lblk;
        // never past what this completion wrote: an append after the I/O was submitted has not
        // reached the disk, and a crash must not find the size covering it (docs/RACES.md R9)
        long newDiskSize = Protections.on(Protection.DISK_SIZE_WITHIN_WRITTEN)
                ? Math.min(fileSize.getAsLong(), pos + length) : fileSize.getAsLong();
        mapper.writebackDone(lblk, blocks, map.addrOf(lblk * blockSize) / blockSize,
                map.type() == Iomap.Type.UNWRITTEN, newDiskSize);
    }
}
