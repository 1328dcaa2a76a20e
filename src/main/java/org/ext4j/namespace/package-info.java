/**
 * Directories: linear blocks, htree-indexed blocks and inline directories. Listing reads leaf
 * blocks in logical order (index blocks look like empty entries, by design of the format); lookup
 * in an indexed directory hashes the name with the directory's hash version (legacy, half-MD4 or
 * TEA, signed or unsigned per the superblock flags) and seed, descends {@code dx_root}/{@code dx_node}
 * and searches the leaf and any continuation leaves sharing the hash. A structurally malformed index
 * falls back to a linear scan, as the kernel does; a checksum failure does not.
 */
package org.ext4j.namespace;
