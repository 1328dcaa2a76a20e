package org.ext4j.tree;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One name to put into an image, as a tar header or an {@code lstat} plus its xattrs describe it:
 * a path relative to the image's root ('/'-separated), a type, permission bits, owner, access and
 * modification times to the nanosecond (what {@code utimensat} can set; ctime and crtime become
 * the time of the build, as for any created file), extended attributes ({@code system.posix_acl_*}
 * in their xattr form, {@code security.capability} and {@code security.selinux} included), and what
 * the type needs: a device's numbers, a symlink's target, a hard link's earlier path, a regular
 * file's {@link Contents}. Made with the factories ({@link #file}, {@link #directory}, ...) and
 * their {@link Builder}; immutable.
 */
public final class Entry {
    /** The file types an entry can have; {@link #HARD_LINK} names an earlier entry's inode. */
    public enum Type {
        REGULAR(0100000), DIRECTORY(0040000), SYMLINK(0120000), CHAR_DEVICE(0020000), BLOCK_DEVICE(0060000),
        FIFO(0010000), SOCKET(0140000), HARD_LINK(0);

        /** The {@code S_IFMT} bits of the type (0 for a hard link). */
        public final int ifmt;

        Type(int ifmt) {
            this.ifmt = ifmt;
        }
    }

    private final String path;
    private final Type type;
    private final int mode;
    private final long uid;
    private final long gid;
    private final Instant atime;
    private final Instant mtime;
    private final Map<String, byte[]> xattrs;
    private final int major;
    private final int minor;
    private final byte[] symlinkTarget;
    private final String linkTarget;
    private final Contents contents;

    private Entry(Builder b) {
        this.path = b.path;
        this.type = b.type;
        this.mode = b.mode;
        this.uid = b.uid;
        this.gid = b.gid;
        this.atime = b.atime;
        this.mtime = b.mtime;
        this.xattrs = Collections.unmodifiableMap(new LinkedHashMap<>(b.xattrs));
        this.major = b.major;
        this.minor = b.minor;
        this.symlinkTarget = b.symlinkTarget;
        this.linkTarget = b.linkTarget;
        this.contents = b.contents;
    }

    private Entry(Entry e, Instant atime, Instant mtime) {
        this.path = e.path;
        this.type = e.type;
        this.mode = e.mode;
        this.uid = e.uid;
        this.gid = e.gid;
        this.atime = atime;
        this.mtime = mtime;
        this.xattrs = e.xattrs;
        this.major = e.major;
        this.minor = e.minor;
        this.symlinkTarget = e.symlinkTarget;
        this.linkTarget = e.linkTarget;
        this.contents = e.contents;
    }

    /**
     * This entry with its times as a reproducible build stores them (reproducible-builds.org's
     * {@code SOURCE_DATE_EPOCH} clamping): a modification time later than {@code t} becomes
     * {@code t}, and the access time is that modification time (atimes are not an input a
     * reproducible image may depend on). Unset times stay unset (the build's fixed clock gives them).
     */
    public Entry clampedTo(Instant t) {
        Instant m = mtime != null && mtime.isAfter(t) ? t : mtime;
        return new Entry(this, m, m);
    }

    /** A regular file holding {@code contents}; mode 0644 unless set. */
    public static Builder file(String path, Contents contents) {
        Builder b = new Builder(path, Type.REGULAR, 0644);
        b.contents = Objects.requireNonNull(contents, "contents");
        return b;
    }

    /** A directory; mode 0755 unless set. */
    public static Builder directory(String path) {
        return new Builder(path, Type.DIRECTORY, 0755);
    }

    /** A symbolic link holding {@code target}. */
    public static Builder symlink(String path, String target) {
        return symlink(path, target.getBytes(StandardCharsets.UTF_8));
    }

    /** A symbolic link holding the bytes {@code target}. */
    public static Builder symlink(String path, byte[] target) {
        Builder b = new Builder(path, Type.SYMLINK, 0777);
        b.symlinkTarget = Objects.requireNonNull(target, "target").clone();
        return b;
    }

    public static Builder charDevice(String path, int major, int minor) {
        return device(path, Type.CHAR_DEVICE, major, minor);
    }

    public static Builder blockDevice(String path, int major, int minor) {
        return device(path, Type.BLOCK_DEVICE, major, minor);
    }

    public static Builder fifo(String path) {
        return new Builder(path, Type.FIFO, 0644);
    }

    public static Builder socket(String path) {
        return new Builder(path, Type.SOCKET, 0755);
    }

    /** Another name for the inode an earlier entry made at {@code existing}; it carries no attributes of its own. */
    public static Builder hardLink(String path, String existing) {
        Builder b = new Builder(path, Type.HARD_LINK, 0);
        b.linkTarget = Objects.requireNonNull(existing, "existing");
        return b;
    }

    private static Builder device(String path, Type type, int major, int minor) {
        Builder b = new Builder(path, type, 0644);
        b.major = major;
        b.minor = minor;
        return b;
    }

    public String path() {
        return path;
    }

    public Type type() {
        return type;
    }

    /** The permission bits, 07777. */
    public int mode() {
        return mode;
    }

    /** The owner, or -1 to keep the creating process's (as an unprivileged cp). */
    public long uid() {
        return uid;
    }

    public long gid() {
        return gid;
    }

    /** The access time, or null for the time of the build. */
    public Instant atime() {
        return atime;
    }

    /** The modification time, or null for the time of the build. */
    public Instant mtime() {
        return mtime;
    }

    /** Extended attributes by full name ("user.x", "security.selinux", "system.posix_acl_access"), in order. */
    public Map<String, byte[]> xattrs() {
        return xattrs;
    }

    public int major() {
        return major;
    }

    public int minor() {
        return minor;
    }

    /** A symlink's target; null for other types. */
    public byte[] symlinkTarget() {
        return symlinkTarget == null ? null : symlinkTarget.clone();
    }

    /** A hard link's earlier path; null for other types. */
    public String linkTarget() {
        return linkTarget;
    }

    /** A regular file's contents; null for other types. */
    public Contents contents() {
        return contents;
    }

    @Override
    public String toString() {
        return type + " " + path;
    }

    /** Sets what an entry may carry beyond its type; {@link #build} makes the entry. */
    public static final class Builder {
        private final String path;
        private final Type type;
        private int mode;
        private long uid;
        private long gid;
        private Instant atime;
        private Instant mtime;
        private final Map<String, byte[]> xattrs = new LinkedHashMap<>();
        private int major;
        private int minor;
        private byte[] symlinkTarget;
        private String linkTarget;
        private Contents contents;

        private Builder(String path, Type type, int mode) {
            this.path = Objects.requireNonNull(path, "path");
            this.type = type;
            this.mode = mode;
        }

        /** Permission bits (07777; set-id and sticky bits included); a type in the bits must be the entry's. */
        public Builder mode(int mode) {
            this.mode = mode;
            return this;
        }

        /** Owner and group (32-bit ids; default 0:0, -1 keeps the creating process's). */
        public Builder owner(long uid, long gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        public Builder atime(Instant t) {
            this.atime = t;
            return this;
        }

        public Builder mtime(Instant t) {
            this.mtime = t;
            return this;
        }

        /** Access and modification time. */
        public Builder times(Instant atime, Instant mtime) {
            this.atime = atime;
            this.mtime = mtime;
            return this;
        }

        /** An extended attribute by full name, e.g. {@code user.x}, {@code system.posix_acl_access} (xattr form). */
        public Builder xattr(String name, byte[] value) {
            xattrs.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value").clone());
            return this;
        }

        public Builder xattrs(Map<String, byte[]> all) {
            all.forEach(this::xattr);
            return this;
        }

        public Entry build() {
            if (type == Type.HARD_LINK) {
                return new Entry(this);
            }
            int ifmt = mode & 0170000;
            if (ifmt != 0 && ifmt != type.ifmt) {
                throw new IllegalArgumentException(path + ": mode 0" + Integer.toOctalString(mode) + " is not a " + type);
            }
            mode &= 07777;
            if (uid < -1 || uid > 0xFFFF_FFFFL || gid < -1 || gid > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException(path + ": owner " + uid + ":" + gid + " is not of 32-bit ids");
            }
            return new Entry(this);
        }
    }

    /**
     * A regular file's bytes: its size, a way to open a stream of its data, and where its holes
     * are. The stream gives the bytes of the {@link #dataRanges} in order (the whole file when
     * there are none, as a GNU sparse tar member stores them); with {@link #detectHoles} all-zero
     * blocks of the data are left unwritten too ({@code cp --sparse=always}). A hole past the last
     * range reaches to {@link #size}.
     */
    public static final class Contents {
        /** Opens the data stream; called once, when the entry is written. */
        @FunctionalInterface
        public interface Opener {
            InputStream open() throws IOException;
        }

        /** {@code length} bytes of data at {@code offset}. */
        public record DataRange(long offset, long length) {
            public DataRange {
                if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
                    throw new IllegalArgumentException("data range " + offset + "+" + length);
                }
            }
        }

        private final long size;
        private final Opener opener;
        private final List<DataRange> dataRanges;
        private final boolean detectHoles;

        private Contents(long size, Opener opener, List<DataRange> dataRanges, boolean detectHoles) {
            if (size < 0) {
                throw new IllegalArgumentException("size " + size);
            }
            this.size = size;
            this.opener = Objects.requireNonNull(opener, "opener");
            this.dataRanges = dataRanges;
            this.detectHoles = detectHoles;
        }

        /** The bytes themselves. */
        public static Contents of(byte[] bytes) {
            byte[] copy = bytes.clone();
            return new Contents(copy.length, () -> new ByteArrayInputStream(copy), null, false);
        }

        /** {@code size} bytes, read from the stream {@code opener} opens. */
        public static Contents of(long size, Opener opener) {
            return new Contents(size, opener, null, false);
        }

        /**
         * The same file with holes everywhere but {@code ranges} (ascending, not overlapping, within
         * the size); the stream then holds only the ranges' bytes, one after the other.
         */
        public Contents withDataRanges(List<DataRange> ranges) {
            List<DataRange> copy = List.copyOf(ranges);
            long end = 0;
            for (DataRange r : copy) {
                if (r.offset() < end || r.offset() + r.length() > size) {
                    throw new IllegalArgumentException("data range " + r.offset() + "+" + r.length()
                            + " overlaps another, is out of order or ends past the size " + size);
                }
                end = r.offset() + r.length();
            }
            return new Contents(size, opener, copy, detectHoles);
        }

        /** The same file with its all-zero blocks left as holes. */
        public Contents detectingHoles() {
            return new Contents(size, opener, dataRanges, true);
        }

        public long size() {
            return size;
        }

        public InputStream open() throws IOException {
            return opener.open();
        }

        /** The data ranges, or the whole file as one range when none were given. */
        public List<DataRange> dataRanges() {
            return dataRanges != null ? dataRanges : List.of(new DataRange(0, size));
        }

        /** The bytes the stream holds: the sum of the ranges' lengths. */
        public long streamLength() {
            long n = 0;
            for (DataRange r : dataRanges()) {
                n += r.length();
            }
            return n;
        }

        public boolean detectHoles() {
            return detectHoles;
        }
    }
}
