package org.ext4j.format;

/**
 * One block of the orphan file (feature orphan_file, {@code s_orphan_file_inum}): an array of
 * little-endian 32-bit inode numbers, 0 for a free slot, followed by the tail
 * {@code struct ext4_orphan_block_tail} ({@code ob_magic}, {@code ob_checksum}) in the block's last 8
 * bytes ({@code fs/ext4/ext4.h}, {@code fs/ext4/orphan.c}). With metadata_csum the checksum is
 * crc32c, seeded with the orphan file inode's seed, of the block's physical number (le64) and the
 * slots ({@code ext4_orphan_file_block_csum_verify}, {@code ext4_orphan_file_block_trigger}).
 */
public final class OrphanBlock {
    /** {@code EXT4_ORPHAN_BLOCK_MAGIC}. */
    public static final int MAGIC = 0x0b10ca04;
    /** {@code sizeof(struct ext4_orphan_block_tail)}. */
    public static final int TAIL_SIZE = 8;

    private OrphanBlock() {
    }

    /** {@code ext4_inodes_per_orphan_block}. */
    public static int slots(int blockSize) {
        return (blockSize - TAIL_SIZE) / 4;
    }

    /** The inode number in slot {@code i}; 0 when free. */
    public static long slot(byte[] b, int i) {
        return Le.u32(b, i * 4);
    }

    public static void setSlot(byte[] b, int i, long ino) {
        Le.put32(b, i * 4, ino);
    }

    /** {@code ob_magic}. */
    public static int magic(byte[] b) {
        return Le.i32(b, b.length - TAIL_SIZE);
    }

    /** {@code ob_checksum} as stored. */
    public static long storedChecksum(byte[] b) {
        return Le.u32(b, b.length - 4);
    }

    /** The checksum the block should hold: {@code seed} is the orphan file inode's checksum seed. */
    public static long computeChecksum(int seed, long pblk, byte[] b) {
        int crc = Crc32c.updateLe64(seed, pblk);
        return Crc32c.update(crc, b, 0, slots(b.length) * 4) & 0xFFFFFFFFL;
    }

    /** Stores the checksum of the slots (only with metadata_csum, as the kernel's trigger). */
    public static void setChecksum(Superblock sb, int seed, long pblk, byte[] b) {
        if (sb.hasMetadataCsum()) {
            Le.put32(b, b.length - 4, computeChecksum(seed, pblk, b));
        }
    }
}
