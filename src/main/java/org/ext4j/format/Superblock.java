package org.ext4j.format;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.UnsupportedFeatureException;

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
    public final int encryptionLevel;
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
        // read whatever the revision: old kernels set features without raising s_rev_level, and the
        // kernel (ext4_check_feature_compatibility) honours them on revision 0 too
        featureCompat = Le.u32(b, 0x5C);
        featureIncompat = Le.u32(b, 0x60);
        featureRoCompat = Le.u32(b, 0x64);
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
        encryptionLevel = Le.u8(b, 0x176);
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
        return (Le.u32(b, 0x60) & Features.INCOMPAT_64BIT) != 0;
    }

    private static String cString(byte[] b, int off, int max) {
        int n = 0;
        while (n < max && b[off + n] != 0) {
            n++;
        }
        return new String(b, off, n, StandardCharsets.ISO_8859_1);
    }

    /** {@code EXT4_OS_HURD}: the Hurd lays out some inode fields differently. */
    public static final int OS_HURD = 1;
    /** {@code DX_HASH_LAST}: the highest hash version; it ({@code DX_HASH_SIPHASH}) is no valid default. */
    public static final int DX_HASH_LAST = 6;

    /**
     * Decodes and validates a superblock completely: {@link #load} then {@link #checkGeometry(long)} without a device.
     * For bytes that are not about to be opened as a volume (tests, the write path's own copy).
     */
    public static Superblock decode(byte[] b) throws CorruptionException {
        Superblock s = load(b);
        s.checkGeometry(-1);
        return s;
    }

    /**
     * Decodes a superblock and makes the checks the kernel makes before it looks at the feature
     * flags ({@code ext4_load_super}, {@code ext4_init_metadata_csum}, {@code ext4_inode_info_init},
     * the Hurd part of {@code ext4_check_feature_compatibility}): magic, block and cluster size
     * limits, checksum type and checksum, inode size and first inode, extra inode sizes. The
     * geometry follows in {@link #checkGeometry(long)}, after the caller has refused unknown
     * incompatible features, as {@code __ext4_fill_super} does. Each refusal names the kernel
     * function whose rule it is and the values that broke it; the table of every rule is in
     * {@code org.ext4j.volume.Volume}.
     */
    public static Superblock load(byte[] b) throws CorruptionException {
        if (b.length < SIZE) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).offset(OFFSET).build("superblock is cut short");
        }
        Superblock s = new Superblock(b);
        s.checkLoad();
        return s;
    }

    private static CorruptionException bad(int off, String rule, String what) {
        return CorruptionException.of(Kind.BAD_SUPERBLOCK).offset(OFFSET + off).build(rule + ": " + what);
    }

    private void checkLoad() throws CorruptionException {
        if (magic != MAGIC) {
            throw CorruptionException.of(Kind.BAD_MAGIC).offset(OFFSET + 0x38)
                    .build(String.format("s_magic is 0x%04x, not 0x%04x", magic, MAGIC));
        }
        String rule = "ext4_load_super";
        if (logBlockSize > 6) {
            throw bad(0x18, rule, "s_log_block_size " + Le.u32(raw, 0x18) + " is over 6 (blocks over 64 KiB)");
        }
        if (logClusterSize > 20) {
            throw bad(0x1C, rule, "s_log_cluster_size " + Le.u32(raw, 0x1C) + " is over 20 (clusters over 1 GiB)");
        }
        rule = "ext4_init_metadata_csum";
        if (hasMetadataCsum()) {
            if (checksumType != 1) {
                throw bad(0x175, rule, "s_checksum_type " + checksumType + " is not crc32c (1)");
            }
            long computed = computeChecksum() & 0xFFFFFFFFL;
            if (computed != checksum) {
                throw CorruptionException.of(Kind.CHECKSUM).block(OFFSET / blockSize)
                        .offset(OFFSET + CHECKSUM_OFFSET).checksum("superblock", checksum, computed);
            }
        }
        rule = "ext4_inode_info_init";
        if (revLevel != 0) {
            if (firstIno < GOOD_OLD_FIRST_INO) {
                throw bad(0x54, rule, "s_first_ino " + firstIno + " is below " + GOOD_OLD_FIRST_INO);
            }
            if (inodeSize < GOOD_OLD_INODE_SIZE || inodeSize > blockSize || Integer.bitCount(inodeSize) != 1) {
                throw bad(0x58, rule, "s_inode_size " + inodeSize + " is not a power of two from 128 to the block size "
                        + blockSize);
            }
        }
        if (inodeSize > GOOD_OLD_INODE_SIZE && hasRoCompat(Features.RO_COMPAT_EXTRA_ISIZE)) {
            int room = inodeSize - GOOD_OLD_INODE_SIZE;
            if (wantExtraIsize > room) {
                throw bad(0x15E, rule, "s_want_extra_isize " + wantExtraIsize + " is over the " + room
                        + " bytes an inode of " + inodeSize + " has past 128");
            }
            if (minExtraIsize > room) {
                throw bad(0x15C, rule, "s_min_extra_isize " + minExtraIsize + " is over the " + room
                        + " bytes an inode of " + inodeSize + " has past 128");
            }
        }
        rule = "ext4_check_feature_compatibility";
        if (creatorOs == OS_HURD && hasIncompat(Features.INCOMPAT_64BIT)) {
            throw bad(0x48, rule, "s_creator_os 1 (Hurd) with the 64bit feature");
        }
        if (creatorOs == OS_HURD && hasIncompat(Features.INCOMPAT_EA_INODE)) {
            throw bad(0x48, rule, "s_creator_os 1 (Hurd) with the ea_inode feature");
        }
    }

    /**
     * The geometry checks of {@code __ext4_fill_super} after the feature check, in its order
     * ({@code ext4_block_group_meta_init}, {@code ext4_hash_info_init},
     * {@code ext4_handle_clustersize}, {@code ext4_check_geometry}, {@code ext4_group_desc_init},
     * {@code ext4_mb_init}): everything later computations divide by, shift by or size arrays
     * with is sane once this returns.
     *
     * @param deviceBlocks blocks the device holds, or -1 where there is no device to check against
     */
    public void checkGeometry(long deviceBlocks) throws CorruptionException {
        String rule = "ext4_block_group_meta_init";
        if (is64bit() && (descSize < 64 || descSize > 1024 || Integer.bitCount(descSize) != 1)) {
            throw bad(0xFE, rule, "s_desc_size " + descSize + " is not a power of two from 64 to 1024 (64bit)");
        }
        if (blocksPerGroup == 0) {
            throw bad(0x20, rule, "s_blocks_per_group is 0");
        }
        long inodesPerBlock = blockSize / inodeSize;
        if (inodesPerGroup < inodesPerBlock || inodesPerGroup > 8L * blockSize) {
            // the 6.12 kernel also wants a multiple of 8; the kernels this project is checked against do not
            throw bad(0x28, rule, "s_inodes_per_group " + inodesPerGroup + " is out of range (" + inodesPerBlock
                    + ".." + 8L * blockSize + ")");
        }
        rule = "ext4_hash_info_init";
        if (defHashVersion > DX_HASH_LAST) {
            throw bad(0xFC, rule, "s_def_hash_version " + defHashVersion + " is unknown (the last is " + DX_HASH_LAST + ")");
        }
        if (defHashVersion == DX_HASH_LAST) {
            throw bad(0xFC, rule, "s_def_hash_version 6 (siphash) is not a valid default hash");
        }
        rule = "ext4_handle_clustersize";
        boolean bigalloc = hasRoCompat(Features.RO_COMPAT_BIGALLOC);
        if (bigalloc && logClusterSize < logBlockSize) {
            throw bad(0x1C, rule, "s_log_cluster_size " + logClusterSize + " makes clusters smaller than blocks"
                    + " (s_log_block_size " + logBlockSize + ") with bigalloc");
        }
        if (!bigalloc && logClusterSize != logBlockSize) {
            throw bad(0x1C, rule, "s_log_cluster_size " + logClusterSize + " differs from s_log_block_size "
                    + logBlockSize + " without bigalloc");
        }
        if (!bigalloc && blocksPerGroup > 8L * blockSize) {
            throw bad(0x20, rule, "s_blocks_per_group " + blocksPerGroup + " is over 8 * block size (" + 8L * blockSize + ")");
        }
        if (clustersPerGroup > 8L * blockSize) {
            throw bad(0x24, rule, "s_clusters_per_group " + clustersPerGroup + " is over 8 * block size ("
                    + 8L * blockSize + ")");
        }
        long ratio = 1L << (logClusterSize - logBlockSize);
        if (blocksPerGroup != clustersPerGroup * ratio) {
            if (!bigalloc) {
                throw bad(0x24, rule, "s_clusters_per_group " + clustersPerGroup + " differs from s_blocks_per_group "
                        + blocksPerGroup + " without bigalloc");
            }
            throw bad(0x20, rule, "s_blocks_per_group " + blocksPerGroup + " is not s_clusters_per_group "
                    + clustersPerGroup + " times the cluster ratio " + ratio);
        }
        rule = "ext4_check_geometry";
        if (reservedGdtBlocks > blockSize / 4) {
            throw bad(0xCE, rule, "s_reserved_gdt_blocks " + reservedGdtBlocks + " is over block size / 4 ("
                    + blockSize / 4 + ")");
        }
        if (deviceBlocks >= 0 && blocksCount > deviceBlocks) {
            throw CorruptionException.of(Kind.TRUNCATED_IMAGE).offset(OFFSET + 0x4).build(rule + ": s_blocks_count "
                    + blocksCount + " exceeds the device's " + deviceBlocks + " blocks");
        }
        if (firstDataBlock >= blocksCount) {
            throw bad(0x14, rule, "s_first_data_block " + firstDataBlock + " is not below s_blocks_count " + blocksCount);
        }
        if (firstDataBlock == 0 && blockSize == 1024 && ratio == 1) {
            throw bad(0x14, rule, "s_first_data_block is 0 with 1 KiB blocks and clusters");
        }
        if (firstDataBlock > 1 || (firstDataBlock == 1 && blockSize != 1024)) {
            // not a rule of ext4_check_geometry: the kernel then finds group 0's superblock and descriptor
            // blocks (counted from s_first_data_block) overlapping its bitmaps in ext4_setup_system_zone
            throw bad(0x14, "ext4_setup_system_zone", "s_first_data_block " + firstDataBlock + " with "
                    + blockSize + "-byte blocks: group 0 must start at the superblock's block ("
                    + (blockSize == 1024 ? 1 : 0) + ")");
        }
        if (groupCount > (1L << 32) - descriptorsPerBlock) {
            throw bad(0x4, rule, "s_blocks_count " + blocksCount + " makes " + groupCount
                    + " groups, more than 2^32 - " + descriptorsPerBlock);
        }
        if (inodesCount != groupCount * inodesPerGroup) {
            throw bad(0x0, rule, "s_inodes_count " + inodesCount + " is not " + groupCount + " groups * s_inodes_per_group "
                    + inodesPerGroup + " (" + groupCount * inodesPerGroup + ")");
        }
        rule = "ext4_group_desc_init";
        long descriptorBlocks = (groupCount + descriptorsPerBlock - 1) / descriptorsPerBlock;
        if (hasIncompat(Features.INCOMPAT_META_BG) && firstMetaBg > descriptorBlocks) {
            throw bad(0x104, rule, "s_first_meta_bg " + firstMetaBg + " is past the " + descriptorBlocks
                    + " descriptor blocks");
        }
        rule = "ext4_mb_init";
        if (hasIncompat(Features.INCOMPAT_FLEX_BG) && logGroupsPerFlex >= 32) {
            throw bad(0x174, rule, "s_log_groups_per_flex " + logGroupsPerFlex + " is 32 or more with flex_bg");
        }
    }

    /**
     * The rules the kernel applies only to a read-write mount: a read-only mount of such a file
     * system succeeds (the kernel then refuses to write). Called before a write session starts.
     *
     * @throws CorruptionException for a geometry the kernel refuses to write ({@code ext4_feature_set_ok})
     * @throws UnsupportedFeatureException for a revision the kernel only mounts read-only ({@code ext4_setup_super})
     */
    public void checkWritable() throws CorruptionException, UnsupportedFeatureException {
        if (revLevel > 1) {
            throw new UnsupportedFeatureException("s_rev_level " + revLevel,
                    "revision level too high: the kernel mounts this file system read-only (ext4_setup_super)");
        }
        String rule = "ext4_feature_set_ok";
        if (hasRoCompat(Features.RO_COMPAT_BIGALLOC) && !hasIncompat(Features.INCOMPAT_EXTENTS)) {
            throw bad(0x64, rule, "bigalloc without the extent feature cannot be written");
        }
        if (hasRoCompat(Features.RO_COMPAT_BIGALLOC) && firstDataBlock != 0) {
            throw bad(0x14, rule, "s_first_data_block " + firstDataBlock + " with bigalloc cannot be written");
        }
    }

    /**
     * The i_extra_isize of a new inode: the kernel's {@code ext4_clamp_want_extra_isize} (32, raised
     * to s_want_extra_isize and s_min_extra_isize with extra_isize, back to 32 when that leaves no
     * room; 0 for 128-byte inodes), and, stricter than the kernel, back to 32 when that is not a
     * multiple of 4: the kernel would create an inode its own {@code ext4_iget} refuses, and e2fsck
     * calls such a superblock value bad (PR_0_BAD_WANT_EXTRA_ISIZE).
     */
    public int newInodeExtraIsize() {
        if (inodeSize <= GOOD_OLD_INODE_SIZE) {
            return 0;
        }
        int def = InodeRecord.GOOD_EXTRA_ISIZE;
        int want = def;
        if (hasRoCompat(Features.RO_COMPAT_EXTRA_ISIZE)) {
            want = Math.max(want, Math.max(wantExtraIsize, minExtraIsize));
        }
        return want > inodeSize - GOOD_OLD_INODE_SIZE || (want & 3) != 0 ? def : want;
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
        return !hasRoCompat(Features.RO_COMPAT_SPARSE_SUPER) || sparseGroupHasSuper(g);
    }

    /** sparse_super's rule ({@code ext2fs_bg_has_super}): groups 0 and 1 and the powers of 3, 5 and 7 hold a backup. */
    public static boolean sparseGroupHasSuper(long g) {
        return g <= 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
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
