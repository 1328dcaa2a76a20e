/**
 * The device seen as an ext4 volume: superblock, group descriptor table (meta_bg aware), and the one
 * place where block numbers read from the image are checked against the file system's size before
 * any read ({@link org.ext4j.volume.Volume#checkRange}). The system zone
 * ({@link org.ext4j.volume.SystemZone}) holds the metadata blocks no file may map; every mapping a
 * file's extent tree, indirect map or xattr block decodes is checked against it and the size
 * ({@link org.ext4j.volume.Volume#checkFileBlocks}). Holds a small bounded LRU cache of metadata
 * blocks (inode tables, tree and directory blocks); file data bypasses it.
 */
package org.ext4j.volume;
