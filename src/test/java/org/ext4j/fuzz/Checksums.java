package org.ext4j.fuzz;

import java.util.Arrays;

import org.ext4j.error.CorruptionException;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.Crc32c;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fuzz.MetadataMap.Region;

/**
 * Recomputes the checksums damage broke, so that the damage gets past the checksum checks and reaches
 * the logic behind them (what a bug in a kernel or a tool that writes consistent garbage produces).
 * Each structure's checksum is set with ext4j's own codecs from the superblock as the damaged image
 * has it (the kernel seeds from that one too), falling back to the undamaged one when the damaged
 * superblock does not decode. A checksum whose position depends on a damaged count (an htree tail
 * behind a garbage limit) is left alone when it does not fit.
 */
final class Checksums {
    private final byte[] img;
    private final MetadataMap map;
    private final Superblock sb;
    private final boolean csum;
    private final boolean gdtCsum;

    Checksums(byte[] img, MetadataMap map) {
        this.img = img;
        this.map = map;
        Superblock s;
        try {
            s = Superblock.decode(Arrays.copyOfRange(img, Superblock.OFFSET, Superblock.OFFSET + Superblock.SIZE));
        } catch (CorruptionException | RuntimeException e) {
            s = map.sb;
        }
        this.sb = s;
        this.csum = s.hasMetadataCsum();
        this.gdtCsum = s.hasGdtCsum();
    }

    /** Sets the checksum of the structure {@code r} (and of what holds its checksum, for bitmaps). */
    void fix(Region r) {
        try {
            switch (r.kind()) {
                case SUPERBLOCK, BACKUP_SUPERBLOCK -> superblock((int) r.pos());
                case DESCRIPTOR -> descriptor(r.owner());
                case BLOCK_BITMAP, INODE_BITMAP -> bitmap(r);
                case INODE -> inode(r.owner(), (int) r.pos());
                case EXTENT_BLOCK -> {
                    if (csum) {
                        byte[] b = block(r.block());
                        ExtentNodeWriter.setTail(b, seed(r.owner()));
                        put(r.block(), b);
                    }
                }
                case DIR_BLOCK -> {
                    if (csum) {
                        byte[] b = block(r.block());
                        if (DirEntry.hasTail(b, map.blockSize)) {
                            DirEntryWriter.setTailChecksum(b, map.blockSize, seed(r.owner()));
                            put(r.block(), b);
                        }
                    }
                }
                case DX_ROOT, DX_NODE -> {
                    if (csum) {
                        byte[] b = block(r.block());
                        int entries = r.kind() == MetadataMap.Kind.DX_ROOT ? DxNode.ROOT_ENTRIES_OFFSET : DxNode.NODE_ENTRIES_OFFSET;
                        int limit = DxNodeWriter.limit(b, entries);
                        int count = DxNodeWriter.count(b, entries);
                        if (count <= limit && entries + (limit + 1) * DxNode.ENTRY_SIZE <= map.blockSize) {
                            DxNodeWriter.setTail(b, entries, seed(r.owner()));
                            put(r.block(), b);
                        }
                    }
                }
                case XATTR_BLOCK -> {
                    if (csum) {
                        byte[] b = block(r.block());
                        int crc = Crc32c.updateLe64(sb.checksumSeedValue(), r.block());
                        crc = Crc32c.update(crc, b, 0, 0x10);
                        crc = Crc32c.updateZeros(crc, 4);
                        crc = Crc32c.update(crc, b, 0x14, b.length - 0x14);
                        Le.put32(b, 0x10, crc & 0xFFFFFFFFL);
                        put(r.block(), b);
                    }
                }
                default -> {
                    // indirect blocks, symlink blocks: no checksum; the journal here has none
                }
            }
        } catch (RuntimeException e) {
            // a damaged count put the checksum outside the block: the kernel cannot set it either
        }
    }

    /** Sets the primary superblock's checksum last: it is what the others were seeded from. */
    void fixSuperblock() {
        superblock(Superblock.OFFSET);
    }

    private void superblock(int pos) {
        byte[] raw = Arrays.copyOfRange(img, pos, pos + Superblock.SIZE);
        Superblock.setChecksum(raw);
        System.arraycopy(raw, 0, img, pos, Superblock.SIZE);
    }

    private void descriptor(long group) {
        if (!csum && !gdtCsum || group >= map.descriptorPos.length) {
            return;
        }
        int pos = (int) map.descriptorPos[(int) group];
        int size = map.sb.descriptorSize;
        int c = GroupDescriptor.computeChecksum(sb, img, pos, size, group);
        Le.put16(img, pos + GroupDescriptor.CHECKSUM_OFFSET, c);
    }

    private void bitmap(Region r) {
        if (csum) {
            byte[] bitmap = block(r.block());
            boolean blocks = r.kind() == MetadataMap.Kind.BLOCK_BITMAP;
            long c = blocks ? Bitmaps.blockBitmapChecksum(sb, bitmap) : Bitmaps.inodeBitmapChecksum(sb, bitmap);
            int pos = (int) map.descriptorPos[(int) r.owner()];
            Le.put16(img, pos + (blocks ? 0x18 : 0x1A), (int) (c & 0xFFFF));
            if (map.sb.descriptorSize >= 64) {
                Le.put16(img, pos + (blocks ? 0x38 : 0x3A), (int) (c >>> 16));
            }
        }
        descriptor(r.owner());
    }

    private void inode(long ino, int pos) {
        byte[] raw = Arrays.copyOfRange(img, pos, pos + map.sb.inodeSize);
        try {
            new InodeWriter(sb, ino, raw).setChecksum();
        } catch (IllegalStateException e) {
            return; // i_extra_isize damaged beyond the inode: the kernel rejects it before the checksum
        }
        System.arraycopy(raw, 0, img, pos, raw.length);
    }

    /** The owner inode's checksum seed from its generation as the damaged image has it. */
    private int seed(long ino) {
        for (Region r : map.of(MetadataMap.Kind.INODE)) {
            if (r.owner() == ino) {
                return InodeRecord.checksumSeed(sb, ino, Le.u32(img, (int) r.pos() + 0x64));
            }
        }
        return InodeRecord.checksumSeed(sb, ino, 0); // not a used inode: generation 0
    }

    private byte[] block(long b) {
        int bs = map.blockSize;
        return Arrays.copyOfRange(img, (int) (b * bs), (int) (b * bs) + bs);
    }

    private void put(long b, byte[] bytes) {
        System.arraycopy(bytes, 0, img, (int) (b * map.blockSize), bytes.length);
    }
}
