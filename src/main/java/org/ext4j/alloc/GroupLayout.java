package org.ext4j.alloc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongFunction;

import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;

/**
 * Where the fixed metadata of every block group lies, and what a group's block bitmap looks like
 * before anything was allocated in it.
 *
 * <ul>
 * <li>{@link #baseMetaBlocks}: the superblock backup, group descriptor blocks and reserved GDT
 * blocks at the start of a group ({@code ext4_num_base_meta_blocks}, {@code ext4_bg_num_gdb} in
 * {@code fs/ext4/balloc.c}; sparse_super, sparse_super2 and meta_bg rules).</li>
 * <li>the <em>system zone</em>: every block that holds file system metadata, merged into sorted
 * extents ({@code fs/ext4/block_validity.c}). Data allocation must never hand out one of these;
 * the allocator checks each run it picks against the zone as {@code ext4_mb_mark_diskspace_used}
 * does, so a damaged bitmap cannot make it overwrite a bitmap or an inode table.</li>
 * <li>{@link #initBlockBitmap}: the bitmap of a {@code BLOCK_UNINIT} group
 * ({@code ext4_init_block_bitmap}). Beyond the kernel, which marks only the group's own bitmaps and
 * table, this marks every metadata block of the zone that falls inside the group: with flex_bg other
 * groups' tables can live there (mke2fs clears BLOCK_UNINIT on such groups, but an image from
 * another tool need not).</li>
 * </ul>
 *
 * <p>Immutable; the metadata locations never move while a file system is open (no online resize).
 * Bigalloc is not handled: bits are blocks here.
 */
public final class GroupLayout {
    private final Superblock sb;
    private final long groupCount;
    private final long descriptorBlocks;
    private final long[] zoneStart;
    private final long[] zoneEnd;

    /** {@code descriptors} yields the descriptor of each group (only its locations are used). */
    public GroupLayout(Superblock sb, LongFunction<GroupDescriptor> descriptors) {
        this.sb = sb;
        this.groupCount = sb.groupCount;
        this.descriptorBlocks = (groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock;
        long itableBlocks = inodeTableBlocks(sb);
        List<long[]> extents = new ArrayList<>();
        for (long g = 0; g < groupCount; g++) {
            long base = baseMetaBlocks(g);
            if (base > 0) {
                extents.add(new long[] {sb.groupFirstBlock(g), sb.groupFirstBlock(g) + base});
            }
            GroupDescriptor d = descriptors.apply(g);
            extents.add(new long[] {d.blockBitmap(), d.blockBitmap() + 1});
            extents.add(new long[] {d.inodeBitmap(), d.inodeBitmap() + 1});
            extents.add(new long[] {d.inodeTable(), d.inodeTable() + itableBlocks});
        }
        extents.sort((a, b) -> Long.compare(a[0], b[0]));
        long[] s = new long[extents.size()];
        long[] e = new long[extents.size()];
        int n = 0;
        for (long[] x : extents) {
            if (n > 0 && x[0] <= e[n - 1]) {
                e[n - 1] = Math.max(e[n - 1], x[1]);
            } else {
                s[n] = x[0];
                e[n] = x[1];
                n++;
            }
        }
        zoneStart = Arrays.copyOf(s, n);
        zoneEnd = Arrays.copyOf(e, n);
    }

    /** Blocks of one group's inode table ({@code s_itb_per_group}). */
    public static long inodeTableBlocks(Superblock sb) {
        return (sb.inodesPerGroup * sb.inodeSize + sb.blockSize - 1) / sb.blockSize;
    }

    /**
     * Blocks at the start of group {@code g} taken by the superblock backup, descriptor table copy and
     * reserved GDT blocks ({@code ext4_num_base_meta_blocks}).
     */
    public long baseMetaBlocks(long g) {
        boolean hasSuper = sb.groupHasSuper(g);
        long num = hasSuper ? 1 : 0;
        boolean metaBg = sb.hasIncompat(Features.INCOMPAT_META_BG);
        if (!metaBg || g < sb.firstMetaBg * sb.descriptorsPerBlock) {
            if (hasSuper) {
                // ext4_bg_num_gdb_nometa: the old-style table, which meta_bg cuts short at s_first_meta_bg
                num += metaBg ? sb.firstMetaBg : descriptorBlocks;
                num += sb.reservedGdtBlocks;
            }
        } else {
            // ext4_bg_num_gdb_meta: one descriptor block in the first, second and last group of its meta group
            long first = g / sb.descriptorsPerBlock * sb.descriptorsPerBlock;
            long last = first + sb.descriptorsPerBlock - 1;
            if (g == first || g == first + 1 || g == last) {
                num++;
            }
        }
        return num;
    }

    /**
     * Fills {@code bitmap} (one block) with the block bitmap of a group that has never been
     * allocated from: base metadata, every system-zone block inside the group, and the padding bits
     * past the group's last block set; everything else clear.
     */
    public void initBlockBitmap(long g, byte[] bitmap) {
        Arrays.fill(bitmap, (byte) 0);
        long first = sb.groupFirstBlock(g);
        int blocks = (int) sb.blocksInGroup(g);
        BitSearch.setRange(bitmap, 0, (int) Math.min(baseMetaBlocks(g), blocks));
        forEachZoneExtent(first, first + blocks, (s, e) -> BitSearch.setRange(bitmap, (int) (s - first), (int) (e - first)));
        // ext4_mark_bitmap_end: bits for blocks past the end of the file system read as in use
        BitSearch.setRange(bitmap, blocks, bitmap.length * 8);
    }

    /** Whether any block of {@code [start, start+length)} is file system metadata. */
    public boolean overlapsMetadata(long start, long length) {
        int i = firstEndingAfter(start);
        return i < zoneStart.length && zoneStart[i] < start + length;
    }

    /** Receives one extent {@code [start, end)}. */
    @FunctionalInterface
    public interface ExtentVisitor {
        void accept(long start, long end);
    }

    /** Calls {@code v} for every metadata extent clipped to {@code [from, to)}, in block order. */
    public void forEachZoneExtent(long from, long to, ExtentVisitor v) {
        for (int i = firstEndingAfter(from); i < zoneStart.length && zoneStart[i] < to; i++) {
            v.accept(Math.max(zoneStart[i], from), Math.min(zoneEnd[i], to));
        }
    }

    /** Index of the first zone extent whose end lies after {@code block}. */
    private int firstEndingAfter(long block) {
        int lo = 0;
        int hi = zoneEnd.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (zoneEnd[mid] <= block) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Number of merged metadata extents (for tests and statistics). */
    public int zoneExtents() {
        return zoneStart.length;
    }
}
