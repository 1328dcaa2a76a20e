package org.ext4j.error;

/**
 * An argument no file system could accept, checked before anything is looked up or allocated:
 * a negative offset or length, an offset plus length past 2^63 - 1, a zero-length fallocate, a
 * fallocate mode the kernel rejects, a path holding a NUL byte, a buffer range outside its array.
 * The kernel answers these with EINVAL (EFAULT for a bad buffer, EOPNOTSUPP for a fallocate mode,
 * ERANGE for an xattr name); the message names the argument and says which.
 */
public final class InvalidArgumentException extends InvalidRequestException {
    public InvalidArgumentException(String message) {
        super(message);
    }
}
