package org.ext4j.error;

/**
 * A request the file system refuses whatever the image holds: the root of the argument errors.
 * Used as is for requests refused by the state of the open file system (a write on a read-only
 * open: the kernel's EROFS); its subclasses name the kernel's errno for bad arguments:
 * {@link InvalidArgumentException} (EINVAL), {@link NameTooLongException} (ENAMETOOLONG) and
 * {@link FileTooLargeException} (EFBIG). The CLI maps the first two to usage errors (exit 2) and
 * the others to exit 1.
 */
public class InvalidRequestException extends Ext4Exception {
    public InvalidRequestException(String message) {
        super(message);
    }
}
