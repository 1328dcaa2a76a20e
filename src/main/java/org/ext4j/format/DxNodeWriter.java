package org.ext4j.format;

import java.util.Arrays;

/**
 * The write side of {@link DxNode}: htree index blocks as {@code fs/ext4/namei.c} builds them. A
 * count/limit pair sits at the entries offset (0x20 in the root, after ".", ".." and
 * {@code dx_root_info}; 0x8 in an interior node, after a fake empty record spanning the block),
 * followed by (hash, block) pairs whose first hash slot is that pair. With metadata_csum a
 * {@code dx_tail} follows the {@code limit} entries. Every method works on raw bytes at absolute
 * offsets; the caller owns locking and the transaction.
 */
public final class DxNodeWriter {
    /** {@code sizeof(struct dx_root_info)}. */
    public static final int ROOT_INFO_LENGTH = 8;

    private DxNodeWriter() {
    }

    /** {@code dx_root_limit}: entries a root block holds (room for the dx_tail taken out with csum). */
    public static int rootLimit(int blockSize, boolean csum) {
        return (blockSize - DxNode.ROOT_ENTRIES_OFFSET - (csum ? DxNode.TAIL_SIZE : 0)) / DxNode.ENTRY_SIZE;
    }

    /** {@code dx_node_limit}: entries an interior index block holds. */
    public static int nodeLimit(int blockSize, boolean csum) {
        return (blockSize - DxNode.NODE_ENTRIES_OFFSET - (csum ? DxNode.TAIL_SIZE : 0)) / DxNode.ENTRY_SIZE;
    }

    public static int limit(byte[] b, int entriesOffset) {
        return Le.u16(b, entriesOffset);
    }

    public static int count(byte[] b, int entriesOffset) {
        return Le.u16(b, entriesOffset + 2);
    }

    public static void setLimit(byte[] b, int entriesOffset, int limit) {
        Le.put16(b, entriesOffset, limit);
    }

    public static void setCount(byte[] b, int entriesOffset, int count) {
        Le.put16(b, entriesOffset + 2, count);
    }

    /** The hash of entry {@code i} (entry 0's slot holds count/limit: its hash reads as 0). */
    public static long hash(byte[] b, int entriesOffset, int i) {
        return i == 0 ? 0 : Le.u32(b, entriesOffset + i * DxNode.ENTRY_SIZE);
    }

    /** The logical block of entry {@code i} ({@code dx_get_block}: the top 4 bits are masked off). */
    public static long block(byte[] b, int entriesOffset, int i) {
        return Le.u32(b, entriesOffset + i * DxNode.ENTRY_SIZE + 4) & 0x0FFFFFFFL;
    }

    public static void setHash(byte[] b, int entriesOffset, int i, long hash) {
        if (i == 0) {
            throw new IllegalArgumentException("entry 0 has no hash slot");
        }
        Le.put32(b, entriesOffset + i * DxNode.ENTRY_SIZE, hash);
    }

    public static void setBlock(byte[] b, int entriesOffset, int i, long lblk) {
        Le.put32(b, entriesOffset + i * DxNode.ENTRY_SIZE + 4, lblk);
    }

    /**
     * {@code dx_insert_block}: puts (hash, lblk) right after entry {@code at}, shifting the rest up.
     * The node must not be full.
     */
    public static void insert(byte[] b, int entriesOffset, int at, long hash, long lblk) {
        int count = count(b, entriesOffset);
        if (count >= limit(b, entriesOffset) || at < 0 || at >= count) {
            throw new IllegalArgumentException("insert after " + at + " into a node of " + count + "/"
                    + limit(b, entriesOffset));
        }
        int from = entriesOffset + (at + 1) * DxNode.ENTRY_SIZE;
        System.arraycopy(b, from, b, from + DxNode.ENTRY_SIZE, (count - at - 1) * DxNode.ENTRY_SIZE);
        setCount(b, entriesOffset, count + 1);
        setHash(b, entriesOffset, at + 1, hash);
        setBlock(b, entriesOffset, at + 1, lblk);
    }

    /**
     * Turns a directory's first block, whose "." and ".." records are in place with "." 12 bytes
     * long, into an empty dx root ({@code make_indexed_dir}): ".." spans the rest of the block,
     * {@code dx_root_info} holds {@code hashVersion} and 0 indirect levels, and the entries hold
     * only the count/limit (count 1, entry 0 pointing at {@code firstLeaf}). Bytes past the entries
     * are zeroed; the dx_tail, with csum, is set with {@link #setTail}.
     */
    public static void initRoot(byte[] b, int blockSize, boolean csum, int hashVersion, long firstLeaf) {
        int dot = DirEntry.recLenFor(1);
        DirEntryWriter.setRecLen(b, dot, blockSize - dot, blockSize);
        int info = DxNode.ROOT_INFO_OFFSET;
        Arrays.fill(b, info, blockSize, (byte) 0);
        b[info + 4] = (byte) hashVersion;
        b[info + 5] = (byte) ROOT_INFO_LENGTH;
        setLimit(b, DxNode.ROOT_ENTRIES_OFFSET, rootLimit(blockSize, csum));
        setCount(b, DxNode.ROOT_ENTRIES_OFFSET, 1);
        setBlock(b, DxNode.ROOT_ENTRIES_OFFSET, 0, firstLeaf);
    }

    /** Sets the root's {@code indirect_levels}. */
    public static void setIndirectLevels(byte[] b, int levels) {
        b[DxNode.ROOT_INFO_OFFSET + 6] = (byte) levels;
    }

    /**
     * An empty interior index block: the fake record (inode 0, rec_len the whole block), limit, count
     * 0, the rest zeroed. {@code b} is overwritten entirely.
     */
    public static void initNode(byte[] b, int blockSize, boolean csum) {
        Arrays.fill(b, 0, blockSize, (byte) 0);
        DirEntryWriter.putUnused(b, 0, blockSize, blockSize);
        setLimit(b, DxNode.NODE_ENTRIES_OFFSET, nodeLimit(blockSize, csum));
        setCount(b, DxNode.NODE_ENTRIES_OFFSET, 0);
    }

    /**
     * {@code ext4_dx_csum_set}: zeroes {@code dt_reserved} and stores crc32c over the block up to the
     * last entry in use, then the tail's reserved word and a zero checksum, seeded with the inode's
     * seed (the formula {@link DxNode#verifyTail} checks).
     */
    public static void setTail(byte[] b, int entriesOffset, int inodeSeed) {
        int limit = limit(b, entriesOffset);
        int count = count(b, entriesOffset);
        int tail = entriesOffset + limit * DxNode.ENTRY_SIZE;
        Le.put32(b, tail, 0);
        int crc = Crc32c.update(inodeSeed, b, 0, entriesOffset + count * DxNode.ENTRY_SIZE);
        crc = Crc32c.update(crc, b, tail, 4);
        crc = Crc32c.updateZeros(crc, 4);
        Le.put32(b, tail + 4, crc & 0xFFFFFFFFL);
    }
}
