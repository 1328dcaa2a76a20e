package org.ext4j.format;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * Codec of htree index blocks ({@code struct dx_root}, {@code struct dx_node} in
 * {@code fs/ext4/namei.c}): a count/limit header followed by (hash, block) pairs sorted by hash, the
 * first pair's hash slot holding the count/limit. With metadata_csum a {@code dx_tail} follows the
 * {@code limit} entries.
 */
public final class DxNode {
    public static final int ROOT_INFO_OFFSET = 0x18;
    public static final int ROOT_ENTRIES_OFFSET = 0x20;
    public static final int NODE_ENTRIES_OFFSET = 0x8;
    public static final int ENTRY_SIZE = 8;
    public static final int TAIL_SIZE = 8;
    /** The kernel allows 2 levels below the root, 3 with large_dir. */
    public static final int MAX_LEVELS_LARGEDIR = 3;

    private final int limit;
    private final int count;
    private final long[] hashes;
    private final long[] blocks;
    private final int entriesOffset;

    private DxNode(int entriesOffset, int limit, int count, long[] hashes, long[] blocks) {
        this.entriesOffset = entriesOffset;
        this.limit = limit;
        this.count = count;
        this.hashes = hashes;
        this.blocks = blocks;
    }

    /** The dx_root_info of a root block. */
    public record RootInfo(int hashVersion, int infoLength, int indirectLevels, int unusedFlags) {
    }

    public static RootInfo rootInfo(byte[] b) {
        int o = ROOT_INFO_OFFSET;
        return new RootInfo(Le.u8(b, o + 4), Le.u8(b, o + 5), Le.u8(b, o + 6), Le.u8(b, o + 7));
    }

    /**
     * Decodes the entries at {@code entriesOffset} of an index block. {@code csum} says whether the
     * file system reserves a tail: then limit must leave room for it.
     */
    public static DxNode decode(byte[] b, int entriesOffset, int blockSize, boolean csum, long inode, long block)
            throws CorruptionException {
        int limit = Le.u16(b, entriesOffset);
        int count = Le.u16(b, entriesOffset + 2);
        int expectedLimit = (blockSize - entriesOffset - (csum ? TAIL_SIZE : 0)) / ENTRY_SIZE;
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_HTREE).inode(inode).block(block)
                .offset(entriesOffset);
        if (limit != expectedLimit) {
            throw err.build("dx limit " + limit + " where the block holds " + expectedLimit);
        }
        if (count == 0 || count > limit) {
            throw err.build("dx count " + count + " is not in 1.." + limit);
        }
        long[] hashes = new long[count];
        long[] blocks = new long[count];
        for (int i = 0; i < count; i++) {
            int p = entriesOffset + i * ENTRY_SIZE;
            hashes[i] = i == 0 ? 0 : Le.u32(b, p);
            blocks[i] = Le.u32(b, p + 4) & 0x0FFFFFFFL;
            if (i > 1 && hashes[i] < hashes[i - 1]) {
                throw err.offset(p).build("dx hashes are not sorted at entry " + i);
            }
        }
        return new DxNode(entriesOffset, limit, count, hashes, blocks);
    }

    /** Verifies the dx_tail ({@code ext4_dx_csum}): crc32c over the entries in use, then the tail. */
    public void verifyTail(byte[] b, int inodeSeed, long inode, long block) throws CorruptionException {
        int tail = entriesOffset + limit * ENTRY_SIZE;
        int size = entriesOffset + count * ENTRY_SIZE;
        int crc = Crc32c.update(inodeSeed, b, 0, size);
        crc = Crc32c.update(crc, b, tail, 4);
        crc = Crc32c.updateZeros(crc, 4);
        long stored = Le.u32(b, tail + 4);
        long computed = crc & 0xFFFFFFFFL;
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(block).offset(tail)
                    .checksum("htree index block", stored, computed);
        }
    }

    public int count() {
        return count;
    }

    public long hash(int i) {
        return hashes[i];
    }

    public long block(int i) {
        return blocks[i];
    }

    /** The entry whose subtree covers {@code hash}: the last one whose hash is at or below it. */
    public int find(long hash) {
        int lo = 1;
        int hi = count - 1;
        int found = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (hashes[mid] <= hash) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }
}
