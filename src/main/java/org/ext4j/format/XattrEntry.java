package org.ext4j.format;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * Extended attribute entries ({@code struct ext4_xattr_entry}, {@code fs/ext4/xattr.h}) in the inode
 * body after i_extra_isize and in an external xattr block with its 32-byte header. Values of small
 * attributes sit in the same area; with ea_inode a large value lives in its own inode
 * ({@code valueInum}).
 */
public record XattrEntry(int nameIndex, byte[] suffix, int valueOffset, long valueInum, int valueSize, long hash) {
    public static final long MAGIC = 0xEA020000L;
    public static final int BLOCK_HEADER_SIZE = 32;
    public static final int ENTRY_HEADER_SIZE = 16;
    public static final int IBODY_HEADER_SIZE = 4;
    /** Block header fields: {@code h_refcount}, {@code h_hash}, {@code h_checksum}. */
    public static final int REFCOUNT_OFFSET = 4;
    public static final int HASH_OFFSET = 0xC;
    private static final int BLOCK_CHECKSUM_OFFSET = 0x10;
    /** Entry fields after e_name_len and e_name_index. */
    public static final int E_VALUE_OFFS = 2;
    public static final int E_VALUE_INUM = 4;
    public static final int E_VALUE_SIZE = 8;
    public static final int E_HASH = 12;

    /** {@code EXT4_XATTR_LEN}: an entry with its name, padded to 4 bytes. */
    public static int entryLen(int nameLen) {
        return (nameLen + ENTRY_HEADER_SIZE + 3) & ~3;
    }

    /** {@code EXT4_XATTR_SIZE}: a value padded to 4 bytes. */
    public static int valueLen(int size) {
        return (size + 3) & ~3;
    }

    /**
     * {@code ext4_xattr_hash_entry}: the name's bytes as unsigned chars, then {@code words} 32-bit
     * little-endian words of the padded value. {@code signed} computes the variant older kernels
     * wrote on machines whose {@code char} is signed ({@code ext4_xattr_hash_entry_signed}; it
     * differs only for names with bytes of 0x80 and up), which the kernel and e2fsck still accept
     * on reading; writers use the unsigned one.
     */
    public static long hashEntry(byte[] name, int nameOff, int nameLen, byte[] value, int valueOff, int words,
            boolean signed) {
        int hash = 0;
        for (int i = 0; i < nameLen; i++) {
            int c = signed ? name[nameOff + i] : name[nameOff + i] & 0xFF;
            hash = (hash << 5) ^ (hash >>> 27) ^ c;
        }
        for (int i = 0; i < words; i++) {
            hash = (hash << 16) ^ (hash >>> 16) ^ Le.i32(value, valueOff + 4 * i);
        }
        return hash & 0xFFFFFFFFL;
    }

    /**
     * {@code ext4_xattr_rehash}: the block hash over the entries' hashes in order; 0 (never shared)
     * when any entry's hash is 0. The entries must have been walked and checked before.
     */
    public static long blockHash(byte[] b) {
        int hash = 0;
        int off = BLOCK_HEADER_SIZE;
        while (off + 4 <= b.length && Le.u32(b, off) != 0) {
            int e = Le.i32(b, off + E_HASH);
            if (e == 0) {
                return 0;
            }
            hash = (hash << 16) ^ (hash >>> 16) ^ e;
            off += entryLen(Le.u8(b, off));
        }
        return hash & 0xFFFFFFFFL;
    }

    private static final String[] PREFIXES = {
        null, "user.", "system.posix_acl_access", "system.posix_acl_default", "trusted.", null, "security.",
        "system.", "system.richacl"};

    /** The full attribute name as user space sees it ({@code user.foo}); null for an unknown index. */
    public String fullName() {
        String prefix = nameIndex < PREFIXES.length ? PREFIXES[nameIndex] : null;
        if (prefix == null) {
            return null;
        }
        return prefix + new String(suffix, StandardCharsets.UTF_8);
    }

    /**
     * Walks the entries of an area {@code b[start .. end)}. Value offsets in an xattr block are from
     * the block start, in the inode body from the first entry: {@code valueBase} says which, and every
     * value is range-checked against the area.
     */
    public static List<XattrEntry> decodeEntries(byte[] b, int start, int end, int valueBase, long inode, long block)
            throws CorruptionException {
        List<XattrEntry> out = new ArrayList<>();
        int off = start;
        while (off + 4 <= end && Le.u32(b, off) != 0) {
            CorruptionException.Builder err = CorruptionException.of(Kind.BAD_XATTR).inode(inode).block(block)
                    .offset(off);
            if (off + ENTRY_HEADER_SIZE > end) {
                throw err.build("entry header runs past the end of the area");
            }
            int nameLen = Le.u8(b, off);
            int index = Le.u8(b, off + 1);
            int valueOffs = Le.u16(b, off + 2);
            long valueInum = Le.u32(b, off + 4);
            long valueSize = Le.u32(b, off + 8);
            long hash = Le.u32(b, off + 12);
            // name_len 0 is valid: system.posix_acl_access is its prefix alone
            if (off + ENTRY_HEADER_SIZE + nameLen > end) {
                throw err.build("name runs past the end of the area");
            }
            if (valueSize > Integer.MAX_VALUE) {
                throw err.build("value size " + valueSize + " is too large");
            }
            if (valueInum == 0 && valueSize > 0) {
                long vstart = (long) valueBase + valueOffs;
                if (vstart < start || vstart + valueSize > end) {
                    throw err.build("value at " + valueOffs + " of " + valueSize + " bytes lies outside the area");
                }
            }
            byte[] suffix = java.util.Arrays.copyOfRange(b, off + ENTRY_HEADER_SIZE, off + ENTRY_HEADER_SIZE + nameLen);
            out.add(new XattrEntry(index, suffix, valueOffs, valueInum, (int) valueSize, hash));
            off += (ENTRY_HEADER_SIZE + nameLen + 3) & ~3;
            if (out.size() > end - start) {
                throw err.build("too many entries");
            }
        }
        return out;
    }

    /** Checks an xattr block's header: magic, and h_blocks of 1 as the kernel requires. */
    public static void checkBlockHeader(byte[] b, long inode, long block) throws CorruptionException {
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_XATTR).inode(inode).block(block);
        if (Le.u32(b, 0) != MAGIC) {
            throw err.offset(0).build(String.format("block magic is 0x%08x, not 0x%08x", Le.u32(b, 0), MAGIC));
        }
        if (Le.u32(b, 8) != 1) {
            throw err.offset(8).build("h_blocks is " + Le.u32(b, 8) + ", not 1");
        }
    }

    /** {@code ext4_xattr_block_csum}: crc32c of the block number and the block with h_checksum as zero. */
    public static long blockChecksum(Superblock sb, byte[] b, long block) {
        int crc = Crc32c.updateLe64(sb.checksumSeedValue(), block);
        crc = Crc32c.update(crc, b, 0, BLOCK_CHECKSUM_OFFSET);
        crc = Crc32c.updateZeros(crc, 4);
        crc = Crc32c.update(crc, b, BLOCK_CHECKSUM_OFFSET + 4, b.length - BLOCK_CHECKSUM_OFFSET - 4);
        return crc & 0xFFFFFFFFL;
    }

    /** {@code ext4_xattr_block_csum_set}: stores the checksum when the file system has metadata_csum. */
    public static void setBlockChecksum(Superblock sb, byte[] b, long block) {
        if (sb.hasMetadataCsum()) {
            Le.put32(b, BLOCK_CHECKSUM_OFFSET, blockChecksum(sb, b, block));
        }
    }

    /** Verifies an xattr block's checksum ({@code ext4_xattr_block_csum}): seeded with the block number. */
    public static void verifyBlock(Superblock sb, byte[] b, long inode, long block) throws CorruptionException {
        long stored = Le.u32(b, BLOCK_CHECKSUM_OFFSET);
        long computed = blockChecksum(sb, b, block);
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(block).offset(BLOCK_CHECKSUM_OFFSET)
                    .checksum("xattr block", stored, computed);
        }
    }
}
