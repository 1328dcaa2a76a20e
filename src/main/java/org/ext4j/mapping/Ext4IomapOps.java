package org.ext4j.mapping;

import java.io.IOException;
import java.util.function.LongSupplier;

import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
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
        Lookup l = (flags & WRITE) != 0 ? mapper.daMap(lblk, lastBlock - lblk + 1) : mapper.lookup(lblk);
        Entry e = l.entry();
        long blocks = e.lblk() + e.len() - lblk;
        Iomap.Type type = switch (e.status()) {
            case WRITTEN -> Iomap.Type.MAPPED;
            case UNWRITTEN -> Iomap.Type.UNWRITTEN;
            case DELAYED -> Iomap.Type.DELALLOC;
            case HOLE -> Iomap.Type.HOLE;
        };
        long addr = e.status().hasPblk() ? e.pblkOf(lblk) * blockSize : Iomap.NO_ADDR;
        return new Iomap(lblk * blockSize, blocks * blockSize, addr, type, Iomap.F_VALID_COOKIE, l.seq());
    }

    @Override
    public void end(long pos, long length, long written, int flags, Iomap map) {
        // reservations of a short write stay with their DELAYED entries until truncate drops them
    }

    @Override
    public boolean valid(Iomap map) {
        return !map.hasCookie() || mapper.statusTree().isCurrent(map.validityCookie());
    }

    @Override
    public Iomap mapForWriteback(long pos, long length) throws IOException {
        long lblk = pos / blockSize;
        // allocate the whole delayed run, not just this folio's part: one large extent for a
        // streaming write instead of one per folio (the kernel's mpage_map_and_submit_extent)
        Entry e = mapper.mapForWriteback(lblk, Long.MAX_VALUE);
        Iomap.Type type = e.status() == org.ext4j.extentstatus.ExtentStatusTree.Status.WRITTEN ? Iomap.Type.MAPPED
                : Iomap.Type.UNWRITTEN;
        long n = e.lblk() + e.len() - lblk;
        return new Iomap(lblk * blockSize, n * blockSize, e.pblkOf(lblk) * blockSize, type, 0, 0);
    }

    @Override
    public void writebackDone(long pos, long length, Iomap map) throws IOException {
        long lblk = pos / blockSize;
        long blocks = (pos + length + blockSize - 1) / blockSize - lblk;
        long newDiskSize = Math.min(fileSize.getAsLong(), pos + length);
        mapper.writebackDone(lblk, blocks, map.type() == Iomap.Type.UNWRITTEN, newDiskSize);
    }
}
