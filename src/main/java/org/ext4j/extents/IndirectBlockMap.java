package org.ext4j.extents;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Le;
import org.ext4j.volume.Volume;

/**
 * The legacy ext2/ext3 block map ({@code fs/ext4/indirect.c}): twelve direct pointers in i_block,
 * then single, double and triple indirect blocks of little-endian 32-bit pointers. A zero pointer is
 * a hole. Runs of physically contiguous pointers within one indirect block are returned as one
 * mapping, so reads of ext3 files still go out in large I/Os.
 *
 * <p>Every pointer is checked before anything is read through it, as {@code ext4_check_blockref}
 * does: the twelve direct ones in i_block by {@link #checkRoot} (the kernel's
 * {@code ext4_ind_check_inode}, run when the inode is loaded), an indirect block's own pointer before
 * the block is read, and all pointers of an indirect block each time it is read, against the file
 * system's size and the system zone ({@link Volume#checkFileBlocks}). The kernel reads an indirect
 * block without checking the pointer to it and judges only its contents, so it reads an all-zero
 * inode table block as a map of holes; here the pointer itself is refused first.
 *
 * <p>Verified once ({@code buffer_verified}): the last indirect block checked at each height is kept
 * with its bytes, and the same block read again with the same bytes is not checked again, so
 * reading a file in small pieces checks each indirect block once, not once per piece. Shared by
 * reader threads: the kept entries are immutable and replaced whole.
 */
public final class IndirectBlockMap implements BlockMap {
    private static final int DIRECT = 12;

    private final Volume volume;
    private final long inode;
    private final long[] iBlock = new long[15];
    private final int perBlock;
    /** By height above the data (0: pointers to data blocks): the last indirect block whose pointers were checked. */
    private final AtomicReferenceArray<Checked> checked = new AtomicReferenceArray<>(3);

    private record Checked(long pblk, byte[] bytes) {
    }

    public IndirectBlockMap(Volume volume, long inode, byte[] iBlockBytes) {
        this.volume = volume;
        this.inode = inode;
        for (int i = 0; i < 15; i++) {
            iBlock[i] = Le.u32(iBlockBytes, i * 4);
        }
        this.perBlock = volume.blockSize() / 4;
    }

    /**
     * Takes i_block's fifteen pointers again from {@code iBlockBytes}: the block map writer changed
     * them. Only for a map owned by one writer, under its lock; indirect blocks are re-read (and
     * checked again where their bytes changed) on every lookup anyway.
     */
    void reloadRoot(byte[] iBlockBytes) {
        for (int i = 0; i < 15; i++) {
            iBlock[i] = Le.u32(iBlockBytes, i * 4);
        }
    }

    /**
     * {@code ext4_ind_check_inode}, run when the inode is loaded: the twelve direct pointers of
     * i_block are valid blocks for this inode. As in the kernel, the single, double and triple
     * indirect pointers are checked when a read follows them (so {@code stat} of a file whose
     * indirect block is damaged succeeds, and reading past its twelfth block fails).
     */
    public void checkRoot() throws CorruptionException {
        for (int i = 0; i < DIRECT; i++) {
            if (iBlock[i] != 0) {
                volume.checkFileBlocks(inode, i, iBlock[i], 1, "file data");
            }
        }
    }

    /** First logical block mapped through the i_block pointer of {@code levels} (1 single, 2 double, 3 triple). */
    private long treeBase(int levels) {
        long base = DIRECT;
        long span = 1;
        for (int l = 1; l < levels; l++) {
            span *= perBlock;
            base += span;
        }
        return base;
    }

    @Override
    public Mapping map(long lblk, long maxLen) throws IOException {
        long p = perBlock;
        if (lblk < DIRECT) {
            return run(iBlock, (int) lblk, DIRECT, lblk, maxLen);
        }
        long rel = lblk - DIRECT;
        if (rel < p) {
            return through(iBlock[12], new long[] {rel}, lblk, maxLen, treeBase(1));
        }
        rel -= p;
        if (rel < p * p) {
            return through(iBlock[13], new long[] {rel / p, rel % p}, lblk, maxLen, treeBase(2));
        }
        rel -= p * p;
        if (rel < p * p * p) {
            return through(iBlock[14], new long[] {rel / (p * p), (rel / p) % p, rel % p}, lblk, maxLen, treeBase(3));
        }
        throw CorruptionException.of(Kind.FILE_TOO_LARGE).inode(inode)
                .build("logical block " + lblk + " is beyond what a block map can address");
    }

    /**
     * Follows the indirect chain from {@code top}. A zero pointer is a hole as large as the rest of
     * the subtree it would have led to, so a sparse ext2 file maps in a few steps, not block by block.
     * {@code base} is the first logical block under {@code top}; every block read on the way has all
     * its pointers checked ({@code ext4_check_blockref}) before one of them is followed.
     */
    private Mapping through(long top, long[] path, long lblk, long maxLen, long base) throws IOException {
        long block = top;
        long ptrSpan = 1; // logical blocks under one pointer of the block being read
        for (int k = 1; k < path.length; k++) {
            ptrSpan *= perBlock;
        }
        if (top != 0) {
            volume.checkFileBlocks(inode, base, top, 1, "indirect block");
        }
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
            int height = path.length - 1 - level;
            Checked known = checked.get(height);
            if (known == null || known.pblk() != block || !Arrays.equals(known.bytes(), b)) {
                checkPointers(b, base, ptrSpan, height == 0 ? "file data" : "indirect block");
                checked.set(height, new Checked(block, b)); // b is this read's own copy
            }
            if (level == path.length - 1) {
                long[] ptrs = new long[perBlock];
                for (int i = 0; i < perBlock; i++) {
                    ptrs[i] = Le.u32(b, i * 4);
                }
                return run(ptrs, (int) path[level], perBlock, lblk, maxLen);
            }
            block = Le.u32(b, (int) path[level] * 4);
            base += path[level] * ptrSpan;
            ptrSpan /= perBlock;
        }
        throw new IllegalStateException("path is never empty");
    }

    /** Every non-zero pointer of map block {@code b}, whose pointer {@code i} maps from {@code base + i * span}. */
    private void checkPointers(byte[] b, long base, long span, String what) throws CorruptionException {
        for (int i = 0; i < perBlock; i++) {
            long q = Le.u32(b, i * 4);
            if (q != 0) {
                volume.checkFileBlocks(inode, base + i * span, q, 1, what);
            }
        }
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
        volume.checkFileBlocks(inode, lblk, first, len, "file data");
        return new Mapping(lblk, len, first, State.WRITTEN);
    }
}
