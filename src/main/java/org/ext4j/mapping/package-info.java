/**
 * Block mapping for ext4 files ({@code ext4_map_blocks}, {@code ext4_da_map_blocks}, ext4's iomap
 * operations): the extent status tree in front of the on-disk extent tree, delayed allocation with
 * reservations taken at write time, allocation of delayed ranges as unwritten extents at writeback
 * and their conversion at completion. Every mapping handed to iomap carries the status tree's
 * sequence value as its validity cookie.
 */
package org.ext4j.mapping;
