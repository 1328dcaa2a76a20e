package org.ext4j.error;

/** An operation was asked of an inode of the wrong type: readdir of a file, readlink of a directory. */
public final class WrongTypeException extends Ext4Exception {
    public WrongTypeException(String what) {
        super(what);
    }
}
