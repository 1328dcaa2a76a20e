package org.ext4j.inode;

/** One extended attribute as user space sees it: full name ({@code user.foo}) and value. */
public record Xattr(String name, byte[] value) {
}
