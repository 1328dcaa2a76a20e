package org.ext4j.namespace;

import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.format.DxNode;

/**
 * What a check of a directory block covered, the key of {@link org.ext4j.buffer.MetaBuffer#verified}
 * shared by the reader ({@link Directory}) and the writer ({@link DirectoryWriter}), which check a
 * block the same way: the directory, the block, and for a leaf the hash range its names were held
 * to ({@code min} -1: none) with the hash version; an index node has {@code min} {@link #NODE}, the
 * root {@link #ROOT} with {@code version} the depth it was allowed.
 */
record BlockCheck(long ino, long lblk, long pblk, long min, long max, int version) {
    static final long NODE = -2;
    static final long ROOT = -3;

    /** A leaf checked record by record, with no hash range. */
    static BlockCheck leaf(long ino, long lblk, long pblk) {
        return new BlockCheck(ino, lblk, pblk, -1, -1, 0);
    }

    static BlockCheck node(long ino, long lblk, long pblk) {
        return new BlockCheck(ino, lblk, pblk, NODE, NODE, 0);
    }

    static BlockCheck root(long ino, long pblk, int maxLevels) {
        return new BlockCheck(ino, 0, pblk, ROOT, ROOT, maxLevels);
    }

    /** Decodes an index block's bytes, checking them ({@code DxNode.readRoot} or {@code readNode}). */
    interface NodeReader {
        DxNode read(byte[] b) throws CorruptionException;
    }

    /**
     * The index node of {@code buf} as this check decodes it: the stamped one while the bytes are
     * unchanged, else {@code read} from {@code bytes} (a snapshot taken at {@code version}) and stamped.
     */
    DxNode node(MetaBuffer buf, long version, byte[] bytes, NodeReader read) throws CorruptionException {
        if (buf.verified(this) instanceof DxNode known) {
            return known;
        }
        DxNode node = read.read(bytes);
        buf.setVerified(this, version, node);
        return node;
    }

    /** {@link #node(MetaBuffer, long, byte[], NodeReader)}, copying the bytes only when they must be read. */
    DxNode node(MetaBuffer buf, NodeReader read) throws CorruptionException {
        if (buf.verified(this) instanceof DxNode known) {
            return known;
        }
        long version = buf.version();
        return node(buf, version, buf.snapshot(), read);
    }
}
