package org.ext4j.format;

/**
 * The crc32c that ext4 and jbd2 checksum with ({@code ext4_chksum}): Castagnoli polynomial,
 * reflected, with the running value passed in and out raw (no pre- or post-inversion), so that
 * checksums chain across pieces exactly as the kernel's {@code crc32c(crc, buf, len)} does.
 * {@link java.util.zip.CRC32C} cannot start from an arbitrary seed, which ext4's per-inode and
 * per-group seeds need, so this is a slicing-by-8 table implementation.
 */
public final class Crc32c {
    private static final int[][] T = new int[8][256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
            T[0][n] = c;
        }
        for (int n = 0; n < 256; n++) {
            for (int k = 1; k < 8; k++) {
                T[k][n] = (T[k - 1][n] >>> 8) ^ T[0][T[k - 1][n] & 0xFF];
            }
        }
    }

    private Crc32c() {
    }

    public static int update(int crc, byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (end - i >= 8) {
            int lo = crc ^ ((b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24);
            crc = T[7][lo & 0xFF] ^ T[6][(lo >>> 8) & 0xFF] ^ T[5][(lo >>> 16) & 0xFF] ^ T[4][lo >>> 24]
                    ^ T[3][b[i + 4] & 0xFF] ^ T[2][b[i + 5] & 0xFF] ^ T[1][b[i + 6] & 0xFF] ^ T[0][b[i + 7] & 0xFF];
            i += 8;
        }
        while (i < end) {
            crc = (crc >>> 8) ^ T[0][(crc ^ b[i++]) & 0xFF];
        }
        return crc;
    }

    public static int update(int crc, byte[] b) {
        return update(crc, b, 0, b.length);
    }

    public static int updateLe32(int crc, long value) {
        byte[] b = new byte[4];
        Le.put32(b, 0, value);
        return update(crc, b, 0, 4);
    }

    public static int updateLe64(int crc, long value) {
        byte[] b = new byte[8];
        Le.put64(b, 0, value);
        return update(crc, b, 0, 8);
    }

    /** Feeds {@code n} zero bytes: how the kernel checksums a structure with its checksum field zeroed. */
    public static int updateZeros(int crc, int n) {
        for (int i = 0; i < n; i++) {
            crc = (crc >>> 8) ^ T[0][crc & 0xFF];
        }
        return crc;
    }
}
