package org.ext4j.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * The bytes of an inline-data inode as {@code fs/ext4/inline.c} keeps them: the first 60 in
 * i_block, the rest in the value of the {@code system.data} attribute in the inode body
 * ({@code ext4_read_inline_data}, {@code ext4_write_inline_data}), and the in-body attribute area
 * rewritten when that value is created, resized or removed ({@code ext4_xattr_ibody_set} as
 * {@code ext4_create_inline_data}, {@code ext4_update_inline_data} and
 * {@code ext4_destroy_inline_data_nolock} call it). Works on a whole raw inode, i_block included.
 *
 * <p>The area is rewritten with the entries in their order and the values packed down from its
 * end, the first entry's highest, as the kernel leaves an area built by appending; an empty value
 * has offset 0. The {@code system.data} entry's hash is 0, as the kernel stores it; the magic is
 * cleared when no entry is left. The space left for the value is the kernel's
 * {@code get_max_inline_xattr_value_size}.
 */
public final class InlineData {
    /** {@code EXT4_MIN_INLINE_DATA_SIZE}: i_block. */
    public static final int MIN_SIZE = InodeRecord.I_BLOCK_SIZE;
    private static final int INDEX_SYSTEM = 7;
    private static final byte[] NAME = {'d', 'a', 't', 'a'};
    private static final int EXTRA_ISIZE_OFFSET = 0x80;

    private InlineData() {
    }

    /** One in-body entry: its 16-byte header and name as stored, and its value (null for a value inode's). */
    private record Entry(byte[] header, byte[] name, byte[] value) {
        boolean isData() {
            return Le.u8(header, 1) == INDEX_SYSTEM && Arrays.equals(name, NAME);
        }

        int length() {
            return (XattrEntry.ENTRY_HEADER_SIZE + name.length + 3) & ~3;
        }
    }

    private static int areaStart(byte[] raw) {
        return Superblock.GOOD_OLD_INODE_SIZE + Le.u16(raw, EXTRA_ISIZE_OFFSET);
    }

    /** Whether the inode has an attribute area at all (a large inode with i_extra_isize set). */
    private static boolean hasArea(byte[] raw) {
        return raw.length > Superblock.GOOD_OLD_INODE_SIZE && Le.u16(raw, EXTRA_ISIZE_OFFSET) != 0
                && areaStart(raw) + XattrEntry.IBODY_HEADER_SIZE < raw.length;
    }

    private static boolean hasMagic(byte[] raw) {
        return hasArea(raw) && Le.u32(raw, areaStart(raw)) == XattrEntry.MAGIC;
    }

    private static int size(int n) { // EXT4_XATTR_SIZE
        return (n + 3) & ~3;
    }

    private static List<Entry> entries(byte[] raw, long ino) throws CorruptionException {
        List<Entry> out = new ArrayList<>();
        if (!hasMagic(raw)) {
            return out;
        }
        int first = areaStart(raw) + XattrEntry.IBODY_HEADER_SIZE;
        int off = first;
        for (XattrEntry e : XattrEntry.decodeEntries(raw, first, raw.length, first, ino, -1)) {
            byte[] header = Arrays.copyOfRange(raw, off, off + XattrEntry.ENTRY_HEADER_SIZE);
            byte[] value = null;
            if (e.valueInum() == 0) {
                int v = first + e.valueOffset();
                value = e.valueSize() == 0 ? new byte[0] : Arrays.copyOfRange(raw, v, v + e.valueSize());
            }
            Entry entry = new Entry(header, e.suffix(), value);
            out.add(entry);
            off += entry.length();
        }
        return out;
    }

    /** The size of the {@code system.data} value, or -1 when the inode has none. */
    public static int valueSize(byte[] raw, long ino) throws CorruptionException {
        for (Entry e : entries(raw, ino)) {
            if (e.isData()) {
                if (e.value == null) {
                    throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(ino)
                            .build("system.data may not live in a value inode");
                }
                return e.value.length;
            }
        }
        return -1;
    }

    /**
     * {@code ext4_get_max_inline_size}: the most bytes the inode can hold inline (i_block plus the
     * largest value the area leaves room for), 0 when it can hold none (no extra inode space).
     */
    public static int maxSize(byte[] raw, long ino) throws CorruptionException {
        int v = maxValueSize(raw, ino);
        return v == 0 ? 0 : v + MIN_SIZE;
    }

    /** {@code get_max_inline_xattr_value_size}. */
    public static int maxValueSize(byte[] raw, long ino) throws CorruptionException {
        if (!hasArea(raw)) {
            return 0;
        }
        int minOffs = raw.length - areaStart(raw) - XattrEntry.IBODY_HEADER_SIZE;
        int nameEntry = (NAME.length + 3 + XattrEntry.ENTRY_HEADER_SIZE) & ~3; // EXT4_XATTR_LEN
        if (!hasMagic(raw)) {
            return Math.max(0, size(minOffs - nameEntry - 3 - 4));
        }
        List<Entry> list = entries(raw, ino);
        int first = areaStart(raw) + XattrEntry.IBODY_HEADER_SIZE;
        int end = 0;
        for (int i = 0, off = first; i < list.size(); i++) {
            Entry e = list.get(i);
            int valueOffs = Le.u16(raw, off + 2);
            if (e.value != null && e.value.length != 0) {
                minOffs = Math.min(minOffs, valueOffs);
            }
            off += e.length();
            end = off - first;
        }
        int free = minOffs - end - 4;
        for (Entry e : list) {
            if (e.isData() && e.value != null) {
                return Math.max(0, free + size(e.value.length));
            }
        }
        free -= nameEntry;
        return free > 3 ? size(free - 3) : 0;
    }

    /**
     * Sets the {@code system.data} value ({@code null} removes the entry), rewriting the attribute
     * area; the caller has checked the room ({@link #maxValueSize}).
     */
    public static void setValue(byte[] raw, long ino, byte[] value) throws CorruptionException {
        List<Entry> list = entries(raw, ino);
        int at = -1;
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).isData()) {
                at = i;
            }
        }
        if (value == null) {
            if (at >= 0) {
                list.remove(at);
            }
        } else {
            byte[] header = new byte[XattrEntry.ENTRY_HEADER_SIZE];
            header[0] = (byte) NAME.length;
            header[1] = (byte) INDEX_SYSTEM;
            Entry e = new Entry(header, NAME, value.clone());
            if (at >= 0) {
                list.set(at, e);
            } else {
                list.add(e);
            }
        }
        if (!hasArea(raw)) {
            if (list.isEmpty()) {
                return;
            }
            throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(ino)
                    .build("inline data in an inode without room for extended attributes");
        }
        int start = areaStart(raw);
        byte[] area = new byte[raw.length - start];
        if (!list.isEmpty()) {
            Le.put32(area, 0, XattrEntry.MAGIC);
        }
        int off = XattrEntry.IBODY_HEADER_SIZE;
        int low = area.length;
        for (Entry e : list) {
            System.arraycopy(e.header, 0, area, off, XattrEntry.ENTRY_HEADER_SIZE);
            System.arraycopy(e.name, 0, area, off + XattrEntry.ENTRY_HEADER_SIZE, e.name.length);
            if (e.value != null) {
                int valueOffs = 0;
                if (e.value.length > 0) {
                    low -= size(e.value.length);
                    System.arraycopy(e.value, 0, area, low, e.value.length);
                    valueOffs = low - XattrEntry.IBODY_HEADER_SIZE;
                }
                Le.put16(area, off + 2, valueOffs);
                Le.put32(area, off + 8, e.value.length);
            }
            off += e.length();
        }
        if (!list.isEmpty() && off + 4 > low) {
            // only where the area's values overlap or leave less room than their offsets say (damage)
            throw CorruptionException.of(Kind.BAD_XATTR).inode(ino).offset(start)
                    .build("the in-inode attributes need " + (off + 4 - XattrEntry.IBODY_HEADER_SIZE)
                            + " bytes of entries below values from " + (low - XattrEntry.IBODY_HEADER_SIZE));
        }
        System.arraycopy(area, 0, raw, start, area.length);
    }

    /** The first {@code len} inline bytes: i_block, then the value ({@code ext4_read_inline_data}). */
    public static byte[] read(byte[] raw, long ino, int len) throws CorruptionException {
        byte[] out = new byte[len];
        System.arraycopy(raw, InodeRecord.I_BLOCK_OFFSET, out, 0, Math.min(len, MIN_SIZE));
        if (len > MIN_SIZE) {
            byte[] v = valueOf(raw, ino);
            System.arraycopy(v, 0, out, MIN_SIZE, Math.min(len - MIN_SIZE, v.length));
        }
        return out;
    }

    private static byte[] valueOf(byte[] raw, long ino) throws CorruptionException {
        for (Entry e : entries(raw, ino)) {
            if (e.isData() && e.value != null) {
                return e.value;
            }
        }
        return new byte[0];
    }

    /**
     * Writes {@code len} bytes at {@code pos} of the inline data ({@code ext4_write_inline_data}):
     * the end must lie inside i_block and the value as it is.
     */
    public static void write(byte[] raw, long ino, int pos, byte[] src, int off, int len) throws CorruptionException {
        if (pos < MIN_SIZE) {
            int n = Math.min(len, MIN_SIZE - pos);
            System.arraycopy(src, off, raw, InodeRecord.I_BLOCK_OFFSET + pos, n);
            pos += n;
            off += n;
            len -= n;
        }
        if (len == 0) {
            return;
        }
        byte[] v = valueOf(raw, ino);
        if (pos - MIN_SIZE + len > v.length) {
            throw new IllegalArgumentException("inline write of " + len + " bytes at " + pos + " past the "
                    + (MIN_SIZE + v.length) + " inline bytes of inode " + ino);
        }
        System.arraycopy(src, off, v, pos - MIN_SIZE, len);
        setValue(raw, ino, v);
    }
}
