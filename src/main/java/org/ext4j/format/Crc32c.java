package org.ext4j.format;

/**
 * The crc32c that ext4 and jbd2 checksum with ({@code ext4_chksum}): Castagnoli polynomial,
 * reflected, with the running value passed in and out raw (no pre- or post-inversion), so that
 * checksums chain across pieces exactly as the kernel's {@code crc32c(crc, buf, len)} does.
 *
 * <p>{@link java.util.zip.CRC32C} (which the JIT turns into the CPU's crc32c instructions) always
 * starts from 0xFFFFFFFF, while ext4 seeds per inode and per group. A crc register can be driven to
 * any value by four input bytes, so for inputs of {@value #JDK_MIN} bytes and more the JDK's crc is
 * first fed the four bytes that take its register from 0xFFFFFFFF to the seed ({@link #preset}),
 * then the data; shorter inputs, and the reference the tests compare with, use a slicing-by-8 table.
 */
public final class Crc32c {
    private static final int[][] T = new int[8][256];
    /** For the top byte of a table entry, the entry's index (the top bytes of T[0] are a permutation). */
    private static final int[] TOP_TO_INDEX = new int[256];
    /** Inputs at least this long go through {@link java.util.zip.CRC32C}. */
    static final int JDK_MIN = 64;

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
        java.util.Arrays.fill(TOP_TO_INDEX, -1);
        for (int n = 0; n < 256; n++) {
            if (TOP_TO_INDEX[T[0][n] >>> 24] >= 0) {
                throw new ExceptionInInitializerError("crc32c table top bytes are not distinct");
            }
            TOP_TO_INDEX[T[0][n] >>> 24] = n;
        }
    }

    private Crc32c() {
    }

    public static int update(int crc, byte[] b, int off, int len) {
        if (len < JDK_MIN) {
            return updateTable(crc, b, off, len);
        }
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(preset(crc), 0, 4);
        c.update(b, off, len);
        return ~(int) c.getValue();
    }

    /**
     * The four bytes that take a crc register from 0xFFFFFFFF (where {@link java.util.zip.CRC32C}
     * starts) to {@code seed}. Four input bytes x act as {@code r' = Z(r ^ x)}, with Z four steps of
     * the table on zero input; Z is undone step by step, each step's table index read off the top
     * byte it left ({@link #TOP_TO_INDEX}).
     */
    static byte[] preset(int seed) {
        int r = seed;
        for (int k = 0; k < 4; k++) {
            int i = TOP_TO_INDEX[r >>> 24];
            r = ((r ^ T[0][i]) << 8) | i;
        }
        int x = r ^ 0xFFFFFFFF;
        return new byte[] {(byte) x, (byte) (x >>> 8), (byte) (x >>> 16), (byte) (x >>> 24)};
    }

    /** The slicing-by-8 table implementation: short inputs, and the reference for tests. */
    static int updateTable(int crc, byte[] b, int off, int len) {
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
