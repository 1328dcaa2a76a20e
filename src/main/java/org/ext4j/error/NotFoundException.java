package org.ext4j.error;

/** A path or attribute the caller asked for does not exist (ENOENT / ENODATA). */
public final class NotFoundException extends Ext4Exception {
    public NotFoundException(String what) {
        super(what);
    }
}
