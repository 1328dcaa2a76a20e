package org.ext4j.error;

/**
 * The image violates the on-disk format. Each failed check has a named {@link Kind}, reported with
 * where it was found (inode, block, byte offset) and, for checksums, the expected and actual values:
 * the kernel's {@code __ext4_ext_check} and {@code __ext4_error_inode} are the model.
 */
public final class CorruptionException extends Ext4Exception {

    /** One named reason per failed check. */
    public enum Kind {
        BAD_MAGIC("bad superblock magic"),
        BAD_SUPERBLOCK("invalid superblock field"),
        BAD_GROUP_DESCRIPTOR("invalid group descriptor"),
        BAD_JOURNAL("invalid journal"),
        BAD_INODE("invalid inode"),
        BAD_INODE_NUMBER("inode number out of range"),
        BLOCK_OUT_OF_RANGE("block number past the end of the file system"),
        /** A file's block map names a block of the system zone ({@code ext4_inode_block_valid} failing). */
        BLOCK_IN_SYSTEM_ZONE("block overlaps file system metadata"),
        TRUNCATED_IMAGE("image is shorter than the file system claims"),
        BAD_EXTENT_HEADER("bad extent header"),
        BAD_EXTENT("bad extent"),
        EXTENT_TREE_TOO_DEEP("extent tree too deep"),
        BAD_INDIRECT_MAP("bad indirect block map"),
        BAD_DIR_ENTRY("bad directory entry"),
        /**
         * A directory the kernel refuses to read: an i_size that is no whole number of blocks, a hole
         * where a block must be ("." and ".." live in block 0; an htree points only at mapped blocks
         * inside i_size), a leaf block where an index block must be, "." or ".." missing, misplaced
         * or repeated, an entry naming the directory itself.
         */
        BAD_DIRECTORY("bad directory"),
        /**
         * A malformed htree index (hash version, flags, depth, limits, counts, hash order, cycles)
         * whose checksum, if any, is good: readers fall back to a linear scan of the leaves, as the
         * kernel does on {@code ERR_BAD_DX_DIR}. A checksum failure is {@link #CHECKSUM} and stops.
         */
        BAD_HTREE("bad htree index"),
        BAD_INLINE_DATA("bad inline data"),
        BAD_XATTR("bad extended attribute"),
        BAD_SYMLINK("bad symlink"),
        FILE_TOO_LARGE("file size larger than the file system allows"),
        LOOP("loop in on-disk links"),
        CHECKSUM("checksum mismatch");

        private final String text;

        Kind(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    private final Kind kind;
    private final long inode;
    private final long logical;
    private final long block;
    private final long offset;

    private CorruptionException(Kind kind, long inode, long logical, long block, long offset, String detail) {
        super(format(kind, inode, logical, block, offset, detail));
        this.kind = kind;
        this.inode = inode;
        this.logical = logical;
        this.block = block;
        this.offset = offset;
    }

    private static String format(Kind kind, long inode, long logical, long block, long offset, String detail) {
        StringBuilder b = new StringBuilder(kind.text());
        if (detail != null && !detail.isEmpty()) {
            b.append(": ").append(detail);
        }
        String sep = " (";
        if (inode >= 0) {
            b.append(sep).append("inode ").append(inode);
            sep = ", ";
        }
        if (logical >= 0) {
            b.append(sep).append("logical block ").append(logical);
            sep = ", ";
        }
        if (block >= 0) {
            // beside a logical block, say which kind of block number this one is
            b.append(sep).append(logical >= 0 ? "physical block " : "block ").append(block);
            sep = ", ";
        }
        if (offset >= 0) {
            b.append(sep).append("offset ").append(offset);
            sep = ", ";
        }
        if (!sep.equals(" (")) {
            b.append(')');
        }
        return b.toString();
    }

    public static Builder of(Kind kind) {
        return new Builder(kind);
    }

    public Kind kind() {
        return kind;
    }

    /** Inode number the problem was found in, or -1. */
    public long inode() {
        return inode;
    }

    /** Logical block of the file whose mapping is at fault, or -1. */
    public long logical() {
        return logical;
    }

    /** Block number the problem was found in, or -1. */
    public long block() {
        return block;
    }

    /** Byte offset inside the block or structure, or -1. */
    public long offset() {
        return offset;
    }

    /** Fluent construction so each check site reads as one line. */
    public static final class Builder {
        private final Kind kind;
        private long inode = -1;
        private long logical = -1;
        private long block = -1;
        private long offset = -1;

        private Builder(Kind kind) {
            this.kind = kind;
        }

        public Builder inode(long v) {
            inode = v;
            return this;
        }

        /** The logical block of the inode's data whose mapping led to {@link #block}. */
        public Builder logical(long v) {
            logical = v;
            return this;
        }

        public Builder block(long v) {
            block = v;
            return this;
        }

        public Builder offset(long v) {
            offset = v;
            return this;
        }

        public CorruptionException build(String detail) {
            return new CorruptionException(kind, inode, logical, block, offset, detail);
        }

        public CorruptionException checksum(String what, long expected, long actual) {
            return new CorruptionException(kind, inode, logical, block, offset,
                    String.format("%s: stored 0x%08x, computed 0x%08x", what, expected, actual));
        }
    }
}
