package org.ext4j.format;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * The ext4 superblock ({@code struct ext4_super_block}), decoded from its 1024 bytes at absolute
 * offsets, validated, and held immutable. Split lo/hi fields are joined here and only here.
 * Geometry the rest of the code needs (block size, group counts, descriptor size) is derived once.
 */
public final class Superblock {
    public static final int SIZE = 1024;
    /** Byte offset of the primary superblock on the device. */
    public static final int OFFSET = 1024;
    public static final int MAGIC = 0xEF53;
    public static final int STATE_VALID = 0x1;
    public static final int STATE_ERROR = 0x2;
    public static final int STATE_ORPHAN = 0x4;
    public static final int FLAGS_SIGNED_HASH = 0x1;
    public static final int FLAGS_UNSIGNED_HASH = 0x2;
    public static final int GOOD_OLD_INODE_SIZE = 128;
    public static final int GOOD_OLD_FIRST_INO = 11;
    public static final int CHECKSUM_OFFSET = 0x3FC;

    private final byte[] raw;

    public final long inodesCount;
    public final long blocksCount;
    public final long reservedBlocksCount;
    public final long freeBlocksCount;
    public final long freeInodesCount;
    public final long firstDataBlock;
    public final int logBlockSize;
    public final int logClusterSize;
    public final long blocksPerGroup;
    public final long clustersPerGroup;
    public final long inodesPerGroup;
    public final long mtime;
    public final long wtime;
    public final int mntCount;
    public final int maxMntCount;
    public final int magic;
    public final int state;
    public final int errors;
    public final int minorRevLevel;
    public final long lastCheck;
    public final long checkInterval;
    public final long creatorOs;
    public final long revLevel;
    public final int defResuid;
    public final int defResgid;
    public final long firstIno;
    public final int inodeSize;
    public final int blockGroupNr;
    public final long featureCompat;
    public final long featureIncompat;
    public final long featureRoCompat;
    public final byte[] uuid;
    public final String volumeName;
    public final String lastMounted;
    public final int reservedGdtBlocks;
    public final byte[] journalUuid;
    public final long journalInum;
    public final long journalDev;
    public final long lastOrphan;
    public final int[] hashSeed;
    public final int defHashVersion;
    public final int jnlBackupType;
    public final int descSize;
    public final long defaultMountOpts;
    public final long firstMetaBg;
    public final long mkfsTime;
    public final int minExtraIsize;
    public final int wantExtraIsize;
    public final long flags;
    public final int raidStride;
    public final int mmpInterval;
    public final long mmpBlock;
    public final long raidStripeWidth;
    public final int logGroupsPerFlex;
    public final int checksumType;
    public final long kbytesWritten;
    public final long errorCount;
    public final long firstErrorTime;
    public final long firstErrorIno;
    public final long firstErrorBlock;
    public final String firstErrorFunc;
    public final long firstErrorLine;
    public final int firstErrorCode;
    public final long lastErrorTime;
    public final long lastErrorIno;
    public final long lastErrorBlock;
    public final String lastErrorFunc;
    public final long lastErrorLine;
    public final int lastErrorCode;
    public final String mountOpts;
    public final long usrQuotaInum;
    public final long grpQuotaInum;
    public final long overheadClusters;
    public final long lpfIno;
    public final long prjQuotaInum;
    public final long checksumSeed;
    public final int encoding;
    public final long orphanFileInum;
    public final long checksum;

    // derived geometry
    public final int blockSize;
    public final long groupCount;
    public final int descriptorSize;
    public final int descriptorsPerBlock;

    private Superblock(byte[] b) {
        this.raw = b.clone();
        inodesCount = Le.u32(b, 0x0);
        blocksCount = Le.join(Le.u32(b, 0x4), has64(b) ? Le.u32(b, 0x150) : 0);
        reservedBlocksCount = Le.join(Le.u32(b, 0x8), has64(b) ? Le.u32(b, 0x154) : 0);
        freeBlocksCount = Le.join(Le.u32(b, 0xC), has64(b) ? Le.u32(b, 0x158) : 0);
        freeInodesCount = Le.u32(b, 0x10);
        firstDataBlock = Le.u32(b, 0x14);
        logBlockSize = (int) Math.min(Le.u32(b, 0x18), Integer.MAX_VALUE);
        logClusterSize = (int) Math.min(Le.u32(b, 0x1C), Integer.MAX_VALUE);
        blocksPerGroup = Le.u32(b, 0x20);
        clustersPerGroup = Le.u32(b, 0x24);
        inodesPerGroup = Le.u32(b, 0x28);
        mtime = Le.u32(b, 0x2C) | ((long) Le.u8(b, 0x275) << 32);
        wtime = Le.u32(b, 0x30) | ((long) Le.u8(b, 0x274) << 32);
        mntCount = Le.u16(b, 0x34);
        maxMntCount = (short) Le.u16(b, 0x36);
        magic = Le.u16(b, 0x38);
        state = Le.u16(b, 0x3A);
        errors = Le.u16(b, 0x3C);
        minorRevLevel = Le.u16(b, 0x3E);
        lastCheck = Le.u32(b, 0x40) | ((long) Le.u8(b, 0x277) << 32);
        checkInterval = Le.u32(b, 0x44);
        creatorOs = Le.u32(b, 0x48);
        revLevel = Le.u32(b, 0x4C);
        defResuid = Le.u16(b, 0x50);
        defResgid = Le.u16(b, 0x52);
        firstIno = revLevel == 0 ? GOOD_OLD_FIRST_INO : Le.u32(b, 0x54);
        inodeSize = revLevel == 0 ? GOOD_OLD_INODE_SIZE : Le.u16(b, 0x58);
        blockGroupNr = Le.u16(b, 0x5A);
        featureCompat = revLevel == 0 ? 0 : Le.u32(b, 0x5C);
        featureIncompat = revLevel == 0 ? 0 : Le.u32(b, 0x60);
        featureRoCompat = revLevel == 0 ? 0 : Le.u32(b, 0x64);
        uuid = Arrays.copyOfRange(b, 0x68, 0x78);
        volumeName = cString(b, 0x78, 16);
        lastMounted = cString(b, 0x88, 64);
        reservedGdtBlocks = Le.u16(b, 0xCE);
        journalUuid = Arrays.copyOfRange(b, 0xD0, 0xE0);
        journalInum = Le.u32(b, 0xE0);
        journalDev = Le.u32(b, 0xE4);
        lastOrphan = Le.u32(b, 0xE8);
        hashSeed = new int[] {Le.i32(b, 0xEC), Le.i32(b, 0xF0), Le.i32(b, 0xF4), Le.i32(b, 0xF8)};
        defHashVersion = Le.u8(b, 0xFC);
        jnlBackupType = Le.u8(b, 0xFD);
        descSize = Le.u16(b, 0xFE);
        defaultMountOpts = Le.u32(b, 0x100);
        firstMetaBg = Le.u32(b, 0x104);
        mkfsTime = Le.u32(b, 0x108) | ((long) Le.u8(b, 0x276) << 32);
        minExtraIsize = Le.u16(b, 0x15C);
        wantExtraIsize = Le.u16(b, 0x15E);
        flags = Le.u32(b, 0x160);
        raidStride = Le.u16(b, 0x164);
        mmpInterval = Le.u16(b, 0x166);
        mmpBlock = Le.u64(b, 0x168);
        raidStripeWidth = Le.u32(b, 0x170);
        logGroupsPerFlex = Le.u8(b, 0x174);
        checksumType = Le.u8(b, 0x175);
        kbytesWritten = Le.u64(b, 0x178);
        errorCount = Le.u32(b, 0x194);
        firstErrorTime = Le.u32(b, 0x198) | ((long) Le.u8(b, 0x278) << 32);
        firstErrorIno = Le.u32(b, 0x19C);
        firstErrorBlock = Le.u64(b, 0x1A0);
        firstErrorFunc = cString(b, 0x1A8, 32);
        firstErrorLine = Le.u32(b, 0x1C8);
        firstErrorCode = Le.u8(b, 0x27A);
        lastErrorTime = Le.u32(b, 0x1CC) | ((long) Le.u8(b, 0x279) << 32);
        lastErrorIno = Le.u32(b, 0x1D0);
        lastErrorBlock = Le.u64(b, 0x1D8);
        lastErrorFunc = cString(b, 0x1E0, 32);
        lastErrorLine = Le.u32(b, 0x1D4);
        lastErrorCode = Le.u8(b, 0x27B);
        mountOpts = cString(b, 0x200, 64);
        usrQuotaInum = Le.u32(b, 0x240);
        grpQuotaInum = Le.u32(b, 0x244);
        overheadClusters = Le.u32(b, 0x248);
        lpfIno = Le.u32(b, 0x268);
        prjQuotaInum = Le.u32(b, 0x26C);
        checksumSeed = Le.u32(b, 0x270);
        encoding = Le.u16(b, 0x27C);
        orphanFileInum = Le.u32(b, 0x280);
        checksum = Le.u32(b, CHECKSUM_OFFSET);

        blockSize = logBlockSize <= 6 ? 1024 << logBlockSize : 0;
        descriptorSize = hasIncompat(Features.INCOMPAT_64BIT) ? descSize : 32;
        descriptorsPerBlock = descriptorSize > 0 && blockSize > 0 ? blockSize / descriptorSize : 0;
        groupCount = blocksPerGroup == 0 || blocksCount <= firstDataBlock ? 0
                : (blocksCount - firstDataBlock + blocksPerGroup - 1) / blocksPerGroup;
    }

    private static boolean has64(byte[] b) {
        return (Le.u32(b, 0x60) & Features.INCOMPAT_64BIT) != 0 && Le.u32(b, 0x4C) >= 1;
    }

    private static String cString(byte[] b, int off, int max) {
        int n = 0;
        while (n < max && b[off + n] != 0) {
            n++;
        }
        return new String(b, off, n, StandardCharsets.ISO_8859_1);
    }

    /**
     * Decodes and validates a superblock. Checks the geometry every later computation relies on, so
     * that no division, shift or array size derived from it can misbehave on a hostile image.
     */
    public static Superblock decode(byte[] b) throws CorruptionException {
        if (b.length < SIZE) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).offset(OFFSET).build("superblock is cut short");
        }
        Superblock s = new Superblock(b);
        if (s.magic != MAGIC) {
            throw CorruptionException.of(Kind.BAD_MAGIC).offset(OFFSET + 0x38)
                    .build(String.format("s_magic is 0x%04x, not 0x%04x", s.magic, MAGIC));
        }
        s.validate();
        return s;
    }

    private CorruptionException bad(int off, String what) {
        return CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(OFFSET + off).build(what);
    }

    private void validate() throws CorruptionException {
        if (logBlockSize > 6) {
            throw bad(0x18, "s_log_block_size " + logBlockSize + " gives a block size over 64 KiB");
        }
        if (hasRoCompat(Features.RO_COMPAT_BIGALLOC)
                && (logClusterSize < logBlockSize || logClusterSize > logBlockSize + 16)) {
            throw bad(0x1C, "s_log_cluster_size " + logClusterSize + " is out of range");
        }
        if (hasRoCompat(Features.RO_COMPAT_BIGALLOC)) {
            // bitmaps count clusters: the per-group limit is on clusters, blocks follow from the ratio
            if (clustersPerGroup == 0 || clustersPerGroup > 8L * blockSize) {
                throw bad(0x24, "s_clusters_per_group " + clustersPerGroup + " is out of range (1.." + 8L * blockSize + ")");
            }
            if (blocksPerGroup != clustersPerGroup << (logClusterSize - logBlockSize)) {
                throw bad(0x20, "s_blocks_per_group " + blocksPerGroup + " is not s_clusters_per_group "
                        + clustersPerGroup + " times the cluster ratio");
            }
        } else if (blocksPerGroup == 0 || blocksPerGroup > 8L * blockSize) {
            throw bad(0x20, "s_blocks_per_group " + blocksPerGroup + " is out of range (1.." + 8L * blockSize + ")");
        }
        if (inodesPerGroup == 0 || inodesPerGroup > 8L * blockSize) {
            throw bad(0x28, "s_inodes_per_group " + inodesPerGroup + " is out of range (1.." + 8L * blockSize + ")");
        }
        if (revLevel > 1) {
            throw bad(0x4C, "s_rev_level " + revLevel + " is unknown");
        }
        if (inodeSize < GOOD_OLD_INODE_SIZE || inodeSize > blockSize || Integer.bitCount(inodeSize) != 1) {
            throw bad(0x58, "s_inode_size " + inodeSize + " is not a power of two between 128 and the block size");
        }
        if (firstDataBlock > 1) {
            throw bad(0x14, "s_first_data_block " + firstDataBlock + " is invalid");
        }
        if (blocksCount <= firstDataBlock) {
            throw bad(0x4, "s_blocks_count " + blocksCount + " leaves no room for a group");
        }
        if (hasIncompat(Features.INCOMPAT_64BIT) && (descSize < 64 || descSize > 1024 || Integer.bitCount(descSize) != 1)) {
            throw bad(0xFE, "s_desc_size " + descSize + " is not a power of two between 64 and 1024 (64bit)");
        }
        if (inodesCount != groupCount * inodesPerGroup) {
            // ext4_check_geometry: "inodes count not valid"
            throw bad(0x0, "s_inodes_count " + inodesCount + " is not groups * inodes per group ("
                    + groupCount * inodesPerGroup + ")");
        }
        if (firstIno < GOOD_OLD_FIRST_INO || firstIno > inodesCount) {
            throw bad(0x54, "s_first_ino " + firstIno + " is out of range");
        }
        if (hasIncompat(Features.INCOMPAT_META_BG) && firstMetaBg > (groupCount + descriptorsPerBlock - 1) / descriptorsPerBlock) {
            throw bad(0x104, "s_first_meta_bg " + firstMetaBg + " is past the last descriptor block");
        }
    }

    public boolean hasCompat(int f) {
        return (featureCompat & f) != 0;
    }

    public boolean hasIncompat(int f) {
        return (featureIncompat & f) != 0;
    }

    public boolean hasRoCompat(int f) {
        return (featureRoCompat & f) != 0;
    }

    public boolean hasMetadataCsum() {
        return hasRoCompat(Features.RO_COMPAT_METADATA_CSUM);
    }

    public boolean hasGdtCsum() {
        return hasRoCompat(Features.RO_COMPAT_GDT_CSUM);
    }

    public boolean is64bit() {
        return hasIncompat(Features.INCOMPAT_64BIT);
    }

    public UUID uuidValue() {
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (uuid[i] & 0xFF);
            lo = (lo << 8) | (uuid[8 + i] & 0xFF);
        }
        return new UUID(hi, lo);
    }

    /** Sets s_checksum of raw superblock bytes when metadata_csum is on ({@code ext4_superblock_csum_set}). */
    public static void setChecksum(byte[] raw) {
        if ((Le.u32(raw, 0x64) & Features.RO_COMPAT_METADATA_CSUM) != 0) {
            Le.put32(raw, CHECKSUM_OFFSET, Crc32c.update(~0, raw, 0, CHECKSUM_OFFSET) & 0xFFFFFFFFL);
        }
    }

    /** {@code EXT4_ERR_*}: the error codes of s_first/last_error_errcode, errno made architecture independent (ext4.h). */
    public static final int ERR_UNKNOWN = 1;
    public static final int ERR_EIO = 2;
    public static final int ERR_EFSBADCRC = 4;
    public static final int ERR_EFSCORRUPTED = 5;

    /**
     * Records an error in raw superblock bytes as the kernel's {@code save_error_info} and
     * {@code ext4_update_super} do: EXT4_ERROR_FS in s_state, s_error_count one higher, the first
     * error (time, inode, block, function, line, code) kept once set, the last one always replaced.
     * {@code ino} and {@code block} are 0 when unknown; the function name is cut to its 32 bytes. The
     * caller sets the checksum ({@link #setChecksum}).
     */
    public static void recordError(byte[] raw, long time, long ino, long block, String function, int line, int errcode) {
        Le.put16(raw, 0x3A, Le.u16(raw, 0x3A) | STATE_ERROR);
        Le.put32(raw, 0x194, Math.min(0xFFFFFFFFL, Le.u32(raw, 0x194) + 1)); // s_error_count
        byte[] func = java.util.Arrays.copyOf(function.getBytes(java.nio.charset.StandardCharsets.US_ASCII), 32);
        boolean first = Le.u32(raw, 0x198) == 0 && raw[0x278] == 0; // s_first_error_time unset
        if (first) {
            putErrorTime(raw, 0x198, 0x278, time);
            Le.put32(raw, 0x19C, ino);
            Le.put64(raw, 0x1A0, block);
            System.arraycopy(func, 0, raw, 0x1A8, 32);
            Le.put32(raw, 0x1C8, line);
            raw[0x27A] = (byte) errcode;
        }
        putErrorTime(raw, 0x1CC, 0x279, time);
        Le.put32(raw, 0x1D0, ino);
        Le.put32(raw, 0x1D4, line);
        Le.put64(raw, 0x1D8, block);
        System.arraycopy(func, 0, raw, 0x1E0, 32);
        raw[0x27B] = (byte) errcode;
    }

    private static void putErrorTime(byte[] raw, int lo, int hi, long t) {
        Le.put32(raw, lo, t & 0xFFFFFFFFL);
        raw[hi] = (byte) (t >>> 32);
    }

    /** Checksum over the superblock as stored: crc32c(~0, bytes before s_checksum). */
    public int computeChecksum() {
        return Crc32c.update(~0, raw, 0, CHECKSUM_OFFSET);
    }

    /** The seed every other metadata checksum starts from ({@code sbi->s_csum_seed}). */
    public int checksumSeedValue() {
        if (hasIncompat(Features.INCOMPAT_CSUM_SEED)) {
            return (int) checksumSeed;
        }
        return Crc32c.update(~0, uuid, 0, 16);
    }

    /** First block of group {@code g}. */
    public long groupFirstBlock(long g) {
        return firstDataBlock + g * blocksPerGroup;
    }

    /** Number of blocks in group {@code g}: the last group may be short. */
    public long blocksInGroup(long g) {
        if (g == groupCount - 1) {
            return blocksCount - groupFirstBlock(g);
        }
        return blocksPerGroup;
    }

    /** Whether group {@code g} holds a superblock backup (sparse_super: 0, 1 and powers of 3, 5, 7). */
    public boolean groupHasSuper(long g) {
        if (g == 0) {
            return true;
        }
        if (hasCompat(Features.COMPAT_SPARSE_SUPER2)) {
            return g == Le.u32(raw, 0x24C) || g == Le.u32(raw, 0x250);
        }
        if (g == 1 || !hasRoCompat(Features.RO_COMPAT_SPARSE_SUPER)) {
            return true;
        }
        return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
    }

    private static boolean isPowerOf(long g, int base) {
        long n = base;
        while (n < g) {
            n *= base;
        }
        return n == g;
    }

    /** The 1024 bytes as decoded (a copy). */
    public byte[] raw() {
        return raw.clone();
    }

    /** The two backup-group fields of sparse_super2. */
    public long[] backupBgs() {
        return new long[] {Le.u32(raw, 0x24C), Le.u32(raw, 0x250)};
    }
}
