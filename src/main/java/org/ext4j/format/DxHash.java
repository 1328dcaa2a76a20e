package org.ext4j.format;

import java.util.Objects;

/**
 * The directory-index (htree) name hash. Mirrors {@code fs/ext4/hash.c} ({@code ext4fs_dirhash}) of
 * the Linux kernel, which {@code e2fsprogs}' {@code ext2fs_dirhash} reproduces as well.
 *
 * <p>The version numbers are those of {@code s_def_hash_version} / {@code dx_root_info.hash_version}.
 * The {@code *_UNSIGNED} variants treat name bytes as unsigned; the plain ones sign-extend them, as
 * {@code char} does on x86 (the superblock flags {@code EXT2_FLAGS_SIGNED_HASH} /
 * {@code EXT2_FLAGS_UNSIGNED_HASH} tell which one a file system uses). {@link #SIPHASH} (used only
 * for casefolded, encrypted directories) is not supported.
 *
 * <p>All arithmetic is on unsigned 32-bit words held in Java {@code int}s.
 */
public final class DxHash {
    public static final int LEGACY = 0, HALF_MD4 = 1, TEA = 2, LEGACY_UNSIGNED = 3, HALF_MD4_UNSIGNED = 4,
            TEA_UNSIGNED = 5, SIPHASH = 6;

    /** Result: major hash (low bit cleared, as the kernel does) and minor hash. */
    public record Hash(int major, int minor) {
    }

    /** {@code EXT4_HTREE_EOF_32BIT}: the major hash value reserved as the end-of-directory marker. */
    private static final int HTREE_EOF_32BIT = 0x7FFFFFFF;

    /** TEA key-schedule constant. */
    private static final int TEA_DELTA = 0x9E3779B9;

    /** Round constants of MD4 rounds 2 and 3 (sqrt(2) and sqrt(3) scaled by 2^30). */
    private static final int MD4_K2 = 0x5A827999, MD4_K3 = 0x6ED9EBA1;

    private DxHash() {
    }

    /**
     * seed: the 4 words of s_hash_seed (may be null or all-zero: then the default MD4 init words are
     * used, as the kernel does). name: raw name bytes (any bytes, 1..255). Throws
     * IllegalArgumentException for an unknown/unsupported version (SIPHASH included).
     *
     * @throws IllegalArgumentException for an unknown or unsupported version, or a seed whose length is not 4
     * @throws IndexOutOfBoundsException if {@code off}/{@code len} lie outside {@code name}
     */
    public static Hash hash(byte[] name, int off, int len, int version, int[] seed) {
        Objects.checkFromIndexSize(off, len, name.length);
        int[] buf = initialBuffer(seed);
        int major;
        int minor;
        switch (version) {
            case LEGACY, LEGACY_UNSIGNED -> {
                major = legacy(name, off, len, version == LEGACY_UNSIGNED);
                minor = 0;
            }
            case HALF_MD4, HALF_MD4_UNSIGNED -> {
                boolean unsigned = version == HALF_MD4_UNSIGNED;
                int[] in = new int[8];
                for (int p = off, left = len; left > 0; p += 32, left -= 32) {
                    packWords(name, p, left, in, unsigned);
                    halfMd4(buf, in);
                }
                major = buf[1];
                minor = buf[2];
            }
            case TEA, TEA_UNSIGNED -> {
                boolean unsigned = version == TEA_UNSIGNED;
                int[] in = new int[4];
                for (int p = off, left = len; left > 0; p += 16, left -= 16) {
                    packWords(name, p, left, in, unsigned);
                    tea(buf, in);
                }
                major = buf[0];
                minor = buf[1];
            }
            default -> throw new IllegalArgumentException("unsupported dx hash version " + version);
        }
        major &= ~1;
        if (major == HTREE_EOF_32BIT << 1) {
            major = (HTREE_EOF_32BIT - 1) << 1;
        }
        return new Hash(major, minor);
    }

    /** The seed words, or the MD4 initial chaining values when there is no (or an all-zero) seed. */
    private static int[] initialBuffer(int[] seed) {
        if (seed != null) {
            if (seed.length != 4) {
                throw new IllegalArgumentException("hash seed must have 4 words, got " + seed.length);
            }
            if ((seed[0] | seed[1] | seed[2] | seed[3]) != 0) {
                return seed.clone();
            }
        }
        return new int[] {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476};
    }

    private static int nameByte(byte b, boolean unsigned) {
        return unsigned ? b & 0xFF : b;
    }

    /** The original ext3 htree hash ({@code dx_hack_hash}). */
    private static int legacy(byte[] name, int off, int len, boolean unsigned) {
        int h0 = 0x12A3FE2D;
        int h1 = 0x37ABE8F9;
        for (int i = off; i < off + len; i++) {
            int h = h1 + (h0 ^ (nameByte(name[i], unsigned) * 7152373));
            if (h < 0) { // bit 31 set
                h -= 0x7FFFFFFF;
            }
            h1 = h0;
            h0 = h;
        }
        return h0 << 1;
    }

    /**
     * Packs up to {@code in.length * 4} bytes of the remaining name (of length {@code left}) into
     * {@code in}, big-endian within each word, padding with a word built from the remaining length
     * ({@code str2hashbuf}).
     */
    private static void packWords(byte[] name, int p, int left, int[] in, boolean unsigned) {
        int pad = left | (left << 8);
        pad |= pad << 16;
        int n = Math.min(left, in.length * 4);
        int val = pad;
        int w = 0;
        for (int i = 0; i < n; i++) {
            val = nameByte(name[p + i], unsigned) + (val << 8);
            if ((i & 3) == 3) {
                in[w++] = val;
                val = pad;
            }
        }
        if (w < in.length) {
            in[w++] = val;
        }
        while (w < in.length) {
            in[w++] = pad;
        }
    }

    /** Three reduced MD4 rounds over 8 input words ({@code half_md4_transform}); updates {@code buf}. */
    private static void halfMd4(int[] buf, int[] in) {
        int a = buf[0], b = buf[1], c = buf[2], d = buf[3];

        a = Integer.rotateLeft(a + f(b, c, d) + in[0], 3);
        d = Integer.rotateLeft(d + f(a, b, c) + in[1], 7);
        c = Integer.rotateLeft(c + f(d, a, b) + in[2], 11);
        b = Integer.rotateLeft(b + f(c, d, a) + in[3], 19);
        a = Integer.rotateLeft(a + f(b, c, d) + in[4], 3);
        d = Integer.rotateLeft(d + f(a, b, c) + in[5], 7);
        c = Integer.rotateLeft(c + f(d, a, b) + in[6], 11);
        b = Integer.rotateLeft(b + f(c, d, a) + in[7], 19);

        a = Integer.rotateLeft(a + g(b, c, d) + in[1] + MD4_K2, 3);
        d = Integer.rotateLeft(d + g(a, b, c) + in[3] + MD4_K2, 5);
        c = Integer.rotateLeft(c + g(d, a, b) + in[5] + MD4_K2, 9);
        b = Integer.rotateLeft(b + g(c, d, a) + in[7] + MD4_K2, 13);
        a = Integer.rotateLeft(a + g(b, c, d) + in[0] + MD4_K2, 3);
        d = Integer.rotateLeft(d + g(a, b, c) + in[2] + MD4_K2, 5);
        c = Integer.rotateLeft(c + g(d, a, b) + in[4] + MD4_K2, 9);
        b = Integer.rotateLeft(b + g(c, d, a) + in[6] + MD4_K2, 13);

        a = Integer.rotateLeft(a + (b ^ c ^ d) + in[3] + MD4_K3, 3);
        d = Integer.rotateLeft(d + (a ^ b ^ c) + in[7] + MD4_K3, 9);
        c = Integer.rotateLeft(c + (d ^ a ^ b) + in[2] + MD4_K3, 11);
        b = Integer.rotateLeft(b + (c ^ d ^ a) + in[6] + MD4_K3, 15);
        a = Integer.rotateLeft(a + (b ^ c ^ d) + in[1] + MD4_K3, 3);
        d = Integer.rotateLeft(d + (a ^ b ^ c) + in[5] + MD4_K3, 9);
        c = Integer.rotateLeft(c + (d ^ a ^ b) + in[0] + MD4_K3, 11);
        b = Integer.rotateLeft(b + (c ^ d ^ a) + in[4] + MD4_K3, 15);

        buf[0] += a;
        buf[1] += b;
        buf[2] += c;
        buf[3] += d;
    }

    /** MD4 selection function. */
    private static int f(int x, int y, int z) {
        return z ^ (x & (y ^ z));
    }

    /** MD4 majority function. */
    private static int g(int x, int y, int z) {
        return (x & y) + ((x ^ y) & z);
    }

    /** 16 TEA cycles keyed by 4 input words over {@code buf[0..1]} ({@code TEA_transform}). */
    private static void tea(int[] buf, int[] in) {
        int sum = 0;
        int b0 = buf[0], b1 = buf[1];
        int a = in[0], b = in[1], c = in[2], d = in[3];
        for (int n = 0; n < 16; n++) {
            sum += TEA_DELTA;
            b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b);
            b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d);
        }
        buf[0] += b0;
        buf[1] += b1;
    }
}
