package org.ext4j.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;

/**
 * Applies the fast commits {@link FastCommitLog} found, as e2fsck's {@code ext4_fc_replay} does
 * (e2fsprogs 1.47 {@code e2fsck/journal.c}), so that the result is e2fsck's byte for byte:
 * bitmaps read; INODE copies the logged inode but for its block map (a fresh extent header where
 * the home copy has none), recounts {@code i_blocks} as {@code ext2fs_count_blocks} does and marks
 * the inode in use or free by its link count; ADD_RANGE and DEL_RANGE edit the inode's extent list
 * ({@code ext4_modify_extent_list}, the blocks marked in the bitmap), which is written back as a new
 * tree when another inode comes or the fast commit ends ({@code e2fsck_rewrite_extent_tree}: the old
 * tree blocks freed, the extents inserted into an empty root, the root split into one leaf block
 * allocated at the first free block from the first extent's block minus one, as libext2fs's
 * {@code extent_node_split}); CREAT and LINK add the entry as {@code ext2fs_link} does (the old
 * name forced out first; a symlink is not linked, as e2fsck 1.47 returns early for it), UNLINK
 * removes it as {@code ext2fs_unlink}; at the end the free counts, uninit flags and itable_unused
 * are recomputed ({@code ext2fs_calculate_summary_stats}, {@code ext2fs_set_gdt_csum}) and the
 * bitmaps written with their checksums, the primary superblock and descriptors only.
 *
 * <p>Not followed, refused by name before anything is written (the caller replays into an
 * overlay): an extent tree that needs more than one leaf block or is deeper than one level,
 * extents of a block-mapped file, hashed (htree) or inline-data directories, meta_bg, bigalloc.
 */
final class FastCommitReplay {
    private static final int EXTENTS_FL = 0x80000;
    private static final int INLINE_DATA_FL = 0x10000000;
    private static final int INDEX_FL = 0x1000;
    private static final int HUGE_FILE_FL = 0x40000;
    private static final int INIT_MAX_LEN = 32768;
    private static final int UNINIT_MAX_LEN = 32767;

    /** {@code struct ext2fs_extent}: logical, physical, length, unwritten. */
    private static final class Ext {
        long lblk;
        long pblk;
        long len;
        boolean uninit;

        Ext(long lblk, long pblk, long len, boolean uninit) {
            this.lblk = lblk;
            this.pblk = pblk;
            this.len = len;
            this.uninit = uninit;
        }

        Ext copy() {
            return new Ext(lblk, pblk, len, uninit);
        }

        long end() {
            return lblk + len - 1;
        }

        long pend() {
            return pblk + len - 1;
        }
    }

    private final BlockDevice dev;
    private final Superblock sb;
    private final byte[] sbRaw;
    private final int bs;
    private final long ino;
    private final byte[] gdt;
    private final byte[] blockMap;
    private final byte[] inodeMap;
    private long listIno;
    private List<Ext> list = new ArrayList<>();
    private int listBlocksFreed;

    private FastCommitReplay(BlockDevice dev, long journalIno) throws IOException {
        this.dev = dev;
        this.ino = journalIno;
        sbRaw = new byte[Superblock.SIZE];
        dev.read(Superblock.OFFSET, ByteBuffer.wrap(sbRaw));
        sb = Superblock.decode(sbRaw);
        bs = sb.blockSize;
        if (sb.hasIncompat(Features.INCOMPAT_META_BG) || sb.logClusterSize != sb.logBlockSize) {
            throw refuse("meta_bg or bigalloc", "the fast commit replay reads and writes the descriptors and"
                    + " bitmaps of plain block groups only");
        }
        int gdtBlocks = (int) ((sb.groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock);
        gdt = read(sb.firstDataBlock + 1, gdtBlocks);
        blockMap = new byte[(int) ((sb.blocksCount + 7) / 8) + bs];
        inodeMap = new byte[(int) ((sb.inodesCount + 8) / 8) + bs];
        readBitmaps();
    }

    /** Replays {@code tags} onto {@code dev} (the regular log already replayed there). */
    static void replay(BlockDevice dev, long journalIno, List<FastCommitLog.Tag> tags) throws IOException {
        if (tags.isEmpty()) {
            return;
        }
        FastCommitReplay r = new FastCommitReplay(dev, journalIno);
        for (FastCommitLog.Tag t : tags) {
            byte[] v = t.value();
            switch (t.tag()) {
                case FastCommitLog.TAG_CREAT, FastCommitLog.TAG_LINK -> r.linkAndCreate(v);
                case FastCommitLog.TAG_UNLINK -> r.unlink(v);
                case FastCommitLog.TAG_ADD_RANGE -> r.addRange(v);
                case FastCommitLog.TAG_DEL_RANGE -> r.delRange(v);
                case FastCommitLog.TAG_INODE -> r.inode(v);
                case FastCommitLog.TAG_TAIL -> r.flushExtents(0);
                default -> {
                }
            }
        }
        r.finish();
    }

    // ---- block and group access

    private byte[] read(long block, int count) throws IOException {
        byte[] b = new byte[count * bs];
        dev.read(block * bs, ByteBuffer.wrap(b));
        return b;
    }

    private void write(long block, byte[] b) throws IOException {
        dev.write(block * bs, ByteBuffer.wrap(b));
    }

    private GroupDescriptor gd(long g) {
        return GroupDescriptor.decode(gdt, (int) (g * sb.descriptorSize), sb.descriptorSize, g);
    }

    private void putGd(GroupDescriptor d) {
        GroupDescriptor.encode(sb, gdt, (int) (d.group() * sb.descriptorSize), sb.descriptorSize, d);
    }

    private boolean csumFlag() {
        return sb.hasMetadataCsum() || sb.hasGdtCsum();
    }

    /** {@code ext2fs_read_bitmaps}: uninit groups read as empty, their own metadata marked. */
    private void readBitmaps() throws IOException {
        int bpg = (int) sb.blocksPerGroup;
        int ipg = (int) sb.inodesPerGroup;
        for (long g = 0; g < sb.groupCount; g++) {
            GroupDescriptor d = gd(g);
            long first = sb.firstDataBlock + g * bpg;
            if (csumFlag() && (d.flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0) {
                if (sb.groupHasSuper(g)) {
                    int gdtBlocks = (int) ((sb.groupCount + sb.descriptorsPerBlock - 1) / sb.descriptorsPerBlock);
                    for (long b = first; b < first + 1 + gdtBlocks + sb.reservedGdtBlocks; b++) {
                        markBlock(b, true);
                    }
                }
                markBlock(d.blockBitmap(), true);
                markBlock(d.inodeBitmap(), true);
                for (long b = d.inodeTable(); b < d.inodeTable() + (ipg * (long) sb.inodeSize + bs - 1) / bs; b++) {
                    markBlock(b, true);
                }
            } else {
                byte[] b = read(d.blockBitmap(), 1);
                for (int i = 0; i < bpg && first + i < sb.blocksCount; i++) {
                    if (Bitmaps.test(b, i)) {
                        markBlock(first + i, true);
                    }
                }
            }
            if (!(csumFlag() && (d.flags() & GroupDescriptor.BG_INODE_UNINIT) != 0)) {
                byte[] b = read(d.inodeBitmap(), 1);
                for (int i = 0; i < ipg; i++) {
                    if (Bitmaps.test(b, i)) {
                        Bitmaps.set(inodeMap, g * ipg + i + 1);
                    }
                }
            }
        }
    }

    private void markBlock(long b, boolean used) {
        if (b < sb.firstDataBlock || b >= sb.blocksCount) {
            return;
        }
        if (used) {
            Bitmaps.set(blockMap, b);
        } else {
            Bitmaps.clear(blockMap, b);
        }
    }

    private boolean blockUsed(long b) {
        return Bitmaps.test(blockMap, b);
    }

    // ---- inodes

    private long inodeOffset(long n) {
        long g = (n - 1) / sb.inodesPerGroup;
        long i = (n - 1) % sb.inodesPerGroup;
        return gd(g).inodeTable() * bs + i * sb.inodeSize;
    }

    private byte[] readInode(long n) throws IOException {
        if (n < 1 || n > sb.inodesCount) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("a fast commit names inode " + n
                    + ", not one of the file system's " + sb.inodesCount);
        }
        byte[] raw = new byte[sb.inodeSize];
        dev.read(inodeOffset(n), ByteBuffer.wrap(raw));
        return raw;
    }

    private void writeInode(long n, byte[] raw) throws IOException {
        new InodeWriter(sb, n, raw).setChecksum();
        dev.write(inodeOffset(n), ByteBuffer.wrap(raw));
    }

    private static long flags(byte[] raw) {
        return Le.u32(raw, 0x20);
    }

    private int seed(long n, byte[] raw) {
        return InodeRecord.checksumSeed(sb, n, Le.u32(raw, 0x64));
    }

    /** {@code ext4_fc_handle_inode}. */
    private void inode(byte[] v) throws IOException {
        long n = Le.u32(v, 0);
        int len = Superblock.GOOD_OLD_INODE_SIZE;
        if (sb.inodeSize > Superblock.GOOD_OLD_INODE_SIZE) {
            int extra = Le.u16(v, 4 + 0x80);
            if (extra < 4 || extra > sb.inodeSize - Superblock.GOOD_OLD_INODE_SIZE) {
                throw CorruptionException.of(Kind.BAD_JOURNAL).inode(n).build("fast commit inode " + n
                        + " has i_extra_isize " + extra + " (EFSCORRUPTED)");
            }
            len += extra;
        }
        if (v.length < 4 + len) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(n).build("fast commit inode " + n + " is cut short");
        }
        flushExtents(n);
        byte[] raw = readInode(n);
        System.arraycopy(v, 4, raw, 0, InodeRecord.I_BLOCK_OFFSET);
        System.arraycopy(v, 4 + 0x64, raw, 0x64, len - 0x64);
        long fl = flags(raw);
        if ((fl & EXTENTS_FL) != 0) {
            if (Le.u16(raw, InodeRecord.I_BLOCK_OFFSET) != 0xF30A) {
                Arrays.fill(raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_OFFSET + 12, (byte) 0);
                ExtentNodeWriter.initHeader(raw, InodeRecord.I_BLOCK_OFFSET, ExtentNodeWriter.ROOT_CAPACITY, 0);
                Le.put16(raw, InodeRecord.I_BLOCK_OFFSET + 2, 0);
            }
        } else if ((fl & INLINE_DATA_FL) != 0) {
            System.arraycopy(v, 4 + InodeRecord.I_BLOCK_OFFSET, raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_SIZE);
        }
        setIblocks(raw, countBlocks(n, raw));
        writeInode(n, raw);
        if (Le.u16(raw, 0x1A) != 0) {
            Bitmaps.set(inodeMap, n);
        } else {
            Bitmaps.clear(inodeMap, n);
        }
    }

    /** {@code ext2fs_iblk_set}. */
    private void setIblocks(byte[] raw, long blocks) {
        boolean huge = sb.hasRoCompat(Features.RO_COMPAT_HUGE_FILE);
        long v = huge && (flags(raw) & HUGE_FILE_FL) != 0 ? blocks : blocks * (bs / 512);
        Le.put32(raw, 0x1C, v & 0xFFFFFFFFL);
        if (huge) {
            Le.put16(raw, 0x74, (int) (v >>> 32) & 0xFFFF);
        }
    }

    /**
     * {@code ext2fs_count_blocks}: 0 for an inode without a readable extent tree; else the leaf
     * lengths, plus one for the first level below the root (libext2fs 1.47 counts one block per
     * level, whatever the number of leaves).
     */
    private long countBlocks(long n, byte[] raw) throws IOException {
        if ((flags(raw) & EXTENTS_FL) == 0) {
            return 0;
        }
        byte[] root = Arrays.copyOfRange(raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_OFFSET + 60);
        if (Le.u16(root, 0) != 0xF30A) {
            return 0;
        }
        int depth = ExtentNodeWriter.depth(root, 0);
        if (depth > 1) {
            throw refuse("extent tree depth " + depth, "inode " + n + ": the fast commit replay follows trees of one"
                    + " level below the root only");
        }
        List<Ext> leaves = new ArrayList<>();
        walk(root, depth, leaves, null);
        long count = depth;
        for (Ext e : leaves) {
            count += e.len;
        }
        return count;
    }

    /** Reads a tree's leaf extents in order; with {@code freed}, collects the tree blocks below the root. */
    private void walk(byte[] node, int depth, List<Ext> out, List<Long> freed) throws IOException {
        int n = ExtentNodeWriter.entries(node, 0);
        for (int i = 0; i < n; i++) {
            if (depth == 0) {
                int raw = Le.u16(node, 12 + i * 12 + 4);
                boolean un = raw > INIT_MAX_LEN;
                out.add(new Ext(ExtentNodeWriter.entryLogical(node, 0, i), ExtentNodeWriter.extentPhysical(node, 0, i),
                        un ? raw - INIT_MAX_LEN : raw, un));
            } else {
                long child = ExtentNodeWriter.indexChild(node, 0, i);
                if (freed != null) {
                    freed.add(child);
                }
                if (child < sb.firstDataBlock || child >= sb.blocksCount) {
                    throw CorruptionException.of(Kind.BAD_JOURNAL).block(child).build("extent tree block " + child
                            + " is outside the file system");
                }
                byte[] b = read(child, 1);
                if (Le.u16(b, 0) != 0xF30A || ExtentNodeWriter.depth(b, 0) != depth - 1) {
                    throw CorruptionException.of(Kind.BAD_JOURNAL).block(child).build("extent tree block " + child
                            + " has no valid header");
                }
                walk(b, depth - 1, out, freed);
            }
        }
    }

    // ---- extents

    /** {@code ext4_fc_read_extents} / {@code load_extents}: the list, the tree blocks below the root freed. */
    private void readExtents(long n) throws IOException {
        if (listIno == n) {
            return;
        }
        listIno = n;
        list = new ArrayList<>();
        listBlocksFreed = 0;
        byte[] raw = readInode(n);
        if ((flags(raw) & EXTENTS_FL) == 0) {
            throw refuse("block-mapped files", "inode " + n + ": the fast commit replay edits extent trees only");
        }
        byte[] root = Arrays.copyOfRange(raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_OFFSET + 60);
        int depth = ExtentNodeWriter.depth(root, 0);
        if (Le.u16(root, 0) != 0xF30A || depth > 1) {
            throw refuse("extent tree depth " + depth, "inode " + n + ": the fast commit replay follows trees of"
                    + " one level below the root only");
        }
        List<Ext> leaves = new ArrayList<>();
        List<Long> freed = new ArrayList<>();
        walk(root, depth, leaves, freed);
        for (long b : freed) {
            markBlock(b, false);
            listBlocksFreed++;
        }
        for (Ext e : leaves) {
            if (!list.isEmpty()) {
                Ext last = list.get(list.size() - 1);
                if (last.pblk + last.len == e.pblk && last.lblk + last.len == e.lblk && last.uninit == e.uninit
                        && last.len + e.len < (1L << 32)) {
                    last.len += e.len;
                    continue;
                }
            }
            list.add(e);
        }
    }

    private void addRange(byte[] v) throws IOException {
        long n = Le.u32(v, 0);
        flushExtents(n);
        readExtents(n);
        int raw = Le.u16(v, 4 + 4);
        boolean un = raw > INIT_MAX_LEN;
        Ext e = new Ext(Le.u32(v, 4), Le.join(Le.u32(v, 4 + 8), Le.u16(v, 4 + 6)), un ? raw - INIT_MAX_LEN : raw, un);
        modify(e, false);
    }

    private void delRange(byte[] v) throws IOException {
        long n = Le.u32(v, 0);
        flushExtents(n);
        Ext e = new Ext(Le.u32(v, 4), 0, Le.u32(v, 8), false);
        readExtents(n);
        modify(e, true);
    }

    private static boolean lt(long a, long b) {
        return Long.compareUnsigned(a, b) < 0;
    }

    /** {@code ext4_modify_extent_list}: a hole made at {@code ex}'s range, {@code ex} added unless deleting. */
    private void modify(Ext add, boolean del) {
        for (int i = 0; i < list.size(); i++) {
            Ext x = list.get(i);
            if (lt(x.end(), add.lblk)) {
                continue;
            }
            if (lt(add.end(), x.lblk)) {
                break;
            }
            for (long b = x.pblk; b < x.pblk + x.len; b++) {
                markBlock(b, false);
            }
            if (lt(x.lblk, add.lblk) && lt(add.end(), x.end())) {
                Ext right = x.copy();
                long off = add.end() + 1 - x.lblk;
                right.lblk += off;
                right.pblk += off;
                right.len -= off;
                x.len = add.lblk - x.lblk;
                list.add(i + 1, right);
                break;
            }
            if (!lt(x.lblk, add.lblk) && !lt(add.end(), x.end())) {
                x.len = 0;
                continue;
            }
            if (lt(add.end(), x.end())) {
                long off = add.end() + 1 - x.lblk;
                x.lblk += off;
                x.pblk += off;
                x.len -= off;
                break;
            }
            if (!lt(add.end(), x.end())) {
                x.len = lt(x.lblk, add.lblk) ? add.lblk - x.lblk : 0;
            }
        }
        if (add.len != 0 && !del) {
            list.add(add.copy());
        }
        list.removeIf(x -> x.len == 0);
        list.sort(Comparator.<Ext>comparingLong(x -> x.lblk).thenComparingLong(x -> x.len));
        for (int i = 0; i < list.size() - 1; ) {
            Ext a = list.get(i);
            Ext b = list.get(i + 1);
            if (a.end() + 1 != b.lblk || a.pend() + 1 != b.pblk || a.uninit != b.uninit) {
                i++;
                continue;
            }
            a.len += b.len;
            list.remove(i + 1);
        }
        for (Ext x : list) {
            for (long b = x.pblk; b < x.pblk + x.len; b++) {
                markBlock(b, true);
            }
        }
    }

    /** {@code ext4_fc_flush_extents}: the list written back as a tree unless {@code next} is its inode. */
    private void flushExtents(long next) throws IOException {
        if (listIno == next || listIno == 0) {
            return;
        }
        rewriteTree(listIno, list);
        listIno = 0;
        list = new ArrayList<>();
    }

    /** {@code e2fsck_rewrite_extent_tree}. */
    private void rewriteTree(long n, List<Ext> exts) throws IOException {
        byte[] raw = readInode(n);
        if ((flags(raw) & INLINE_DATA_FL) != 0) {
            return;
        }
        List<Ext> split = new ArrayList<>();
        for (Ext e : exts) {
            long max = e.uninit ? UNINIT_MAX_LEN : INIT_MAX_LEN;
            Ext rest = e.copy();
            while (rest.len > 0) {
                long l = Math.min(rest.len, max);
                split.add(new Ext(rest.lblk, rest.pblk, l, rest.uninit));
                rest.lblk += l;
                rest.pblk += l;
                rest.len -= l;
            }
        }
        int cap = ExtentNodeWriter.blockCapacity(bs);
        if (split.size() > cap) {
            throw refuse("extent trees of more than one leaf block", "inode " + n + ": " + split.size()
                    + " extents after the fast commits, one leaf holds " + cap);
        }
        int ib = InodeRecord.I_BLOCK_OFFSET;
        Arrays.fill(raw, ib, ib + InodeRecord.I_BLOCK_SIZE, (byte) 0);
        ExtentNodeWriter.initHeader(raw, ib, ExtentNodeWriter.ROOT_CAPACITY, 0);
        Le.put16(raw, ib + 2, 0);
        Le.put32(raw, 0x20, flags(raw) | EXTENTS_FL);
        int root = Math.min(split.size(), ExtentNodeWriter.ROOT_CAPACITY);
        for (int i = 0; i < root; i++) {
            Ext e = split.get(i);
            ExtentNodeWriter.putExtent(raw, ib, i, e.lblk, (int) e.len, e.pblk, e.uninit);
        }
        ExtentNodeWriter.setEntries(raw, ib, root);
        if (split.size() > ExtentNodeWriter.ROOT_CAPACITY) {
            // extent_node_split of the root: everything moved to a new leaf, the root an index of it,
            // the root's old entries past the index left where they were
            long goal = split.get(0).pblk - 1;
            long leafBlock = allocBlock(goal);
            byte[] leaf = new byte[bs];
            ExtentNodeWriter.initHeader(leaf, 0, cap, 0);
            Le.put16(leaf, 2, 0);
            for (int i = 0; i < split.size(); i++) {
                Ext e = split.get(i);
                ExtentNodeWriter.putExtent(leaf, 0, i, e.lblk, (int) e.len, e.pblk, e.uninit);
            }
            ExtentNodeWriter.setEntries(leaf, 0, split.size());
            if (sb.hasMetadataCsum()) {
                ExtentNodeWriter.setTail(leaf, seed(n, raw));
            }
            write(leafBlock, leaf);
            ExtentNodeWriter.setDepth(raw, ib, 1);
            ExtentNodeWriter.setEntries(raw, ib, 1);
            ExtentNodeWriter.putIndex(raw, ib, 0, split.get(0).lblk, leafBlock);
        }
        setIblocks(raw, countBlocks(n, raw));
        writeInode(n, raw);
    }

    /** {@code ext2fs_alloc_block2} without e2fsck's allocator: the first free block from {@code goal}, zeroed. */
    private long allocBlock(long goal) throws IOException {
        if (goal < sb.firstDataBlock || goal >= sb.blocksCount) {
            goal = sb.firstDataBlock;
        }
        for (long i = 0; i < sb.blocksCount - sb.firstDataBlock; i++) {
            long b = goal + i;
            if (b >= sb.blocksCount) {
                b = sb.firstDataBlock + (b - sb.blocksCount);
            }
            if (!blockUsed(b)) {
                markBlock(b, true);
                return b;
            }
        }
        throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("no free block for an extent tree block"
                + " while replaying fast commits (ENOSPC)");
    }

    // ---- directory entries

    private record Dentry(long parent, long ino, byte[] name) {
    }

    private static Dentry dentry(byte[] v) {
        return new Dentry(Le.u32(v, 0), Le.u32(v, 4), Arrays.copyOfRange(v, 8, v.length));
    }

    /** The directory's blocks in logical order, refusing what {@code ext2fs_link} would do otherwise. */
    private List<Long> dirBlocks(long dir, byte[] raw) throws IOException {
        long fl = flags(raw);
        if ((fl & INLINE_DATA_FL) != 0) {
            throw refuse("inline_data directories", "directory " + dir + " in a fast commit");
        }
        if ((fl & EXTENTS_FL) == 0) {
            throw refuse("block-mapped directories", "directory " + dir + " in a fast commit");
        }
        byte[] root = Arrays.copyOfRange(raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_OFFSET + 60);
        if (Le.u16(root, 0) != 0xF30A || ExtentNodeWriter.depth(root, 0) > 1) {
            throw refuse("extent tree depth " + ExtentNodeWriter.depth(root, 0), "directory " + dir);
        }
        List<Ext> leaves = new ArrayList<>();
        walk(root, ExtentNodeWriter.depth(root, 0), leaves, null);
        List<Long> blocks = new ArrayList<>();
        for (Ext e : leaves) {
            for (long i = 0; i < e.len; i++) {
                blocks.add(e.pblk + i);
            }
        }
        return blocks;
    }

    private int csumSize() {
        return sb.hasMetadataCsum() ? 12 : 0;
    }

    private void writeDirBlock(long dir, byte[] raw, long block, byte[] b) throws IOException {
        if (sb.hasMetadataCsum() && Le.u32(b, bs - 12) == 0 && Le.u16(b, bs - 8) == 12 && (b[bs - 5] & 0xFF) == 0xDE) {
            DirEntryWriter.setTailChecksum(b, bs, seed(dir, raw));
        }
        write(block, b);
    }

    /** {@code ext2fs_unlink}: the entry merged into the one before it, or emptied first in its block. */
    private boolean unlinkEntry(long dir, byte[] name, long target, boolean force) throws IOException {
        byte[] raw = readInode(dir);
        for (long block : dirBlocks(dir, raw)) {
            byte[] b = read(block, 1);
            int prev = -1;
            for (int off = 0; off < bs - 8; ) {
                int rec = Le.u16(b, off + 4);
                int nameLen = b[off + 6] & 0xFF;
                if (off + rec > bs || rec < 8 || rec % 4 != 0 || nameLen + 8 > rec) {
                    throw CorruptionException.of(Kind.BAD_JOURNAL).inode(dir).block(block)
                            .build("directory block " + block + " is corrupt (fast commit replay)");
                }
                long entIno = Le.u32(b, off);
                boolean tail = entIno == 0 && off == bs - csumSize() && rec == csumSize() && nameLen == 0
                        && (b[off + 7] & 0xFF) == 0xDE && csumSize() > 0;
                if (!tail) {
                    int p = prev;
                    prev = off;
                    boolean match = nameLen == name.length
                            && Arrays.equals(b, off + 8, off + 8 + nameLen, name, 0, name.length)
                            && (!force && target != 0 ? entIno == target : entIno != 0);
                    if (match) {
                        if (off != 0) {
                            Le.put16(b, p + 4, Le.u16(b, p + 4) + rec);
                        } else {
                            Le.put32(b, off, 0);
                        }
                        writeDirBlock(dir, raw, block, b);
                        return true;
                    }
                }
                off += rec;
            }
        }
        return false;
    }

    private void unlink(byte[] v) throws IOException {
        Dentry d = dentry(v);
        flushExtents(d.ino());
        if (!unlinkEntry(d.parent(), d.name(), d.ino(), false)) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(d.parent()).build("fast commit unlink of \""
                    + new String(d.name(), StandardCharsets.UTF_8) + "\" (inode " + d.ino() + "): no such entry in"
                    + " directory " + d.parent() + " (e2fsck's replay fails there)");
        }
    }

    /** {@code ext4_fc_handle_link_and_create}. */
    private void linkAndCreate(byte[] v) throws IOException {
        Dentry d = dentry(v);
        flushExtents(0);
        int mode = Le.u16(readInode(d.ino()), 0) & 0xF000;
        int type = switch (mode) {
            case 0x8000 -> 1;
            case 0x4000 -> 2;
            case 0x2000 -> 3;
            case 0x6000 -> 4;
            case 0xA000 -> -1;
            case 0x1000 -> 5;
            case 0xC000 -> 6;
            default -> throw CorruptionException.of(Kind.BAD_JOURNAL).inode(d.ino()).build("fast commit link of"
                    + " inode " + d.ino() + " of mode " + Integer.toOctalString(mode) + " (EINVAL)");
        };
        if (type < 0) {
            return; // e2fsck 1.47 returns EXT2_FT_SYMLINK here before linking
        }
        unlinkEntry(d.parent(), d.name(), d.ino(), true);
        byte[] raw = readInode(d.parent());
        if ((flags(raw) & INDEX_FL) != 0) {
            throw refuse("hashed (htree) directories", "directory " + d.parent() + " in a fast commit link");
        }
        int need = (d.name().length + 8 + 3) & ~3;
        boolean filetype = sb.hasIncompat(Features.INCOMPAT_FILETYPE);
        for (long block : dirBlocks(d.parent(), raw)) {
            byte[] b = read(block, 1);
            boolean changed = false;
            for (int off = 0; off < bs - 8; ) {
                int rec = Le.u16(b, off + 4);
                int nameLen = b[off + 6] & 0xFF;
                if (off + rec > bs || rec < 8 || rec % 4 != 0 || nameLen + 8 > rec) {
                    throw CorruptionException.of(Kind.BAD_JOURNAL).inode(d.parent()).block(block)
                            .build("directory block " + block + " is corrupt (fast commit replay)");
                }
                long entIno = Le.u32(b, off);
                boolean tail = entIno == 0 && off == bs - csumSize() && rec == csumSize() && nameLen == 0
                        && (b[off + 7] & 0xFF) == 0xDE && csumSize() > 0;
                if (!tail) {
                    // link_proc: absorb an unused next entry, split a used one, or fill an unused one
                    int cur = rec;
                    int next = off + cur;
                    if (next < bs - (8 + csumSize()) && Le.u32(b, next) == 0 && next + Le.u16(b, next + 4) <= bs) {
                        cur += Le.u16(b, next + 4);
                        Le.put16(b, off + 4, cur);
                        changed = true;
                    }
                    if (entIno != 0) {
                        int min = (nameLen + 8 + 3) & ~3;
                        if (cur >= min + need) {
                            Le.put16(b, off + 4, min);
                            int n = off + min;
                            Le.put32(b, n, 0);
                            b[n + 6] = 0;
                            b[n + 7] = 0;
                            Le.put16(b, n + 4, cur - min);
                            changed = true;
                        }
                    } else if (cur >= need) {
                        Le.put32(b, off, d.ino());
                        b[off + 6] = (byte) d.name().length;
                        System.arraycopy(d.name(), 0, b, off + 8, d.name().length);
                        if (filetype) {
                            b[off + 7] = (byte) type;
                        }
                        writeDirBlock(d.parent(), raw, block, b);
                        return;
                    }
                }
                off += Le.u16(b, off + 4);
            }
            if (changed) {
                writeDirBlock(d.parent(), raw, block, b);
            }
        }
        throw CorruptionException.of(Kind.BAD_JOURNAL).inode(d.parent()).build("fast commit link of \""
                + new String(d.name(), StandardCharsets.UTF_8) + "\": no room in directory " + d.parent()
                + " (EXT2_ET_DIR_NO_SPACE: e2fsck's replay fails there)");
    }

    // ---- the end: counts, flags, bitmaps, descriptors, superblock

    private void finish() throws IOException {
        flushExtents(0);
        long bpg = sb.blocksPerGroup;
        long ipg = sb.inodesPerGroup;
        long totalFree = 0;
        long[] freeBlocks = new long[(int) sb.groupCount];
        boolean[] blockUninit = new boolean[(int) sb.groupCount];
        for (int g = 0; g < sb.groupCount; g++) {
            long first = sb.firstDataBlock + g * bpg;
            long end = Math.min(first + bpg, sb.blocksCount);
            boolean uninit = true;
            for (long b = first; b < end; b++) {
                if (!blockUsed(b)) {
                    freeBlocks[g]++;
                } else {
                    uninit = false;
                }
            }
            totalFree += freeBlocks[g];
            blockUninit[g] = uninit && end != sb.blocksCount;
        }
        long totalFreeInodes = 0;
        for (int g = 0; g < sb.groupCount; g++) {
            GroupDescriptor d = gd(g);
            long freeInodes = 0;
            long lastInGroup = 0;
            for (long i = 1; i <= ipg; i++) {
                if (!Bitmaps.test(inodeMap, g * ipg + i)) {
                    freeInodes++;
                } else {
                    lastInGroup = i;
                }
            }
            totalFreeInodes += freeInodes;
            int flags = d.flags();
            flags = blockUninit[g] ? flags | GroupDescriptor.BG_BLOCK_UNINIT : flags & ~GroupDescriptor.BG_BLOCK_UNINIT;
            long unused;
            // ext2fs_calculate_summary_stats, then ext2fs_set_gdt_csum over it
            if (csumFlag()) {
                if (freeBlocks[g] == bpg && g != sb.groupCount - 1) {
                    flags |= GroupDescriptor.BG_BLOCK_UNINIT;
                }
                if (freeInodes == ipg) {
                    flags |= GroupDescriptor.BG_INODE_UNINIT;
                    unused = ipg;
                } else {
                    flags &= ~GroupDescriptor.BG_INODE_UNINIT;
                    unused = ipg - (lastInGroup == 0 ? ipg : lastInGroup);
                }
            } else {
                if (lastInGroup != 0) {
                    flags &= ~GroupDescriptor.BG_INODE_UNINIT;
                    unused = ipg - ((g * ipg + lastInGroup) % ipg);
                } else {
                    flags |= GroupDescriptor.BG_INODE_UNINIT;
                    unused = 0;
                }
            }
            long bbCsum = d.blockBitmapCsum();
            long ibCsum = d.inodeBitmapCsum();
            if (!(csumFlag() && (flags & GroupDescriptor.BG_BLOCK_UNINIT) != 0)) {
                byte[] bm = new byte[bs];
                Arrays.fill(bm, (byte) 0xFF);
                long first = sb.firstDataBlock + g * bpg;
                for (int i = 0; i < bpg / 8 * 8 && i < bs * 8; i++) {
                    if (first + i < sb.blocksCount ? !blockUsed(first + i) : false) {
                        Bitmaps.clear(bm, i);
                    } else if (first + i < sb.blocksCount) {
                        Bitmaps.set(bm, i);
                    } else {
                        Bitmaps.clear(bm, i);
                    }
                }
                if (g == sb.groupCount - 1) {
                    long nbits = (sb.blocksCount - sb.firstDataBlock) % bpg;
                    if (nbits != 0) {
                        for (long j = nbits; j < bs * 8L; j++) {
                            Bitmaps.set(bm, j);
                        }
                    }
                }
                if (sb.hasMetadataCsum()) {
                    bbCsum = Bitmaps.blockBitmapChecksum(sb, bm);
                }
                write(d.blockBitmap(), bm);
            }
            if (!(csumFlag() && (flags & GroupDescriptor.BG_INODE_UNINIT) != 0)) {
                byte[] im = new byte[bs];
                Arrays.fill(im, (byte) 0xFF);
                for (long i = 0; i < (ipg + 7) / 8 * 8; i++) {
                    if (i < ipg && Bitmaps.test(inodeMap, g * ipg + i + 1)) {
                        Bitmaps.set(im, i);
                    } else {
                        Bitmaps.clear(im, i);
                    }
                }
                if (sb.hasMetadataCsum()) {
                    ibCsum = Bitmaps.inodeBitmapChecksum(sb, im);
                }
                write(d.inodeBitmap(), im);
            }
            putGd(new GroupDescriptor(g, d.blockBitmap(), d.inodeBitmap(), d.inodeTable(), freeBlocks[g], freeInodes,
                    d.usedDirsCount(), flags, d.excludeBitmap(), bbCsum, ibCsum, unused, d.checksum()));
        }
        write(sb.firstDataBlock + 1, gdt);
        Le.put32(sbRaw, 0x0C, totalFree & 0xFFFFFFFFL);
        if (sb.is64bit()) {
            Le.put32(sbRaw, 0x158, totalFree >>> 32);
        }
        Le.put32(sbRaw, 0x10, totalFreeInodes);
        Superblock.setChecksum(sbRaw);
        dev.write(Superblock.OFFSET, ByteBuffer.wrap(sbRaw));
    }

    private static UnsupportedFeatureException refuse(String feature, String detail) {
        return new UnsupportedFeatureException(feature, detail + "; nothing replayed (e2fsck replays it)");
    }
}
