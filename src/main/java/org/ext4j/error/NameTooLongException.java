package org.ext4j.error;

import java.nio.charset.StandardCharsets;

/**
 * ENAMETOOLONG: a path component longer than the 255 bytes a directory entry can hold (the
 * kernel's {@code ext4_lookup} and {@code ext4_add_entry} refuse it before touching the
 * directory), or a whole path of {@link #PATH_MAX} bytes or more ({@code getname}). The message
 * names the component, shortened, and its length in bytes.
 */
public final class NameTooLongException extends InvalidRequestException {
    /** The longest name a directory entry holds ({@code EXT4_NAME_LEN}). */
    public static final int NAME_MAX = 255;
    /** Paths are refused from this many bytes on: {@code PATH_MAX} counts the terminating NUL. */
    public static final int PATH_MAX = 4096;

    private final int length;

    private NameTooLongException(String message, int length) {
        super(message);
        this.length = length;
    }

    /** A component of {@code name.length} bytes, more than {@link #NAME_MAX}. */
    public static NameTooLongException component(byte[] name) {
        return new NameTooLongException("file name too long: \"" + shortened(name) + "\" is " + name.length
                + " bytes, a name holds at most " + NAME_MAX, name.length);
    }

    /** A whole path of {@code path.length} bytes, {@link #PATH_MAX} or more. */
    public static NameTooLongException path(byte[] path) {
        return new NameTooLongException("file name too long: the path \"" + shortened(path) + "\" is " + path.length
                + " bytes, a path holds at most " + (PATH_MAX - 1), path.length);
    }

    /** A symlink target of {@code length} bytes, more than the {@code max} the file system stores. */
    public static NameTooLongException symlinkTarget(int length, int max) {
        return new NameTooLongException("file name too long: a symlink target of " + length
                + " bytes, this file system stores at most " + max + " (ENAMETOOLONG)", length);
    }

    /** Length in bytes of the name or path refused. */
    public int length() {
        return length;
    }

    private static String shortened(byte[] name) {
        int n = Math.min(name.length, 40);
        String s = new String(name, 0, n, StandardCharsets.UTF_8);
        return name.length > n ? s + "..." : s;
    }
}
