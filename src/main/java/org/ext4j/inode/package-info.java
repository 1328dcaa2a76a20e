/**
 * Inodes opened for reading: the on-disk record, the way to its data (extent tree, block map, or
 * inline data in i_block plus the {@code system.data} attribute), symlink targets (fast, slow,
 * inline), device numbers, and extended attributes in the inode body, in an external block, or in
 * a value inode (ea_inode). POSIX ACLs are converted from ext4's compact on-disk form to the VFS's
 * {@code posix_acl_xattr} form, as {@code getfattr} shows them. {@link org.ext4j.inode.XattrWriter}
 * sets and removes attributes on inode bytes the caller holds, as {@code ext4_xattr_set_handle},
 * with large values in value inodes ({@code XattrValueInode}) on ea_inode file systems.
 */
package org.ext4j.inode;
