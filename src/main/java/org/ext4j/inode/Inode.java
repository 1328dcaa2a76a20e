package org.ext4j.inode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.NotFoundException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.extents.BlockMap;
import org.ext4j.extents.BlockMap.Mapping;
import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.extents.IndirectBlockMap;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.volume.Volume;

/**
 * An inode opened for reading: its on-disk record plus the way to reach its data, which is one of
 * an extent tree, a legacy block map, or inline data in i_block and the {@code system.data}
 * attribute ({@code fs/ext4/inline.c}). Immutable; safe to share between reader threads.
 */
public final class Inode {
    private static final String INLINE_DATA_NAME = "data";

    private final Volume volume;
    private final InodeRecord rec;
    private final BlockMap map;

    private Inode(Volume volume, InodeRecord rec, BlockMap map) {
        this.volume = volume;
        this.rec = rec;
        this.map = map;
    }

    /** EXT4_BOOT_LOADER_INO: the kernel's iget accepts any i_mode there. */
    private static final long BOOT_LOADER_INO = 5;

    /** Loads inode {@code ino}; rejects a size the file system could not have produced. */
    public static Inode load(Volume volume, long ino) throws IOException {
        InodeRecord rec = volume.readInode(ino);
        Superblock sb = volume.superblock();
        BlockMap map = null;
        if (rec.fileAcl != 0) {
            // __ext4_iget: "bad extended attribute block", before anything else about the inode
            volume.checkFileBlocks(ino, -1, rec.fileAcl, 1, XattrReader.XATTR_BLOCK);
        }
        // __ext4_iget validates the block references of files, directories and slow symlinks
        boolean checked = rec.isRegular() || rec.isDirectory() || (rec.isSymlink() && !isFastSymlink(sb, rec));
        if (rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            if (!sb.hasIncompat(Features.INCOMPAT_INLINE_DATA)) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                        .build("inline data flag set but the file system lacks inline_data");
            }
        } else if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
            ExtentTreeReader tree = new ExtentTreeReader(volume, ino, rec.iBlock(), rec.checksumSeed(sb));
            if (checked) {
                tree.checkRoot(); // ext4_ext_check_inode
            }
            map = tree;
        } else if (!isFastSymlink(sb, rec) && !isDevice(rec)) {
            IndirectBlockMap ind = new IndirectBlockMap(volume, ino, rec.iBlock());
            if (checked) {
                ind.checkRoot(); // ext4_ind_check_inode
            }
            map = ind;
        }
        if (!rec.hasValidType() && rec.linksCount != 0 && ino != BOOT_LOADER_INO) {
            // __ext4_iget's last word (an unlinked inode is "deleted" before that, which the callers
            // that follow names report); the boot loader inode is the one the kernel lets through
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino).build(String.format("bogus i_mode (0%o)", rec.mode));
        }
        if (rec.size < 0 || rec.size > maxBytes(sb, rec.hasFlag(InodeRecord.FL_EXTENTS))) {
            throw CorruptionException.of(Kind.FILE_TOO_LARGE).inode(ino)
                    .build("i_size " + Long.toUnsignedString(rec.size) + " exceeds the largest possible file");
        }
        return new Inode(volume, rec, map);
    }

    /** {@code ext4_max_size} / {@code ext4_max_bitmap_size}: the largest file size the kernel allows. */
    static long maxBytes(Superblock sb, boolean extents) {
        long bs = sb.blockSize;
        if (extents) {
            return ((1L << 32) - 1) * bs;
        }
        long p = bs / 4;
        long blocks = 12 + p + p * p + p * p * p;
        return Math.min(blocks * bs, Long.MAX_VALUE);
    }

    private static boolean isDevice(InodeRecord r) {
        int t = r.type();
        return t == InodeRecord.S_IFCHR || t == InodeRecord.S_IFBLK || t == InodeRecord.S_IFIFO
                || t == InodeRecord.S_IFSOCK;
    }

    /**
     * {@code ext4_inode_is_fast_symlink}: a symlink whose target sits in i_block uses no data blocks
     * (beyond an xattr block); with ea_inode, any target shorter than i_block is fast.
     */
    static boolean isFastSymlink(Superblock sb, InodeRecord r) {
        if (!r.isSymlink() || r.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            return false;
        }
        if (sb.hasIncompat(Features.INCOMPAT_EA_INODE)) {
            // i_blocks also counts value inodes' blocks here, so only the size can tell
            return r.size > 0 && r.size < InodeRecord.I_BLOCK_SIZE;
        }
        long eaBlocks = r.fileAcl != 0 ? (sb.blockSize << Math.max(0, sb.logClusterSize - sb.logBlockSize)) / 512 : 0;
        return r.blocks512(sb) - eaBlocks == 0;
    }

    public long number() {
        return rec.number;
    }

    public InodeRecord record() {
        return rec;
    }

    public long size() {
        return rec.size;
    }

    public boolean isInline() {
        return rec.hasFlag(InodeRecord.FL_INLINE_DATA);
    }

    /** The block map, or null for inline data, fast symlinks and device nodes. */
    public BlockMap blockMap() {
        return map;
    }

    /** Maps logical block {@code lblk}; an inode without a block map has nothing but holes. */
    public Mapping map(long lblk, long maxLen) throws IOException {
        if (map == null) {
            return new Mapping(lblk, maxLen, -1, BlockMap.State.HOLE);
        }
        return map.map(lblk, maxLen);
    }

    /**
     * Reads up to {@code len} bytes at {@code pos}; returns the count, or -1 at or past the end. A
     * buffer range outside {@code dst} or a negative position is refused before anything is read
     * ({@link org.ext4j.error.InvalidArgumentException}: the kernel's EFAULT and EINVAL).
     */
    public int read(long pos, byte[] dst, int off, int len) throws IOException {
        if (dst == null || off < 0 || len < 0 || off > dst.length - len) {
            throw new org.ext4j.error.InvalidArgumentException("read: " + len + " bytes at index " + off
                    + " do not fit a buffer of " + (dst == null ? "null" : dst.length + " bytes") + " (EFAULT)");
        }
        if (pos < 0) {
            throw new org.ext4j.error.InvalidArgumentException("read at negative offset " + pos + " (EINVAL)");
        }
        checkContentReadable(rec);
        return read(pos, dst, off, len, 0);
    }

    /**
     * Refuses the contents of an fs-verity file ({@code fsverity_file_open}): its bytes are only what
     * the kernel hands out after checking them against the Merkle tree stored past i_size, which ext4j
     * does not verify. Its metadata (stat, names, xattrs) stays readable.
     */
    public static void checkContentReadable(InodeRecord rec) throws UnsupportedFeatureException {
        if (rec.isRegular() && rec.hasFlag(InodeRecord.FL_VERITY)) {
            throw new UnsupportedFeatureException("verity", "inode " + rec.number
                    + " is an fs-verity file, whose contents ext4j cannot verify");
        }
    }

    int read(long pos, byte[] dst, int off, int len, int depth) throws IOException {
        if (pos < 0) {
            throw new org.ext4j.error.InvalidArgumentException("read at negative offset " + pos + " (EINVAL)");
        }
        if (pos >= rec.size) {
            return len == 0 ? 0 : -1;
        }
        int want = (int) Math.min(len, rec.size - pos);
        if (isInline()) {
            byte[] all = inlineData(depth);
            if (pos >= all.length) {
                Arrays.fill(dst, off, off + want, (byte) 0);
            } else {
                int n = (int) Math.min(want, all.length - pos);
                System.arraycopy(all, (int) pos, dst, off, n);
                Arrays.fill(dst, off + n, off + want, (byte) 0);
            }
            return want;
        }
        int bs = volume.blockSize();
        int done = 0;
        while (done < want) {
            long p = pos + done;
            long lblk = p / bs;
            int inBlock = (int) (p % bs);
            long blocksLeft = (inBlock + (long) (want - done) + bs - 1) / bs;
            Mapping m = map(lblk, blocksLeft);
            long avail = m.length() * bs - inBlock;
            int n = (int) Math.min(want - done, avail);
            if (m.state() == BlockMap.State.WRITTEN) {
                readPhysical(m.physical(), inBlock, ByteBuffer.wrap(dst, off + done, n));
            } else {
                Arrays.fill(dst, off + done, off + done + n, (byte) 0);
            }
            done += n;
        }
        return want;
    }

    /**
     * Copies the whole file to {@code out} without passing its data through the Java heap: written
     * runs go straight from the device ({@link org.ext4j.blockdev.BlockDevice#transferTo}), holes and
     * unwritten runs as zeros. For images open read-only; a read-write file has newer data in its
     * page cache. Returns the bytes copied.
     */
    public long transferTo(java.nio.channels.WritableByteChannel out) throws IOException {
        checkContentReadable(rec);
        if (isInline()) {
            byte[] all = readAll(Integer.MAX_VALUE - 8);
            ByteBuffer b = ByteBuffer.wrap(all);
            while (b.hasRemaining()) {
                out.write(b);
            }
            return all.length;
        }
        int bs = volume.blockSize();
        long size = rec.size;
        long pos = 0;
        ByteBuffer zeros = null;
        while (pos < size) {
            long lblk = pos / bs;
            Mapping m = map(lblk, (size - pos + bs - 1) / bs);
            long n = Math.min(size - pos, m.length() * bs);
            if (m.state() == BlockMap.State.WRITTEN) {
                volume.checkRange(m.physical(), (n + bs - 1) / bs, rec.number);
                long done = volume.device().transferTo(m.physical() * bs, n, out);
                if (done < n) {
                    throw CorruptionException.of(Kind.TRUNCATED_IMAGE).inode(rec.number).block(m.physical())
                            .build("device ends before the file's data");
                }
            } else {
                if (zeros == null) {
                    zeros = ByteBuffer.allocateDirect(1 << 16);
                }
                long left = n;
                while (left > 0) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), left));
                    left -= out.write(zeros);
                }
            }
            pos += n;
        }
        return pos;
    }

    private void readPhysical(long pblk, int inBlock, ByteBuffer dst) throws IOException {
        int bs = volume.blockSize();
        long blocks = (inBlock + (long) dst.remaining() + bs - 1) / bs;
        volume.checkRange(pblk, blocks, rec.number);
        int want = dst.remaining();
        int n = volume.device().read(pblk * bs + inBlock, dst);
        if (n < want) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).inode(rec.number).block(pblk)
                    .build("device ends before the file's data");
        }
    }

    /** Whole contents of a small file (directory blocks, symlink targets); refuses anything over {@code limit}. */
    public byte[] readAll(long limit) throws IOException {
        if (rec.size > limit) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(rec.number)
                    .build("size " + rec.size + " exceeds the limit of " + limit + " for this kind of file");
        }
        byte[] out = new byte[(int) rec.size];
        int n = read(0, out, 0, out.length);
        if (n != out.length && out.length > 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(rec.number).build("short read of " + n + " bytes");
        }
        return out;
    }

    /** i_block followed by the {@code system.data} value: the whole inline payload. */
    public byte[] inlineData() throws IOException {
        return inlineData(0);
    }

    private byte[] inlineData(int depth) throws IOException {
        byte[] head = rec.iBlock();
        byte[] tail = new byte[0];
        for (XattrReader.Located l : XattrReader.entries(volume, rec)) {
            if (l.entry().nameIndex() == XattrReader.INDEX_SYSTEM
                    && Arrays.equals(l.entry().suffix(), INLINE_DATA_NAME.getBytes())) {
                if (l.entry().valueInum() != 0) {
                    throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(rec.number)
                            .build("system.data may not live in a value inode");
                }
                tail = XattrReader.rawValue(volume, rec, l, depth);
                break;
            }
        }
        byte[] all = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }

    /** The attributes user space sees, in on-disk order (body first, then block). */
    public List<Xattr> xattrs() throws IOException {
        List<Xattr> out = new ArrayList<>();
        for (XattrReader.Located l : XattrReader.entries(volume, rec)) {
            if (XattrReader.visible(l.entry())) {
                byte[] raw = XattrReader.rawValue(volume, rec, l, 0);
                out.add(new Xattr(l.entry().fullName(), XattrReader.userValue(l.entry(), raw, rec.number)));
            }
        }
        return out;
    }

    /** One attribute by full name. */
    public byte[] xattr(String name) throws IOException {
        for (XattrReader.Located l : XattrReader.entries(volume, rec)) {
            if (XattrReader.visible(l.entry()) && name.equals(l.entry().fullName())) {
                byte[] raw = XattrReader.rawValue(volume, rec, l, 0);
                return XattrReader.userValue(l.entry(), raw, rec.number);
            }
        }
        throw new NotFoundException("no attribute " + name + " on inode " + rec.number);
    }

    /** Target of a symlink: fast (in i_block), inline, or in a data block. */
    public byte[] readlinkBytes() throws IOException {
        if (!rec.isSymlink()) {
            throw new org.ext4j.error.WrongTypeException("inode " + rec.number + " is not a symlink");
        }
        Superblock sb = volume.superblock();
        if (rec.size == 0 || rec.size > sb.blockSize) {
            throw CorruptionException.of(Kind.BAD_SYMLINK).inode(rec.number)
                    .build("symlink length " + rec.size + " is not in 1.." + sb.blockSize);
        }
        if (isFastSymlink(sb, rec)) {
            if (rec.size >= InodeRecord.I_BLOCK_SIZE) {
                throw CorruptionException.of(Kind.BAD_SYMLINK).inode(rec.number)
                        .build("fast symlink length " + rec.size + " does not fit i_block");
            }
            return Arrays.copyOf(rec.iBlock(), (int) rec.size);
        }
        return readAll(sb.blockSize);
    }

    /** Device number of a character or block device node, as (major, minor) ({@code ext4_iget}'s decoding). */
    public int[] deviceNumber() {
        byte[] b = rec.iBlock();
        long old = org.ext4j.format.Le.u32(b, 0);
        if (old != 0) {
            return new int[] {(int) ((old >> 8) & 0xFF), (int) (old & 0xFF)};
        }
        long dev = org.ext4j.format.Le.u32(b, 4);
        return new int[] {(int) ((dev & 0xFFF00) >> 8), (int) ((dev & 0xFF) | ((dev >> 12) & 0xFFF00))};
    }

    Volume volume() {
        return volume;
    }
}
