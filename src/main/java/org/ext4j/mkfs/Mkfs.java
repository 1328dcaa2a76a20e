package org.ext4j.mkfs;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;
import org.ext4j.tree.EntryImporter;
import org.ext4j.tree.EntrySource;
import org.ext4j.tree.HostTreeImporter;

/**
 * Makes an ext2, ext3 or ext4 file system in an image file, as {@code mke2fs} 1.47.0 with
 * Debian's {@code /etc/mke2fs.conf} would: same geometry, same feature defaults, same placement of
 * every metadata block ({@link MkfsGeometry}, {@link MkfsLayout}, {@link MkfsWriter}).
 *
 * <pre>{@code
 * Mkfs.builder().size(64L << 20).label("data").build(Path.of("disk.img"));
 * }</pre>
 *
 * <p>Everything is decided and checked before the first byte is written; the image is built under a
 * temporary name next to the target and renamed over it only once complete, so a refused or failed
 * build leaves an existing image as it was. The image is written sparsely: only blocks that hold
 * something other than zeros are written. With {@link Builder#sourceDir} (a host directory) or
 * {@link Builder#source} (entries from code or a tar stream) the new file system is then filled
 * through {@link Ext4FileSystem} (still under the temporary name).
 */
public final class Mkfs {
    private Mkfs() {
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The options as given; 0 or null means mke2fs's default. */
    static final class Options {
        int blockSize;
        int inodeSize;
        int bytesPerInode;
        long inodeCount;
        double reservedPercent = -1;
        String label;
        UUID uuid;
        String features;
        long journalMiB;
        long rootUid;
        long rootGid;
        UUID hashSeed;
        boolean lazyItableInit = true;
        String type = "ext4";
        long sizeBytes = -1;
        long sizeBlocks = -1;
        long now = -1;
        Path sourceDir;
        EntrySource source;
        /** SOURCE_DATE_EPOCH of a reproducible build, else -1. */
        long sourceDateEpoch = -1;
        /** Spare room, in percent of what the tree needs, when the size is chosen from {@code -d}'s tree. */
        double marginPercent = DEFAULT_MARGIN;
        Progress progress;
        java.util.function.Consumer<String> warnings = w -> System.err.println("ext4j mkfs: warning: " + w);
    }

    /** Default {@link Builder#margin}: 10% over what the tree needs, besides the file system's own metadata. */
    public static final double DEFAULT_MARGIN = 10;

    /** What was made; {@code sizeChosen} when the size came from the source tree. */
    public record Result(long blocksCount, int blockSize, long inodesCount, long groupCount, long journalBlocks,
            UUID uuid, boolean sizeChosen) {
    }

    /** Told how the copy of {@code -d}'s tree goes: the totals once, then each entry copied, then the end. */
    public interface Progress extends HostTreeImporter.Listener {
        void begin(long entries, long bytes);

        void end();
    }

    public static final class Builder {
        private final Options o = new Options();

        private Builder() {
        }

        /** {@code -b}: 1024, 2048 or 4096; default by size as mke2fs.conf says (1024 below 512 MiB). */
        public Builder blockSize(int v) {
            o.blockSize = v;
            return this;
        }

        /** {@code -I}. */
        public Builder inodeSize(int v) {
            o.inodeSize = v;
            return this;
        }

        /** {@code -i}. */
        public Builder bytesPerInode(int v) {
            o.bytesPerInode = v;
            return this;
        }

        /** {@code -N}. */
        public Builder inodeCount(long v) {
            o.inodeCount = v;
            return this;
        }

        /** {@code -m}, 0 to 50. */
        public Builder reservedPercent(double v) {
            o.reservedPercent = v;
            return this;
        }

        /** {@code -L}, at most 16 bytes. */
        public Builder label(String v) {
            o.label = v;
            return this;
        }

        /** {@code -U}; random by default. */
        public Builder uuid(UUID v) {
            o.uuid = v;
            return this;
        }

        /** {@code -O}: "feature,^feature,..." applied to the type's defaults. */
        public Builder features(String v) {
            o.features = v;
            return this;
        }

        /** {@code -J size=}: the journal's size in MiB. */
        public Builder journalMiB(long v) {
            o.journalMiB = v;
            return this;
        }

        /** {@code -E root_owner=uid:gid}. */
        public Builder rootOwner(long uid, long gid) {
            o.rootUid = uid;
            o.rootGid = gid;
            return this;
        }

        /** {@code -E hash_seed=}; random by default. */
        public Builder hashSeed(UUID v) {
            o.hashSeed = v;
            return this;
        }

        /** {@code -E lazy_itable_init=}: true (the default) leaves the inode tables for the kernel to zero. */
        public Builder lazyItableInit(boolean v) {
            o.lazyItableInit = v;
            return this;
        }

        /** {@code -t}: ext2, ext3 or ext4 (the default). */
        public Builder type(String v) {
            o.type = v;
            return this;
        }

        /** The size in bytes (rounded down to whole blocks); default the existing image's size. */
        public Builder size(long bytes) {
            o.sizeBytes = bytes;
            o.sizeBlocks = -1;
            return this;
        }

        /** The size in blocks of the chosen block size (1 KiB units when no block size is given, as mke2fs). */
        public Builder sizeBlocks(long blocks) {
            o.sizeBlocks = blocks;
            o.sizeBytes = -1;
            return this;
        }

        /** The time stamped on the file system and its inodes, seconds since the epoch; default now. */
        public Builder time(long epochSeconds) {
            o.now = epochSeconds;
            return this;
        }

        /**
         * {@code -d}: after formatting, copies what {@code dir} holds into the root directory through
         * the file system's own calls ({@link HostTreeImporter}, as {@code ext4j put}); the root keeps
         * mkfs's mode and {@link #rootOwner}.
         */
        public Builder sourceDir(Path dir) {
            o.sourceDir = dir;
            return this;
        }

        /**
         * {@code --tar}: after formatting, puts the entries of {@code entries} (built in memory, read
         * from a tar stream with {@link EntrySource#tar}, ...) into the root directory through the
         * file system's own calls ({@link EntryImporter}); the root keeps mkfs's mode and
         * {@link #rootOwner}. The caller closes the source.
         */
        public Builder source(EntrySource entries) {
            o.source = entries;
            return this;
        }

        /**
         * A reproducible build ({@code SOURCE_DATE_EPOCH}): every time in the image is
         * {@code epochSeconds}, except the source's access and modification times that are earlier
         * (later ones are clamped to it); the UUID and hash seed, unless given, are name-based UUIDs
         * of the options and size (see {@link #derivedUuid}); the write session that imports the
         * tree runs with that fixed time, no randomness and no background writeback
         * ({@link WriteOptions#withFixedTime}). Two builds with the same inputs give the same bytes.
         */
        public Builder reproducible(long epochSeconds) {
            if (epochSeconds < 0) {
                throw new IllegalArgumentException("SOURCE_DATE_EPOCH " + epochSeconds + " is negative");
            }
            o.sourceDateEpoch = epochSeconds;
            return this;
        }

        /** {@code --margin}: room to spare, in percent of what the tree needs, when no size is given with {@link #sourceDir}. */
        public Builder margin(double percent) {
            o.marginPercent = percent;
            return this;
        }

        /** Progress of {@link #sourceDir}'s copy (the CLI's progress bar); none by default. */
        public Builder progress(Progress p) {
            o.progress = p;
            return this;
        }

        /** Where {@code -d}'s warnings go (what could not be copied exactly); default standard error. */
        public Builder warnings(java.util.function.Consumer<String> w) {
            o.warnings = w;
            return this;
        }

        /** Validates everything, then writes the file system to {@code image}, replacing it on success. */
        public Result build(Path image) throws IOException, InvalidArgumentException, UnsupportedFeatureException {
            return Mkfs.build(o, image);
        }
    }

    static Result build(Options o, Path image) throws IOException, InvalidArgumentException,
            UnsupportedFeatureException {
        check(o);
        // the host's tools walk the source while the file system is laid out
        java.util.concurrent.Future<org.ext4j.tree.HostFacts> facts = o.sourceDir == null ? null
                : TreeBuilder.readFacts(o.sourceDir, o.warnings, o.sourceDateEpoch < 0);
        long sizeBytes;
        MkfsSizer.TreeUsage usage = null;
        boolean chosen = false;
        if (o.sourceDir != null && (o.progress != null || (o.sizeBytes < 0 && o.sizeBlocks < 0))) {
            usage = MkfsSizer.measure(o.sourceDir);
        }
        long givenInodes = o.inodeCount;
        if (o.sourceDir != null && o.sizeBytes < 0 && o.sizeBlocks < 0) {
            try {
                sizeBytes = MkfsSizer.fit(o, usage, o.marginPercent); // may set o.inodeCount: -N for the tree
            } catch (InvalidArgumentException | UnsupportedFeatureException | RuntimeException e) {
                o.inodeCount = givenInodes;
                throw e;
            }
            chosen = true;
        } else if (o.sizeBytes >= 0) {
            sizeBytes = o.sizeBytes;
        } else if (o.sizeBlocks >= 0) {
            long unit = o.blockSize == 0 ? 1024 : o.blockSize;
            if (o.sizeBlocks > Long.MAX_VALUE / unit) {
                throw new InvalidArgumentException("size: " + o.sizeBlocks + " blocks are too many");
            }
            sizeBytes = o.sizeBlocks * unit;
        } else {
            if (!Files.isRegularFile(image)) {
                throw new InvalidArgumentException("size: " + image
                        + " does not exist (or is not a regular file) and no size was given");
            }
            sizeBytes = Files.size(image) & ~4095L; // mke2fs rounds a device's size to whole pages
        }
        MkfsGeometry g;
        MkfsLayout layout;
        try {
            g = MkfsGeometry.compute(o, sizeBytes);
            layout = MkfsLayout.plan(g);
        } finally {
            o.inodeCount = givenInodes; // the builder keeps what was given
        }
        if (g.inodesPerGroup < MkfsGeometry.FIRST_INO + 1) {
            // mke2fs spreads the reserved inodes and lost+found over several groups then;
            // MkfsWriter places them all in group 0: refused by name rather than written wrong
            throw new InvalidArgumentException("-N/-i: " + g.inodesPerGroup + " inodes per group; ext4j mkfs needs"
                    + " the " + MkfsGeometry.FIRST_INO + " reserved inodes and lost+found in group 0 (at least "
                    + (MkfsGeometry.FIRST_INO + 1) + " per group: raise -N or lower -i)");
        }
        boolean reproducible = o.sourceDateEpoch >= 0;
        UUID uuid = o.uuid != null ? o.uuid : reproducible ? derivedUuid("uuid", o, g) : UUID.randomUUID();
        UUID seed = o.hashSeed != null ? o.hashSeed : reproducible ? derivedUuid("hash_seed", o, g) : UUID.randomUUID();
        long now = reproducible ? o.sourceDateEpoch : o.now >= 0 ? o.now : System.currentTimeMillis() / 1000;

        Path abs = image.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".mkfs");
        boolean done = false;
        TreeBuilder bulk = null;
        try {
            try (RandomAccessFile f = new RandomAccessFile(tmp.toFile(), "rw")) {
                f.setLength(g.blocksCount * g.blockSize);
            }
            try (FileBlockDevice dev = FileBlockDevice.openReadWrite(tmp)) {
                MkfsWriter w = new MkfsWriter(g, layout, o, dev, now, uuid, seed);
                w.countKbytesWritten(g.hasIncompat(org.ext4j.format.Features.INCOMPAT_FLEX_BG)
                        || g.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_HUGE_FILE)
                        || g.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_GDT_CSUM)
                        || g.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_DIR_NLINK)
                        || g.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_METADATA_CSUM)
                        || g.hasRoCompat(org.ext4j.format.Features.RO_COMPAT_EXTRA_ISIZE));
                w.writeFiles();
                if (o.sourceDir != null && TreeBuilder.supports(g)) {
                    bulk = new TreeBuilder(g, layout, w.superblock(), dev, now,
                            reproducible ? java.time.Instant.ofEpochSecond(o.sourceDateEpoch) : null, facts, o.progress);
                    if (o.progress != null) {
                        o.progress.begin(usage.entries, usage.fileBytes);
                    }
                    try {
                        bulk.build(o.sourceDir);
                    } finally {
                        if (o.progress != null) {
                            o.progress.end();
                        }
                    }
                }
                w.close();
                dev.flush();
            }
            if (bulk != null && bulk.hasDeferred()) {
                WriteOptions wo = WriteOptions.defaults();
                if (reproducible) {
                    wo = wo.withFixedTime(java.time.Instant.ofEpochSecond(o.sourceDateEpoch));
                }
                try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(tmp, wo)) {
                    bulk.finishThrough(fs);
                }
            }
            if (o.sourceDir != null && bulk == null) {
                WriteOptions wo = WriteOptions.defaults();
                java.time.Instant clamp = null;
                if (reproducible) {
                    clamp = java.time.Instant.ofEpochSecond(o.sourceDateEpoch);
                    wo = wo.withFixedTime(clamp);
                }
                try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(tmp, wo)) {
                    HostTreeImporter importer = new HostTreeImporter(fs, o.warnings).clampTimes(clamp);
                    if (o.progress != null) {
                        o.progress.begin(usage.entries, usage.fileBytes);
                        importer.listener(o.progress);
                    }
                    try {
                        importer.copyInto(o.sourceDir, "/");
                    } finally {
                        if (o.progress != null) {
                            o.progress.end();
                        }
                    }
                }
            }
            if (o.source != null) {
                WriteOptions wo = WriteOptions.defaults();
                if (reproducible) {
                    wo = wo.withFixedTime(java.time.Instant.ofEpochSecond(o.sourceDateEpoch));
                }
                EntrySource entries = o.source;
                if (reproducible) {
                    java.time.Instant epoch = java.time.Instant.ofEpochSecond(o.sourceDateEpoch);
                    entries = () -> {
                        org.ext4j.tree.Entry e = o.source.next();
                        return e == null ? null : e.clampedTo(epoch);
                    };
                }
                try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(tmp, wo)) {
                    new EntryImporter(fs, "/").importAll(entries);
                }
            }
            if (!chosen && Files.isRegularFile(abs) && Files.size(abs) > g.blocksCount * (long) g.blockSize
                    && o.sizeBytes < 0 && o.sizeBlocks < 0) {
                // the image keeps its size when the file system is sized from it (mke2fs writes in place)
                try (RandomAccessFile f = new RandomAccessFile(tmp.toFile(), "rw")) {
                    f.setLength(Files.size(abs));
                }
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
        return new Result(g.blocksCount, g.blockSize, g.inodesCount, g.groupCount, g.journalBlocks, uuid, chosen);
    }

    /**
     * The UUID (or hash seed) of a reproducible build: the name-based (version 3, MD5) UUID of
     * {@code "ext4j-mkfs <what>"} followed by the options that decide the image, one
     * {@code key=value} per line (block size, block and inode counts, inode size, reserved blocks,
     * reserved GDT blocks, journal blocks, the three feature words in hex, type, label, root owner,
     * lazy_itable_init, the UUID when given, SOURCE_DATE_EPOCH). The source directory's path is not
     * part of it: the same tree elsewhere gives the same image.
     */
    static UUID derivedUuid(String what, Options o, MkfsGeometry g) {
        StringBuilder b = new StringBuilder("ext4j-mkfs ").append(what).append('\n');
        b.append("block_size=").append(g.blockSize).append('\n');
        b.append("blocks=").append(g.blocksCount).append('\n');
        b.append("inodes=").append(g.inodesCount).append('\n');
        b.append("inode_size=").append(g.inodeSize).append('\n');
        b.append("reserved_blocks=").append(g.reservedBlocks).append('\n');
        b.append("reserved_gdt_blocks=").append(g.reservedGdtBlocks).append('\n');
        b.append("journal_blocks=").append(g.journalBlocks).append('\n');
        b.append("features=").append(Long.toHexString(g.compat)).append(',').append(Long.toHexString(g.incompat))
                .append(',').append(Long.toHexString(g.roCompat)).append('\n');
        b.append("type=").append(o.type).append('\n');
        b.append("label=").append(o.label == null ? "" : o.label).append('\n');
        b.append("root_owner=").append(o.rootUid).append(':').append(o.rootGid).append('\n');
        b.append("lazy_itable_init=").append(o.lazyItableInit ? 1 : 0).append('\n');
        b.append("uuid=").append(o.uuid == null ? "" : o.uuid).append('\n');
        b.append("source_date_epoch=").append(o.sourceDateEpoch).append('\n');
        return UUID.nameUUIDFromBytes(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static void check(Options o) throws InvalidArgumentException {
        if (o.blockSize != 0 && o.blockSize != 1024 && o.blockSize != 2048 && o.blockSize != 4096) {
            throw new InvalidArgumentException("-b " + o.blockSize + ": the block size must be 1024, 2048 or 4096");
        }
        if (o.bytesPerInode != 0 && (o.bytesPerInode < 1024 || o.bytesPerInode > 65536 * 1024)) {
            throw new InvalidArgumentException("-i " + o.bytesPerInode + ": bytes per inode must be from 1024 to 67108864");
        }
        if (o.inodeCount < 0) {
            throw new InvalidArgumentException("-N " + o.inodeCount + ": not a count of inodes");
        }
        if (o.reservedPercent > 50 || (o.reservedPercent < 0 && o.reservedPercent != -1) || Double.isNaN(o.reservedPercent)) {
            throw new InvalidArgumentException("-m " + o.reservedPercent + ": the reserved percentage must be from 0 to 50");
        }
        if (o.label != null && o.label.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 16) {
            throw new InvalidArgumentException("-L " + o.label + ": a label holds at most 16 bytes");
        }
        if (o.journalMiB < 0) {
            throw new InvalidArgumentException("-J size=" + o.journalMiB + ": not a size");
        }
        if (o.rootUid < 0 || o.rootUid > 0xFFFF_FFFFL || o.rootGid < 0 || o.rootGid > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException("-E root_owner=" + o.rootUid + ":" + o.rootGid + ": ids are 32-bit");
        }
        if (o.sourceDir != null && !Files.isDirectory(o.sourceDir)) {
            throw new InvalidArgumentException("-d " + o.sourceDir + ": not a directory");
        }
        if (o.sourceDir != null && o.source != null) {
            throw new InvalidArgumentException("-d " + o.sourceDir + " and an entry source (--tar): give one source");
        }
        if (o.marginPercent < 0 || o.marginPercent > 1000 || Double.isNaN(o.marginPercent)) {
            throw new InvalidArgumentException("--margin " + o.marginPercent + ": the margin must be from 0 to 1000 percent");
        }
        if (o.sizeBytes < -1 || o.sizeBlocks < -1) {
            throw new InvalidArgumentException("size: negative");
        }
    }
}
