package org.ext4j.it;

import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestClassOrder;

/**
 * ext4j reads images the Linux kernel wrote exactly as the kernel shows them through a mount.
 *
 * <p>For each {@link KernelVariant} the test makes an empty file system with mkfs.ext4, loop-mounts
 * it read-write and has the kernel write a varied tree ({@link KernelPopulator}): files of boundary
 * sizes, deep and wide directories, 255-byte and non-UTF-8 names, fast/slow/inline symlinks, hard
 * links, user and trusted xattrs (in the inode, in a shared block), POSIX ACLs, device nodes with old
 * and new encodings, fifos and sockets, owners above 16 bits, times from 1901 to 2446, sparse files
 * beyond 4 GiB, fallocated/punched/zeroed/collapsed/inserted ranges, extent trees of depth 2 and 3
 * (frag/deep), inline files and directories, and a big htree directory with deletions. After a
 * clean unmount and {@code e2fsck -fn} the image is mounted read-only and every check of
 * {@link KernelImageChecks} compares what the kernel shows with what ext4j reports.
 *
 * <p>Needs root and loop devices (skips with the reason printed otherwise). Run alone with
 * {@code mvn -q test -Dtest='KernelWrittenTest*'}; {@code -Dext4j.keepKernelImages=true} keeps the images
 * (paths printed) for a look with debugfs.
 *
 * <p>The block-mapped (ext3) variant runs first: once C2 has compiled {@code Inode.load} on the
 * extent path, OpenJDK 17.0.15 miscompiles its block-map branch (see
 * {@link KernelKnownBugsTest#blockMapsSurviveC2CompilationOfInodeLoad}), which would turn every
 * ext3 check here red for a reason that test pins down on its own.
 */
@TestClassOrder(ClassOrderer.OrderAnnotation.class)
class KernelWrittenTest {

    @Nested
    @Order(2)
    class Default4k extends KernelImageChecks {
        Default4k() {
            super(KernelVariant.DEFAULT_4K);
        }
    }

    @Nested
    @Order(3)
    class Blocks1k extends KernelImageChecks {
        Blocks1k() {
            super(KernelVariant.BLOCKS_1K);
        }
    }

    @Nested
    @Order(4)
    class InlineData extends KernelImageChecks {
        InlineData() {
            super(KernelVariant.INLINE_DATA);
        }
    }

    @Nested
    @Order(5)
    class Crc16Descriptors extends KernelImageChecks {
        Crc16Descriptors() {
            super(KernelVariant.CRC16_DESCRIPTORS);
        }
    }

    @Nested
    @Order(1)
    class Ext3Indirect extends KernelImageChecks {
        Ext3Indirect() {
            super(KernelVariant.EXT3_INDIRECT);
        }
    }
}
