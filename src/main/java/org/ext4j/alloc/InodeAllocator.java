package org.ext4j.alloc;

import java.io.IOException;

import org.ext4j.txn.Handle;

/** Inode allocation ({@code fs/ext4/ialloc.c}): spread for directories, near the parent for files. */
public interface InodeAllocator {

    /** The root directory's inode number ({@code EXT4_ROOT_INO}). */
    long ROOT_INO = 2;

    /**
     * Buffers one {@link #allocate} dirties at most: the inode bitmap, the descriptor block, the block
     * bitmap (first use of a BLOCK_UNINIT group) and the inode table block whose slot is zeroed (a
     * table not known to be zeroed).
     */
    int ALLOC_CREDITS = 4;

    /** Buffers one {@link #free} dirties: the inode bitmap and the descriptor block. */
    int FREE_CREDITS = 2;

    /**
     * What {@code ext4_new_inode} learns from the parent directory's in-memory inode to place a child.
     *
     * @param parent the parent directory's inode number
     * @param directory whether the new inode is a directory (Orlov's spread applies)
     * @param parentTopDir the parent carries {@code EXT4_TOPDIR_FL}: its subdirectories are spread like
     *        top-level ones (the root always is)
     * @param parentLastAllocGroup the parent's {@code i_last_alloc_group} (the {@link Result#searchGroup()}
     *        of its previous child allocation), or -1 when it has none
     * @param name the new entry's name, or null: a top-level directory's starting group is then random
     *        instead of the name's hash
     */
    record Request(long parent, boolean directory, boolean parentTopDir, long parentLastAllocGroup, byte[] name) {
        public static Request of(long parent, boolean directory) {
            return new Request(parent, directory, false, -1, null);
        }

        public Request named(byte[] n) {
            return new Request(parent, directory, parentTopDir, parentLastAllocGroup, n);
        }

        public Request lastAllocGroup(long g) {
            return new Request(parent, directory, parentTopDir, g, name);
        }
    }

    /**
     * The allocated inode, and the group the search started in, which the caller keeps as the parent's
     * {@code i_last_alloc_group} for its next child.
     */
    record Result(long ino, long searchGroup) {
    }

    /** Allocates an inode for a child described by {@code request}. */
    Result allocate(Handle h, Request request) throws IOException;

    /** Allocates an inode for a child of {@code parent}; {@code directory} selects the Orlov spread. */
    default long allocate(Handle h, long parent, boolean directory) throws IOException {
        return allocate(h, Request.of(parent, directory)).ino();
    }

    /** Frees inode {@code ino}; freeing a free or reserved inode is corruption, reported. */
    void free(Handle h, long ino, boolean directory) throws IOException;

    /** Makes every check {@link #free} of {@code ino} would make, changing nothing (see {@link BlockAllocator#checkFree}). */
    void checkFree(long ino, boolean directory) throws IOException;

    long freeInodes();
}
