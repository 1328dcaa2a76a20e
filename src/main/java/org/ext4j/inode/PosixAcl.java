package org.ext4j.inode;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.format.Le;

/**
 * POSIX ACLs from user space's {@code posix_acl_xattr} form (version 2, 8-byte entries of tag,
 * perm, id) to ext4's compact form ({@code ext4_acl_to_disk} in {@code fs/ext4/acl.c}: version 1,
 * 4-byte entries for the owner, owning group, mask and others, 8-byte entries for named users and
 * groups), after the checks of {@code posix_acl_from_xattr} and {@code posix_acl_valid}.
 * {@link XattrReader#aclToXattr} goes the other way.
 */
final class PosixAcl {
    static final int USER_OBJ = 0x01;
    static final int USER = 0x02;
    static final int GROUP_OBJ = 0x04;
    static final int GROUP = 0x08;
    static final int MASK = 0x10;
    static final int OTHER = 0x20;

    private PosixAcl() {
    }

    /**
     * The on-disk bytes of an ACL given as {@code posix_acl_xattr}; null for an ACL of no entries,
     * which the kernel takes as removing the ACL. Malformed or invalid ACLs are refused (EINVAL, or
     * EOPNOTSUPP for another version), as {@code setxattr(2)} refuses them.
     */
    static byte[] toDisk(byte[] x) throws InvalidArgumentException {
        if (x.length < 4) {
            throw new InvalidArgumentException("POSIX ACL of " + x.length + " bytes has no header (EINVAL)");
        }
        if (Le.u32(x, 0) != 2) {
            throw new InvalidArgumentException("POSIX ACL version " + Le.u32(x, 0) + " is not 2 (EOPNOTSUPP)");
        }
        if ((x.length - 4) % 8 != 0) {
            throw new InvalidArgumentException("POSIX ACL of " + x.length + " bytes is no whole number of entries (EINVAL)");
        }
        int count = (x.length - 4) / 8;
        if (count == 0) {
            return null;
        }
        // posix_acl_valid: owner, named users by id, owning group, named groups by id, mask (needed
        // with named entries), others; permissions rwx only
        int state = USER_OBJ;
        boolean needsMask = false;
        long prevId = -1;
        int size = 4;
        for (int i = 0; i < count; i++) {
            int off = 4 + 8 * i;
            int tag = Le.u16(x, off);
            int perm = Le.u16(x, off + 2);
            long id = Le.u32(x, off + 4);
            if ((perm & ~7) != 0) {
                throw invalid(i, "permissions 0x" + Integer.toHexString(perm));
            }
            switch (tag) {
                case USER_OBJ -> {
                    if (state != USER_OBJ) {
                        throw invalid(i, "owner entry out of place");
                    }
                    state = USER;
                    prevId = -1;
                }
                case USER, GROUP -> {
                    if (state != tag || id == 0xFFFFFFFFL) {
                        throw invalid(i, (tag == USER ? "named user" : "named group") + " out of place or without id");
                    }
                    if (id <= prevId) {
                        throw invalid(i, "ids not in increasing order");
                    }
                    prevId = id;
                    needsMask = true;
                    size += 8;
                    continue;
                }
                case GROUP_OBJ -> {
                    if (state != USER) {
                        throw invalid(i, "owning group entry out of place");
                    }
                    state = GROUP;
                    prevId = -1;
                }
                case MASK -> {
                    if (state != GROUP) {
                        throw invalid(i, "mask entry out of place");
                    }
                    state = OTHER;
                }
                case OTHER -> {
                    if (state != OTHER && !(state == GROUP && !needsMask)) {
                        throw invalid(i, "others entry out of place (a mask is needed with named entries)");
                    }
                    state = 0;
                }
                default -> throw invalid(i, "tag 0x" + Integer.toHexString(tag));
            }
            size += 4;
        }
        if (state != 0) {
            throw new InvalidArgumentException("POSIX ACL is incomplete: owner, owning group and others are needed (EINVAL)");
        }
        byte[] d = new byte[size];
        Le.put32(d, 0, 1);
        int o = 4;
        for (int i = 0; i < count; i++) {
            int off = 4 + 8 * i;
            int tag = Le.u16(x, off);
            Le.put16(d, o, tag);
            Le.put16(d, o + 2, Le.u16(x, off + 2));
            if (tag == USER || tag == GROUP) {
                Le.put32(d, o + 4, Le.u32(x, off + 4));
                o += 8;
            } else {
                o += 4;
            }
        }
        return d;
    }

    /**
     * {@code posix_acl_equiv_mode}: the permission bits an access ACL (valid, in
     * {@code posix_acl_xattr} form) gives {@code mode} (owner, owning group or mask, others), and
     * whether the ACL says no more than those bits (no named entries, no mask): then the kernel
     * stores no ACL at all, only the mode.
     */
    static int[] equivalentMode(byte[] x, int mode) throws InvalidArgumentException {
        toDisk(x); // valid, or refused as setxattr refuses it
        int bits = 0;
        int equivalent = 1;
        for (int off = 4; off + 8 <= x.length; off += 8) {
            int perm = Le.u16(x, off + 2) & 7;
            switch (Le.u16(x, off)) {
                case USER_OBJ -> bits = (bits & ~0700) | perm << 6;
                case GROUP_OBJ -> bits = (bits & ~0070) | perm << 3;
                case OTHER -> bits |= perm;
                case MASK -> {
                    bits = (bits & ~0070) | perm << 3;
                    equivalent = 0;
                }
                default -> equivalent = 0;
            }
        }
        return new int[] {(mode & ~0777) | bits, equivalent};
    }

    private static InvalidArgumentException invalid(int i, String why) {
        return new InvalidArgumentException("POSIX ACL entry " + i + ": " + why + " (EINVAL)");
    }
}
