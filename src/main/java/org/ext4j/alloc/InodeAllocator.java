package org.ext4j.alloc;

import java.io.IOException;

import org.ext4j.txn.Handle;

/** Inode allocation ({@code fs/ext4/ialloc.c}): spread for directories, near the parent for files. */
public interface InodeAllocator {

    /** Allocates an inode for a child of {@code parent}; {@code directory} selects the Orlov spread. */
    long allocate(Handle h, long parent, boolean directory) throws IOException;

    /** Frees inode {@code ino}. */
    void free(Handle h, long ino, boolean directory) throws IOException;

    long freeInodes();
}
