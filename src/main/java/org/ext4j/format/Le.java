package org.ext4j.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The one place that knows ext4 is little-endian: absolute-offset reads and writes of unsigned
 * fields through {@link VarHandle} views, as Lucene's {@code BitUtil} does. Every codec reads each
 * field at its absolute offset under its kernel name with these.
 */
public final class Le {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    public static int u8(byte[] b, int off) {
        return b[off] & 0xFF;
    }

    public static int u16(byte[] b, int off) {
        return (short) U16.get(b, off) & 0xFFFF;
    }

    public static long u32(byte[] b, int off) {
        return (int) U32.get(b, off) & 0xFFFFFFFFL;
    }

    /** A 32-bit field read as a Java int (for hashes and checksums where the bits matter). */
    public static int i32(byte[] b, int off) {
        return (int) U32.get(b, off);
    }

    public static long u64(byte[] b, int off) {
        return (long) U64.get(b, off);
    }

    public static void put16(byte[] b, int off, int v) {
        U16.set(b, off, (short) v);
    }

    public static void put32(byte[] b, int off, long v) {
        U32.set(b, off, (int) v);
    }

    public static void put64(byte[] b, int off, long v) {
        U64.set(b, off, v);
    }

    /** Joins a split lo/hi field, as the kernel's {@code ext4_*_lo/_hi} accessors do. */
    public static long join(long lo32, long hi) {
        return (hi << 32) | (lo32 & 0xFFFFFFFFL);
    }
}
