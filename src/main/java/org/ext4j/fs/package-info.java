/**
 * The file system: opening (feature checks, journal-needs-recovery warning), path resolution with
 * symlink following bounded at 40 links, and POSIX-shaped reads: stat, readdir, read at an offset,
 * readlink, list and get xattrs. The public library API is {@link org.ext4j.fs.Ext4FileSystem}.
 * Concurrent readers need no locking: everything below is immutable after open, device reads are
 * positional, and the only shared mutable state (the metadata block cache) is synchronised.
 */
package org.ext4j.fs;
