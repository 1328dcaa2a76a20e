package org.ext4j.inode;

import java.nio.charset.StandardCharsets;

import org.ext4j.error.InvalidArgumentException;

/**
 * An attribute name as ext4 stores it: a name index standing for the prefix, and the rest of the
 * name. {@link #parse} maps user space's full names as the kernel's xattr handlers do
 * ({@code ext4_xattr_handler_map} and the VFS's {@code xattr_resolve_name}): {@code user.},
 * {@code trusted.} and {@code security.} are prefixes and need a non-empty rest; the two POSIX ACL
 * names are whole names with an empty rest. Everything else, {@code system.data} (inline data,
 * the file system's own) and the Hurd's {@code gnu.} included, is refused as the kernel refuses
 * it from user space (EOPNOTSUPP).
 */
public record XattrName(int index, byte[] suffix) {
    public static final int INDEX_USER = 1;
    public static final int INDEX_POSIX_ACL_ACCESS = 2;
    public static final int INDEX_POSIX_ACL_DEFAULT = 3;
    public static final int INDEX_TRUSTED = 4;
    public static final int INDEX_SECURITY = 6;
    public static final int INDEX_SYSTEM = 7;
    /** {@code XATTR_NAME_MAX}: the longest full name, in bytes. */
    public static final int NAME_MAX = 255;

    public static final String ACL_ACCESS = "system.posix_acl_access";
    public static final String ACL_DEFAULT = "system.posix_acl_default";

    /**
     * The stored form of {@code fullName} (UTF-8). Refused with {@link InvalidArgumentException}:
     * an empty name or one over 255 bytes (ERANGE, as {@code setxattr(2)}), a NUL byte or a prefix
     * with nothing after it (EINVAL), a name no handler takes (EOPNOTSUPP).
     */
    public static XattrName parse(String fullName) throws InvalidArgumentException {
        byte[] b = fullName.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0 || b.length > NAME_MAX) {
            throw new InvalidArgumentException("attribute name of " + b.length + " bytes: a name holds 1 to "
                    + NAME_MAX + " bytes (ERANGE)");
        }
        for (byte x : b) {
            if (x == 0) {
                throw new InvalidArgumentException("attribute name holds a NUL byte (EINVAL)");
            }
        }
        if (fullName.equals(ACL_ACCESS)) {
            return new XattrName(INDEX_POSIX_ACL_ACCESS, new byte[0]);
        }
        if (fullName.equals(ACL_DEFAULT)) {
            return new XattrName(INDEX_POSIX_ACL_DEFAULT, new byte[0]);
        }
        String[] prefixes = {"user.", "trusted.", "security."};
        int[] indexes = {INDEX_USER, INDEX_TRUSTED, INDEX_SECURITY};
        for (int i = 0; i < prefixes.length; i++) {
            if (fullName.startsWith(prefixes[i])) {
                int n = prefixes[i].length();
                if (b.length == n) {
                    throw new InvalidArgumentException("attribute name \"" + fullName + "\" has nothing after its prefix (EINVAL)");
                }
                return new XattrName(indexes[i], java.util.Arrays.copyOfRange(b, n, b.length));
            }
        }
        throw new InvalidArgumentException("attribute name \"" + fullName
                + "\" is in no namespace ext4 takes from user space (EOPNOTSUPP): user., trusted., security., "
                + ACL_ACCESS + ", " + ACL_DEFAULT);
    }

    /** Whether this is one of the two POSIX ACLs, whose values are converted to ext4's form. */
    public boolean isAcl() {
        return index == INDEX_POSIX_ACL_ACCESS || index == INDEX_POSIX_ACL_DEFAULT;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof XattrName n && n.index == index && java.util.Arrays.equals(n.suffix, suffix);
    }

    @Override
    public int hashCode() {
        return index * 31 + java.util.Arrays.hashCode(suffix);
    }

    @Override
    public String toString() {
        return index + ":" + new String(suffix, StandardCharsets.UTF_8);
    }
}
