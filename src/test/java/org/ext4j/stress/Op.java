package org.ext4j.stress;

import java.util.Random;

import org.ext4j.fs.Ext4File;

/**
 * One operation of a stress thread, as drawn from the thread's seeded {@link Random}. Every
 * parameter is drawn without looking at the file, so a thread's sequence of operations depends on
 * its seed only; offsets "relative to the end of file" ({@link #where}) are resolved against the
 * size when the operation is applied ({@link #position}, {@link #newSize}).
 */
record Op(Kind kind, int where, long raw, int len, int mode, long tag) {
    enum Kind { PWRITE, APPEND, TRUNCATE, FALLOCATE, FSYNC, REOPEN, PREAD }

    static final int MAX_WRITE = 300 * 1024;
    static final int[] FALLOC_MODES = {0, Ext4File.FALLOC_KEEP_SIZE,
        Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, Ext4File.FALLOC_ZERO_RANGE,
        Ext4File.FALLOC_ZERO_RANGE | Ext4File.FALLOC_KEEP_SIZE};

    static String modeName(int mode) {
        return switch (mode) {
            case 0 -> "alloc";
            case Ext4File.FALLOC_KEEP_SIZE -> "alloc|keep";
            case Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE -> "punch|keep";
            case Ext4File.FALLOC_ZERO_RANGE -> "zero";
            case Ext4File.FALLOC_ZERO_RANGE | Ext4File.FALLOC_KEEP_SIZE -> "zero|keep";
            default -> String.format("0x%x", mode);
        };
    }

    /** 1 byte to 300 KiB, most of them small: 30% up to 512 B, 30% to 16 KiB, 25% to 64 KiB, 15% to 300 KiB. */
    static int length(Random rnd) {
        int r = rnd.nextInt(100);
        int max = r < 30 ? 512 : r < 60 ? 16 << 10 : r < 85 ? 64 << 10 : MAX_WRITE;
        return 1 + rnd.nextInt(max);
    }

    /**
     * The next operation: 45% pwrite, 10% append, 8% truncate, 19% fallocate (the five modes alike),
     * 5% fsync, 0.5% close and reopen, 12.5% read checked against the model.
     */
    static Op next(Random rnd, long tag, boolean reopen) {
        int r = rnd.nextInt(1000);
        int where = rnd.nextInt(5);
        long raw = rnd.nextLong() & Long.MAX_VALUE;
        int len = length(rnd);
        int mode = FALLOC_MODES[rnd.nextInt(FALLOC_MODES.length)];
        Kind k = r < 450 ? Kind.PWRITE : r < 550 ? Kind.APPEND : r < 630 ? Kind.TRUNCATE : r < 820 ? Kind.FALLOCATE
                : r < 870 ? Kind.FSYNC : r < 875 ? (reopen ? Kind.REOPEN : Kind.FSYNC) : Kind.PREAD;
        return new Op(k, where, raw, len, mode, tag);
    }

    /**
     * The offset of a write, fallocate or read of {@code n} bytes: anywhere below the cap, inside
     * the file, near its end (either side, unaligned), past it (leaving a hole), or within three bytes
     * of a block boundary; never so far that {@code offset + n} passes the cap.
     */
    static long position(int where, long raw, int n, long size, int blockSize, int cap) {
        long p = switch (where) {
            case 0 -> raw % (cap - n + 1L);
            case 1 -> raw % (size + 1);
            case 2 -> Math.max(0, size + raw % (32 << 10) - (16 << 10));
            case 3 -> size + 1 + raw % (256 << 10);
            default -> Math.max(0, (raw % (size / blockSize + 17)) * blockSize + (raw >>> 48) % 7 - 3);
        };
        return Math.min(p, cap - n);
    }

    /** A truncate's new size: lower, near the end (either side), higher, or at a block boundary ±3. */
    static long newSize(int where, long raw, long size, int blockSize, int cap) {
        long s = switch (where) {
            case 0 -> raw % (size + 1);
            case 1 -> Math.max(0, size + raw % (16 << 10) - (8 << 10));
            case 2, 3 -> size + 1 + raw % MAX_WRITE;
            default -> Math.max(0, (raw % (size / blockSize + 2)) * blockSize + (raw >>> 48) % 7 - 3);
        };
        return Math.min(s, cap);
    }

    String describe(long pos, long n) {
        return switch (kind) {
            case PWRITE, APPEND -> kind.name().toLowerCase() + " " + n + " bytes at " + pos + " (tag " + tag + ")";
            case TRUNCATE -> "truncate to " + pos;
            case FALLOCATE -> "fallocate " + modeName(mode) + " [" + pos + ", " + (pos + n) + ")";
            case PREAD -> "pread " + n + " bytes at " + pos;
            default -> kind.name().toLowerCase();
        };
    }
}
