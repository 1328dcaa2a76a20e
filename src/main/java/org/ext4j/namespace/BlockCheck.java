package org.ext4j.namespace;

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
}
