/**
 * ext4j's typed failures, usable from every layer. Three kinds are kept apart: corruption of the
 * image ({@link org.ext4j.error.CorruptionException}, with a named {@code Kind} and the inode, block
 * and offset where it was found), incompatibility ({@link org.ext4j.error.UnsupportedFeatureException},
 * naming the feature), and I/O failure of the device ({@link org.ext4j.error.Ext4IoException}).
 * Requests are refused apart from all three, before anything is looked up or allocated, under
 * {@link org.ext4j.error.InvalidRequestException}, named after the kernel's errno:
 * {@link org.ext4j.error.InvalidArgumentException} (EINVAL), {@link org.ext4j.error.NameTooLongException}
 * (ENAMETOOLONG) and {@link org.ext4j.error.FileTooLargeException} (EFBIG); with
 * {@link org.ext4j.error.NotFoundException} (ENOENT) and {@link org.ext4j.error.WrongTypeException}
 * (ENOTDIR, EISDIR). The CLI maps corruption and I/O failures to exit status 1, unsupported
 * features to 3, EINVAL and ENAMETOOLONG to 2 (a usage error) and the other refusals to 1.
 */
package org.ext4j.error;
