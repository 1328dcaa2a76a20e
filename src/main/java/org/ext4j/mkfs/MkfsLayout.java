package org.ext4j.mkfs;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;

/**
 * Where every block of a new file system goes, decided in memory in mke2fs's order so that the
 * result is block for block what mke2fs 1.47.0 lays out: the superblock and descriptor copies
 * ({@code ext2fs_reserve_super_and_bgd}), the bitmaps and inode tables
 * ({@code ext2fs_allocate_group_table} with {@code flexbg_offset}), the root directory and
 * lost+found ({@code ext2fs_mkdir}, {@code ext2fs_expand_dir}), the resize inode's double indirect
 * block ({@code ext2fs_create_resize_inode}) and the journal ({@code ext2fs_add_journal_inode3},
 * goal from {@code get_midpoint_journal_block}). Block search is libext2fs's
 * {@code ext2fs_get_free_blocks2} and {@code ext2fs_new_block2}; a group that receives a block
 * loses BLOCK_UNINIT as {@code ext2fs_block_alloc_stats2} clears it.
 */
final class MkfsLayout {
    final MkfsGeometry g;
    final BitSet used = new BitSet();
    final long[] blockBitmap;
    final long[] inodeBitmap;
    final long[] inodeTable;
    final int[] flags;
    final long[] itableUnused;
    final long[] freeBlocks;
    final long[] freeInodes;
    final long[] usedDirs;
    /** Blocks used once the group tables are placed, plus the first data block: s_overhead_clusters before the journal. */
    long overheadBeforeJournal;

    long rootBlock;
    long[] lpfBlocks;
    long resizeDind;
    /** The journal's data blocks in logical order. */
    long[] journalData = new long[0];
    /** The journal's block-map indirect blocks (ext3: no extents), in allocation order, with their role. */
    final List<long[]> journalIndirect = new ArrayList<>();
    /** With extents and more than 4 extents: the journal's extent leaf block. */
    long journalLeaf;

    MkfsLayout(MkfsGeometry g) {
        this.g = g;
        int n = (int) g.groupCount;
        blockBitmap = new long[n];
        inodeBitmap = new long[n];
        inodeTable = new long[n];
        flags = new int[n];
        itableUnused = new long[n];
        freeBlocks = new long[n];
        freeInodes = new long[n];
        usedDirs = new long[n];
    }

    static MkfsLayout plan(MkfsGeometry g) throws InvalidArgumentException {
        MkfsLayout l = new MkfsLayout(g);
        l.initGroups();
        for (long grp = 0; grp < g.groupCount; grp++) {
            l.allocateGroupTable((int) grp);
        }
        l.overheadBeforeJournal = l.used.cardinality(); // ext2fs_count_used_clusters after the tables
        if (g.journalBlocks > 0 && g.journalBlocks > (g.blocksCount - l.used.cardinality()) / 2) {
            throw new InvalidArgumentException("-J size: a journal of " + g.journalBlocks
                    + " blocks is too big for this file system");
        }
        l.createRootAndLostFound();
        if (g.hasCompat(Features.COMPAT_RESIZE_INODE)) {
            long sbBlk = g.firstDataBlock;
            long goal = sbBlk + g.descBlocks + g.reservedGdtBlocks + 2 + g.inodeBlocksPerGroup;
            l.resizeDind = l.newBlock(goal);
        }
        if (g.journalBlocks > 0) {
            l.createJournal();
        }
        l.finishCounts();
        return l;
    }

    /** The loop of {@code ext2fs_initialize} over the groups. */
    private void initGroups() {
        long reservedInos = MkfsGeometry.FIRST_INO;
        for (int i = 0; i < g.groupCount; i++) {
            if (g.csum()) {
                if (i != g.groupCount - 1) {
                    flags[i] |= GroupDescriptor.BG_BLOCK_UNINIT;
                }
                flags[i] |= GroupDescriptor.BG_INODE_UNINIT;
                long n = g.inodesPerGroup;
                if (reservedInos > 0) {
                    if (n > reservedInos) {
                        n -= reservedInos;
                        reservedInos = 0;
                    } else {
                        reservedInos -= n;
                        n = 0;
                    }
                }
                itableUnused[i] = n;
            }
            reserveSuperAndBgd(i);
        }
    }

    /** {@code ext2fs_reserve_super_and_bgd} without meta_bg. */
    private void reserveSuperAndBgd(int grp) {
        long start = g.groupFirstBlock(grp);
        if (grp == 0 && g.firstDataBlock == 0) {
            used.set(0);
        }
        if (g.groupHasSuper(grp)) {
            long n = 1 + g.descBlocks + g.reservedGdtBlocks;
            used.set((int) start, (int) (start + n));
        }
    }

    /** {@code ext2fs_get_free_blocks2}: the first run of {@code num} free blocks from {@code start}, wrapping once. */
    long getFreeBlocks(long start, long finish, long num) {
        long b = start == 0 ? g.firstDataBlock : start;
        if (finish == 0) {
            finish = start;
        }
        do {
            if (b + num - 1 >= g.blocksCount) {
                if (finish > start) {
                    return -1;
                }
                b = g.firstDataBlock;
            }
            int set = used.nextSetBit((int) b);
            if (set < 0 || set >= b + num) {
                return b;
            }
            // every start from b to set holds block set: skip them, stopping where the loop would
            long next = Math.min(set + 1L, g.blocksCount - num + 1);
            if (next <= b) {
                next = b + 1;
            }
            if (b < finish && next > finish) {
                return -1;
            }
            b = next;
        } while (b != finish);
        return -1;
    }

    private long flexbgOffset(int grp, long startBlk, int remGrp, long elemSize) {
        long flexbgSize = 1L << g.logGroupsPerFlex;
        long flexbg = grp / flexbgSize;
        long size = remGrp * elemSize;
        if (size > g.blocksPerGroup / 4) {
            size = g.blocksPerGroup / 4;
        }
        if (startBlk != 0 && startBlk < g.blocksCount) {
            long f = getFreeBlocks(startBlk, startBlk + size, elemSize);
            if (f >= 0) {
                return f;
            }
        }
        startBlk = g.groupFirstBlock(flexbgSize * flexbg);
        long lastGrp = grp | (flexbgSize - 1);
        if (lastGrp > g.groupCount - 1) {
            lastGrp = g.groupCount - 1;
        }
        long lastBlk = g.groupLastBlock(lastGrp);
        long f = getFreeBlocks(startBlk, lastBlk, size);
        if (f >= 0) {
            return f;
        }
        f = getFreeBlocks(startBlk, lastBlk, elemSize);
        if (f >= 0) {
            return f;
        }
        f = getFreeBlocks(0, lastBlk, elemSize);
        return Math.max(f, 0);
    }

    /** {@code ext2fs_allocate_group_table}. */
    private void allocateGroupTable(int grp) throws InvalidArgumentException {
        long groupBlk = g.groupFirstBlock(grp);
        long lastBlk = g.groupLastBlock(grp);
        long lastGrp = 0;
        int remGrps = 0;
        long flexbgSize = 0;
        long tableOffset = 0;
        if (g.hasIncompat(Features.INCOMPAT_FLEX_BG) && g.logGroupsPerFlex > 0) {
            flexbgSize = 1L << g.logGroupsPerFlex;
            lastGrp = grp | (flexbgSize - 1);
            if (lastGrp > g.groupCount - 1) {
                lastGrp = g.groupCount - 1;
            }
            remGrps = (int) (lastGrp - grp + 1);
        }
        long startBlk = groupBlk;
        if (flexbgSize > 0) {
            long prev = 0;
            tableOffset = flexbgSize;
            if (grp % flexbgSize != 0) {
                prev = blockBitmap[grp - 1] + 1;
            } else if (lastGrp == g.groupCount - 1) {
                tableOffset = lastGrp & (flexbgSize - 1);
                tableOffset = tableOffset == 0 ? flexbgSize : tableOffset + 1;
            }
            startBlk = flexbgOffset(grp, prev, remGrps, 1);
            lastBlk = g.groupLastBlock(lastGrp);
        }
        long b = getFreeBlocks(startBlk, lastBlk, 1);
        if (b < 0) {
            b = getFreeBlocks(groupBlk, lastBlk, 1);
        }
        if (b < 0) {
            throw tooSmall();
        }
        used.set((int) b);
        blockBitmap[grp] = b;
        if (flexbgSize > 0) {
            touched(b, 1);
        }

        if (flexbgSize > 0) {
            long prev = grp % flexbgSize != 0 ? inodeBitmap[grp - 1] + 1 : blockBitmap[grp] + tableOffset;
            startBlk = flexbgOffset(grp, prev, remGrps, 1);
            lastBlk = g.groupLastBlock(lastGrp);
        }
        b = getFreeBlocks(startBlk, lastBlk, 1);
        if (b < 0) {
            b = getFreeBlocks(groupBlk, lastBlk, 1);
        }
        if (b < 0) {
            throw tooSmall();
        }
        used.set((int) b);
        inodeBitmap[grp] = b;
        if (flexbgSize > 0) {
            touched(b, 1);
        }

        if (flexbgSize > 0) {
            long prev = grp % flexbgSize != 0 ? inodeTable[grp - 1] + g.inodeBlocksPerGroup
                    : inodeBitmap[grp] + tableOffset;
            groupBlk = flexbgOffset(grp, prev, remGrps, g.inodeBlocksPerGroup);
            lastBlk = g.groupLastBlock(lastGrp);
        }
        b = getFreeBlocks(groupBlk, lastBlk, g.inodeBlocksPerGroup);
        if (b < 0) {
            throw tooSmall();
        }
        used.set((int) b, (int) (b + g.inodeBlocksPerGroup));
        inodeTable[grp] = b;
        if (flexbgSize > 0) {
            touched(b, g.inodeBlocksPerGroup);
        }
    }

    private InvalidArgumentException tooSmall() {
        return new InvalidArgumentException("size: " + g.blocksCount + " blocks cannot hold the group tables");
    }

    /** The groups of blocks [b, b+n) lose BLOCK_UNINIT ({@code ext2fs_block_alloc_stats_range}). */
    private void touched(long b, long n) {
        for (long grp = g.groupOfBlock(b); grp <= g.groupOfBlock(b + n - 1); grp++) {
            flags[(int) grp] &= ~GroupDescriptor.BG_BLOCK_UNINIT;
        }
    }

    /** {@code ext2fs_new_block2} + alloc stats: the first free block from {@code goal}, wrapping. */
    long newBlock(long goal) throws InvalidArgumentException {
        if (goal < g.firstDataBlock || goal >= g.blocksCount) {
            goal = g.firstDataBlock;
        }
        int b = used.nextClearBit((int) goal);
        if (b >= g.blocksCount) {
            b = used.nextClearBit((int) g.firstDataBlock);
            if (b >= goal) {
                throw tooSmall();
            }
        }
        used.set(b);
        touched(b, 1);
        return b;
    }

    private long flexGroupStart(long ino) {
        long grp = (ino - 1) / g.inodesPerGroup;
        if (g.logGroupsPerFlex > 0) {
            grp &= ~((1L << g.logGroupsPerFlex) - 1);
        }
        return g.groupFirstBlock(grp);
    }

    private void createRootAndLostFound() throws InvalidArgumentException {
        rootBlock = newBlock(flexGroupStart(2));
        int n = lostFoundBlocks(g.blockSize);
        if (g.hasIncompat(Features.INCOMPAT_INLINE_DATA)) {
            n--; // made inline, and the first expansion only moves it to a block
        }
        lpfBlocks = new long[n];
        lpfBlocks[0] = newBlock(flexGroupStart(11));
        for (int i = 1; i < n; i++) {
            lpfBlocks[i] = newBlock(lpfBlocks[i - 1]);
        }
    }

    /** {@code create_lost_and_found}: expanded until 16 KiB and at least two blocks, at most 12 blocks. */
    static int lostFoundBlocks(int bs) {
        int blocks = 1;
        int size = 0;
        for (int i = 1; i < 12; i++) {
            size += bs;
            if (size >= 16 * 1024 && size >= 2 * bs) {
                break;
            }
            blocks++;
        }
        return blocks;
    }

    /** {@code get_midpoint_journal_block}. */
    private long midpointJournalBlock() {
        long grp = g.groupOfBlock((g.blocksCount - g.firstDataBlock) / 2);
        long logFlex = 1L << g.logGroupsPerFlex;
        long start;
        if (g.logGroupsPerFlex > 0 && grp > logFlex) {
            grp &= ~(logFlex - 1);
            while (grp < g.groupCount && groupFree(grp) == 0) {
                grp++;
            }
            if (grp == g.groupCount) {
                grp = 0;
            }
            start = grp;
        } else {
            start = grp > 0 ? grp - 1 : grp;
        }
        long end = grp + 1 < g.groupCount ? grp + 1 : grp;
        grp = start;
        for (long i = start + 1; i <= end; i++) {
            if (groupFree(i) > groupFree(grp)) {
                grp = i;
            }
        }
        return g.groupFirstBlock(grp);
    }

    /**
     * The free block count of a group as libext2fs holds it at that point: with flex_bg the
     * descriptor counts are kept as tables are placed, so this is the bitmap's count; without flex_bg
     * {@code ext2fs_initialize} already left out the group's own bitmaps and table, which again is
     * the bitmap's count once the tables are placed.
     */
    private long groupFree(long grp) {
        long first = g.groupFirstBlock(grp);
        long last = g.groupLastBlock(grp);
        long n = last - first + 1;
        int from = (int) first;
        int c = 0;
        for (int b = used.nextSetBit(from); b >= 0 && b <= last; b = used.nextSetBit(b + 1)) {
            c++;
        }
        return n - c;
    }

    private void createJournal() throws InvalidArgumentException {
        long n = g.journalBlocks;
        journalData = new long[(int) n];
        if (g.hasIncompat(Features.INCOMPAT_EXTENTS)) {
            long goal = midpointJournalBlock();
            long b = goal;
            for (int i = 0; i < n; i++) {
                b = newBlock(i == 0 ? b : b + 1);
                journalData[i] = b;
            }
            int extents = MkfsWriter.extentsOf(journalData).size();
            if (extents > 4) {
                // the root split by the fifth extent: mke2fs's new leaf lands in the first free block
                // from just before the data (measured on a 1 TiB image: the block before the journal)
                journalLeaf = newBlock(journalData[0] - 1);
            }
            return;
        }
        // block-mapped: data and indirect blocks in logical order from the start of inode 8's group
        int apb = g.blockSize / 4;
        long last = flexGroupStart(8) - 1;
        int i = 0;
        while (i < n) {
            if (i == 12) {
                last = newBlock(last + 1);
                journalIndirect.add(new long[] {1, 0, last});
            } else if (i >= 12 + apb && (i - 12 - apb) % apb == 0) {
                long k = (i - 12 - apb) / apb;
                if (k >= apb) {
                    throw new InvalidArgumentException("-J size: a block-mapped journal of " + n
                            + " blocks needs triple indirect blocks, which ext4j mkfs does not make");
                }
                if (k == 0) {
                    last = newBlock(last + 1);
                    journalIndirect.add(new long[] {2, 0, last});
                }
                last = newBlock(last + 1);
                journalIndirect.add(new long[] {1, 1 + k, last});
            }
            last = newBlock(last + 1);
            journalData[i++] = last;
        }
    }

    /** Descriptor counts from the bitmaps and the inodes mke2fs uses (1 to 11, two directories). */
    private void finishCounts() {
        recount();
        usedDirs[(int) ((2 - 1) / g.inodesPerGroup)]++;
        usedDirs[(int) ((11 - 1) / g.inodesPerGroup)]++;
    }

    /**
     * Each group's free blocks from {@link #used}, and its free inodes, INODE_UNINIT flag and
     * itable_unused from {@link #lastInode} (inodes are handed out in order, so a group's used
     * inodes are its first ones).
     */
    void recount() {
        for (int grp = 0; grp < g.groupCount; grp++) {
            freeBlocks[grp] = groupFree(grp);
            long firstIno = (long) grp * g.inodesPerGroup + 1;
            long usedInodes = Math.max(0, Math.min(g.inodesPerGroup, lastInode - firstIno + 1));
            if (usedInodes > 0) {
                flags[grp] &= ~GroupDescriptor.BG_INODE_UNINIT;
                if (g.csum()) {
                    itableUnused[grp] = g.inodesPerGroup - usedInodes;
                }
            }
            freeInodes[grp] = g.inodesPerGroup - usedInodes;
        }
    }

    /** The highest inode number in use: the reserved inodes and lost+found, then each one {@link #newInode} hands out. */
    long lastInode = MkfsGeometry.FIRST_INO;

    /** The next inode number, counted as a directory's where {@code dir}; null when every inode is in use. */
    long newInode(boolean dir) {
        if (lastInode >= g.inodesCount) {
            return 0;
        }
        lastInode++;
        if (dir) {
            usedDirs[(int) ((lastInode - 1) / g.inodesPerGroup)]++;
        }
        return lastInode;
    }

    /**
     * Up to {@code max} free blocks in a row, from the first free block at or after {@code goal}
     * (wrapping once to the start), marked used: {start, count}, or null when no block is free.
     */
    long[] allocateRun(long goal, long max) {
        if (goal < g.firstDataBlock || goal >= g.blocksCount) {
            goal = g.firstDataBlock;
        }
        int b = used.nextClearBit((int) goal);
        if (b >= g.blocksCount) {
            b = used.nextClearBit((int) g.firstDataBlock);
            if (b >= g.blocksCount) {
                return null;
            }
        }
        int end = used.nextSetBit(b);
        long limit = end < 0 || end > g.blocksCount ? g.blocksCount : end;
        long n = Math.min(max, limit - b);
        used.set(b, (int) (b + n));
        touched(b, n);
        return new long[] {b, n};
    }
}
