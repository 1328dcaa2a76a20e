/**
 * ext4j's typed failures, usable from every layer. Three kinds are kept apart: corruption of the
 * image ({@link org.ext4j.error.CorruptionException}, with a named {@code Kind} and the inode, block
 * and offset where it was found), incompatibility ({@link org.ext4j.error.UnsupportedFeatureException},
 * naming the feature), and I/O failure of the device ({@link org.ext4j.error.Ext4IoException}).
 * The CLI maps them to exit statuses 1, 3 and 1.
 */
package org.ext4j.error;
