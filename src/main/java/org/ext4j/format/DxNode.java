package org.ext4j.format;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * Codec of htree index blocks ({@code struct dx_root}, {@code struct dx_node} in
 * {@code fs/ext4/namei.c}): a count/limit header followed by (hash, block) pairs sorted by hash, the
 * first pair's hash slot holding the count/limit. With metadata_csum a {@code dx_tail} follows the
 * {@code limit} entries.
 *
 * <p>{@link #readRoot} and {@link #readNode} check a block as the kernel does when it reads one on
 * any path ({@code __ext4_read_dirblock(INDEX)}, {@code ext4_dx_csum_verify}, then {@code dx_probe}),
 * and sort what they find into the kernel's two answers. What makes the kernel fail the read (a
 * leaf where an index block must be; with metadata_csum, a tail that cannot be located or whose
 * checksum does not match) is {@link Kind#BAD_DIRECTORY} or {@link Kind#CHECKSUM}: the directory
 * cannot be read. What makes {@code dx_probe} return {@code ERR_BAD_DX_DIR} (hash version, flags,
 * depth, limit, count) is {@link Kind#BAD_HTREE}: met on the probe's path, the index is unusable and
 * the leaves are still read by a linear scan, as the kernel falls back. What e2fsck calls a bad index
 * and the kernel does not check (hashes out of order) is {@link Kind#BAD_DIRECTORY}: the kernel's
 * answers from such an index are unreliable, so the damage is reported.
 */
public final class DxNode {
    public static final int ROOT_INFO_OFFSET = 0x18;
    public static final int ROOT_ENTRIES_OFFSET = 0x20;
    public static final int NODE_ENTRIES_OFFSET = 0x8;
    public static final int ENTRY_SIZE = 8;
    public static final int TAIL_SIZE = 8;
    /** Index levels below the root without large_dir ({@code EXT4_HTREE_LEVEL_COMPAT}). */
    public static final int MAX_LEVELS = 2;
    /** The kernel allows 2 levels below the root, 3 with large_dir ({@code EXT4_HTREE_LEVEL}). */
    public static final int MAX_LEVELS_LARGEDIR = 3;
    /** {@code dx_get_block}: the top four bits of an entry's block are reserved. */
    public static final long BLOCK_MASK = 0x0FFFFFFFL;
    /** {@code sizeof(struct dx_root_info)}. */
    private static final int ROOT_INFO_LENGTH = 8;
    /** The root's "." record is 12 bytes; ".." spans the rest of the block. */
    private static final int DOT_REC_LEN = 12;

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
     * Block 0 of an indexed directory, checked as {@code dx_probe} checks it. With {@code csum} the
     * dx_tail is located ({@code get_dx_countlimit}: "." 12 bytes, ".." spanning the rest,
     * {@code reserved_zero} 0, {@code info_length} 8), must have room after {@code limit} entries and
     * must match: otherwise {@link Kind#CHECKSUM}, as {@code ext4_dx_csum_verify} failing makes the
     * kernel's read fail. Then, as {@link Kind#BAD_HTREE}: an unknown hash version, flag bit 0 of
     * {@code unused_flags}, {@code indirect_levels} at or past {@code maxLevels}, the root layout,
     * and the checks of {@link #decode}. {@code lblk} is 0; {@code pblk} names the block in errors.
     */
    public static DxNode readRoot(byte[] b, int blockSize, boolean csum, int inodeSeed, int maxLevels, long inode,
            long pblk) throws CorruptionException {
        int dotLen = DirEntry.recLenFromDisk(Le.u16(b, 4), blockSize);
        int dotDotLen = DirEntry.recLenFromDisk(Le.u16(b, DOT_REC_LEN + 4), blockSize);
        long reserved = Le.u32(b, ROOT_INFO_OFFSET);
        RootInfo info = rootInfo(b);
        boolean layout = dotLen == DOT_REC_LEN && dotDotLen == blockSize - DOT_REC_LEN && reserved == 0
                && info.infoLength() == ROOT_INFO_LENGTH;
        String where = "htree root (directory block 0)";
        if (csum) {
            if (!layout) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(pblk).offset(0)
                        .build(where + ": its dx_tail cannot be located (\".\" rec_len " + dotLen + ", \"..\" rec_len "
                                + dotDotLen + ", reserved_zero " + reserved + ", info_length " + info.infoLength() + ")");
            }
            verifyTail(b, ROOT_ENTRIES_OFFSET, blockSize, inodeSeed, inode, pblk, where);
        }
        CorruptionException.Builder bad = CorruptionException.of(Kind.BAD_HTREE).inode(inode).block(pblk);
        if (!layout) {
            throw bad.offset(0).build(where + ": not laid out as a dx_root (\".\" rec_len " + dotLen
                    + ", \"..\" rec_len " + dotDotLen + ", reserved_zero " + reserved + ", info_length "
                    + info.infoLength() + ")");
        }
        if (info.hashVersion() > DxHash.TEA) {
            throw bad.offset(ROOT_INFO_OFFSET + 4).build(where + ": unknown hash version " + info.hashVersion());
        }
        if ((info.unusedFlags() & 1) != 0) {
            throw bad.offset(ROOT_INFO_OFFSET + 7).build(where + ": unimplemented hash flags 0x"
                    + Integer.toHexString(info.unusedFlags()));
        }
        if (info.indirectLevels() >= maxLevels) {
            throw bad.offset(ROOT_INFO_OFFSET + 6).build(where + ": indirect_levels " + info.indirectLevels()
                    + " exceeds " + (maxLevels - 1) + (maxLevels < MAX_LEVELS_LARGEDIR ? " (large_dir is off)" : ""));
        }
        return decode(b, ROOT_ENTRIES_OFFSET, blockSize, csum, inode, pblk, where);
    }

    /**
     * An interior index block at logical block {@code lblk}, checked as {@code __ext4_read_dirblock(INDEX)}
     * and {@code dx_probe} check it: its first record must span the block (else it is a leaf, and the
     * read fails: {@link Kind#BAD_DIRECTORY}); with {@code csum} the dx_tail must have room after
     * {@code limit} entries and match ({@link Kind#CHECKSUM}); then the checks of {@link #decode}.
     */
    public static DxNode readNode(byte[] b, int blockSize, boolean csum, int inodeSeed, long inode, long lblk,
            long pblk) throws CorruptionException {
        String where = "htree node (directory block " + lblk + ")";
        int recLen = DirEntry.recLenFromDisk(Le.u16(b, 4), blockSize);
        if (recLen != blockSize) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(inode).block(pblk).offset(0)
                    .build(where + ": a leaf block where an index block must be (first rec_len " + recLen + ")");
        }
        if (csum) {
            verifyTail(b, NODE_ENTRIES_OFFSET, blockSize, inodeSeed, inode, pblk, where);
        }
        return decode(b, NODE_ENTRIES_OFFSET, blockSize, csum, inode, pblk, where);
    }

    /**
     * Decodes the entries at {@code entriesOffset} of an index block. {@code csum} says whether the
     * file system reserves a tail: then limit must leave room for it. Refused as {@link Kind#BAD_HTREE}
     * (what {@code dx_probe} gives up on): a limit other than the block's ({@code dx_root_limit},
     * {@code dx_node_limit}), a count of 0 or past the limit; as {@link Kind#BAD_DIRECTORY}: hashes out of
     * order (compared without the collision bit, as e2fsck does), which the kernel does not check.
     */
    public static DxNode decode(byte[] b, int entriesOffset, int blockSize, boolean csum, long inode, long block)
            throws CorruptionException {
        return decode(b, entriesOffset, blockSize, csum, inode, block,
                entriesOffset == ROOT_ENTRIES_OFFSET ? "htree root" : "htree node");
    }

    private static DxNode decode(byte[] b, int entriesOffset, int blockSize, boolean csum, long inode, long block,
            String where) throws CorruptionException {
        int limit = Le.u16(b, entriesOffset);
        int count = Le.u16(b, entriesOffset + 2);
        int expectedLimit = (blockSize - entriesOffset - (csum ? TAIL_SIZE : 0)) / ENTRY_SIZE;
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_HTREE).inode(inode).block(block)
                .offset(entriesOffset);
        if (limit != expectedLimit) {
            throw err.build(where + ": dx limit " + limit + " where the block holds " + expectedLimit);
        }
        if (count == 0 || count > limit) {
            throw err.build(where + ": dx count " + count + " is not in 1.." + limit);
        }
        long[] hashes = new long[count];
        long[] blocks = new long[count];
        for (int i = 0; i < count; i++) {
            int p = entriesOffset + i * ENTRY_SIZE;
            hashes[i] = i == 0 ? 0 : Le.u32(b, p);
            blocks[i] = Le.u32(b, p + 4) & BLOCK_MASK;
            if (i > 1 && (hashes[i] & ~1L) < (hashes[i - 1] & ~1L)) {
                // not the kernel's ERR_BAD_DX_DIR: dx_probe does not look, and its binary search then
                // goes astray, so the damage is reported rather than read around
                throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(inode).block(block).offset(p)
                        .build(where + ": dx hashes are not sorted at entry " + i);
            }
        }
        return new DxNode(entriesOffset, limit, count, hashes, blocks);
    }

    /**
     * {@code ext4_dx_csum_verify} on raw bytes: the tail must fit after {@code limit} entries ("no
     * space for directory leaf checksum"), the entries in use must lie before it (the checksum covers
     * them, so a count past the limit cannot match), and the stored checksum must equal crc32c over
     * the entries in use, then the tail with a zero checksum.
     */
    private static void verifyTail(byte[] b, int entriesOffset, int blockSize, int inodeSeed, long inode, long pblk,
            String where) throws CorruptionException {
        int limit = Le.u16(b, entriesOffset);
        int count = Le.u16(b, entriesOffset + 2);
        CorruptionException.Builder err = CorruptionException.of(Kind.CHECKSUM).inode(inode).block(pblk)
                .offset(entriesOffset);
        if (entriesOffset + limit * ENTRY_SIZE > blockSize - TAIL_SIZE) {
            throw err.build(where + ": no room for the dx_tail after dx limit " + limit);
        }
        if (count > limit) {
            throw err.build(where + ": dx count " + count + " is past dx limit " + limit
                    + ", into the dx_tail its checksum would cover");
        }
        checkTail(b, entriesOffset, limit, count, inodeSeed, inode, pblk, where);
    }

    private static void checkTail(byte[] b, int entriesOffset, int limit, int count, int inodeSeed, long inode,
            long block, String where) throws CorruptionException {
        int tail = entriesOffset + limit * ENTRY_SIZE;
        int size = entriesOffset + count * ENTRY_SIZE;
        int crc = Crc32c.update(inodeSeed, b, 0, size);
        crc = Crc32c.update(crc, b, tail, 4);
        crc = Crc32c.updateZeros(crc, 4);
        long stored = Le.u32(b, tail + 4);
        long computed = crc & 0xFFFFFFFFL;
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(block).offset(tail)
                    .checksum(where, stored, computed);
        }
    }

    /** Verifies the dx_tail ({@code ext4_dx_csum}): crc32c over the entries in use, then the tail. */
    public void verifyTail(byte[] b, int inodeSeed, long inode, long block) throws CorruptionException {
        checkTail(b, entriesOffset, limit, count, inodeSeed, inode, block, "htree index block");
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
