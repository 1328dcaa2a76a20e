package org.ext4j.namespace;

import org.ext4j.error.Ext4Exception;

/** EMLINK: an inode already has the most links the file system counts (65,000; a directory past it only with dir_nlink in an htree). */
public final class TooManyLinksException extends Ext4Exception {
    public TooManyLinksException(String message) {
        super(message);
    }
}
