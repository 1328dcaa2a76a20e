package org.ext4j.alloc;

import java.util.Arrays;

import org.ext4j.format.Features;
import org.ext4j.format.Superblock;
import org.ext4j.volume.SystemZone;

/**
 * Where the fixed metadata of every block group lies, and what a group's block bitmap looks like
 * before anything was allocated in it.
 *
 * <ul>
 * <li>{@link #baseMetaBlocks}: the superblock backup, group descriptor blocks and reserved GDT
 * blocks at the start of a group ({@code ext4_num_base_meta_blocks}, {@code ext4_bg_num_gdb} in
 * {@code fs/ext4/balloc.c}; sparse_super, sparse_super2 and meta_bg rules).</li>
 * <li>the <em>system zone</em> ({@link SystemZone}, the volume's, built at open: superblocks and
 * descriptor tables, bitmaps, inode tables, the journal's and the resize inode's blocks, the MMP
 * block). Data allocation must never hand out one of these, whoever owns them; the allocator checks
 * each run it picks against the zone as {@code ext4_mb_mark_diskspace_used} does, so a damaged
 * bitmap cannot make it overwrite a bitmap, an inode table or the journal.</li>
 * <li>{@link #initBlockBitmap}: the bitmap of a {@code BLOCK_UNINIT} group
 * ({@code ext4_init_block_bitmap}). Beyond the kernel, which marks only the group's own bitmaps and
 * table, this marks every block of the zone that falls inside the group: with flex_bg other groups'
 * tables can live there (mke2fs clears BLOCK_UNINIT on such groups, but an image from another tool
 * need not).</li>
 * </ul>
 *
 * <p>Immutable; the metadata locations never move while a file system is open (no online resize).
 * Bigalloc is not handled: bits are blocks here.
 */
public final class GroupLayout {
    private final Superblock sb;
    private final long descriptorBlocks;
    private final SystemZone zone;

    /** The layout of {@code sb}'s groups, whose metadata blocks {@code zone} holds. */
    public GroupLayout(Superblock sb, SystemZone zone) {
        this.sb = sb;
        this.descriptorBlocks = (sb.groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock;
        this.zone = zone;
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

    /** Whether any block of {@code [start, start+length)} is file system metadata, whoever owns it. */
    public boolean overlapsMetadata(long start, long length) {
        return zone.overlaps(start, length, SystemZone.NO_OWNER);
    }

    /** Receives one extent {@code [start, end)}. */
    @FunctionalInterface
    public interface ExtentVisitor {
        void accept(long start, long end);
    }

    /** Calls {@code v} for every metadata extent clipped to {@code [from, to)}, in block order. */
    public void forEachZoneExtent(long from, long to, ExtentVisitor v) {
        for (SystemZone.Range r : zone.rangesIn(from, to)) {
            v.accept(Math.max(r.start(), from), Math.min(r.end(), to));
        }
    }
}
