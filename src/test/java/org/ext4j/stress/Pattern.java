package org.ext4j.stress;

/**
 * The bytes the stress test writes: a function of the writing operation's tag and the file offset,
 * so that any run of eight or so bytes read back names the operation that wrote it (see
 * {@link FileModel#origin}). A mismatch report can then say "these bytes come from op #1234"
 * instead of only "they differ".
 */
final class Pattern {
    private Pattern() {
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static long word(long tag, long wordIndex) {
        return mix(tag * 0x9E3779B97F4A7C15L + wordIndex);
    }

    /** The byte that the operation tagged {@code tag} writes at file offset {@code pos}. */
    static byte byteAt(long tag, long pos) {
        return (byte) (word(tag, pos >>> 3) >>> ((pos & 7) * 8));
    }

    /** Fills {@code dst[off, off+len)} with what the operation {@code tag} writes at {@code pos..}. */
    static void fill(long tag, long pos, byte[] dst, int off, int len) {
        long lastWord = -1;
        long w = 0;
        for (int i = 0; i < len; i++) {
            long p = pos + i;
            long wi = p >>> 3;
            if (wi != lastWord) {
                w = word(tag, wi);
                lastWord = wi;
            }
            dst[off + i] = (byte) (w >>> ((p & 7) * 8));
        }
    }
}
