package org.ext4j.volume;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;

/**
 * The blocks that belong to the file system's own metadata, which no file or directory may map: the
 * kernel's system zone ({@code fs/ext4/block_validity.c}: {@code ext4_setup_system_zone},
 * {@code ext4_inode_block_valid}). Built once when the {@link Volume} opens, after the group
 * descriptors are loaded, as sorted, merged, disjoint ranges, each with an owner: 0 for the file
 * system itself, else the reserved inode whose blocks they are. A mapping into a range is refused
 * unless the range belongs to the inode asking (the journal inode reading its own blocks).
 *
 * <p>What the zone holds:
 * <ul>
 * <li>in every group that has a superblock (sparse_super, sparse_super2's two backup groups, or all
 * groups), the superblock, its group descriptor blocks and the reserved GDT blocks
 * ({@code ext4_num_base_meta_blocks}); with meta_bg, past {@code s_first_meta_bg}, the one descriptor
 * block in the first, second and last group of each meta group;</li>
 * <li>every group's block bitmap, inode bitmap and inode table;</li>
 * <li>the journal inode's blocks, data and mapping blocks alike, owned by the journal inode (with
 * has_journal, {@code s_journal_inum != 0} and no external journal device);</li>
 * <li>the resize inode's blocks, owned by inode 7 (with resize_inode): its double-indirect block,
 * the indirect blocks that block lists (the primary reserved GDT blocks) and the reserved GDT blocks
 * of the backup groups, which are what those indirect blocks map. The latter two come from the
 * geometry; only the double-indirect block is read, not the up to 1024 reserved GDT blocks;</li>
 * <li>the MMP block ({@code s_mmp_block} with mmp).</li>
 * </ul>
 *
 * <p>Where this differs from the kernel: the kernel's {@code ext4_setup_system_zone} long added the
 * superblock backups and descriptors only of groups below 5 and of multiples of the flex group size
 * (and, as it computed the flex size before it was known, in practice of every backup group), and
 * never the reserved GDT blocks; current kernels add every group's {@code ext4_num_base_meta_blocks}
 * (the 6.18 kernel these tests run against refuses a file mapping group 7's backup superblock or
 * reserved GDT blocks). Issue 8 asks for every metadata block, so every backup group's blocks are
 * here whatever the kernel version. Beyond any kernel's zone, on purpose: the resize inode's blocks
 * (the kernel hands out its double-indirect block as a file's bytes; here the reserved GDT blocks are
 * owned by inode 7, not by the file system), the MMP block, and the journal's extent tree or indirect
 * blocks (the kernel adds only the journal's data blocks, through {@code ext4_map_blocks}). Bigalloc
 * is handled at block granularity, as the kernel does: a cluster's other blocks beside a metadata
 * block are not in the zone.
 *
 * <p>Overlaps: two pieces of metadata on the same block is corruption found at open (except for the
 * resize inode's, see {@code resizePieces}). The kernel's
 * {@code add_system_zone} refuses a range that starts inside one already added ("blocks ... overlap
 * system zone", and the mount fails); here every overlap is refused, whatever the order, named by
 * both pieces: a reserved inode's blocks on other metadata as {@link Kind#BLOCK_IN_SYSTEM_ZONE}
 * with the inode and logical block, two pieces of the file system's own metadata as
 * {@link Kind#BAD_GROUP_DESCRIPTOR}. The reserved inodes are walked here with the codecs rather
 * than through the {@code extents} package because that package sits above this one.
 *
 * <p>Immutable after {@link #build}, so any number of threads may query it; lookups are binary
 * searches over the range ends.
 */
public final class SystemZone {
    /** Owner of the file system's own metadata (superblocks, descriptors, bitmaps, inode tables). */
    public static final long FILE_SYSTEM = 0;
    /** Pass as the asking inode to count every range, whatever its owner, as a conflict (allocators). */
    public static final long NO_OWNER = -1;
    /** The resize inode ({@code EXT4_RESIZE_INO}). */
    public static final long RESIZE_INO = 7;
    private static final int DIND = 13;

    /** One range of the zone: {@code count} blocks from {@code start}, belonging to {@code owner}. */
    public record Range(long start, long count, long owner) {
        public long end() {
            return start + count;
        }
    }

    private enum Type {
        SUPER("superblock and group descriptors"),
        RESERVED_GDT("reserved GDT blocks"),
        BLOCK_BITMAP("block bitmap"),
        INODE_BITMAP("inode bitmap"),
        INODE_TABLE("inode table"),
        MMP("MMP block"),
        JOURNAL("journal"),
        RESIZE("resize inode");

        final String text;

        Type(String text) {
            this.text = text;
        }
    }

    /** A piece of metadata before merging; {@code group} for group metadata, {@code lblk} for an inode's blocks. */
    private record Piece(long start, long count, long owner, Type type, long group, long lblk) {
        long end() {
            return start + count;
        }

        String describe() {
            return switch (type) {
                case JOURNAL -> "the journal (inode " + owner + ")";
                case RESIZE -> "the resize inode (inode 7)";
                case MMP -> "the MMP block";
                case SUPER -> (group == 0 ? "the primary superblock and group descriptors"
                        : "the superblock backup or group descriptors of group " + group);
                default -> "the " + type.text + " of group " + group;
            } + " (" + (count == 1 ? "block " + start : "blocks " + start + "-" + (end() - 1)) + ")";
        }
    }

    private final Volume volume;
    private final long[] starts;
    private final long[] ends;
    private final long[] owners;
    private final long journalIno;

    private SystemZone(Volume volume, long[] starts, long[] ends, long[] owners, long journalIno) {
        this.volume = volume;
        this.starts = starts;
        this.ends = ends;
        this.owners = owners;
        this.journalIno = journalIno;
    }

    /**
     * Builds the zone of {@code volume}, whose descriptors are loaded. Reads the journal inode and its
     * mapping blocks, and the resize inode and its double-indirect block.
     *
     * @throws CorruptionException when two pieces of metadata overlap, a reserved inode maps a block
     *         outside the file system, or the journal inode cannot be read (the kernel's mount fails too)
     */
    static SystemZone build(Volume volume) throws IOException {
        Superblock sb = volume.superblock();
        List<Piece> pieces = new ArrayList<>();
        for (long g = 0; g < volume.groupCount(); g++) {
            groupPieces(volume, g, pieces);
        }
        if (sb.hasIncompat(Features.INCOMPAT_MMP) && sb.mmpBlock > sb.firstDataBlock && sb.mmpBlock < sb.blocksCount) {
            // an MMP block outside the file system is the superblock checks' business, not a zone entry
            pieces.add(new Piece(sb.mmpBlock, 1, FILE_SYSTEM, Type.MMP, -1, -1));
        }
        long journalIno = 0;
        if (sb.hasCompat(Features.COMPAT_HAS_JOURNAL) && sb.journalInum != 0 && sb.journalDev == 0
                && !sb.hasIncompat(Features.INCOMPAT_JOURNAL_DEV)) {
            journalIno = sb.journalInum;
            new InodeWalk(volume, journalIno, Type.JOURNAL, pieces).walk();
        }
        if (sb.hasCompat(Features.COMPAT_RESIZE_INODE)) {
            resizePieces(volume, pieces);
        }
        return merge(volume, pieces, journalIno);
    }

    /**
     * The metadata of group {@code g}: superblock, descriptors and reserved GDT blocks where the group
     * has them ({@code ext4_num_base_meta_blocks}), bitmaps and inode table where its descriptor says.
     */
    private static void groupPieces(Volume volume, long g, List<Piece> out) {
        Superblock sb = volume.superblock();
        boolean hasSuper = sb.groupHasSuper(g);
        boolean metaBg = sb.hasIncompat(Features.INCOMPAT_META_BG);
        long dpb = sb.descriptorsPerBlock;
        long gdt = 0;
        long reserved = 0;
        if (!metaBg || g < sb.firstMetaBg * dpb) {
            if (hasSuper) {
                gdt = metaBg ? sb.firstMetaBg : (sb.groupCount + dpb - 1) / dpb;
                reserved = sb.reservedGdtBlocks;
            }
        } else {
            long inMeta = g % dpb;
            gdt = inMeta == 0 || inMeta == 1 || inMeta == dpb - 1 ? 1 : 0;
        }
        long first = sb.groupFirstBlock(g);
        // the superblock's own block: in group 0 it holds byte 1024, block 1 with 1 KiB blocks even
        // when s_first_data_block is 0 (bigalloc), and the descriptors follow it
        long superBlock = g == 0 ? Superblock.OFFSET / sb.blockSize : first;
        long metaStart = hasSuper ? superBlock : first;
        long metaEnd = metaStart + (hasSuper ? 1 : 0) + gdt;
        if (metaEnd > metaStart) {
            addClipped(sb, out, metaStart, metaEnd - metaStart, FILE_SYSTEM, Type.SUPER, g);
        }
        if (reserved > 0) {
            long owner = sb.hasCompat(Features.COMPAT_RESIZE_INODE) ? RESIZE_INO : FILE_SYSTEM;
            addClipped(sb, out, metaEnd, reserved, owner, Type.RESERVED_GDT, g);
        }
        GroupDescriptor d = volume.group(g);
        long itable = (sb.inodesPerGroup * sb.inodeSize + sb.blockSize - 1) / sb.blockSize;
        out.add(new Piece(d.blockBitmap(), 1, FILE_SYSTEM, Type.BLOCK_BITMAP, g, -1));
        out.add(new Piece(d.inodeBitmap(), 1, FILE_SYSTEM, Type.INODE_BITMAP, g, -1));
        out.add(new Piece(d.inodeTable(), itable, FILE_SYSTEM, Type.INODE_TABLE, g, -1));
    }

    /** Adds a geometric piece, cut at the end of the file system (a damaged last group may be too short). */
    private static void addClipped(Superblock sb, List<Piece> out, long start, long count, long owner, Type type, long g) {
        long n = Math.min(count, sb.blocksCount - start);
        if (n > 0) {
            out.add(new Piece(start, n, owner, type, g, -1));
        }
    }

    /**
     * The resize inode's double-indirect block and the indirect blocks it lists. Those indirect
     * blocks are the primary reserved GDT blocks (already owned by inode 7 from the geometry) and map
     * the backup groups' reserved GDT blocks (also there), so only blocks outside the reserved GDT
     * ranges are added. The kernel reads this inode only to resize a mounted file system and mounts
     * whatever it holds, and e2fsck rebuilds it; so a resize inode that does not decode, or whose
     * blocks lie outside the file system or on other metadata, adds nothing rather than refusing the
     * file system, whose files it does not touch.
     */
    private static void resizePieces(Volume volume, List<Piece> out) throws IOException {
        Superblock sb = volume.superblock();
        InodeRecord rec;
        try {
            rec = volume.readInode(RESIZE_INO);
        } catch (CorruptionException e) {
            return; // see above: not the reader's concern
        }
        long dind = Le.u32(rec.iBlock(), DIND * 4);
        if (rec.hasFlag(InodeRecord.FL_EXTENTS) || !usable(sb, out, dind)) {
            return;
        }
        List<Piece> found = new ArrayList<>();
        found.add(new Piece(dind, 1, RESIZE_INO, Type.RESIZE, -1, -1));
        byte[] b = volume.readBlock(dind, RESIZE_INO);
        for (int off = 0; off + 4 <= b.length; off += 4) {
            long ind = Le.u32(b, off);
            // a primary reserved GDT block is already in (usable says no); anything else is added once
            if (ind != 0 && usable(sb, out, ind) && found.stream().noneMatch(p -> p.start == ind)) {
                found.add(new Piece(ind, 1, RESIZE_INO, Type.RESIZE, -1, -1));
            }
        }
        out.addAll(found);
    }

    /** A resize inode block inside the file system and on no other metadata. */
    private static boolean usable(Superblock sb, List<Piece> pieces, long pblk) {
        return pblk > sb.firstDataBlock && pblk < sb.blocksCount
                && pieces.stream().noneMatch(p -> pblk >= p.start && pblk < p.end());
    }

    /**
     * Every block a reserved inode maps up to its size (as {@code ext4_protect_reserved_inode} maps
     * it), plus its extent tree or indirect blocks. Bounded: descent by the tree's depth, the number
     * of blocks by i_size, and every block number is range-checked before it is read.
     */
    private static final class InodeWalk {
        private final Volume volume;
        private final long ino;
        private final Type type;
        private final List<Piece> out;
        private final long blocks;
        private final InodeRecord rec;
        private long visited;

        InodeWalk(Volume volume, long ino, Type type, List<Piece> out) throws IOException {
            this.volume = volume;
            this.ino = ino;
            this.type = type;
            this.out = out;
            this.rec = volume.readInode(ino);
            int bs = volume.blockSize();
            this.blocks = rec.size < 0 ? 0 : Math.min(1L << 32, (rec.size + bs - 1) / bs);
        }

        void walk() throws IOException {
            if (rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
                return;
            }
            if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
                byte[] root = rec.iBlock();
                extents(ExtentNode.decode(root, 0, root.length, ino, -1, -1));
                return;
            }
            byte[] iBlock = rec.iBlock();
            int per = volume.blockSize() / 4;
            long base = 0;
            for (int i = 0; i < 15 && base < blocks; i++) {
                int level = i < 12 ? 0 : i - 11;
                indirect(Le.u32(iBlock, i * 4), level, base, per);
                base += span(per, level);
            }
        }

        private void extents(ExtentNode node) throws IOException {
            for (int i = 0; i < node.entries(); i++) {
                if (node.isLeaf()) {
                    ExtentNode.Extent e = node.extent(i);
                    if (e.logical() < blocks) {
                        add(e.physical(), Math.min(e.length(), blocks - e.logical()), e.logical());
                    }
                    continue;
                }
                ExtentNode.Index ix = node.index(i);
                if (ix.logical() >= blocks) {
                    continue;
                }
                if (++visited > volume.superblock().blocksCount) {
                    throw CorruptionException.of(Kind.LOOP).inode(ino).block(ix.child())
                            .build("extent tree revisits blocks");
                }
                add(ix.child(), 1, ix.logical());
                byte[] b = volume.readBlock(ix.child(), ino);
                ExtentNode child = ExtentNode.decode(b, 0, b.length, ino, ix.child(), node.depth() - 1);
                if (volume.superblock().hasMetadataCsum()) {
                    ExtentNode.verifyTail(b, rec.checksumSeed(volume.superblock()), ino, ix.child());
                }
                child.checkStartsAt(ix.logical(), ino, ix.child());
                extents(child);
            }
        }

        /** Block {@code p} at {@code level} (0 data), mapping logical blocks from {@code base}, {@code per} pointers a block. */
        private void indirect(long p, int level, long base, int per) throws IOException {
            if (p == 0 || base >= blocks) {
                return;
            }
            add(p, 1, base);
            if (level == 0) {
                return;
            }
            byte[] b = volume.readBlock(p, ino);
            long span = span(per, level - 1);
            for (int i = 0; i < per && base + i * span < blocks; i++) {
                indirect(Le.u32(b, i * 4), level - 1, base + i * span, per);
            }
        }

        /** Logical blocks one pointer at {@code level} covers: per^level. */
        private static long span(int per, int level) {
            long s = 1;
            for (int k = 0; k < level; k++) {
                s *= per;
            }
            return s;
        }

        /** One piece, joined to the previous one when it continues it (a journal is one or few runs). */
        private void add(long pblk, long count, long lblk) throws CorruptionException {
            volume.checkFileBlocks(ino, lblk, pblk, count, type == Type.JOURNAL ? "journal block" : "reserved inode block");
            if (!out.isEmpty()) {
                Piece last = out.get(out.size() - 1);
                if (last.type == type && last.owner == ino && last.end() == pblk) {
                    out.set(out.size() - 1, new Piece(last.start, last.count + count, ino, type, -1, last.lblk));
                    return;
                }
            }
            out.add(new Piece(pblk, count, ino, type, -1, lblk));
        }
    }

    /** Sorts the pieces, refuses any overlap, and merges touching pieces of one owner. */
    private static SystemZone merge(Volume volume, List<Piece> pieces, long journalIno) throws CorruptionException {
        pieces.sort(Comparator.comparingLong(Piece::start).thenComparingLong(Piece::count));
        long[] starts = new long[pieces.size()];
        long[] ends = new long[pieces.size()];
        long[] owners = new long[pieces.size()];
        int n = 0;
        Piece reach = null; // the piece reaching furthest so far
        for (Piece p : pieces) {
            if (reach != null && p.start < reach.end()) {
                throw overlap(reach, p);
            }
            if (n > 0 && ends[n - 1] == p.start && owners[n - 1] == p.owner) {
                ends[n - 1] = p.end();
            } else {
                starts[n] = p.start;
                ends[n] = p.end();
                owners[n] = p.owner;
                n++;
            }
            reach = p;
        }
        return new SystemZone(volume, Arrays.copyOf(starts, n), Arrays.copyOf(ends, n), Arrays.copyOf(owners, n),
                journalIno);
    }

    /** The error for two pieces on the same blocks; an inode's piece is named as the intruder. */
    private static CorruptionException overlap(Piece a, Piece b) {
        Piece intruder = b.owner != FILE_SYSTEM || a.owner == FILE_SYSTEM ? b : a;
        Piece other = intruder == b ? a : b;
        long first = Math.max(a.start, b.start);
        if (intruder.owner == FILE_SYSTEM) {
            return CorruptionException.of(Kind.BAD_GROUP_DESCRIPTOR).block(first)
                    .build(intruder.describe() + " overlaps " + other.describe());
        }
        return CorruptionException.of(Kind.BLOCK_IN_SYSTEM_ZONE).inode(intruder.owner)
                .logical(intruder.lblk < 0 ? -1 : intruder.lblk + (first - intruder.start)).block(first)
                .build(intruder.describe() + " overlaps system zone: " + other.describe());
    }

    // ------------------------------------------------------------------ queries

    /** Index of the first range ending after {@code pblk}, or the number of ranges. */
    private int firstEndingAfter(long pblk) {
        int lo = 0;
        int hi = ends.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] <= pblk) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /**
     * The first block of {@code [pblk, pblk+count)} that lies in a range not owned by {@code ino}, or
     * -1 when there is none ({@code ext4_inode_block_valid}). {@link #NO_OWNER} counts every range.
     */
    public long firstConflict(long pblk, long count, long ino) {
        long end = pblk + count;
        for (int i = firstEndingAfter(pblk); i < starts.length && starts[i] < end; i++) {
            if (owners[i] != ino) {
                return Math.max(pblk, starts[i]);
            }
        }
        return -1;
    }

    /** Whether any block of {@code [pblk, pblk+count)} is in a range not owned by {@code ino}. */
    public boolean overlaps(long pblk, long count, long ino) {
        return firstConflict(pblk, count, ino) >= 0;
    }

    /** Whether block {@code pblk} is in the zone, whoever owns it. */
    public boolean contains(long pblk) {
        int i = firstEndingAfter(pblk);
        return i < starts.length && starts[i] <= pblk;
    }

    /** The owner of block {@code pblk} ({@link #FILE_SYSTEM} or an inode), or {@link #NO_OWNER} outside the zone. */
    public long owner(long pblk) {
        int i = firstEndingAfter(pblk);
        return i < starts.length && starts[i] <= pblk ? owners[i] : NO_OWNER;
    }

    /** The first block at or after {@code pblk} outside the zone: where an allocator may resume. */
    public long nextFree(long pblk) {
        long b = pblk;
        int i = firstEndingAfter(b);
        while (i < starts.length && starts[i] <= b) {
            b = ends[i]; // ranges touching each other (different owners) are skipped together
            i++;
        }
        return b;
    }

    /** The first block at or after {@code pblk} inside the zone, or {@link Long#MAX_VALUE}: where a free run must stop. */
    public long nextZoneBlock(long pblk) {
        int i = firstEndingAfter(pblk);
        return i < starts.length ? Math.max(pblk, starts[i]) : Long.MAX_VALUE;
    }

    /** The ranges meeting {@code [start, end)}, in block order (whole ranges, not cut to the window). */
    public List<Range> rangesIn(long start, long end) {
        List<Range> out = new ArrayList<>();
        for (int i = firstEndingAfter(start); i < starts.length && starts[i] < end; i++) {
            out.add(new Range(starts[i], ends[i] - starts[i], owners[i]));
        }
        return out;
    }

    /** Every range, in block order. */
    public List<Range> ranges() {
        return rangesIn(0, Long.MAX_VALUE);
    }

    /** Blocks in the zone. */
    public long blockCount() {
        long n = 0;
        for (int i = 0; i < starts.length; i++) {
            n += ends[i] - starts[i];
        }
        return n;
    }

    /**
     * What block {@code pblk} of the zone is, for error messages ("the inode table of group 3
     * (blocks 98-609)"). Found again from the geometry, so the merged ranges need no labels.
     */
    public String describe(long pblk) {
        long owner = owner(pblk);
        if (owner == NO_OWNER) {
            return "no metadata";
        }
        if (owner != FILE_SYSTEM && owner == journalIno) {
            return "the journal (inode " + owner + ")";
        }
        List<Piece> pieces = new ArrayList<>();
        Superblock sb = volume.superblock();
        for (long g = 0; g < volume.groupCount(); g++) {
            pieces.clear();
            groupPieces(volume, g, pieces);
            for (Piece p : pieces) {
                if (pblk >= p.start && pblk < p.end()) {
                    return p.describe();
                }
            }
        }
        if (sb.hasIncompat(Features.INCOMPAT_MMP) && pblk == sb.mmpBlock) {
            return new Piece(pblk, 1, FILE_SYSTEM, Type.MMP, -1, -1).describe();
        }
        if (owner == RESIZE_INO) {
            return "the resize inode (inode 7, block " + pblk + ")";
        }
        return "metadata of inode " + owner + " (block " + pblk + ")";
    }
}
