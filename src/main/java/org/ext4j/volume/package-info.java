/**
 * The device seen as an ext4 volume: superblock, group descriptor table (meta_bg aware), and the one
 * place where block numbers read from the image are checked against the file system's size before
 * any read ({@link org.ext4j.volume.Volume#checkRange}). Holds a small bounded LRU cache of metadata
 * blocks (inode tables, tree and directory blocks); file data bypasses it.
 */
package org.ext4j.volume;
