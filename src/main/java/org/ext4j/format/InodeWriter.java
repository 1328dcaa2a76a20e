package org.ext4j.format;

/**
 * The write side of {@link InodeRecord}: setters of on-disk inode fields at their absolute offsets on
 * a raw inode's bytes, splitting lo/hi halves here and only here, and {@link #setChecksum}, the
 * counterpart of {@code ext4_do_update_inode} + {@code ext4_inode_csum_set}. Fields past the 128-byte
 * base are written only when {@code i_extra_isize} covers them.
 */
public final class InodeWriter {
    private final Superblock sb;
    private final long number;
    private final byte[] raw;

    public InodeWriter(Superblock sb, long number, byte[] raw) {
        this.sb = sb;
        this.number = number;
        this.raw = raw;
    }

    public byte[] raw() {
        return raw;
    }

    private int extraIsize() {
        return raw.length > Superblock.GOOD_OLD_INODE_SIZE ? Le.u16(raw, 0x80) : 0;
    }

    private boolean fits(int off, int len) {
        return raw.length > Superblock.GOOD_OLD_INODE_SIZE && off + len <= Superblock.GOOD_OLD_INODE_SIZE + extraIsize();
    }

    public InodeWriter mode(int mode) {
        Le.put16(raw, 0x0, mode);
        return this;
    }

    public InodeWriter uid(long uid) {
        Le.put16(raw, 0x2, (int) uid);
        Le.put16(raw, 0x78, (int) (uid >>> 16));
        return this;
    }

    public InodeWriter gid(long gid) {
        Le.put16(raw, 0x18, (int) gid);
        Le.put16(raw, 0x7A, (int) (gid >>> 16));
        return this;
    }

    public InodeWriter size(long size) {
        Le.put32(raw, 0x4, size);
        Le.put32(raw, 0x6C, size >>> 32);
        return this;
    }

    public InodeWriter linksCount(int links) {
        Le.put16(raw, 0x1A, links);
        return this;
    }

    /** i_blocks in 512-byte units (huge_file's fs-block units are not written by ext4j). */
    public InodeWriter blocks512(long blocks) {
        if (blocks >= 1L << 48) {
            throw new IllegalArgumentException("i_blocks " + blocks + " needs huge_file block units");
        }
        Le.put32(raw, 0x1C, blocks);
        Le.put16(raw, 0x74, (int) (blocks >>> 32));
        Le.put32(raw, 0x20, Le.u32(raw, 0x20) & ~InodeRecord.FL_HUGE_FILE);
        return this;
    }

    public InodeWriter flags(long flags) {
        Le.put32(raw, 0x20, flags);
        return this;
    }

    public InodeWriter generation(long gen) {
        Le.put32(raw, 0x64, gen);
        return this;
    }

    public InodeWriter fileAcl(long block) {
        Le.put32(raw, 0x68, block);
        Le.put16(raw, 0x76, (int) (block >>> 32));
        return this;
    }

    /** i_version: the low half in osd1 ({@code l_i_version}), the high half where i_extra_isize covers it. */
    public InodeWriter version(long v) {
        Le.put32(raw, 0x24, v & 0xFFFFFFFFL);
        if (fits(0x98, 4)) {
            Le.put32(raw, 0x98, v >>> 32);
        }
        return this;
    }

    public InodeWriter dtime(long t) {
        Le.put32(raw, 0x14, t);
        return this;
    }

    /** The 60 bytes of i_block. */
    public InodeWriter iBlock(byte[] b) {
        System.arraycopy(b, 0, raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_SIZE);
        return this;
    }

    public InodeWriter extraIsize(int v) {
        if (raw.length > Superblock.GOOD_OLD_INODE_SIZE) {
            Le.put16(raw, 0x80, v);
        }
        return this;
    }

    public InodeWriter atime(long seconds, int nanos) {
        return time(0x8, 0x8C, seconds, nanos);
    }

    public InodeWriter ctime(long seconds, int nanos) {
        return time(0xC, 0x84, seconds, nanos);
    }

    public InodeWriter mtime(long seconds, int nanos) {
        return time(0x10, 0x88, seconds, nanos);
    }

    public InodeWriter crtime(long seconds, int nanos) {
        if (fits(0x90, 4)) {
            Le.put32(raw, 0x90, seconds);
            if (fits(0x94, 4)) {
                Le.put32(raw, 0x94, extra(seconds, nanos));
            }
        }
        return this;
    }

    private InodeWriter time(int base, int extraOff, long seconds, int nanos) {
        Le.put32(raw, base, seconds);
        if (fits(extraOff, 4)) {
            Le.put32(raw, extraOff, extra(seconds, nanos));
        }
        return this;
    }

    /** {@code ext4_encode_extra_time}: epoch bits ((seconds - signed 32-bit base) >> 32) and nanoseconds. */
    static long extra(long seconds, int nanos) {
        long epoch = ((seconds - (int) seconds) >> 32) & 3;
        return ((long) nanos << 2) | epoch;
    }

    /** Sets i_checksum_lo (and _hi when it fits) when the file system has metadata_csum. */
    public InodeWriter setChecksum() {
        if (!sb.hasMetadataCsum()) {
            return this;
        }
        InodeRecord rec;
        try {
            rec = InodeRecord.decodeUnverified(sb, number, raw);
        } catch (org.ext4j.error.CorruptionException e) {
            throw new IllegalStateException("inode " + number + " being written is malformed: " + e.getMessage(), e);
        }
        int crc = rec.computeChecksum(sb);
        Le.put16(raw, 0x7C, crc & 0xFFFF);
        if (fits(0x82, 2)) {
            Le.put16(raw, 0x82, crc >>> 16);
        }
        return this;
    }

    /**
     * The device number in i_block as {@code ext4_do_update_inode} stores it: the old 16-bit form in
     * i_block[0] when major and minor fit a byte each, else the new form in i_block[1].
     */
    public static byte[] deviceBlock(int major, int minor) {
        byte[] b = new byte[InodeRecord.I_BLOCK_SIZE];
        if (major < 256 && minor < 256) {
            Le.put32(b, 0, (major << 8) | minor);
        } else {
            Le.put32(b, 4, (minor & 0xFF) | (major << 8) | ((long) (minor & ~0xFF) << 12));
        }
        return b;
    }
}
