package org.ext4j.inode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.alloc.NoSpaceException;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.Ext4IoException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.extents.IndirectMapWriter;
import org.ext4j.format.Crc32c;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.format.XattrEntry;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Attribute values in their own inode (ea_inode, {@code fs/ext4/xattr.c}):
 * {@code ext4_xattr_inode_create} and {@code ext4_xattr_inode_write} (a regular file of mode 0600
 * owned by the attribute's inode's owner, flagged {@code EA_INODE} with the root directory's
 * inheritable flags, as it is created in the root, one link, the value in extents),
 * {@code ext4_xattr_inode_update_ref} (the reference count kept in i_ctime's seconds, high half, and
 * the low 32 bits of i_version), {@code ext4_xattr_inode_get_hash}/{@code set_hash} (the value's
 * crc32c, seeded with the file system's checksum seed, kept in i_atime's seconds) and the eviction
 * of a value inode whose last reference went ({@code ext4_xattr_inode_array_free}'s {@code iput}:
 * blocks freed, size 0, i_dtime set, inode freed).
 *
 * <p>The inode owning the attribute is charged, as the kernel's quota code charges it
 * ({@code ext4_xattr_inode_alloc_quota}: {@code dquot_alloc_space_nodirty} adds to i_blocks), the
 * value's size rounded up to a cluster ({@link #quota512}); e2fsck expects exactly that in its
 * i_blocks. Value inodes are not shared between attributes (the kernel's mbcache lookup is an
 * optimisation; e2fsck counts references whatever they are), but references the kernel made to a
 * shared one are counted right.
 *
 * <p>Locking: the caller holds the owning inode's lock. A value inode is changed by its owner
 * alone, except one the kernel shared between owners through its mbcache (ext4j never shares):
 * two owners of such a value inode changing their attributes at once are not serialised on it
 * (the kernel's {@code inode_lock(ea_inode)} in {@code ext4_xattr_inode_update_ref} has no
 * counterpart here yet).
 *
 * <p>Old Lustre-style value inodes (a back pointer in i_mtime instead of a reference count) are
 * refused ({@link UnsupportedFeatureException} "lustre ea_inode").
 */
final class XattrValueInode {
    private static final SecureRandom GENERATIONS = new SecureRandom();
    private static final int MODE = InodeRecord.S_IFREG | 0600;

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator blocks;
    private final InodeAllocator inodes;
    /** Generation 0 for new value inodes (a reproducible session) instead of a random one. */
    boolean zeroGenerations;

    XattrValueInode(Volume volume, BlockAllocator blocks, InodeAllocator inodes) {
        this.volume = volume;
        this.sb = volume.superblock();
        this.blocks = blocks;
        this.inodes = inodes;
    }

    /** {@code ext4_xattr_inode_hash}: crc32c of the value seeded with {@code s_csum_seed}. */
    static long valueHash(Superblock sb, byte[] value) {
        return Crc32c.update(sb.checksumSeedValue(), value, 0, value.length) & 0xFFFFFFFFL;
    }

    /** The entry hash of a value held in an inode: the name, then the value's hash as one word. */
    static long entryHash(byte[] name, int nameOff, int nameLen, long valueHash, boolean signed) {
        byte[] word = new byte[4];
        Le.put32(word, 0, valueHash);
        return XattrEntry.hashEntry(name, nameOff, nameLen, word, 0, 1, signed);
    }

    /** {@code round_up_cluster(len)} in i_blocks' 512-byte units: what a value in an inode costs its owner. */
    static long quota512(Superblock sb, long size) {
        long cluster = (long) sb.blockSize << Math.max(0, sb.logClusterSize - sb.logBlockSize);
        return (size + cluster - 1) / cluster * cluster / 512;
    }

    /** {@code ext4_xattr_inode_get_ref}. */
    static long refCount(InodeRecord rec) {
        return (rec.ctime.seconds() & 0xFFFFFFFFL) << 32 | (rec.version & 0xFFFFFFFFL);
    }

    /** Blocks one value of {@code len} bytes takes (data only: it fits the root's four extents). */
    int dataBlocks(int len) {
        return (len + sb.blockSize - 1) / sb.blockSize;
    }

    /**
     * What {@link #create} needs, checked before anything changes: extents (ext4j writes a value
     * inode's map as extents only), a free inode and {@code dataBlocks + extraBlocks} free blocks.
     */
    void checkCreate(long owner, int len, int extraBlocks) throws IOException {
        if (!sb.hasIncompat(Features.INCOMPAT_EXTENTS)) {
            throw new UnsupportedFeatureException("ea_inode without extents", "a value inode for inode " + owner
                    + " would need a block map, which ext4j does not write");
        }
        if (inodes.freeInodes() < 1) {
            throw new NoSpaceException("no free inode for the value of an attribute of inode " + owner);
        }
        long need = dataBlocks(len) + (long) extraBlocks;
        if (blocks.freeBlocks() < need) {
            throw new NoSpaceException("an attribute value of " + len + " bytes of inode " + owner + " needs " + need
                    + " free blocks, " + blocks.freeBlocks() + " are free");
        }
    }

    /**
     * {@code ext4_xattr_inode_create} + {@code ext4_xattr_inode_write}: a new value inode holding
     * {@code value} (hash {@code hash}), one reference. The value's blocks are written to the device
     * straight away (as file data: nothing points at them until the handle's metadata is written);
     * the inode and the bitmaps go through the handle. On failure everything allocated is given back.
     */
    long create(Handle h, InodeRecord owner, byte[] value, long hash, Instant now) throws IOException {
        int n = dataBlocks(value.length);
        long ino = inodes.allocate(h, owner.number, false);
        List<BlockAllocator.Run> runs = new ArrayList<>();
        try {
            long goal = sb.groupFirstBlock((ino - 1) / sb.inodesPerGroup);
            long left = n;
            while (left > 0) {
                if (runs.size() == ExtentNodeWriter.ROOT_CAPACITY) {
                    throw new NoSpaceException("free space too fragmented: a value of " + n + " blocks needs more than "
                            + ExtentNodeWriter.ROOT_CAPACITY + " extents");
                }
                BlockAllocator.Run r = blocks.allocate(h, goal, 1, left);
                runs.add(r);
                volume.checkFileBlocks(ino, n - left, r.start(), r.length());
                left -= r.length();
                goal = r.end();
            }
            byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
            ExtentNodeWriter.initRoot(iBlock);
            int bs = sb.blockSize;
            long lblk = 0;
            for (int i = 0; i < runs.size(); i++) {
                BlockAllocator.Run r = runs.get(i);
                ExtentNodeWriter.putExtent(iBlock, 0, i, lblk, (int) r.length(), r.start(), false);
                int from = (int) (lblk * bs);
                int to = (int) Math.min(value.length, (lblk + r.length()) * bs);
                byte[] data = new byte[(int) r.length() * bs]; // the last block's tail zeroed
                System.arraycopy(value, from, data, 0, to - from);
                for (long b = r.start(); b < r.end(); b++) {
                    volume.bufferCache().forget(b);
                }
                writeData(r.start(), data);
                lblk += r.length();
            }
            ExtentNodeWriter.setEntries(iBlock, 0, runs.size());
            // ext4_new_inode(.., root, S_IFREG | 0600, ..): the root directory's inheritable flags
            long flags = volume.readInode(InodeAllocator.ROOT_INO).flags & InodeRecord.FL_INHERITED
                    & InodeRecord.FL_REG_MASK;
            byte[] raw = new byte[sb.inodeSize];
            long s = now.getEpochSecond();
            int ns = now.getNano();
            InodeWriter w = new InodeWriter(sb, ino, raw).extraIsize(sb.newInodeExtraIsize()).mode(MODE)
                    .uid(owner.uid).gid(owner.gid).size(value.length).linksCount(1)
                    .flags(flags | InodeRecord.FL_EA_INODE | InodeRecord.FL_EXTENTS)
                    .generation(zeroGenerations ? 0 : GENERATIONS.nextInt() & 0xFFFFFFFFL).iBlock(iBlock)
                    .blocks512((long) n * (bs / 512));
            w.mtime(s, ns).crtime(s, ns);
            w.atime(hash, 0); // ext4_xattr_inode_set_hash
            setRef(w, 1);
            w.setChecksum();
            volume.writeInode(h, ino, raw);
            return ino;
        } catch (IOException | RuntimeException e) {
            for (BlockAllocator.Run r : runs) {
                blocks.free(h, r.start(), r.length());
            }
            inodes.free(h, ino, false);
            throw e;
        }
    }

    private void writeData(long pblk, byte[] data) throws IOException {
        volume.checkRange(pblk, data.length / sb.blockSize, -1);
        try {
            volume.device().write(pblk * sb.blockSize, ByteBuffer.wrap(data));
        } catch (IOException e) {
            throw new Ext4IoException("writing block " + pblk + " of " + volume.device(), e);
        }
    }

    /** {@code ext4_xattr_inode_set_ref}: i_ctime's seconds the high half (nanoseconds 0), i_version the low. */
    private static void setRef(InodeWriter w, long ref) {
        w.ctime(ref >>> 32, 0);
        w.version(ref & 0xFFFFFFFFL);
    }

    /** A value inode read and checked for a change of its reference count. */
    record Change(InodeRecord rec, long newRef, List<long[]> owned) {
    }

    /**
     * Reads and checks every value inode whose reference count {@code deltas} changes (inode number
     * to change) for attributes of inode {@code owner}: a regular file flagged EA_INODE with a
     * reference count that stays at or above 0; one left with none has its blocks collected and
     * checked ({@link BlockAllocator#checkFree}), and its inode, so that {@link #apply} cannot fail
     * half way.
     */
    List<Change> check(InodeRecord owner, Map<Long, Integer> deltas) throws IOException {
        List<Change> out = new ArrayList<>();
        for (Map.Entry<Long, Integer> d : deltas.entrySet()) {
            if (d.getValue() == 0) {
                continue;
            }
            InodeRecord rec = load(volume, owner, d.getKey());
            long ref = refCount(rec);
            long newRef = ref + d.getValue();
            if (newRef < 0) {
                throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number).build("xattr value inode "
                        + rec.number + " has a reference count of " + ref + " but loses " + -d.getValue());
            }
            List<long[]> owned = List.of();
            if (newRef == 0) {
                owned = ownedBlocks(rec);
                for (long[] r : owned) {
                    blocks.checkFree(r[0], r[1]);
                }
                inodes.checkFree(rec.number, false);
            }
            out.add(new Change(rec, newRef, owned));
        }
        return out;
    }

    /**
     * {@code ext4_xattr_inode_update_ref} for each change checked by {@link #check}; a value inode
     * left without references is evicted: its blocks freed, size, i_blocks and links 0, an empty
     * map, i_dtime now, the inode freed.
     */
    void apply(Handle h, List<Change> changes, Instant now) throws IOException {
        for (Change c : changes) {
            long ino = c.rec().number;
            byte[] raw = volume.readInode(ino).raw();
            InodeWriter w = new InodeWriter(sb, ino, raw);
            setRef(w, c.newRef());
            if (c.newRef() == 0) {
                for (long[] r : c.owned()) {
                    for (long b = r[0]; b < r[0] + r[1]; b++) {
                        volume.bufferCache().forget(b);
                    }
                    blocks.free(h, r[0], r[1]);
                }
                byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
                if (c.rec().hasFlag(InodeRecord.FL_EXTENTS)) {
                    ExtentNodeWriter.initRoot(iBlock);
                }
                w.iBlock(iBlock).size(0).blocks512(0).linksCount(0).dtime(now.getEpochSecond() & 0xFFFFFFFFL);
            }
            w.setChecksum();
            volume.writeInode(h, ino, raw);
            if (c.newRef() == 0) {
                inodes.free(h, ino, false);
            }
        }
    }

    /**
     * Value inode {@code inum} of an attribute of {@code owner}, as {@code ext4_xattr_inode_iget}
     * takes it: not the owner itself, a regular file flagged EA_INODE; a Lustre-style one is refused.
     */
    static InodeRecord load(Volume volume, InodeRecord owner, long inum) throws IOException {
        if (inum == owner.number) {
            throw CorruptionException.of(Kind.LOOP).inode(owner.number)
                    .build("xattr value inode refers to its own inode");
        }
        InodeRecord rec = volume.readInode(inum);
        if (!rec.hasFlag(InodeRecord.FL_EA_INODE) || !rec.isRegular()) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number)
                    .build("xattr value inode " + inum + " is not marked EA_INODE");
        }
        if (rec.linksCount == 0 || rec.dtime != 0) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number)
                    .build("xattr value inode " + inum + " is deleted (no links)");
        }
        if (isLustre(rec, owner)) {
            throw new UnsupportedFeatureException("lustre ea_inode", "xattr value inode " + inum + " of inode "
                    + owner.number + " is an old Lustre-style one (no reference count), which ext4j does not change");
        }
        return rec;
    }

    /** {@code EXT4_XATTR_INODE_GET_PARENT}: a Lustre-style value inode points back at its owner in i_mtime. */
    static boolean isLustre(InodeRecord rec, InodeRecord owner) {
        return (rec.mtime.seconds() & 0xFFFFFFFFL) == owner.number && rec.generation == owner.generation;
    }

    /** The blocks a value inode owns (extents and tree blocks, or a block map), sorted, none twice. */
    private List<long[]> ownedBlocks(InodeRecord rec) throws IOException {
        List<long[]> owned = new ArrayList<>();
        if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
            List<Long> tree = new ArrayList<>();
            for (ExtentNode.Extent e : new ExtentTreeReader(volume, rec.number, rec.iBlock(), rec.checksumSeed(sb))
                    .allExtents(tree)) {
                owned.add(new long[] {e.physical(), e.length()});
            }
            for (long b : tree) {
                owned.add(new long[] {b, 1});
            }
        } else if (!rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            long limit = rec.blocks512(sb) / (sb.blockSize / 512);
            for (long b : new IndirectMapWriter(volume, blocks, rec.number, rec.iBlock(), 0)
                    .blocksToFree(0, 1L << 32, limit)) {
                owned.add(new long[] {b, 1});
            }
        }
        owned.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < owned.size(); i++) {
            if (owned.get(i)[0] < owned.get(i - 1)[0] + owned.get(i - 1)[1]) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(rec.number).block(owned.get(i)[0])
                        .build("block " + owned.get(i)[0] + " is owned twice by the xattr value inode");
            }
        }
        return owned;
    }
}
