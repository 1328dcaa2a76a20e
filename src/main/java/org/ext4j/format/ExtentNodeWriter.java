package org.ext4j.format;

/**
 * The write side of {@link ExtentNode}: field accessors and setters on a node's raw bytes (in i_block
 * or in a tree block), each at its absolute offset under its kernel name, and the tail checksum
 * ({@code ext4_extent_block_csum_set}). Split fields (the 48-bit physical block of an extent or an
 * index) are joined and split here and only here, as the kernel's {@code ext4_ext_pblock} /
 * {@code ext4_ext_store_pblock} and {@code ext4_idx_pblock} / {@code ext4_idx_store_pblock} do; the
 * unwritten bit of {@code ee_len} likewise ({@code ext4_ext_mark_unwritten}, {@code ext4_ext_get_actual_len}).
 *
 * <p>Layout ({@code ext4_extents.h}): header {@code eh_magic@0 u16, eh_entries@2 u16, eh_max@4 u16,
 * eh_depth@6 u16, eh_generation@8 u32}; then entries of 12 bytes: an extent is
 * {@code ee_block@0 u32, ee_len@4 u16, ee_start_hi@6 u16, ee_start_lo@8 u32}, an index is
 * {@code ei_block@0 u32, ei_leaf_lo@4 u32, ei_leaf_hi@8 u16, ei_unused@10 u16}. Both start with the
 * logical block, so moving entries needs no knowledge of their kind.
 *
 * <p>{@code off} is where the header starts (0 in a tree block, 0 in a copy of i_block).
 */
public final class ExtentNodeWriter {
    /** Entries in the root, which lives in the 60 bytes of i_block ({@code ext4_ext_space_root}). */
    public static final int ROOT_CAPACITY = (InodeRecord.I_BLOCK_SIZE - ExtentNode.HEADER_SIZE) / ExtentNode.ENTRY_SIZE;
    /** Largest logical block + 1 an extent may reach: the kernel's {@code EXT_MAX_BLOCKS} (0xFFFFFFFF). */
    public static final long MAX_LOGICAL_END = 0xFFFF_FFFFL;
    /** Largest physical block number the 48 bits of ee_start / ei_leaf hold. */
    public static final long MAX_PHYSICAL = (1L << 48) - 1;

    private ExtentNodeWriter() {
    }

    /** Entries in a tree block of {@code blockSize} bytes, with room for the 4-byte tail ({@code ext4_ext_space_block}). */
    public static int blockCapacity(int blockSize) {
        return (blockSize - ExtentNode.HEADER_SIZE) / ExtentNode.ENTRY_SIZE;
    }

    /** Writes a header with no entries: magic, eh_entries 0, {@code max}, {@code depth}, eh_generation 0. */
    public static void initHeader(byte[] b, int off, int max, int depth) {
        Le.put16(b, off, ExtentNode.MAGIC);
        Le.put16(b, off + 2, 0);
        Le.put16(b, off + 4, max);
        Le.put16(b, off + 6, depth);
        Le.put32(b, off + 8, 0);
    }

    /** An empty depth-0 root in a 60-byte i_block ({@code ext4_ext_tree_init}). */
    public static void initRoot(byte[] iBlock) {
        java.util.Arrays.fill(iBlock, 0, InodeRecord.I_BLOCK_SIZE, (byte) 0);
        initHeader(iBlock, 0, ROOT_CAPACITY, 0);
    }

    public static int entries(byte[] b, int off) {
        return Le.u16(b, off + 2);
    }

    public static void setEntries(byte[] b, int off, int n) {
        Le.put16(b, off + 2, n);
    }

    public static int max(byte[] b, int off) {
        return Le.u16(b, off + 4);
    }

    public static void setMax(byte[] b, int off, int max) {
        Le.put16(b, off + 4, max);
    }

    public static int depth(byte[] b, int off) {
        return Le.u16(b, off + 6);
    }

    public static void setDepth(byte[] b, int off, int depth) {
        Le.put16(b, off + 6, depth);
    }

    /** Byte offset of entry {@code i}. */
    public static int entryOffset(int off, int i) {
        return off + ExtentNode.HEADER_SIZE + i * ExtentNode.ENTRY_SIZE;
    }

    /** {@code ee_block} or {@code ei_block} of entry {@code i}: the first logical block it covers. */
    public static long entryLogical(byte[] b, int off, int i) {
        return Le.u32(b, entryOffset(off, i));
    }

    public static void setEntryLogical(byte[] b, int off, int i, long lblk) {
        checkLogical(lblk);
        Le.put32(b, entryOffset(off, i), lblk);
    }

    /** {@code ext4_ext_get_actual_len}: ee_len without the unwritten marker. */
    public static int extentLength(byte[] b, int off, int i) {
        int len = Le.u16(b, entryOffset(off, i) + 4);
        return len > ExtentNode.INIT_MAX_LEN ? len - ExtentNode.INIT_MAX_LEN : len;
    }

    /** {@code ext4_ext_is_unwritten}. */
    public static boolean extentUnwritten(byte[] b, int off, int i) {
        return Le.u16(b, entryOffset(off, i) + 4) > ExtentNode.INIT_MAX_LEN;
    }

    /** {@code ext4_ext_pblock}: ee_start_lo | ee_start_hi << 32. */
    public static long extentPhysical(byte[] b, int off, int i) {
        int p = entryOffset(off, i);
        return Le.join(Le.u32(b, p + 8), Le.u16(b, p + 6));
    }

    /** The whole extent {@code i} as a record. */
    public static ExtentNode.Extent extent(byte[] b, int off, int i) {
        return new ExtentNode.Extent(entryLogical(b, off, i), extentLength(b, off, i), extentPhysical(b, off, i),
                extentUnwritten(b, off, i));
    }

    /**
     * Writes extent {@code i}. {@code length} must be 1..32768 for a written extent and 1..32767 for
     * an unwritten one (ee_len 32768 means a written extent of 32768 blocks; above it, unwritten).
     */
    public static void putExtent(byte[] b, int off, int i, long lblk, int length, long pblk, boolean unwritten) {
        checkLogical(lblk);
        int limit = unwritten ? ExtentNode.UNWRITTEN_MAX_LEN : ExtentNode.INIT_MAX_LEN;
        if (length < 1 || length > limit || lblk + length > MAX_LOGICAL_END) {
            throw new IllegalArgumentException("extent of " + length + " blocks at logical " + lblk
                    + (unwritten ? " (unwritten)" : ""));
        }
        int p = entryOffset(off, i);
        Le.put32(b, p, lblk);
        Le.put16(b, p + 4, unwritten ? length + ExtentNode.INIT_MAX_LEN : length);
        storeExtentPhysical(b, p, pblk);
    }

    public static void putExtent(byte[] b, int off, int i, ExtentNode.Extent e) {
        putExtent(b, off, i, e.logical(), e.length(), e.physical(), e.unwritten());
    }

    /** {@code ext4_ext_store_pblock} on the entry at byte offset {@code p}. */
    private static void storeExtentPhysical(byte[] b, int p, long pblk) {
        checkPhysical(pblk);
        Le.put32(b, p + 8, pblk);
        Le.put16(b, p + 6, (int) (pblk >>> 32));
    }

    /** {@code ext4_idx_pblock}: ei_leaf_lo | ei_leaf_hi << 32. */
    public static long indexChild(byte[] b, int off, int i) {
        int p = entryOffset(off, i);
        return Le.join(Le.u32(b, p + 4), Le.u16(b, p + 8));
    }

    /** Writes index entry {@code i} ({@code ext4_idx_store_pblock}); ei_unused is zeroed. */
    public static void putIndex(byte[] b, int off, int i, long lblk, long child) {
        checkLogical(lblk);
        checkPhysical(child);
        int p = entryOffset(off, i);
        Le.put32(b, p, lblk);
        Le.put32(b, p + 4, child);
        Le.put16(b, p + 8, (int) (child >>> 32));
        Le.put16(b, p + 10, 0);
    }

    /**
     * Sets the tail of a tree block ({@code ext4_extent_block_csum_set}): crc32c seeded with the
     * inode's checksum seed over the header and eh_max entries, stored right after them.
     */
    public static void setTail(byte[] block, int inodeSeed) {
        int tail = ExtentNode.tailOffset(block, 0);
        if (tail + 4 > block.length) {
            throw new IllegalArgumentException("eh_max " + max(block, 0) + " leaves no room for the tail");
        }
        Le.put32(block, tail, Crc32c.update(inodeSeed, block, 0, tail) & 0xFFFFFFFFL);
    }

    private static void checkLogical(long lblk) {
        if (lblk < 0 || lblk >= MAX_LOGICAL_END) {
            throw new IllegalArgumentException("logical block " + lblk + " is not in 0..2^32-2");
        }
    }

    private static void checkPhysical(long pblk) {
        if (pblk < 0 || pblk > MAX_PHYSICAL) {
            throw new IllegalArgumentException("physical block " + pblk + " does not fit 48 bits");
        }
    }
}
