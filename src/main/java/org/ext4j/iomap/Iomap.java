package org.ext4j.iomap;

/**
 * One mapping handed out by {@link IomapOps#begin} ({@code struct iomap}): the byte range
 * {@code [offset, offset+length)} of the file, where it lives ({@code addr}, a byte address on the
 * device, or {@link #NO_ADDR}), its type, flags, and the validity cookie: the value of the file
 * system's mapping sequence counter the answer was computed under. {@link IomapOps#valid} compares
 * the cookie with the counter's current value; a mapping whose cookie no longer matches must not be
 * trusted for anything that depends on its type.
 */
public record Iomap(long offset, long length, long addr, Type type, int flags, long validityCookie) {
    public static final long NO_ADDR = -1;
    /** The blocks were allocated by this mapping call: not yet written, must be zeroed around a partial write. */
    public static final int F_NEW = 0x1;
    /** Set when {@link #validityCookie} carries a counter value; a cookie never set is always valid. */
    public static final int F_VALID_COOKIE = 0x2;

    /** What the range is, as iomap's {@code IOMAP_*} types. */
    public enum Type {
        /** No blocks: reads zero; a write needs space. */
        HOLE,
        /** Space reserved, blocks not allocated yet (delayed allocation). */
        DELALLOC,
        /** Allocated and written: reads come from {@link Iomap#addr}. */
        MAPPED,
        /** Allocated, not written: reads zero until converted. */
        UNWRITTEN
    }

    public Iomap {
        if (length <= 0) {
            throw new IllegalArgumentException("empty mapping at " + offset);
        }
    }

    public long end() {
        return offset + length;
    }

    public boolean isNew() {
        return (flags & F_NEW) != 0;
    }

    public boolean hasCookie() {
        return (flags & F_VALID_COOKIE) != 0;
    }

    /** Device byte address of file byte {@code pos} inside this mapping. */
    public long addrOf(long pos) {
        return addr + (pos - offset);
    }
}
