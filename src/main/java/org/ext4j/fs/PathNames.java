package org.ext4j.fs;

import java.nio.charset.StandardCharsets;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NameTooLongException;
import org.ext4j.error.NotFoundException;

/**
 * The checks a path passes before any lookup, lock or allocation, as the kernel makes them before
 * walking: {@code getname} (an empty path is ENOENT, one of {@code PATH_MAX} bytes or more is
 * ENAMETOOLONG), the C string itself (a NUL byte cannot be part of a path: EINVAL here, where a
 * Java string can hold one), and {@code ext4_lookup} / {@code ext4_add_entry} (a component over
 * {@code EXT4_NAME_LEN} bytes is ENAMETOOLONG, not "no such file"). Names are the UTF-8 bytes of
 * the string, as {@link Ext4FileSystem#lookup} resolves them.
 */
public final class PathNames {
    private PathNames() {
    }

    /**
     * Checks a path given by a caller and returns its bytes.
     *
     * @throws NotFoundException for an empty path (ENOENT)
     * @throws InvalidArgumentException for a null path or one holding a NUL byte
     * @throws NameTooLongException for a path of 4096 bytes or more, or a component over 255 bytes
     */
    public static byte[] check(String path) throws NotFoundException, InvalidArgumentException, NameTooLongException {
        if (path == null) {
            throw new InvalidArgumentException("no path (null)");
        }
        return check(path.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #check(String)} for a path given as raw bytes. */
    public static byte[] check(byte[] path) throws NotFoundException, InvalidArgumentException, NameTooLongException {
        if (path == null) {
            throw new InvalidArgumentException("no path (null)");
        }
        if (path.length == 0) {
            throw new NotFoundException("\"\": no such file or directory (an empty path names nothing)");
        }
        return checkNames(path);
    }

    /**
     * {@link #check(byte[])} without the empty-path rule, for paths a caller split itself (an empty
     * parent is the root there).
     */
    static byte[] checkNames(byte[] path) throws InvalidArgumentException, NameTooLongException {
        for (int i = 0; i < path.length; i++) {
            if (path[i] == 0) {
                throw new InvalidArgumentException("invalid path \"" + printable(path) + "\": NUL byte at offset " + i);
            }
        }
        if (path.length >= NameTooLongException.PATH_MAX) {
            throw NameTooLongException.path(path);
        }
        int start = 0;
        for (int i = 0; i <= path.length; i++) {
            if (i == path.length || path[i] == '/') {
                if (i - start > NameTooLongException.NAME_MAX) {
                    throw NameTooLongException.component(java.util.Arrays.copyOfRange(path, start, i));
                }
                start = i + 1;
            }
        }
        return path;
    }

    /** Whether the path ends with '/' after at least one name: its last component must be a directory. */
    static boolean trailingSlash(byte[] path) {
        int end = path.length;
        while (end > 0 && path[end - 1] == '/') {
            end--;
        }
        return end > 0 && end < path.length;
    }

    /** The last component with trailing slashes dropped; empty for a path of slashes only. */
    static byte[] lastName(byte[] path) {
        int end = lastNameEnd(path);
        return java.util.Arrays.copyOfRange(path, lastNameStart(path, end), end);
    }

    /** Everything before the last component ("" when it is the first, relative one). */
    static byte[] parent(byte[] path) {
        return java.util.Arrays.copyOf(path, lastNameStart(path, lastNameEnd(path)));
    }

    /** Where the last component ends: before any trailing slashes. */
    private static int lastNameEnd(byte[] path) {
        int end = path.length;
        while (end > 0 && path[end - 1] == '/') {
            end--;
        }
        return end;
    }

    /** Where the last component, ending at {@code end}, starts. */
    private static int lastNameStart(byte[] path, int end) {
        int s = end;
        while (s > 0 && path[s - 1] != '/') {
            s--;
        }
        return s;
    }

    static boolean isDotOrDotDot(byte[] name) {
        return name.length == 1 && name[0] == '.' || name.length == 2 && name[0] == '.' && name[1] == '.';
    }

    /** The path with control bytes shown as \xNN, for a message on one line. */
    static String printable(byte[] path) {
        return printable(new String(path, StandardCharsets.UTF_8));
    }

    /**
     * {@code s} on one line whatever it holds: control characters (a newline or a NUL in a path) are
     * shown as {@code \xNN}, so that a message naming a hostile path stays one line.
     */
    public static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7F) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
