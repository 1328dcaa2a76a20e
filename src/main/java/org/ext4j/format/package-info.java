/**
 * Pure codecs of ext4's on-disk structures, one class per structure, each field read at its
 * absolute offset under its kernel name ({@code fs/ext4/ext4.h}, {@code ext4_extents.h},
 * {@code namei.c}'s dx structures, {@code xattr.h}), plus the checksums (crc32c with ext4's raw
 * seeding, crc16) and the htree name hash.
 *
 * <p>Byte order and split lo/hi fields live in {@link org.ext4j.format.Le} and in each codec's
 * decode method only. Decoding validates what later arithmetic depends on (the kernel's
 * {@code ext4_fill_super} and {@code __ext4_ext_check} checks), so that no division, allocation or
 * loop above can be driven out of bounds by a hostile image. Nothing here does I/O.
 */
package org.ext4j.format;
