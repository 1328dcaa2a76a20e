/**
 * Trees of the host brought into an image through the public file system API: the engine of
 * {@code ext4j put} (and of building an image from a directory). It knows nothing of the on-disk
 * format: every name, inode, byte and attribute goes through {@link org.ext4j.fs.Ext4FileSystem},
 * as {@code cp -a} goes through the kernel's system calls.
 */
package org.ext4j.tree;
