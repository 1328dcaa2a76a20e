package org.ext4j.extents;

import java.io.IOException;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Le;
import org.ext4j.volume.Volume;

/**
 * The legacy ext2/ext3 block map ({@code fs/ext4/indirect.c}): twelve direct pointers in i_block,
 * then single, double and triple indirect blocks of little-endian 32-bit pointers. A zero pointer is
 * a hole. Runs of physically contiguous pointers within one indirect block are returned as one
 * mapping, so reads of ext3 files still go out in large I/Os.
 */
public final class IndirectBlockMap implements BlockMap {
    private static final int DIRECT = 12;

    private final Volume volume;
    private final long inode;
    private final long[] iBlock = new long[15];
    private final int perBlock;

    public IndirectBlockMap(Volume volume, long inode, byte[] iBlockBytes) {
        this.volume = volume;
        this.inode = inode;
        for (int i = 0; i < 15; i++) {
            iBlock[i] = Le.u32(iBlockBytes, i * 4);
        }
        this.perBlock = volume.blockSize() / 4;
    }

    @Override
    public Mapping map(long lblk, long maxLen) throws IOException {
        long p = perBlock;
        if (lblk < DIRECT) {
            return run(iBlock, (int) lblk, DIRECT, lblk, maxLen);
        }
        long rel = lblk - DIRECT;
        if (rel < p) {
            return through(iBlock[12], new long[] {rel}, lblk, maxLen);
        }
        rel -= p;
        if (rel < p * p) {
            return through(iBlock[13], new long[] {rel / p, rel % p}, lblk, maxLen);
        }
        rel -= p * p;
        if (rel < p * p * p) {
            return through(iBlock[14], new long[] {rel / (p * p), (rel / p) % p, rel % p}, lblk, maxLen);
        }
        throw CorruptionException.of(Kind.FILE_TOO_LARGE).inode(inode)
                .build("logical block " + lblk + " is beyond what a block map can address");
    }

    /**
     * Follows the indirect chain from {@code top}. A zero pointer is a hole as large as the rest of
     * the subtree it would have led to, so a sparse ext2 file maps in a few steps, not block by block.
     */
    private Mapping through(long top, long[] path, long lblk, long maxLen) throws IOException {
        long block = top;
        for (int level = 0; level < path.length; level++) {
            if (block == 0) {
                long span = 1;
                long offset = 0;
                for (int k = path.length - 1; k >= level; k--) {
                    offset += path[k] * span;
                    span *= perBlock;
                }
                return new Mapping(lblk, Math.max(1, Math.min(span - offset, maxLen)), -1, State.HOLE);
            }
            byte[] b = volume.readBlock(block, inode);
            if (level == path.length - 1) {
                long[] ptrs = new long[perBlock];
                for (int i = 0; i < perBlock; i++) {
                    ptrs[i] = Le.u32(b, i * 4);
                }
                return run(ptrs, (int) path[level], perBlock, lblk, maxLen);
            }
            block = Le.u32(b, (int) path[level] * 4);
        }
        throw new IllegalStateException("path is never empty");
    }

    /** The run of contiguous pointers, or of zeros, from {@code ptrs[i]}. */
    private Mapping run(long[] ptrs, int i, int end, long lblk, long maxLen) throws CorruptionException {
        long first = ptrs[i];
        long len = 1;
        while (i + len < end && len < maxLen) {
            long next = ptrs[(int) (i + len)];
            if (first == 0 ? next != 0 : next != first + len) {
                break;
            }
            len++;
        }
        if (first == 0) {
            return new Mapping(lblk, len, -1, State.HOLE);
        }
        volume.checkRange(first, len, inode);
        return new Mapping(lblk, len, first, State.WRITTEN);
    }
}
