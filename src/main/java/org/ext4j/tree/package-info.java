/**
 * Trees brought into an image through the public file system API: the engine of {@code ext4j put}
 * and of building an image from a host directory ({@link org.ext4j.tree.HostTreeImporter}), from
 * entries made by code ({@link org.ext4j.tree.Entry}, {@link org.ext4j.tree.EntrySource}) or from a
 * tar stream ({@link org.ext4j.tree.EntrySource#tar}), all applied by
 * {@link org.ext4j.tree.EntryImporter}'s steps. It knows nothing of the on-disk format: every name,
 * inode, byte and attribute goes through {@link org.ext4j.fs.Ext4FileSystem}, as {@code cp -a} and
 * {@code tar -x} go through the kernel's system calls.
 */
package org.ext4j.tree;
