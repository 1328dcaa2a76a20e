package org.ext4j.format;

import java.util.Arrays;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * An on-disk inode ({@code struct ext4_inode}) of any size, decoded at absolute offsets. Fields past
 * the 128-byte base exist only when {@code i_extra_isize} covers them, exactly as the kernel's
 * {@code EXT4_FITS_IN_INODE} decides; absent ones read as zero.
 */
public final class InodeRecord {
    /** The extra inode size of today's struct ext4_inode (160 - 128 bytes): new inodes get at least this. */
    public static final int GOOD_EXTRA_ISIZE = 32;
    public static final int S_IFMT = 0xF000;
    public static final int S_IFSOCK = 0xC000;
    public static final int S_IFLNK = 0xA000;
    public static final int S_IFREG = 0x8000;
    public static final int S_IFBLK = 0x6000;
    public static final int S_IFDIR = 0x4000;
    public static final int S_IFCHR = 0x2000;
    public static final int S_IFIFO = 0x1000;

    public static final int FL_ENCRYPT = 0x800;
    public static final int FL_INDEX = 0x1000;
    public static final int FL_HUGE_FILE = 0x40000;
    public static final int FL_EXTENTS = 0x80000;
    public static final int FL_VERITY = 0x100000;
    public static final int FL_EA_INODE = 0x200000;
    public static final int FL_INLINE_DATA = 0x10000000;
    public static final int FL_CASEFOLD = 0x40000000;
    /** {@code EXT4_FL_INHERITED}: flags a new inode takes from its directory. */
    public static final long FL_INHERITED = 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x200 | 0x400 | 0x4000 | 0x8000
            | 0x10000 | 0x20000000L;
    /** {@code EXT4_REG_FLMASK}: no DIRSYNC, TOPDIR, PROJINHERIT or CASEFOLD on a regular file. */
    public static final long FL_REG_MASK = ~(0x10000L | 0x20000L | 0x20000000L | 0x40000000L);

    public static final int I_BLOCK_OFFSET = 0x28;
    public static final int I_BLOCK_SIZE = 60;
    private static final int CHECKSUM_LO = 0x7C;
    private static final int CHECKSUM_HI = 0x82;

    public final long number;
    private final byte[] raw;

    public final int mode;
    public final long uid;
    public final long gid;
    public final long size;
    public final Timestamp atime;
    public final Timestamp ctime;
    public final Timestamp mtime;
    public final Timestamp crtime;
    public final long dtime;
    public final int linksCount;
    /** i_blocks as stored (48 bits); see {@link #blocks512}. */
    public final long blocksRaw;
    public final long flags;
    public final long generation;
    public final long fileAcl;
    public final int extraIsize;
    public final long projid;
    public final long version;

    private InodeRecord(long number, byte[] b, int extraIsize, boolean largeDir) {
        this.number = number;
        this.raw = b;
        this.extraIsize = extraIsize;
        mode = Le.u16(b, 0x0);
        uid = Le.u16(b, 0x2) | (long) Le.u16(b, 0x78) << 16;
        gid = Le.u16(b, 0x18) | (long) Le.u16(b, 0x7A) << 16;
        // ext4_isize: i_size_high counts for regular files, and for directories with large_dir only
        // (it was i_dir_acl); the kernel ignores it elsewhere, and so does ext4j
        boolean high = (mode & 0xF000) == S_IFREG || largeDir && (mode & 0xF000) == S_IFDIR;
        size = high ? Le.join(Le.u32(b, 0x4), Le.u32(b, 0x6C)) : Le.u32(b, 0x4);
        atime = Timestamp.of(Le.u32(b, 0x8), fits(0x8C, 4) ? Le.u32(b, 0x8C) : 0);
        ctime = Timestamp.of(Le.u32(b, 0xC), fits(0x84, 4) ? Le.u32(b, 0x84) : 0);
        mtime = Timestamp.of(Le.u32(b, 0x10), fits(0x88, 4) ? Le.u32(b, 0x88) : 0);
        crtime = fits(0x90, 4) ? Timestamp.of(Le.u32(b, 0x90), fits(0x94, 4) ? Le.u32(b, 0x94) : 0) : null;
        dtime = Le.u32(b, 0x14);
        linksCount = Le.u16(b, 0x1A);
        blocksRaw = blocksRaw(b);
        flags = Le.u32(b, 0x20);
        generation = Le.u32(b, 0x64);
        fileAcl = fileAcl(b);
        projid = fits(0x9C, 4) ? Le.u32(b, 0x9C) : 0;
        version = Le.u32(b, 0x24) | (fits(0x98, 4) ? Le.u32(b, 0x98) << 32 : 0);
    }

    private boolean fits(int off, int len) {
        return raw.length > Superblock.GOOD_OLD_INODE_SIZE
                && off + len <= Superblock.GOOD_OLD_INODE_SIZE + extraIsize;
    }

    /**
     * Decodes inode {@code number} from its {@code inodeSize} bytes. Validates i_extra_isize (the one
     * field that moves other fields) and, with metadata_csum, the checksum.
     */
    public static InodeRecord decode(Superblock sb, long number, byte[] b, long block, int offsetInBlock)
            throws CorruptionException {
        int extra = 0;
        if (b.length > Superblock.GOOD_OLD_INODE_SIZE) {
            extra = Le.u16(b, 0x80);
            if (extra > b.length - Superblock.GOOD_OLD_INODE_SIZE || (extra & 3) != 0) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(number).block(block).offset(offsetInBlock)
                        .build("i_extra_isize " + extra + " does not fit a " + b.length + "-byte inode");
            }
        }
        InodeRecord r = new InodeRecord(number, b, extra, sb.hasIncompat(Features.INCOMPAT_LARGEDIR));
        if (sb.hasMetadataCsum()) {
            long stored = Le.u16(b, CHECKSUM_LO) | (r.fits(CHECKSUM_HI, 2) ? (long) Le.u16(b, CHECKSUM_HI) << 16 : 0);
            long computed = r.computeChecksum(sb) & (r.fits(CHECKSUM_HI, 2) ? 0xFFFFFFFFL : 0xFFFFL);
            if (stored != computed && !r.isAllZero()) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(number).block(block).offset(offsetInBlock)
                        .checksum("inode", stored, computed);
            }
        }
        return r;
    }

    /** i_blocks as stored, lo and hi halves joined (units per the huge_file flag), of a raw inode. */
    public static long blocksRaw(byte[] raw) {
        return Le.u32(raw, 0x1C) | (long) Le.u16(raw, 0x74) << 32;
    }

    /** i_file_acl, lo and hi halves joined, of a raw inode. */
    public static long fileAcl(byte[] raw) {
        return Le.u32(raw, 0x68) | (long) Le.u16(raw, 0x76) << 32;
    }

    /**
     * Decodes without verifying the checksum: for writers, which are about to set it, and which may
     * hold an open inode's bytes whose checksum is not set yet.
     */
    public static InodeRecord decodeUnverified(Superblock sb, long number, byte[] b) throws CorruptionException {
        int extra = b.length > Superblock.GOOD_OLD_INODE_SIZE ? Le.u16(b, 0x80) : 0;
        if (extra > b.length - Superblock.GOOD_OLD_INODE_SIZE || (extra & 3) != 0) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(number).build("i_extra_isize " + extra + " does not fit");
        }
        return new InodeRecord(number, b, extra, sb.hasIncompat(Features.INCOMPAT_LARGEDIR));
    }

    private boolean isAllZero() {
        for (byte x : raw) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** The per-inode seed of extent, directory and xattr-in-inode checksums ({@code ei->i_csum_seed}). */
    public static int checksumSeed(Superblock sb, long number, long generation) {
        int crc = Crc32c.updateLe32(sb.checksumSeedValue(), number);
        return Crc32c.updateLe32(crc, generation);
    }

    public int checksumSeed(Superblock sb) {
        return checksumSeed(sb, number, generation);
    }

    /** {@code ext4_inode_csum}: the whole inode with both checksum halves taken as zero. */
    public int computeChecksum(Superblock sb) {
        int crc = checksumSeed(sb);
        crc = Crc32c.update(crc, raw, 0, CHECKSUM_LO);
        crc = Crc32c.updateZeros(crc, 2);
        crc = Crc32c.update(crc, raw, CHECKSUM_LO + 2, Superblock.GOOD_OLD_INODE_SIZE - CHECKSUM_LO - 2);
        if (raw.length > Superblock.GOOD_OLD_INODE_SIZE) {
            crc = Crc32c.update(crc, raw, Superblock.GOOD_OLD_INODE_SIZE, CHECKSUM_HI - Superblock.GOOD_OLD_INODE_SIZE);
            int next = CHECKSUM_HI;
            if (fits(CHECKSUM_HI, 2)) {
                crc = Crc32c.updateZeros(crc, 2);
                next += 2;
            }
            crc = Crc32c.update(crc, raw, next, raw.length - next);
        }
        return crc;
    }

    public int type() {
        return mode & S_IFMT;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    /** Whether i_mode names one of the seven file types (the kernel's iget refuses any other: "bogus i_mode"). */
    public boolean hasValidType() {
        int t = type();
        return t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFCHR || t == S_IFBLK || t == S_IFIFO || t == S_IFSOCK;
    }

    public boolean isRegular() {
        return type() == S_IFREG;
    }

    public boolean isSymlink() {
        return type() == S_IFLNK;
    }

    public boolean hasFlag(int f) {
        return (flags & f) != 0;
    }

    /** Space used, in 512-byte units: i_blocks is in file system blocks when huge_file marks the inode. */
    public long blocks512(Superblock sb) {
        if (sb.hasRoCompat(Features.RO_COMPAT_HUGE_FILE) && hasFlag(FL_HUGE_FILE)) {
            return blocksRaw * (sb.blockSize / 512);
        }
        return blocksRaw;
    }

    /** The 60 bytes of i_block: extent root, block map, inline data or fast symlink target. */
    public byte[] iBlock() {
        return Arrays.copyOfRange(raw, I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_SIZE);
    }

    /** The space after i_extra_isize where in-inode extended attributes live. */
    public byte[] inlineXattrArea() {
        int start = Superblock.GOOD_OLD_INODE_SIZE + extraIsize;
        if (raw.length <= Superblock.GOOD_OLD_INODE_SIZE || start >= raw.length) {
            return new byte[0];
        }
        return Arrays.copyOfRange(raw, start, raw.length);
    }

    /** Raw on-disk bytes (a copy). */
    public byte[] raw() {
        return raw.clone();
    }

    /** An inode time: seconds since the epoch (34 bits with the extra epoch bits) and nanoseconds. */
    public record Timestamp(long seconds, int nanos) {
        static Timestamp of(long base32, long extra) {
            long seconds = (int) base32; // the base field is signed
            seconds += (extra & 3) << 32;
            return new Timestamp(seconds, (int) (extra >>> 2));
        }
    }
}
