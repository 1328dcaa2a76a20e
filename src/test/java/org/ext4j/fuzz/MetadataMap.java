package org.ext4j.fuzz;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ext4j.extents.BlockMap;
import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.DxNode;
import org.ext4j.format.Features;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Inode;
import org.ext4j.volume.Volume;

/**
 * Where the metadata of an undamaged base image is: every structure the damager may hit, found with
 * ext4j's own codecs on the image mkfs made (the round-trip tests show ext4j reads such images
 * exactly as the kernel does). Superblocks (primary and backups), descriptors (meta_bg aware, as the
 * kernel's {@code descriptor_loc}), bitmaps, the inode table slots of used inodes, extent tree blocks,
 * indirect blocks, directory leaves, htree roots and interior nodes, xattr blocks, slow symlink blocks
 * and the journal superblock. Also pools of interesting values for targeted edits: metadata blocks
 * (to point a file into), data blocks of files (to make two files share a block) and used inodes.
 */
final class MetadataMap {
    enum Kind {
        SUPERBLOCK, BACKUP_SUPERBLOCK, DESCRIPTOR, BLOCK_BITMAP, INODE_BITMAP, INODE, EXTENT_BLOCK,
        INDIRECT_BLOCK, DIR_BLOCK, DX_ROOT, DX_NODE, XATTR_BLOCK, SYMLINK_BLOCK, JOURNAL_SUPERBLOCK
    }

    /**
     * One structure.
     *
     * @param pos    byte offset in the image
     * @param length bytes it spans
     * @param block  file-system block holding it
     * @param owner  the inode it belongs to (INODE, tree, directory, symlink and xattr blocks), the group
     *               (descriptors, bitmaps), or 0
     * @param lblk   logical block in its owner (directory blocks), or the level (indirect blocks: 1..3)
     */
    record Region(Kind kind, long pos, int length, long block, long owner, long lblk) {
        @Override
        public String toString() {
            String o = switch (kind) {
                case DESCRIPTOR, BLOCK_BITMAP, INODE_BITMAP -> " group " + owner;
                case SUPERBLOCK, BACKUP_SUPERBLOCK, JOURNAL_SUPERBLOCK -> "";
                case DIR_BLOCK, DX_ROOT, DX_NODE -> " of dir inode " + owner + " lblk " + lblk;
                case INDIRECT_BLOCK -> " level " + lblk + " of inode " + owner;
                default -> " of inode " + owner;
            };
            return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + " at block " + block + o;
        }
    }

    final Superblock sb;
    final int blockSize;
    final Map<Kind, List<Region>> regions = new EnumMap<>(Kind.class);
    /** Blocks that hold metadata: the values that make a file's map point into the system zone. */
    final List<Long> metadataBlocks = new ArrayList<>();
    /** Blocks that hold some file's or directory's data. */
    final List<Long> dataBlocks = new ArrayList<>();
    final List<Long> usedInodes = new ArrayList<>();
    /** Descriptor table position of each group: the byte offset of its descriptor in the image. */
    final long[] descriptorPos;

    private MetadataMap(Superblock sb) {
        this.sb = sb;
        this.blockSize = sb.blockSize;
        this.descriptorPos = new long[(int) sb.groupCount];
        for (Kind k : Kind.values()) {
            regions.put(k, new ArrayList<>());
        }
    }

    List<Region> of(Kind k) {
        return regions.get(k);
    }

    static MetadataMap locate(Path image) throws IOException {
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            Volume v = fs.volume();
            MetadataMap m = new MetadataMap(v.superblock());
            m.scan(fs, v);
            return m;
        }
    }

    private void add(Kind k, long pos, int length, long block, long owner, long lblk) {
        // the resize inode's and the journal's maps are read by neither ext4j nor a noload mount: their
        // blocks stay in the pool of metadata blocks but are no target (the journal superblock is)
        boolean unread = (owner == 7 || owner == 8) && (k == Kind.INDIRECT_BLOCK || k == Kind.EXTENT_BLOCK);
        if (!unread) {
            regions.get(k).add(new Region(k, pos, length, block, owner, lblk));
        }
        if (k != Kind.SUPERBLOCK && k != Kind.DESCRIPTOR && k != Kind.INODE) {
            metadataBlocks.add(block);
        }
    }

    private void scan(Ext4FileSystem fs, Volume v) throws IOException {
        int bs = blockSize;
        add(Kind.SUPERBLOCK, Superblock.OFFSET, Superblock.SIZE, Superblock.OFFSET / bs, 0, 0);
        metadataBlocks.add((long) Superblock.OFFSET / bs);
        boolean metaBg = sb.hasIncompat(Features.INCOMPAT_META_BG);
        Set<Long> gdtBlocks = new LinkedHashSet<>();
        for (long g = 0; g < sb.groupCount; g++) {
            long db = descriptorBlock(g);
            gdtBlocks.add(db);
            descriptorPos[(int) g] = db * bs + (g % sb.descriptorsPerBlock) * sb.descriptorSize;
            add(Kind.DESCRIPTOR, descriptorPos[(int) g], sb.descriptorSize, db, g, 0);
            if (g > 0 && sb.groupHasSuper(g)) {
                long first = sb.groupFirstBlock(g);
                add(Kind.BACKUP_SUPERBLOCK, first * bs, Superblock.SIZE, first, g, 0);
            }
            GroupDescriptor d = v.group(g);
            add(Kind.BLOCK_BITMAP, d.blockBitmap() * bs, (int) Math.min(bs, sb.clustersPerGroup / 8), d.blockBitmap(), g, 0);
            add(Kind.INODE_BITMAP, d.inodeBitmap() * bs, (int) Math.min(bs, sb.inodesPerGroup / 8), d.inodeBitmap(), g, 0);
            long itableBlocks = (sb.inodesPerGroup * sb.inodeSize + bs - 1) / bs;
            for (long b = 0; b < itableBlocks; b++) {
                metadataBlocks.add(d.inodeTable() + b);
            }
            if ((d.flags() & GroupDescriptor.BG_INODE_UNINIT) != 0) {
                continue;
            }
            byte[] bitmap = v.readBlock(d.inodeBitmap(), 0);
            for (long i = 0; i < sb.inodesPerGroup; i++) {
                if (Bitmaps.test(bitmap, i)) {
                    long ino = g * sb.inodesPerGroup + i + 1;
                    long off = d.inodeTable() * bs + i * sb.inodeSize;
                    add(Kind.INODE, off, sb.inodeSize, off / bs, ino, 0);
                    usedInodes.add(ino);
                }
            }
        }
        for (long db : gdtBlocks) {
            metadataBlocks.add(db);
        }
        if (!metaBg) {
            for (long b = 0; b < sb.reservedGdtBlocks; b++) {
                metadataBlocks.add(Superblock.OFFSET / bs + 1 + gdtBlocks.size() + b);
            }
        }
        for (long ino : usedInodes) {
            scanInode(fs, v, ino);
        }
    }

    /** {@code descriptor_loc}: the block of group g's descriptor, meta_bg aware. */
    private long descriptorBlock(long g) {
        long nr = g / sb.descriptorsPerBlock;
        if (!sb.hasIncompat(Features.INCOMPAT_META_BG) || nr < sb.firstMetaBg) {
            return Superblock.OFFSET / blockSize + 1 + nr;
        }
        long first = nr * sb.descriptorsPerBlock;
        int hasSuper = sb.groupHasSuper(first) ? 1 : 0;
        if (blockSize == 1024 && nr == 0 && sb.firstDataBlock == 0) {
            hasSuper++;
        }
        return sb.groupFirstBlock(first) + hasSuper;
    }

    private void scanInode(Ext4FileSystem fs, Volume v, long ino) throws IOException {
        InodeRecord rec = v.readInode(ino);
        int bs = blockSize;
        if (rec.fileAcl != 0) {
            boolean seen = of(Kind.XATTR_BLOCK).stream().anyMatch(r -> r.block() == rec.fileAcl);
            if (!seen) {
                add(Kind.XATTR_BLOCK, rec.fileAcl * bs, bs, rec.fileAcl, ino, 0);
            }
        }
        if (rec.hasFlag(InodeRecord.FL_INLINE_DATA) || rec.linksCount == 0 && ino != 7 && ino != 8) {
            return;
        }
        boolean device = switch (rec.type()) {
            case InodeRecord.S_IFCHR, InodeRecord.S_IFBLK, InodeRecord.S_IFIFO, InodeRecord.S_IFSOCK -> true;
            default -> false;
        };
        if (device) {
            return;
        }
        Inode inode = fs.inode(ino);
        List<Long> dataOfInode = new ArrayList<>();
        if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
            List<Long> tree = new ArrayList<>();
            ExtentTreeReader r = new ExtentTreeReader(v, ino, rec.iBlock(), rec.checksumSeed(sb));
            for (var e : r.allExtents(tree)) {
                for (long b = 0; b < Math.min(e.length(), 64); b++) {
                    dataOfInode.add(e.physical() + b);
                }
            }
            for (long b : tree) {
                add(Kind.EXTENT_BLOCK, b * bs, bs, b, ino, 0);
            }
        } else if (rec.blocksRaw != 0 && !(rec.isSymlink() && rec.size < InodeRecord.I_BLOCK_SIZE)) {
            byte[] ib = rec.iBlock();
            for (int level = 1; level <= 3; level++) {
                indirect(v, ino, Le.u32(ib, (11 + level) * 4), level, dataOfInode);
            }
            for (int i = 0; i < 12; i++) {
                long b = Le.u32(ib, i * 4);
                if (b != 0) {
                    dataOfInode.add(b);
                }
            }
        }
        if (ino == 8) { // the journal: its superblock is the first block
            BlockMap.Mapping m = inode.map(0, 1);
            if (m.state() == BlockMap.State.WRITTEN) {
                add(Kind.JOURNAL_SUPERBLOCK, m.physical() * bs, 1024, m.physical(), ino, 0);
            }
            long blocks = inode.size() / bs;
            for (long l = 0; l < blocks; ) {
                BlockMap.Mapping mm = inode.map(l, blocks - l);
                if (mm.state() == BlockMap.State.WRITTEN) {
                    for (long b = 0; b < mm.length(); b++) {
                        metadataBlocks.add(mm.physical() + b);
                    }
                }
                l += mm.length();
            }
            return;
        }
        if (ino == 7) {
            metadataBlocks.addAll(dataOfInode);
            return;
        }
        if (rec.isDirectory()) {
            long blocks = rec.size / bs;
            int levels = -1;
            List<Long> indexLblks = new ArrayList<>();
            for (long l = 0; l < blocks; l++) {
                BlockMap.Mapping m = inode.map(l, 1);
                if (m.state() != BlockMap.State.WRITTEN) {
                    continue;
                }
                long p = m.physical();
                Kind k = Kind.DIR_BLOCK;
                if (l == 0 && rec.hasFlag(InodeRecord.FL_INDEX)) {
                    k = Kind.DX_ROOT;
                    byte[] b = v.readBlock(p, ino);
                    levels = DxNode.rootInfo(b).indirectLevels();
                    if (levels > 0) {
                        int count = Le.u16(b, DxNode.ROOT_ENTRIES_OFFSET + 2);
                        for (int i = 0; i < count; i++) {
                            indexLblks.add(Le.u32(b, DxNode.ROOT_ENTRIES_OFFSET + i * 8 + 4));
                        }
                    }
                } else if (indexLblks.contains(l)) {
                    k = Kind.DX_NODE;
                }
                add(k, p * bs, bs, p, ino, l);
                dataBlocks.add(p);
            }
            return;
        }
        if (rec.isSymlink()) {
            if (!dataOfInode.isEmpty()) {
                long p = dataOfInode.get(0);
                add(Kind.SYMLINK_BLOCK, p * bs, bs, p, ino, 0);
            }
            return;
        }
        dataBlocks.addAll(dataOfInode);
    }

    private void indirect(Volume v, long ino, long block, int level, List<Long> data) throws IOException {
        if (block == 0) {
            return;
        }
        add(Kind.INDIRECT_BLOCK, block * blockSize, blockSize, block, ino, level);
        byte[] b = v.readBlock(block, ino);
        for (int i = 0; i < blockSize / 4; i++) {
            long p = Le.u32(b, i * 4);
            if (p == 0) {
                continue;
            }
            if (level > 1) {
                indirect(v, ino, p, level - 1, data);
            } else if (data.size() < 4096) {
                data.add(p);
            }
        }
    }

    /** A short description: how many structures of each kind. */
    String summary() {
        StringBuilder s = new StringBuilder();
        regions.forEach((k, l) -> {
            if (!l.isEmpty()) {
                s.append(s.length() == 0 ? "" : ", ").append(k.name().toLowerCase(java.util.Locale.ROOT)).append(' ')
                        .append(l.size());
            }
        });
        return s.toString();
    }
}
