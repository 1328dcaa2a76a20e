package org.ext4j.format;

/**
 * The crc16 (polynomial 0x8005, reflected: 0xA001) of the kernel's {@code lib/crc16.c}, which the
 * older {@code uninit_bg}/{@code gdt_csum} group descriptor checksums use.
 */
public final class Crc16 {
    private static final int[] T = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0xA001 : c >>> 1;
            }
            T[n] = c;
        }
    }

    private Crc16() {
    }

    public static int update(int crc, byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            crc = ((crc >>> 8) ^ T[(crc ^ b[i]) & 0xFF]) & 0xFFFF;
        }
        return crc;
    }
}
