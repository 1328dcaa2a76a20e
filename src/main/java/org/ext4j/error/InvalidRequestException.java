package org.ext4j.error;

/** A request that no file can satisfy (EINVAL, EFBIG): a negative offset, a write past the largest file size. */
public final class InvalidRequestException extends Ext4Exception {
    public InvalidRequestException(String message) {
        super(message);
    }
}
