package org.ext4j.extents;

import java.io.IOException;

/**
 * Maps a file's logical blocks to physical ones: the read side of {@code ext4_map_blocks}. Each
 * answer covers the longest run from the asked block that has one state, up to {@code maxLen}.
 */
public interface BlockMap {

    /** State of a mapped run, as the extent status tree names them. */
    enum State {
        /** Blocks hold the file's data at {@link Mapping#physical}. */
        WRITTEN,
        /** Blocks are allocated but read as zeros (an unwritten extent, fallocate). */
        UNWRITTEN,
        /** No blocks: reads as zeros. */
        HOLE
    }

    /** {@code length} blocks from {@code logical}; {@code physical} is -1 for a hole. */
    record Mapping(long logical, long length, long physical, State state) {
    }

    Mapping map(long lblk, long maxLen) throws IOException;
}
