package org.ext4j.namespace;

import org.ext4j.error.Ext4Exception;

/** ENOTEMPTY: rmdir of a directory that holds more than "." and "..", or rename onto one. */
public final class DirectoryNotEmptyException extends Ext4Exception {
    public DirectoryNotEmptyException(String message) {
        super(message);
    }
}
