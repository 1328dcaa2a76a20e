package org.ext4j.alloc;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.txn.Handle;
import org.ext4j.txn.NoJournal;
import org.ext4j.testing.Tools;
import org.ext4j.volume.Volume;

/**
 * Images for the allocator tests, made by mkfs.ext4 at test time, and an open read-write session on
 * one: device, volume, no-journal transactions and the allocators.
 */
final class AllocImages {
    private AllocImages() {
    }

    /** The geometries and feature sets the allocators are judged on. */
    enum Variant {
        /** Default ext4 features (flex_bg, metadata_csum, 64bit), 4 KiB blocks, small groups, short last group. */
        DEFAULT_4K("200M", "-b", "4096", "-g", "8192"),
        /** Default features with mkfs's own 128 MiB groups. */
        DEFAULT_4K_BIG_GROUPS("300M", "-b", "4096"),
        ONE_K("40M", "-b", "1024"),
        TWO_K("50M", "-b", "2048", "-g", "4096"),
        NO_FLEX_BG("200M", "-b", "4096", "-g", "8192", "-O", "^flex_bg"),
        UNINIT_BG_CRC16("200M", "-b", "4096", "-g", "8192", "-O", "^metadata_csum,uninit_bg"),
        NO_CSUM("200M", "-b", "4096", "-g", "8192", "-O", "^metadata_csum,^uninit_bg"),
        BIT32("200M", "-b", "4096", "-g", "8192", "-O", "^64bit"),
        /** meta_bg with 3 meta groups of 16 groups (1 KiB blocks, 64-byte descriptors). */
        META_BG("48M", "-b", "1024", "-g", "1024", "-O", "meta_bg,^resize_inode");

        final String size;
        final List<String> options;

        Variant(String size, String... options) {
            this.size = size;
            this.options = List.of(options);
        }

        Path make(Path dir) throws IOException {
            return make(dir, List.of());
        }

        /** Makes the image with {@code extra} mkfs options appended. */
        Path make(Path dir, List<String> extra) throws IOException {
            Tools.requireTools("mkfs.ext4", "e2fsck", "dumpe2fs");
            Path img = dir.resolve(name().toLowerCase() + ".img");
            List<String> cmd = new ArrayList<>(List.of("mkfs.ext4", "-q", "-F"));
            cmd.addAll(options);
            cmd.addAll(extra);
            cmd.add(img.toString());
            cmd.add(size);
            Tools.run(cmd).ok();
            return img;
        }
    }

    /** An image open for writing; {@link #close()} syncs the counters, commits and closes. */
    static final class Session implements AutoCloseable {
        final FileBlockDevice device;
        final Volume volume;
        final NoJournal journal;
        final GroupAllocator alloc;

        Session(Path img) throws IOException {
            this(img, n -> 0);
        }

        Session(Path img, java.util.function.IntUnaryOperator random) throws IOException {
            device = FileBlockDevice.openReadWrite(img);
            volume = Volume.open(device, Volume.readSuperblock(device));
            journal = new NoJournal(volume.bufferCache(), device);
            alloc = GroupAllocator.open(volume, random);
        }

        BlockAllocator.Run allocate(long goal, long min, long max) throws IOException {
            try (Handle h = journal.start(BlockAllocator.ALLOC_CREDITS)) {
                return alloc.blocks().allocate(h, goal, min, max);
            }
        }

        void free(BlockAllocator.Run r) throws IOException {
            try (Handle h = journal.start(2 * BlockAllocator.FREE_CREDITS_PER_GROUP)) {
                alloc.blocks().free(h, r.start(), r.length());
            }
        }

        long allocateInode(long parent, boolean dir) throws IOException {
            try (Handle h = journal.start(InodeAllocator.ALLOC_CREDITS)) {
                return alloc.inodes().allocate(h, parent, dir);
            }
        }

        InodeAllocator.Result allocateInode(InodeAllocator.Request r) throws IOException {
            try (Handle h = journal.start(InodeAllocator.ALLOC_CREDITS)) {
                return alloc.inodes().allocate(h, r);
            }
        }

        void freeInode(long ino, boolean dir) throws IOException {
            try (Handle h = journal.start(InodeAllocator.FREE_CREDITS)) {
                alloc.inodes().free(h, ino, dir);
            }
        }

        /** Counters into the superblock, then every dirty buffer to the device. */
        void commit() throws IOException {
            try (Handle h = journal.start(1)) {
                alloc.syncCounters(h);
            }
            journal.commit();
        }

        @Override
        public void close() throws IOException {
            try {
                commit();
            } finally {
                device.close();
            }
        }
    }

    /** Raw bytes of block {@code block} of an image file. */
    static byte[] readBlock(Path img, int blockSize, long block) throws IOException {
        byte[] b = new byte[blockSize];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(block * blockSize);
            f.readFully(b);
        }
        return b;
    }

    static void writeBytes(Path img, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
