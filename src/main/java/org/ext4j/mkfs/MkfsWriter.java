package org.ext4j.mkfs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;

/**
 * Writes a planned file system ({@link MkfsLayout}) to a device, only the blocks that hold bytes
 * (the device is a fresh sparse file, so everything else already reads as zeros): mke2fs's
 * {@code write_inode_tables} (the reserved inodes with their checksums, {@code write_reserved_inodes}),
 * {@code create_root_dir}, {@code create_lost_and_found}, {@code ext2fs_create_resize_inode},
 * {@code write_journal_inode} with {@code ext2fs_create_journal_superblock2}, then
 * {@code ext2fs_close}: bitmaps ({@code write_bitmaps}, skipping uninitialised groups), group
 * descriptors and superblock, and their backups in every group that has one.
 */
final class MkfsWriter {
    private final MkfsGeometry g;
    private final MkfsLayout l;
    private final Mkfs.Options o;
    private final BlockDevice dev;
    private final int bs;
    private final long now;
    private final UUID uuid;
    private final UUID hashSeed;
    private Superblock sb;
    private long bytesWritten;

    MkfsWriter(MkfsGeometry g, MkfsLayout l, Mkfs.Options o, BlockDevice dev, long now, UUID uuid, UUID hashSeed) {
        this.g = g;
        this.l = l;
        this.o = o;
        this.dev = dev;
        this.bs = g.blockSize;
        this.now = now;
        this.uuid = uuid;
        this.hashSeed = hashSeed;
    }

    /**
     * The reserved inodes, the root directory, lost+found, the resize inode and the journal: the
     * inode table blocks of group 0 that hold them and every block they point at.
     */
    void writeFiles() throws IOException {
        byte[] raw = superblockBytes(0);
        try {
            sb = Superblock.decode(raw);
        } catch (CorruptionException e) {
            throw new IllegalStateException("mkfs built a superblock its own reader refuses: " + e.getMessage(), e);
        }
        byte[][] itable0 = new byte[(int) Math.min(l.g.inodeBlocksPerGroup,
                MkfsGeometry.ceilDiv((long) MkfsGeometry.FIRST_INO * g.inodeSize, bs))][];
        for (int i = 0; i < itable0.length; i++) {
            itable0[i] = new byte[bs];
        }
        // reserved inodes first (zeros with a checksum), then the ones mke2fs fills
        if (g.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM)) {
            for (int ino = 1; ino < MkfsGeometry.FIRST_INO; ino++) {
                putInode(itable0, ino, new InodeWriter(sb, ino, new byte[g.inodeSize]).setChecksum().raw());
            }
        }
        putInode(itable0, 1, inode(1).atime(now, 0).mtime(now, 0).ctime(now, 0).setChecksum().raw());
        writeRootDir(itable0);
        writeLostFound(itable0);
        if (l.resizeDind != 0) {
            writeResizeInode(itable0);
        }
        if (g.journalBlocks > 0) {
            writeJournal(itable0);
        }
        for (int i = 0; i < itable0.length; i++) {
            writeBlock(l.inodeTable[0] + i, itable0[i]);
        }
    }

    /** The superblock the image gets (its counts as planned), for what writes files before {@link #close}. */
    Superblock superblock() {
        return sb;
    }

    /** Everything: {@link #writeFiles}, then {@link #close}. */
    void write() throws IOException {
        writeFiles();
        close();
    }

    /**
     * {@code ext2fs_close}: the bitmaps, the descriptors and the superblock with its backups, from the
     * layout's counts as they are now (a tree imported after {@link #writeFiles} has added to them).
     */
    void close() throws IOException {
        byte[] gdt = writeBitmapsAndDescriptors();
        for (long grp = 0; grp < g.groupCount; grp++) {
            if (!g.groupHasSuper(grp)) {
                continue;
            }
            long start = g.groupFirstBlock(grp);
            byte[] s = superblockBytes(grp);
            if (grp == 0) {
                write(Superblock.OFFSET, s);
            } else {
                write(start * bs, s);
            }
            write((start + 1) * bs, gdt);
        }
    }

    long kbytesWritten() {
        return bytesWritten / 1024;
    }

    private InodeWriter inode(long ino) {
        byte[] raw = new byte[g.inodeSize];
        InodeWriter w = new InodeWriter(sb, ino, raw);
        if (g.inodeSize > Superblock.GOOD_OLD_INODE_SIZE) {
            w.extraIsize(InodeRecord.GOOD_EXTRA_ISIZE);
        }
        return w;
    }

    private InodeWriter newInode(long ino, int mode, int links) {
        InodeWriter w = inode(ino).mode(mode).linksCount(links);
        w.atime(now, 0).ctime(now, 0).mtime(now, 0).crtime(now, 0);
        return w;
    }

    private void putInode(byte[][] itable0, long ino, byte[] raw) {
        long off = (ino - 1) * g.inodeSize;
        System.arraycopy(raw, 0, itable0[(int) (off / bs)], (int) (off % bs), g.inodeSize);
    }

    private boolean extents() {
        return g.hasIncompat(Features.INCOMPAT_EXTENTS);
    }

    private boolean csum() {
        return g.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM);
    }

    private boolean filetype() {
        return g.hasIncompat(Features.INCOMPAT_FILETYPE);
    }

    /** i_block and flags for a file whose blocks are {@code blocks} in logical order (contiguous runs, no indirect blocks needed). */
    private void mapBlocks(InodeWriter w, long[] blocks) {
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        if (extents()) {
            List<long[]> ext = extentsOf(blocks);
            ExtentNodeWriter.initRoot(iBlock);
            for (int i = 0; i < ext.size(); i++) {
                long[] e = ext.get(i);
                ExtentNodeWriter.putExtent(iBlock, 0, i, e[0], (int) e[1], e[2], false);
            }
            ExtentNodeWriter.setEntries(iBlock, 0, ext.size());
            w.flags(InodeRecord.FL_EXTENTS);
        } else {
            for (int i = 0; i < blocks.length; i++) {
                Le.put32(iBlock, i * 4, blocks[i]);
            }
        }
        w.iBlock(iBlock);
    }

    /** Runs of contiguous blocks as {logical, length, physical}, at most 32768 blocks each. */
    static List<long[]> extentsOf(long[] blocks) {
        List<long[]> out = new ArrayList<>();
        int i = 0;
        while (i < blocks.length) {
            int j = i + 1;
            while (j < blocks.length && blocks[j] == blocks[j - 1] + 1 && j - i < 32768) {
                j++;
            }
            out.add(new long[] {i, j - i, blocks[i]});
            i = j;
        }
        return out;
    }

    private int seed(long ino) {
        return InodeRecord.checksumSeed(sb, ino, 0);
    }

    private void writeRootDir(byte[][] itable0) throws IOException {
        byte[] b = new byte[bs];
        DirEntryWriter.initDotBlock(b, bs, 2, 2, filetype(), csum(), seed(2));
        int dotdot = DirEntry.recLenFor(1);
        DirEntryWriter.insert(b, dotdot, 11, "lost+found".getBytes(StandardCharsets.US_ASCII), DirEntry.FT_DIR, filetype(),
                bs);
        if (csum()) {
            DirEntryWriter.setTailChecksum(b, bs, seed(2));
        }
        writeBlock(l.rootBlock, b);
        InodeWriter w = newInode(2, InodeRecord.S_IFDIR | 0755, 3).size(bs).blocks512(bs / 512);
        w.uid(o.rootUid).gid(o.rootGid);
        mapBlocks(w, new long[] {l.rootBlock});
        putInode(itable0, 2, w.setChecksum().raw());
    }

    private void writeLostFound(byte[][] itable0) throws IOException {
        long[] blocks = l.lpfBlocks;
        for (int i = 0; i < blocks.length; i++) {
            byte[] b = new byte[bs];
            if (i == 0) {
                DirEntryWriter.initDotBlock(b, bs, 11, 2, filetype(), csum(), seed(11));
            } else {
                DirEntryWriter.initEmptyLeaf(b, bs, csum(), seed(11));
            }
            writeBlock(blocks[i], b);
        }
        InodeWriter w = newInode(11, InodeRecord.S_IFDIR | 0700, 2).size((long) blocks.length * bs)
                .blocks512((long) blocks.length * bs / 512);
        mapBlocks(w, blocks);
        putInode(itable0, 11, w.setChecksum().raw());
    }

    /** Backup groups in {@code list_backups} order: 1, then powers of 3, 5 and 7 merged. */
    private List<Long> backupGroups() {
        List<Long> out = new ArrayList<>();
        for (long grp = 1; grp < g.groupCount; grp++) {
            if (g.groupHasSuper(grp)) {
                out.add(grp);
            }
        }
        return out;
    }

    private void writeResizeInode(byte[][] itable0) throws IOException {
        int apb = bs / 4;
        byte[] dind = new byte[bs];
        List<Long> backups = backupGroups();
        long sbBlk = g.firstDataBlock;
        long count = 1;
        for (int k = 0; k < g.reservedGdtBlocks; k++) {
            long gdtOff = (g.descBlocks + k) % apb;
            long gdtBlk = sbBlk + 1 + g.descBlocks + k;
            Le.put32(dind, (int) gdtOff * 4, gdtBlk);
            count++;
            byte[] ind = new byte[bs];
            int last = 0;
            for (long grp : backups) {
                Le.put32(ind, last++ * 4, gdtBlk + grp * g.blocksPerGroup);
                count++;
            }
            writeBlock(gdtBlk, ind);
        }
        writeBlock(l.resizeDind, dind);
        long size = ((long) apb * apb + apb + 12) * bs;
        InodeWriter w = newInode(7, InodeRecord.S_IFREG | 0600, 1).size(size).blocks512(count * (bs / 512));
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        Le.put32(iBlock, 13 * 4, l.resizeDind);
        w.iBlock(iBlock);
        putInode(itable0, 7, w.setChecksum().raw());
    }

    private void writeJournal(byte[][] itable0) throws IOException {
        long n = g.journalBlocks;
        byte[] jsb = new byte[bs];
        be32(jsb, 0x0, 0xC03B3998L); // h_magic
        be32(jsb, 0x4, 4); // h_blocktype: superblock v2
        be32(jsb, 0xC, bs); // s_blocksize
        be32(jsb, 0x10, n); // s_maxlen
        be32(jsb, 0x14, 1); // s_first
        be32(jsb, 0x18, 1); // s_sequence
        putUuid(jsb, 0x30, uuid); // s_uuid
        be32(jsb, 0x40, 1); // s_nr_users
        writeBlock(l.journalData[0], jsb);
        InodeWriter w = newInode(8, InodeRecord.S_IFREG | 0600, 1).size(n * bs);
        long metaBlocks = 0;
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        if (extents()) {
            List<long[]> ext = extentsOf(l.journalData);
            ExtentNodeWriter.initRoot(iBlock);
            if (ext.size() <= ExtentNodeWriter.ROOT_CAPACITY) {
                for (int i = 0; i < ext.size(); i++) {
                    long[] e = ext.get(i);
                    ExtentNodeWriter.putExtent(iBlock, 0, i, e[0], (int) e[1], e[2], false);
                }
                ExtentNodeWriter.setEntries(iBlock, 0, ext.size());
            } else {
                byte[] leaf = new byte[bs];
                int cap = ExtentNodeWriter.blockCapacity(bs);
                if (ext.size() > cap) {
                    throw new IllegalStateException("journal of " + ext.size() + " extents");
                }
                ExtentNodeWriter.initHeader(leaf, 0, cap, 0);
                for (int i = 0; i < ext.size(); i++) {
                    long[] e = ext.get(i);
                    ExtentNodeWriter.putExtent(leaf, 0, i, e[0], (int) e[1], e[2], false);
                }
                ExtentNodeWriter.setEntries(leaf, 0, ext.size());
                if (csum()) {
                    ExtentNodeWriter.setTail(leaf, seed(8));
                }
                writeBlock(l.journalLeaf, leaf);
                ExtentNodeWriter.setDepth(iBlock, 0, 1);
                ExtentNodeWriter.putIndex(iBlock, 0, 0, 0, l.journalLeaf);
                ExtentNodeWriter.setEntries(iBlock, 0, 1);
                metaBlocks = 1;
            }
            w.flags(InodeRecord.FL_EXTENTS);
        } else {
            int apb = bs / 4;
            for (int i = 0; i < Math.min(12, n); i++) {
                Le.put32(iBlock, i * 4, l.journalData[i]);
            }
            byte[] dind = null;
            long dindBlk = 0;
            for (long[] ind : l.journalIndirect) {
                metaBlocks++;
                if (ind[0] == 2) {
                    dind = new byte[bs];
                    dindBlk = ind[2];
                    Le.put32(iBlock, 13 * 4, dindBlk);
                    continue;
                }
                byte[] b = new byte[bs];
                long firstLogical = 12 + ind[1] * apb;
                for (int i = 0; i < apb && firstLogical + i < n; i++) {
                    Le.put32(b, i * 4, l.journalData[(int) (firstLogical + i)]);
                }
                writeBlock(ind[2], b);
                if (ind[1] == 0) {
                    Le.put32(iBlock, 12 * 4, ind[2]);
                } else {
                    Le.put32(dind, (int) (ind[1] - 1) * 4, ind[2]);
                }
            }
            if (dind != null) {
                writeBlock(dindBlk, dind);
            }
        }
        w.iBlock(iBlock);
        w.blocks512((n + metaBlocks) * (bs / 512));
        byte[] raw = w.setChecksum().raw();
        putInode(itable0, 8, raw);
        journalIBlock = java.util.Arrays.copyOfRange(raw, InodeRecord.I_BLOCK_OFFSET,
                InodeRecord.I_BLOCK_OFFSET + InodeRecord.I_BLOCK_SIZE);
    }

    private byte[] journalIBlock;

    private static void be32(byte[] b, int off, long v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    private static void putUuid(byte[] b, int off, UUID u) {
        long hi = u.getMostSignificantBits();
        long lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (hi >>> (56 - 8 * i));
            b[off + 8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
    }

    /** Bitmaps of the initialised groups, then the descriptor table (returned for its copies). */
    private byte[] writeBitmapsAndDescriptors() throws IOException {
        int ds = g.descriptorSize();
        byte[] gdt = new byte[(int) (g.descBlocks * bs)];
        for (int grp = 0; grp < g.groupCount; grp++) {
            long blockCsum = 0;
            long inodeCsum = 0;
            boolean blockUninit = (l.flags[grp] & GroupDescriptor.BG_BLOCK_UNINIT) != 0;
            boolean inodeUninit = (l.flags[grp] & GroupDescriptor.BG_INODE_UNINIT) != 0;
            if (!blockUninit) {
                byte[] bm = new byte[bs];
                java.util.Arrays.fill(bm, (int) (g.blocksPerGroup / 8), bs, (byte) 0xFF);
                long first = g.groupFirstBlock(grp);
                long last = g.groupLastBlock(grp);
                for (int b = l.used.nextSetBit((int) first); b >= 0 && b <= last; b = l.used.nextSetBit(b + 1)) {
                    Bitmaps.set(bm, b - first);
                }
                for (long bit = last - first + 1; bit < g.blocksPerGroup; bit++) {
                    Bitmaps.set(bm, bit);
                }
                writeBlock(l.blockBitmap[grp], bm);
                if (csum()) {
                    blockCsum = Bitmaps.blockBitmapChecksum(sb, bm);
                }
            }
            if (!inodeUninit) {
                byte[] im = new byte[bs];
                java.util.Arrays.fill(im, (int) (g.inodesPerGroup / 8), bs, (byte) 0xFF);
                long usedInodes = g.inodesPerGroup - l.freeInodes[grp];
                for (long i = 0; i < usedInodes; i++) {
                    Bitmaps.set(im, i);
                }
                writeBlock(l.inodeBitmap[grp], im);
                if (csum()) {
                    inodeCsum = Bitmaps.inodeBitmapChecksum(sb, im);
                }
            }
            int flags = l.flags[grp];
            if (g.csum() && !o.lazyItableInit) {
                flags |= GroupDescriptor.BG_INODE_ZEROED;
            }
            if (!g.csum()) {
                flags = 0;
            }
            GroupDescriptor d = new GroupDescriptor(grp, l.blockBitmap[grp], l.inodeBitmap[grp], l.inodeTable[grp],
                    l.freeBlocks[grp], l.freeInodes[grp], l.usedDirs[grp], flags, 0, blockCsum, inodeCsum,
                    g.csum() ? l.itableUnused[grp] : 0, 0);
            GroupDescriptor.encode(sb, gdt, grp * ds, ds, d);
        }
        return gdt;
    }

    private long totalFreeBlocks() {
        long n = 0;
        for (long f : l.freeBlocks) {
            n += f;
        }
        return n;
    }

    private long totalFreeInodes() {
        long n = 0;
        for (long f : l.freeInodes) {
            n += f;
        }
        return n;
    }

    /** The superblock as group {@code grp}'s copy holds it. */
    private byte[] superblockBytes(long grp) {
        byte[] b = new byte[Superblock.SIZE];
        Le.put32(b, 0x0, g.inodesCount);
        Le.put32(b, 0x4, g.blocksCount);
        Le.put32(b, 0x8, g.reservedBlocks);
        long freeBlocks = totalFreeBlocks();
        Le.put32(b, 0xC, freeBlocks);
        Le.put32(b, 0x10, totalFreeInodes());
        Le.put32(b, 0x14, g.firstDataBlock);
        Le.put32(b, 0x18, g.logBlockSize);
        Le.put32(b, 0x1C, g.logBlockSize);
        Le.put32(b, 0x20, g.blocksPerGroup);
        Le.put32(b, 0x24, g.blocksPerGroup);
        Le.put32(b, 0x28, g.inodesPerGroup);
        Le.put32(b, 0x30, now); // s_wtime
        Le.put16(b, 0x36, 0xFFFF); // s_max_mnt_count -1
        Le.put16(b, 0x38, Superblock.MAGIC);
        Le.put16(b, 0x3A, Superblock.STATE_VALID);
        Le.put16(b, 0x3C, 1); // s_errors: continue
        Le.put32(b, 0x40, now); // s_lastcheck
        Le.put32(b, 0x4C, 1); // s_rev_level: dynamic
        Le.put32(b, 0x54, MkfsGeometry.FIRST_INO);
        Le.put16(b, 0x58, g.inodeSize);
        Le.put16(b, 0x5A, (int) grp);
        Le.put32(b, 0x5C, g.compat);
        Le.put32(b, 0x60, g.incompat);
        Le.put32(b, 0x64, g.roCompat);
        putUuid(b, 0x68, uuid);
        byte[] label = o.label == null ? new byte[0] : o.label.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(label, 0, b, 0x78, Math.min(16, label.length));
        Le.put16(b, 0xCE, g.reservedGdtBlocks);
        if (g.journalBlocks > 0) {
            Le.put32(b, 0xE0, 8); // s_journal_inum
        }
        putUuid(b, 0xEC, hashSeed);
        b[0xFC] = 1; // s_def_hash_version: half_md4
        if (g.journalBlocks > 0 && journalIBlock != null) {
            b[0xFD] = 1; // s_jnl_backup_type: EXT3_JNL_BACKUP_BLOCKS
            System.arraycopy(journalIBlock, 0, b, 0x10C, InodeRecord.I_BLOCK_SIZE);
            Le.put32(b, 0x10C + 15 * 4, (g.journalBlocks * bs) >>> 32);
            Le.put32(b, 0x10C + 16 * 4, g.journalBlocks * bs);
        }
        Le.put16(b, 0xFE, g.descSize);
        Le.put32(b, 0x100, 0x0C); // s_default_mount_opts: user_xattr, acl
        Le.put32(b, 0x108, now); // s_mkfs_time
        if (g.hasIncompat(Features.INCOMPAT_64BIT)) {
            Le.put32(b, 0x150, g.blocksCount >>> 32);
            Le.put32(b, 0x154, g.reservedBlocks >>> 32);
            Le.put32(b, 0x158, freeBlocks >>> 32);
        }
        if (g.inodeSize >= MkfsGeometry.LARGE_INODE) {
            Le.put16(b, 0x15C, InodeRecord.GOOD_EXTRA_ISIZE);
            Le.put16(b, 0x15E, InodeRecord.GOOD_EXTRA_ISIZE);
        }
        Le.put32(b, 0x160, Superblock.FLAGS_SIGNED_HASH);
        b[0x174] = (byte) g.logGroupsPerFlex;
        if (csum()) {
            b[0x175] = 1; // s_checksum_type: crc32c
        }
        if (kbytesWritten) {
            Le.put64(b, 0x178, Math.max(1, bytesWritten / 1024));
        }
        Le.put32(b, 0x248, l.overheadBeforeJournal + g.journalBlocks + g.firstDataBlock);
        Superblock.setChecksum(b);
        return b;
    }

    private boolean kbytesWritten;

    void countKbytesWritten(boolean on) {
        kbytesWritten = on;
    }

    private void writeBlock(long block, byte[] b) throws IOException {
        write(block * bs, b);
    }

    private void write(long offset, byte[] b) throws IOException {
        dev.write(offset, ByteBuffer.wrap(b));
        bytesWritten += b.length;
    }
}
