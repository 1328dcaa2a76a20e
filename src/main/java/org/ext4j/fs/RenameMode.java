package org.ext4j.fs;

/** How {@link Ext4FileSystem#rename(String, String, RenameMode)} treats an existing target: renameat2's flags. */
public enum RenameMode {
    /** rename(2): an existing target is replaced (a file by a non-directory, an empty directory by a directory). */
    REPLACE,
    /** {@code RENAME_NOREPLACE}: EEXIST when the target exists. */
    NOREPLACE,
    /** {@code RENAME_EXCHANGE}: both names must exist; they swap their inodes atomically. */
    EXCHANGE
}
