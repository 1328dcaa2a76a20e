package org.ext4j.format;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * A block group descriptor ({@code struct ext4_group_desc}), 32 bytes, or 64 and more with the
 * 64bit feature. High halves are read only when the descriptor is large enough to hold them.
 */
public record GroupDescriptor(
        long group,
        long blockBitmap,
        long inodeBitmap,
        long inodeTable,
        long freeBlocksCount,
        long freeInodesCount,
        long usedDirsCount,
        int flags,
        long excludeBitmap,
        long blockBitmapCsum,
        long inodeBitmapCsum,
        long itableUnused,
        int checksum) {

    public static final int BG_INODE_UNINIT = 0x1;
    public static final int BG_BLOCK_UNINIT = 0x2;
    public static final int BG_INODE_ZEROED = 0x4;
    public static final int CHECKSUM_OFFSET = 0x1E;

    /** Decodes the descriptor of {@code group} from {@code b} at {@code off}, {@code size} bytes long. */
    public static GroupDescriptor decode(byte[] b, int off, int size, long group) {
        boolean big = size >= 64;
        return new GroupDescriptor(
                group,
                Le.join(Le.u32(b, off), big ? Le.u32(b, off + 0x20) : 0),
                Le.join(Le.u32(b, off + 0x4), big ? Le.u32(b, off + 0x24) : 0),
                Le.join(Le.u32(b, off + 0x8), big ? Le.u32(b, off + 0x28) : 0),
                Le.u16(b, off + 0xC) | (big ? (long) Le.u16(b, off + 0x2C) << 16 : 0),
                Le.u16(b, off + 0xE) | (big ? (long) Le.u16(b, off + 0x2E) << 16 : 0),
                Le.u16(b, off + 0x10) | (big ? (long) Le.u16(b, off + 0x30) << 16 : 0),
                Le.u16(b, off + 0x12),
                Le.join(Le.u32(b, off + 0x14), big ? Le.u32(b, off + 0x34) : 0),
                Le.u16(b, off + 0x18) | (big ? (long) Le.u16(b, off + 0x38) << 16 : 0),
                Le.u16(b, off + 0x1A) | (big ? (long) Le.u16(b, off + 0x3A) << 16 : 0),
                Le.u16(b, off + 0x1C) | (big ? (long) Le.u16(b, off + 0x32) << 16 : 0),
                Le.u16(b, off + CHECKSUM_OFFSET));
    }

    /**
     * Encodes {@code d} at {@code b[off .. off+size)}: low halves always, high halves when the
     * descriptor is 64 bytes or more, then the checksum ({@code ext4_group_desc_csum_set}). Bytes
     * past the fields this codec knows are left as they are.
     */
    public static void encode(Superblock sb, byte[] b, int off, int size, GroupDescriptor d) {
        boolean big = size >= 64;
        Le.put32(b, off, d.blockBitmap());
        Le.put32(b, off + 0x4, d.inodeBitmap());
        Le.put32(b, off + 0x8, d.inodeTable());
        Le.put16(b, off + 0xC, (int) d.freeBlocksCount());
        Le.put16(b, off + 0xE, (int) d.freeInodesCount());
        Le.put16(b, off + 0x10, (int) d.usedDirsCount());
        Le.put16(b, off + 0x12, d.flags());
        Le.put32(b, off + 0x14, d.excludeBitmap());
        Le.put16(b, off + 0x18, (int) d.blockBitmapCsum());
        Le.put16(b, off + 0x1A, (int) d.inodeBitmapCsum());
        Le.put16(b, off + 0x1C, (int) d.itableUnused());
        if (big) {
            Le.put32(b, off + 0x20, d.blockBitmap() >>> 32);
            Le.put32(b, off + 0x24, d.inodeBitmap() >>> 32);
            Le.put32(b, off + 0x28, d.inodeTable() >>> 32);
            Le.put16(b, off + 0x2C, (int) (d.freeBlocksCount() >>> 16));
            Le.put16(b, off + 0x2E, (int) (d.freeInodesCount() >>> 16));
            Le.put16(b, off + 0x30, (int) (d.usedDirsCount() >>> 16));
            Le.put16(b, off + 0x32, (int) (d.itableUnused() >>> 16));
            Le.put32(b, off + 0x34, d.excludeBitmap() >>> 32);
            Le.put16(b, off + 0x38, (int) (d.blockBitmapCsum() >>> 16));
            Le.put16(b, off + 0x3A, (int) (d.inodeBitmapCsum() >>> 16));
        }
        int csum = sb.hasMetadataCsum() || sb.hasGdtCsum() ? computeChecksum(sb, b, off, size, d.group()) : 0;
        Le.put16(b, off + CHECKSUM_OFFSET, csum);
    }

    public GroupDescriptor withFreeBlocks(long v) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, v, freeInodesCount, usedDirsCount,
                flags, excludeBitmap, blockBitmapCsum, inodeBitmapCsum, itableUnused, checksum);
    }

    public GroupDescriptor withFreeInodes(long v) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, freeBlocksCount, v, usedDirsCount,
                flags, excludeBitmap, blockBitmapCsum, inodeBitmapCsum, itableUnused, checksum);
    }

    public GroupDescriptor withUsedDirs(long v) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, freeBlocksCount, freeInodesCount, v,
                flags, excludeBitmap, blockBitmapCsum, inodeBitmapCsum, itableUnused, checksum);
    }

    public GroupDescriptor withFlags(int v) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, freeBlocksCount, freeInodesCount,
                usedDirsCount, v, excludeBitmap, blockBitmapCsum, inodeBitmapCsum, itableUnused, checksum);
    }

    public GroupDescriptor withItableUnused(long v) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, freeBlocksCount, freeInodesCount,
                usedDirsCount, flags, excludeBitmap, blockBitmapCsum, inodeBitmapCsum, v, checksum);
    }

    public GroupDescriptor withBitmapChecksums(long blockCsum, long inodeCsum) {
        return new GroupDescriptor(group, blockBitmap, inodeBitmap, inodeTable, freeBlocksCount, freeInodesCount,
                usedDirsCount, flags, excludeBitmap, blockCsum, inodeCsum, itableUnused, checksum);
    }

    /**
     * The checksum the descriptor should carry ({@code ext4_group_desc_csum}): crc32c low 16 bits
     * with metadata_csum, crc16 with gdt_csum, over the descriptor with bg_checksum left out.
     */
    public static int computeChecksum(Superblock sb, byte[] b, int off, int size, long group) {
        if (sb.hasMetadataCsum()) {
            int crc = Crc32c.updateLe32(sb.checksumSeedValue(), group);
            crc = Crc32c.update(crc, b, off, CHECKSUM_OFFSET);
            crc = Crc32c.updateZeros(crc, 2);
            crc = Crc32c.update(crc, b, off + CHECKSUM_OFFSET + 2, size - CHECKSUM_OFFSET - 2);
            return crc & 0xFFFF;
        }
        int crc = Crc16.update(0xFFFF, sb.uuid, 0, 16);
        byte[] g = new byte[4];
        Le.put32(g, 0, group);
        crc = Crc16.update(crc, g, 0, 4);
        crc = Crc16.update(crc, b, off, CHECKSUM_OFFSET);
        if (sb.is64bit() && size > 32) {
            crc = Crc16.update(crc, b, off + 32, size - 32);
        }
        return crc;
    }

    /** Verifies the descriptor's checksum when the file system has one. */
    public static void verify(Superblock sb, byte[] b, int off, int size, long group, long block)
            throws CorruptionException {
        if (!sb.hasMetadataCsum() && !sb.hasGdtCsum()) {
            return;
        }
        int stored = Le.u16(b, off + CHECKSUM_OFFSET);
        int computed = computeChecksum(sb, b, off, size, group);
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).block(block).offset(off)
                    .checksum("group descriptor " + group, stored, computed);
        }
    }
}
