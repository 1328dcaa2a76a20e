package org.ext4j.format;

/**
 * Block and inode bitmap checksums ({@code ext4_block_bitmap_csum_set}, {@code ext4_inode_bitmap_csum_set}
 * in {@code fs/ext4/bitmap.c}): crc32c from the file system seed over the bits in use (clusters per
 * group, inodes per group), stored split in the group descriptor: the low 16 bits always, the high
 * 16 bits when descriptors are 64 bytes or more.
 */
public final class Bitmaps {
    private Bitmaps() {
    }

    public static long blockBitmapChecksum(Superblock sb, byte[] bitmap) {
        return checksum(sb, bitmap, (int) (sb.clustersPerGroup / 8));
    }

    public static long inodeBitmapChecksum(Superblock sb, byte[] bitmap) {
        return checksum(sb, bitmap, (int) (sb.inodesPerGroup / 8));
    }

    private static long checksum(Superblock sb, byte[] bitmap, int bytes) {
        long crc = Crc32c.update(sb.checksumSeedValue(), bitmap, 0, bytes) & 0xFFFFFFFFL;
        return sb.descriptorSize >= 64 ? crc : crc & 0xFFFF;
    }

    public static boolean test(byte[] bitmap, long bit) {
        return (bitmap[(int) (bit >>> 3)] & (1 << (bit & 7))) != 0;
    }

    public static void set(byte[] bitmap, long bit) {
        bitmap[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
    }

    public static void clear(byte[] bitmap, long bit) {
        bitmap[(int) (bit >>> 3)] &= (byte) ~(1 << (bit & 7));
    }
}
