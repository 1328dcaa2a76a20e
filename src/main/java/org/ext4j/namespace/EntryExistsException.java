package org.ext4j.namespace;

import org.ext4j.error.Ext4Exception;

/** EEXIST: the directory already holds an entry of that name. */
public final class EntryExistsException extends Ext4Exception {
    public EntryExistsException(String message) {
        super(message);
    }
}
