package org.ext4j.fs;

/**
 * What {@code statfs(2)} reports of an ext4 file system ({@code ext4_statfs}), in blocks of
 * {@code blockSize} bytes: {@code blocks} is the block count less the metadata overhead (BSD
 * practice: superblocks, descriptor tables and reserved GDT blocks, bitmaps, inode tables, the
 * journal), {@code freeBlocks} the free blocks less those promised to delayed allocations,
 * {@code availableBlocks} what is left of them past the blocks reserved for root and the kernel's
 * reserve ({@code s_resv_clusters}: 2% of the file system, at most 4096 blocks, with extents).
 */
public record StatFs(long blockSize, long blocks, long freeBlocks, long availableBlocks, long inodes, long freeInodes,
        int nameMax) {
}
