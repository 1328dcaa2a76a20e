/**
 * Directories: linear blocks, htree-indexed blocks and inline directories. Listing reads leaf
 * blocks in logical order (index blocks look like empty entries, by design of the format); lookup
 * in an indexed directory hashes the name with the directory's hash version (legacy, half-MD4 or
 * TEA, signed or unsigned per the superblock flags) and seed, descends {@code dx_root}/{@code dx_node}
 * and searches the leaf and any continuation leaves sharing the hash. Listing an indexed directory
 * checks the whole index first, then yields the leaves in the index's order. Every block read, on
 * every path, is checked as the kernel checks it when it reads that block (i_size, holes, records,
 * "." and "..", checksums, every index block as {@code dx_probe} sees it): see
 * {@link org.ext4j.namespace.Directory}. A malformed index ({@code ERR_BAD_DX_DIR}) makes listing
 * and lookup alike fall back to a linear scan, as the kernel does; a checksum failure or a hole
 * does not.
 *
 * <p>The write side, {@link org.ext4j.namespace.DirectoryWriter}, adds, removes and replaces
 * entries inside a caller's transaction handle: into the first record with room in a linear
 * directory (appending a block when none has), and in an indexed directory into the leaf the hash
 * selects, splitting a full leaf by hash and splitting index nodes or adding a level as
 * {@code ext4_dx_add_entry} does. A one-block linear directory that overflows becomes an htree, as
 * {@code make_indexed_dir}. Leaf and index checksums are set on every change.
 */
package org.ext4j.namespace;
