package org.ext4j.alloc;

/**
 * Searches in on-disk bitmaps (bit {@code i} is bit {@code i & 7} of byte {@code i >> 3}, as ext4's
 * little-endian bitmaps): the kernel's {@code ext4_find_next_zero_bit} and {@code mb_find_next_bit}.
 * Whole bytes of 0x00 or 0xFF are skipped at once. Bounds are trusted: callers pass limits derived
 * from the validated superblock geometry, never larger than the bitmap.
 */
final class BitSearch {
    private BitSearch() {
    }

    /** First clear bit in {@code [from, limit)}, or {@code limit} when there is none. */
    static int nextZero(byte[] bitmap, int from, int limit) {
        return next(bitmap, from, limit, false);
    }

    /** First set bit in {@code [from, limit)}, or {@code limit} when there is none. */
    static int nextOne(byte[] bitmap, int from, int limit) {
        return next(bitmap, from, limit, true);
    }

    private static int next(byte[] bitmap, int from, int limit, boolean wantSet) {
        int skip = wantSet ? 0x00 : 0xFF;
        int i = from;
        while (i < limit) {
            if ((i & 7) == 0) {
                // byte aligned: step over whole bytes holding none of what we look for
                while (i + 8 <= limit && (bitmap[i >>> 3] & 0xFF) == skip) {
                    i += 8;
                }
                if (i >= limit) {
                    break;
                }
            }
            boolean set = (bitmap[i >>> 3] & (1 << (i & 7))) != 0;
            if (set == wantSet) {
                return i;
            }
            i++;
        }
        return limit;
    }

    /** Clear bits in {@code [0, limit)}. */
    static int countZeros(byte[] bitmap, int limit) {
        int ones = 0;
        int whole = limit >>> 3;
        for (int i = 0; i < whole; i++) {
            ones += Integer.bitCount(bitmap[i] & 0xFF);
        }
        for (int i = whole << 3; i < limit; i++) {
            if ((bitmap[i >>> 3] & (1 << (i & 7))) != 0) {
                ones++;
            }
        }
        return limit - ones;
    }

    /** Sets bits {@code [from, to)}. */
    static void setRange(byte[] bitmap, int from, int to) {
        for (int i = from; i < to; i++) {
            bitmap[i >>> 3] |= (byte) (1 << (i & 7));
        }
    }

    /** Clears bits {@code [from, to)}. */
    static void clearRange(byte[] bitmap, int from, int to) {
        for (int i = from; i < to; i++) {
            bitmap[i >>> 3] &= (byte) ~(1 << (i & 7));
        }
    }

    /** Whether every bit of {@code [from, to)} is set. */
    static boolean allSet(byte[] bitmap, int from, int to) {
        return nextZero(bitmap, from, to) == to;
    }

    /** Whether every bit of {@code [from, to)} is clear. */
    static boolean allClear(byte[] bitmap, int from, int to) {
        return nextOne(bitmap, from, to) == to;
    }
}
