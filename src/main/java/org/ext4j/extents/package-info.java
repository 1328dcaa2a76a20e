/**
 * Mapping a file's logical blocks to physical ones: the on-disk extent tree
 * ({@code fs/ext4/extents.c}) and the legacy ext2/ext3 indirect block map
 * ({@code fs/ext4/indirect.c}), behind one {@link org.ext4j.extents.BlockMap} interface that answers
 * with runs in the states WRITTEN, UNWRITTEN and HOLE, the states the extent status tree will cache.
 *
 * <p>Termination on hostile trees: each interior node's child must be exactly one level lower than
 * the node (and the root's depth is at most 5), so descent takes at most six reads whatever the
 * blocks say; full walks (for {@code stat}) are additionally bounded by the file system's block count.
 *
 * <p>The writer ({@link org.ext4j.extents.ExtentTreeWriter}) checks each tree block once, when it
 * first reads it, and keeps the verified bytes across operations, replacing them with what it
 * publishes and dropping the blocks it frees (the kernel's {@code buffer_verified}): as the only one
 * changing its inode's tree, it never has to read, decode and checksum a block again.
 */
package org.ext4j.extents;
