package org.ext4j.mkfs;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Features;

/**
 * The numbers of a new file system, decided before a byte is written: mke2fs 1.47.0's {@code PRS}
 * (size type, block size, inode ratio and size, reserved ratio, flex_bg size, inode count, journal
 * size; {@code /etc/mke2fs.conf} as Debian ships it is built in) followed by libext2fs's
 * {@code ext2fs_initialize} (blocks per group, the retry that shrinks groups, inodes per group filling
 * whole inode-table blocks, {@code calc_reserved_gdt_blocks}, and dropping a last group too small for
 * its own metadata) and {@code ext2fs_get_journal_params}. Every refusal is thrown from here, so a
 * refused request has written nothing.
 */
final class MkfsGeometry {
    static final long MAX_32 = 0xFFFF_FFFFL;
    static final int FIRST_INO = 11;
    /** {@code sizeof(struct ext2_inode_large)}: inodes at least this big get s_min/want_extra_isize. */
    static final int LARGE_INODE = 160;

    int blockSize;
    int logBlockSize;
    long blocksCount;
    long reservedBlocks;
    long firstDataBlock;
    long blocksPerGroup;
    long groupCount;
    long inodesPerGroup;
    long inodesCount;
    long inodeBlocksPerGroup;
    int inodeSize;
    long descBlocks;
    int descSize;
    int reservedGdtBlocks;
    int logGroupsPerFlex;
    long journalBlocks;
    long compat;
    long incompat;
    long roCompat;
    String sizeType;

    int descriptorSize() {
        return (incompat & Features.INCOMPAT_64BIT) != 0 ? descSize : 32;
    }

    boolean hasCompat(int f) {
        return (compat & f) != 0;
    }

    boolean hasIncompat(int f) {
        return (incompat & f) != 0;
    }

    boolean hasRoCompat(int f) {
        return (roCompat & f) != 0;
    }

    /** Group descriptors carry checksums (metadata_csum or uninit_bg): the UNINIT flags are in use. */
    boolean csum() {
        return hasRoCompat(Features.RO_COMPAT_METADATA_CSUM) || hasRoCompat(Features.RO_COMPAT_GDT_CSUM);
    }

    long groupFirstBlock(long g) {
        return firstDataBlock + g * blocksPerGroup;
    }

    long groupLastBlock(long g) {
        return g == groupCount - 1 ? blocksCount - 1 : groupFirstBlock(g) + blocksPerGroup - 1;
    }

    long groupOfBlock(long b) {
        return (b - firstDataBlock) / blocksPerGroup;
    }

    /** {@code ext2fs_bg_has_super} with sparse_super: groups 0, 1 and powers of 3, 5 and 7. */
    boolean groupHasSuper(long g) {
        return !hasRoCompat(Features.RO_COMPAT_SPARSE_SUPER) || org.ext4j.format.Superblock.sparseGroupHasSuper(g);
    }

    /** Decides everything; throws before anything is written. */
    static MkfsGeometry compute(Mkfs.Options o, long sizeBytes) throws InvalidArgumentException,
            UnsupportedFeatureException {
        MkfsGeometry g = new MkfsGeometry();
        MkfsFeatures.Set f = MkfsFeatures.resolve(o.type, o.features);
        g.compat = f.compat();
        g.incompat = f.incompat();
        g.roCompat = f.roCompat();

        // size in 1 KiB units, as PRS holds it until the block size is known
        long count1k = sizeBytes / 1024;
        long meg = 1024;
        if (count1k < 3 * meg) {
            g.sizeType = "floppy";
        } else if (count1k < 512 * meg) {
            g.sizeType = "small";
        } else if (count1k < 4L * 1024 * 1024 * meg) {
            g.sizeType = "default";
        } else if (count1k < 16L * 1024 * 1024 * meg) {
            g.sizeType = "big";
        } else {
            g.sizeType = "huge";
        }
        int bs = o.blockSize;
        if (bs == 0) {
            bs = g.sizeType.equals("floppy") || g.sizeType.equals("small") ? 1024 : 4096;
        }
        g.blockSize = bs;
        g.logBlockSize = Integer.numberOfTrailingZeros(bs) - 10;
        long blocks = sizeBytes / bs;
        if (blocks > MAX_32 && g.hasIncompat(Features.INCOMPAT_64BIT)) {
            g.compat &= ~Features.COMPAT_RESIZE_INODE;
        }
        if (blocks > MAX_32 && !g.hasIncompat(Features.INCOMPAT_64BIT)) {
            throw new InvalidArgumentException("size: " + blocks + " blocks of " + bs
                    + " bytes do not fit in 32 bits without the 64bit feature (-O 64bit)");
        }
        if (blocks > Integer.MAX_VALUE) {
            throw new UnsupportedFeatureException("size " + sizeBytes, "ext4j mkfs makes file systems of at most 2^31 - 1 blocks");
        }
        int inodeRatio = o.bytesPerInode;
        if (inodeRatio == 0) {
            inodeRatio = switch (g.sizeType) {
                case "floppy" -> 8192;
                case "small" -> 4096;
                case "big" -> 32768;
                case "huge" -> 65536;
                default -> 16384;
            };
            inodeRatio = Math.max(inodeRatio, bs);
        }
        int inodeSize = o.inodeSize == 0 ? 256 : o.inodeSize;
        if (inodeSize < 128 || inodeSize > bs || Integer.bitCount(inodeSize) != 1) {
            throw new InvalidArgumentException("-I " + inodeSize + ": the inode size must be a power of two from 128"
                    + " to the block size " + bs);
        }
        if (g.hasIncompat(Features.INCOMPAT_INLINE_DATA) && inodeSize == 128) {
            throw new InvalidArgumentException("-I 128: inline_data needs inodes larger than 128 bytes");
        }
        g.inodeSize = inodeSize;
        g.logGroupsPerFlex = g.hasIncompat(Features.INCOMPAT_FLEX_BG) ? 4 : 0;
        double reservedRatio = o.reservedPercent < 0 ? 5.0 : o.reservedPercent;
        long inodes;
        if (o.inodeCount == 0) {
            long n = blocks * bs / inodeRatio;
            if (n > MAX_32) {
                if (!g.hasIncompat(Features.INCOMPAT_64BIT)) {
                    throw new InvalidArgumentException("-i " + inodeRatio + ": " + n + " inodes are too many");
                }
                n = MAX_32;
            }
            inodes = n;
        } else {
            if (o.inodeCount > MAX_32) {
                throw new InvalidArgumentException("-N " + o.inodeCount + ": too many inodes (at most 2^32 - 1)");
            }
            inodes = o.inodeCount;
        }
        if (blocks == 0 || inodes * inodeSize >= blocks * bs) {
            throw new InvalidArgumentException((o.inodeCount != 0 ? "-N " + o.inodeCount : "-i " + inodeRatio)
                    + ": " + inodes + " inodes of " + inodeSize + " bytes do not fit in " + blocks + " blocks");
        }
        long reserved = (long) (reservedRatio * blocks / 100.0);
        g.initialize(blocks, reserved, inodes);
        g.journal(o);
        return g;
    }

    /** {@code ext2fs_initialize}. */
    private void initialize(long paramBlocks, long paramReserved, long paramInodes)
            throws InvalidArgumentException, UnsupportedFeatureException {
        int bs = blockSize;
        firstDataBlock = bs == 1024 ? 1 : 0;
        blocksPerGroup = 8L * bs;
        blocksCount = paramBlocks;
        reservedBlocks = paramReserved;
        if (reservedBlocks >= paramBlocks) {
            throw new InvalidArgumentException("-m: the reserved blocks fill the file system");
        }
        descSize = hasIncompat(Features.INCOMPAT_64BIT) ? 64 : 0;
        int inodesPerBlock = bs / inodeSize;
        long maxIpg = 65536 - inodesPerBlock;
        while (true) { // retry:
            groupCount = ceilDiv(blocksCount - firstDataBlock, blocksPerGroup);
            if (groupCount <= 0) {
                throw new InvalidArgumentException("size: " + paramBlocks + " blocks are too few for a file system");
            }
            descBlocks = ceilDiv(groupCount, bs / descriptorSize());
            long inodesWanted = Math.max(paramInodes, FIRST_INO + 1);
            long ipg = ceilDiv(inodesWanted, groupCount);
            if (ipg > 8L * bs) {
                if (blocksPerGroup >= 256) {
                    blocksPerGroup -= 8;
                    blocksCount = paramBlocks;
                    continue;
                }
                throw new InvalidArgumentException("-N/-i: too many inodes for " + paramBlocks + " blocks");
            }
            ipg = Math.min(ipg, maxIpg);
            while (true) { // ipg_retry:
                inodeBlocksPerGroup = ceilDiv(ipg * inodeSize, bs);
                inodesPerGroup = inodeBlocksPerGroup * bs / inodeSize;
                if (inodesPerGroup < 8) {
                    inodesPerGroup = 8;
                }
                inodesPerGroup &= ~7L;
                inodeBlocksPerGroup = ceilDiv(inodesPerGroup * inodeSize, bs);
                if (inodesPerGroup * groupCount > MAX_32) {
                    ipg--;
                    continue;
                }
                break;
            }
            inodesCount = inodesPerGroup * groupCount;
            reservedGdtBlocks = hasCompat(Features.COMPAT_RESIZE_INODE) ? calcReservedGdtBlocks() : 0;
            if (reservedGdtBlocks + descBlocks > blocksPerGroup * 3 / 4) {
                throw new UnsupportedFeatureException("meta_bg", "the group descriptors of " + groupCount
                        + " groups would fill most of a group; ext4j mkfs does not make meta_bg file systems");
            }
            long overhead = 3 + inodeBlocksPerGroup + reservedGdtBlocks + descBlocks;
            if (overhead > blocksPerGroup) {
                throw new InvalidArgumentException("-N/-i: too many inodes: their tables do not fit in a group");
            }
            overhead = 2 + inodeBlocksPerGroup;
            if (groupHasSuper(groupCount - 1)) {
                overhead += 1 + descBlocks + reservedGdtBlocks;
            }
            long rem = (blocksCount - firstDataBlock) % blocksPerGroup;
            if (groupCount == 1 && rem != 0 && rem < overhead) {
                throw new InvalidArgumentException("size: " + paramBlocks + " blocks are too few for a file system");
            }
            if (rem != 0 && rem < overhead + 50) {
                blocksCount -= rem;
                reservedBlocks = (long) ((100.0 * paramReserved / paramBlocks) * blocksCount / 100.0);
                continue;
            }
            break;
        }
    }

    /** {@code calc_reserved_gdt_blocks}: room for the descriptors of a file system 1024 times as big (at most 2^32 blocks). */
    private int calcReservedGdtBlocks() {
        long maxBlocks = MAX_32;
        if (blocksCount < maxBlocks / 1024) {
            maxBlocks = blocksCount * 1024;
        }
        long rsvGroups = ceilDiv(maxBlocks - firstDataBlock, blocksPerGroup);
        long rsvGdb = ceilDiv(rsvGroups, blockSize / descriptorSize()) - descBlocks;
        if (rsvGdb > blockSize / 4) {
            rsvGdb = blockSize / 4;
        }
        return (int) Math.max(rsvGdb, 0);
    }

    /** {@code figure_journal_size} with {@code ext2fs_get_journal_params}: blocks of the journal, 0 for none. */
    private void journal(Mkfs.Options o) throws InvalidArgumentException {
        if (!hasCompat(Features.COMPAT_HAS_JOURNAL)) {
            journalBlocks = 0;
            return;
        }
        long def = defaultJournalSize(blocksCount);
        if (def < 0) {
            // mke2fs: "Filesystem too small for a journal", and the file system gets none
            compat &= ~Features.COMPAT_HAS_JOURNAL;
            journalBlocks = 0;
            return;
        }
        journalBlocks = def;
        if (o.journalMiB > 0) {
            long n = o.journalMiB * 1024L / (blockSize / 1024);
            if (n < 1024 || n > 10240000) {
                throw new InvalidArgumentException("-J size=" + o.journalMiB + ": the journal would be " + n
                        + " blocks; it must be between 1024 and 10240000 blocks");
            }
            journalBlocks = n;
        }
    }

    /** {@code ext2fs_default_journal_size}. */
    static long defaultJournalSize(long blocks) {
        if (blocks < 2048) {
            return -1;
        } else if (blocks < 32768) {
            return 1024;
        } else if (blocks < 256 * 1024) {
            return 4096;
        } else if (blocks < 512 * 1024) {
            return 8192;
        } else if (blocks < 4096 * 1024) {
            return 16384;
        } else if (blocks < 8192 * 1024) {
            return 32768;
        } else if (blocks < 16384 * 1024) {
            return 65536;
        } else if (blocks < 32768 * 1024) {
            return 131072;
        }
        return 262144;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
