package org.ext4j.alloc;

import org.ext4j.error.Ext4Exception;

/** ENOSPC: the file system has no room for what was asked. */
public final class NoSpaceException extends Ext4Exception {
    public NoSpaceException(String message) {
        super(message);
    }
}
