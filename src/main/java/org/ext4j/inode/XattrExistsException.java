package org.ext4j.inode;

import org.ext4j.error.Ext4Exception;

/** EEXIST: an attribute to be created ({@code XATTR_CREATE}) exists already. */
public final class XattrExistsException extends Ext4Exception {
    public XattrExistsException(String message) {
        super(message);
    }
}
