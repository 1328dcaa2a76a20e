package org.ext4j.it;

import java.util.List;

/**
 * One kind of image the kernel writes for {@link KernelWrittenTest}: the mkfs options and what the
 * populator may do on it (fallocate needs extents; inline files need inline_data).
 *
 * <p>Extent-tree sizes (kernel {@code ext4_ext_space_root} / {@code ext4_ext_space_block}): the root
 * in i_block holds 4 entries; a tree block holds (blocksize - 12) / 12 entries: 340 with 4 KiB
 * blocks, 84 with 1 KiB blocks. A depth-1 tree therefore holds at most 4 * 340 = 1360 extents
 * (4 KiB) or 4 * 84 = 336 (1 KiB); a depth-2 tree at most 4 * 340 * 340 = 462,400 (4 KiB) or
 * 4 * 84 * 84 = 28,224 (1 KiB). Extents of single blocks at every other logical block never merge,
 * so {@code deepExtents} such writes force depth 2 once above 1360 (4 KiB), and depth 3 once above
 * 28,224 (1 KiB). Leaves split where the new extent goes, so out-of-order insertion (batches made
 * durable with fsync in shuffled order) reaches the next depth even earlier; the fixture check
 * asserts the depth e2fsprogs' debugfs reports.
 *
 * <p>htree sizes ({@code dx_root_limit} / {@code dx_node_limit}): the dx root of a 4 KiB block holds
 * 507 index entries with metadata_csum (508 without), 1 KiB blocks 123; 30,000 names of 7 to 106
 * bytes need about 700 leaf blocks of 4 KiB or 2,900 of 1 KiB, so both big directories get an
 * interior index level ("Indirect levels: 1" in debugfs' htree dump).
 */
enum KernelVariant {
    /** mke2fs defaults for ext4 (metadata_csum, 64bit, flex_bg, extents, huge_file) with 4 KiB blocks. */
    DEFAULT_4K(List.of("-b", "4096", "-N", "65536"), 768L << 20, true, false, 1500, 2, 30_000, 160L << 20),
    /** 1 KiB blocks: small tree nodes (84 entries) give a depth-3 extent tree and a 2-level htree cheaply. */
    BLOCKS_1K(List.of("-b", "1024", "-N", "65536"), 384L << 20, true, false, 29_000, 3, 30_000, 40L << 20),
    /** Small files and directories kept in the inode (i_block plus the system.data attribute). */
    INLINE_DATA(List.of("-b", "4096", "-O", "inline_data", "-g", "8192"), 256L << 20, true, true, 200, 1, 3_000,
            8L << 20),
    /** No metadata_csum, 32-byte group descriptors with crc16 (uninit_bg), several groups. */
    CRC16_DESCRIPTORS(List.of("-b", "4096", "-O", "^metadata_csum,^64bit,uninit_bg", "-g", "8192"), 256L << 20,
            true, false, 400, 1, 3_000, 8L << 20),
    /** ext3 layout: no extents, so every file the kernel writes uses indirect block maps. */
    EXT3_INDIRECT(List.of("-t", "ext3", "-b", "4096", "-g", "8192"), 256L << 20, false, false, 0, 0, 3_000, 0);

    final List<String> mkfsOptions;
    final long imageBytes;
    final boolean extents;
    final boolean inlineData;
    /** Single-block writes at every other block of frag/deep (0: none). */
    final int deepExtents;
    /** Smallest extent tree depth frag/deep must reach for the fixture to mean anything. */
    final int minDepth;
    /** Names created in big/ before deletions. */
    final int bigDirEntries;
    /** Length of falloc/big (several unwritten extents of at most 32,767 blocks). */
    final long bigFallocBytes;

    KernelVariant(List<String> mkfsOptions, long imageBytes, boolean extents, boolean inlineData, int deepExtents,
            int minDepth, int bigDirEntries, long bigFallocBytes) {
        this.mkfsOptions = mkfsOptions;
        this.imageBytes = imageBytes;
        this.extents = extents;
        this.inlineData = inlineData;
        this.deepExtents = deepExtents;
        this.minDepth = minDepth;
        this.bigDirEntries = bigDirEntries;
        this.bigFallocBytes = bigFallocBytes;
    }

    int blockSize() {
        return Integer.parseInt(mkfsOptions.get(mkfsOptions.indexOf("-b") + 1));
    }
}
