package org.ext4j.format;

/**
 * The one place that knows ext4 is little-endian: absolute-offset reads and writes of unsigned
 * fields. Every codec reads each field at its absolute offset under its kernel name with these.
 *
 * <p>Plain shifts, not {@code MethodHandles.byteArrayViewVarHandle}: on OpenJDK 17.0.15, C2
 * miscompiled a VarHandle-based {@link #u32} loop once it was inlined into {@code Inode.load}
 * (block-map pointers read as zero, files silently read as holes). {@code KernelKnownBugsTest}
 * reproduces it in a separate JVM; these shifts compile to the same single loads on x86.
 */
public final class Le {
    private Le() {
    }

    public static int u8(byte[] b, int off) {
        return b[off] & 0xFF;
    }

    public static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    public static long u32(byte[] b, int off) {
        return i32(b, off) & 0xFFFFFFFFL;
    }

    /** A 32-bit field read as a Java int (for hashes and checksums where the bits matter). */
    public static int i32(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }

    public static long u64(byte[] b, int off) {
        return u32(b, off) | (long) i32(b, off + 4) << 32;
    }

    public static void put16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    public static void put32(byte[] b, int off, long v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public static void put64(byte[] b, int off, long v) {
        put32(b, off, v);
        put32(b, off + 4, v >>> 32);
    }

    /** Joins a split lo/hi field, as the kernel's {@code ext4_*_lo/_hi} accessors do. */
    public static long join(long lo32, long hi) {
        return (hi << 32) | (lo32 & 0xFFFFFFFFL);
    }
}
