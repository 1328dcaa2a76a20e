package org.ext4j.format;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * Codec of one extent tree node ({@code ext4_extents.h}): a 12-byte header followed by index entries
 * (interior nodes) or extents (leaves), in the inode's i_block or in a tree block with a crc32c tail.
 * {@link #decode} performs the kernel's {@code __ext4_ext_check}: one named reason per failed check.
 */
public final class ExtentNode {
    public static final int MAGIC = 0xF30A;
    public static final int HEADER_SIZE = 12;
    public static final int ENTRY_SIZE = 12;
    /** Longest initialised extent; an ee_len above this marks an unwritten extent of ee_len - 32768. */
    public static final int INIT_MAX_LEN = 32768;
    public static final int UNWRITTEN_MAX_LEN = 32767;
    /** The kernel refuses trees deeper than this (EXT4_MAX_EXTENT_DEPTH). */
    public static final int MAX_DEPTH = 5;

    /** A leaf entry: {@code length} blocks from logical block {@code logical} at {@code physical}. */
    public record Extent(long logical, int length, long physical, boolean unwritten) {
        public long logicalEnd() {
            return logical + length;
        }
    }

    /** An interior entry: the subtree at {@code child} covers logical blocks from {@code logical}. */
    public record Index(long logical, long child) {
    }

    private final int entries;
    private final int max;
    private final int depth;
    private final Extent[] extents;
    private final Index[] indexes;

    private ExtentNode(int entries, int max, int depth, Extent[] extents, Index[] indexes) {
        this.entries = entries;
        this.max = max;
        this.depth = depth;
        this.extents = extents;
        this.indexes = indexes;
    }

    /**
     * Decodes the node in {@code b[off .. off+size)}. {@code inode} and {@code block} say where it
     * came from (block -1 for the root in i_block); {@code expectedDepth} is -1 for the root.
     */
    public static ExtentNode decode(byte[] b, int off, int size, long inode, long block, int expectedDepth)
            throws CorruptionException {
        int magic = Le.u16(b, off);
        int entries = Le.u16(b, off + 2);
        int max = Le.u16(b, off + 4);
        int depth = Le.u16(b, off + 6);
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_EXTENT_HEADER).inode(inode).block(block);
        if (magic != MAGIC) {
            throw err.build(String.format("eh_magic is 0x%04x, not 0x%04x", magic, MAGIC));
        }
        int capacity = (size - HEADER_SIZE) / ENTRY_SIZE;
        if (max == 0 || max > capacity) {
            throw err.build("eh_max " + max + " is not in 1.." + capacity);
        }
        if (entries > max) {
            throw err.build("eh_entries " + entries + " exceeds eh_max " + max);
        }
        if (entries == 0 && depth > 0) {
            throw err.build("an index node with no entries");
        }
        if (depth > MAX_DEPTH) {
            throw CorruptionException.of(Kind.EXTENT_TREE_TOO_DEEP).inode(inode).block(block)
                    .build("eh_depth " + depth + " exceeds " + MAX_DEPTH);
        }
        if (expectedDepth >= 0 && depth != expectedDepth) {
            throw err.build("eh_depth " + depth + " where the parent implies " + expectedDepth);
        }
        Extent[] ex = null;
        Index[] ix = null;
        long prevEnd = -1;
        if (depth == 0) {
            ex = new Extent[entries];
            for (int i = 0; i < entries; i++) {
                int p = off + HEADER_SIZE + i * ENTRY_SIZE;
                long lblk = Le.u32(b, p);
                int len = Le.u16(b, p + 4);
                boolean unwritten = len > INIT_MAX_LEN;
                if (unwritten) {
                    len -= INIT_MAX_LEN;
                }
                long pblk = Le.join(Le.u32(b, p + 8), Le.u16(b, p + 6));
                CorruptionException.Builder bad = CorruptionException.of(Kind.BAD_EXTENT).inode(inode).block(block)
                        .offset(p - off);
                if (len == 0) {
                    throw bad.build("extent " + i + " has length 0");
                }
                if (lblk < prevEnd) {
                    throw bad.build("extent " + i + " at logical block " + lblk + " overlaps or precedes the one before");
                }
                if (lblk + len >= 1L << 32) {
                    // ext4_valid_extent: the 32-bit end must not wrap (EXT_MAX_BLOCKS, 2^32 - 1, is no block)
                    throw bad.build("extent " + i + " at logical block " + lblk + " of " + len
                            + " block(s) runs to 2^32 or past (the last logical block is 2^32 - 2)");
                }
                prevEnd = lblk + len;
                ex[i] = new Extent(lblk, len, pblk, unwritten);
            }
        } else {
            ix = new Index[entries];
            for (int i = 0; i < entries; i++) {
                int p = off + HEADER_SIZE + i * ENTRY_SIZE;
                long lblk = Le.u32(b, p);
                long child = Le.join(Le.u32(b, p + 4), Le.u16(b, p + 8));
                if (lblk <= prevEnd && i > 0) {
                    throw CorruptionException.of(Kind.BAD_EXTENT).inode(inode).block(block).offset(p - off)
                            .build("index " + i + " at logical block " + lblk + " is not after the one before");
                }
                prevEnd = lblk;
                ix[i] = new Index(lblk, child);
            }
        }
        return new ExtentNode(entries, max, depth, ex, ix);
    }

    /**
     * {@code ext4_valid_extent_entries}: a non-root node's first entry must start exactly at the
     * logical block its parent's index entry names.
     */
    public void checkStartsAt(long expected, long inode, long block) throws CorruptionException {
        if (entries == 0) {
            return;
        }
        long first = depth == 0 ? extents[0].logical() : indexes[0].logical();
        if (first != expected) {
            throw CorruptionException.of(Kind.BAD_EXTENT).inode(inode).block(block)
                    .build("first entry starts at logical block " + first + ", the index above says " + expected);
        }
    }

    /** Offset of the crc32c tail in a tree block: right after eh_max entries. */
    public static int tailOffset(byte[] b, int off) {
        return off + HEADER_SIZE + ENTRY_SIZE * Le.u16(b, off + 4);
    }

    /** Verifies a tree block's tail ({@code ext4_extent_block_csum}): crc32c(inode seed, header..entries[max]). */
    public static void verifyTail(byte[] b, int inodeSeed, long inode, long block) throws CorruptionException {
        int tail = tailOffset(b, 0);
        if (tail + 4 > b.length) {
            throw CorruptionException.of(Kind.BAD_EXTENT_HEADER).inode(inode).block(block)
                    .build("no room for the checksum tail");
        }
        long stored = Le.u32(b, tail);
        long computed = Crc32c.update(inodeSeed, b, 0, tail) & 0xFFFFFFFFL;
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(block).offset(tail)
                    .checksum("extent block", stored, computed);
        }
    }

    public int entries() {
        return entries;
    }

    public int max() {
        return max;
    }

    public int depth() {
        return depth;
    }

    public boolean isLeaf() {
        return depth == 0;
    }

    public Extent extent(int i) {
        return extents[i];
    }

    public Index index(int i) {
        return indexes[i];
    }

    /**
     * Binary search: the last entry whose logical start is at or before {@code lblk}, or -1 when
     * {@code lblk} lies before the first entry ({@code ext4_ext_binsearch} / {@code _idx}).
     */
    public int find(long lblk) {
        int lo = 0;
        int hi = entries - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long start = depth == 0 ? extents[mid].logical() : indexes[mid].logical();
            if (start <= lblk) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }
}
