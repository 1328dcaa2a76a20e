/**
 * mkfs: a new, empty ext2/ext3/ext4 file system, block for block as mke2fs 1.47.0 lays it out.
 *
 * <p>Three steps, and nothing is written before the last: {@link org.ext4j.mkfs.MkfsGeometry}
 * decides the numbers (mke2fs's {@code PRS} with Debian's {@code mke2fs.conf} built in, then
 * libext2fs's {@code ext2fs_initialize}); {@link org.ext4j.mkfs.MkfsLayout} places every metadata
 * block in an in-memory block bitmap in the order mke2fs allocates them (group tables with
 * {@code flexbg_offset}, root, lost+found, the resize inode's block, the journal at the
 * mid-file-system goal), replaying libext2fs's block search so that the same blocks are chosen;
 * {@link org.ext4j.mkfs.MkfsWriter} encodes them with the {@code format} codecs (superblock fields,
 * {@code GroupDescriptor}, {@code InodeWriter}, {@code DirEntryWriter}, {@code ExtentNodeWriter},
 * {@code Bitmaps}) and writes only the blocks that are not zeros into a fresh sparse file, which
 * {@link org.ext4j.mkfs.Mkfs} renames over the image at the end. The geometry tests compare
 * {@code dumpe2fs} of the result with {@code dumpe2fs} of mke2fs's image line by line. With
 * {@code -d}, the finished image is then filled through {@code Ext4FileSystem} by
 * {@code tree.HostTreeImporter}, as {@code ext4j put} fills an image.
 */
package org.ext4j.mkfs;
