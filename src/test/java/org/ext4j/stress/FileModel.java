package org.ext4j.stress;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.ext4j.fs.Ext4File;

/**
 * What one file must contain: its bytes and size, as the operations applied so far make them (the
 * kernel's semantics: growing sizes read zero, punched and zeroed ranges read zero), plus a bounded
 * log of the latest operations for mismatch reports. Not thread-safe: each model is changed by one
 * thread at a time (its own writer, or the shared file's writers under the test's lock).
 *
 * <p>The array is allocated at the file's cap once; everything at or past {@link #size()} is kept
 * zero, so that growing the size needs no work.
 */
final class FileModel {
    /** One applied operation, in model order. */
    record Rec(long seq, int thread, Op.Kind kind, long pos, long len, int mode, long tag, long sizeBefore,
            long sizeAfter) {
        @Override
        public String toString() {
            String what = switch (kind) {
                case PWRITE, APPEND -> kind.name().toLowerCase() + " [" + pos + ", " + (pos + len) + ") tag " + tag;
                case TRUNCATE -> "truncate to " + pos;
                case FALLOCATE -> "fallocate " + Op.modeName(mode) + " [" + pos + ", " + (pos + len) + ")";
                default -> kind.name().toLowerCase();
            };
            return "#" + seq + " thread " + thread + ": " + what + " (size " + sizeBefore + " -> " + sizeAfter + ")";
        }

        boolean writesData() {
            return kind == Op.Kind.PWRITE || kind == Op.Kind.APPEND;
        }

        /** Whether this operation decided the byte at {@code p} (wrote or zeroed it). */
        boolean touches(long p) {
            return switch (kind) {
                case PWRITE, APPEND -> p >= pos && p < pos + len;
                case TRUNCATE -> p >= Math.min(pos, sizeBefore);
                case FALLOCATE -> (mode & (Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_ZERO_RANGE)) != 0
                        ? p >= pos && p < pos + len : p >= sizeBefore && p < sizeAfter;
                default -> false;
            };
        }
    }

    private static final int LOG_LIMIT = 100_000;

    final String path;
    final int cap;
    private final byte[] data;
    private long size;
    private long seq;
    /** The range the latest truncate down, punch or zero range took away: where unlocked reads aim. */
    private volatile long freedPos;
    private volatile long freedLen;
    private final ArrayDeque<Rec> log = new ArrayDeque<>();

    FileModel(String path, int cap) {
        this.path = path;
        this.cap = cap;
        this.data = new byte[cap];
    }

    long size() {
        return size;
    }

    long ops() {
        return seq;
    }

    private void log(int thread, Op.Kind kind, long pos, long len, int mode, long tag, long before) {
        if (log.size() == LOG_LIMIT) {
            log.removeFirst();
        }
        log.addLast(new Rec(++seq, thread, kind, pos, len, mode, tag, before, size));
    }

    void write(int thread, Op.Kind kind, long pos, byte[] src, int len, long tag) {
        long before = size;
        System.arraycopy(src, 0, data, (int) pos, len);
        size = Math.max(size, pos + len);
        log(thread, kind, pos, len, 0, tag, before);
    }

    void truncate(int thread, long newSize) {
        long before = size;
        if (newSize < size) {
            Arrays.fill(data, (int) newSize, (int) size, (byte) 0);
            freed(newSize, size - newSize);
        }
        size = newSize;
        log(thread, Op.Kind.TRUNCATE, newSize, 0, 0, 0, before);
    }

    void fallocate(int thread, int mode, long pos, long len) {
        long before = size;
        long end = pos + len;
        boolean keep = (mode & Ext4File.FALLOC_KEEP_SIZE) != 0;
        if (!keep && end > size) {
            size = end; // the new bytes are zeros already
        }
        if ((mode & (Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_ZERO_RANGE)) != 0 && pos < size) {
            Arrays.fill(data, (int) pos, (int) Math.min(end, size), (byte) 0);
            freed(pos, Math.min(end, size) - pos);
        }
        log(thread, Op.Kind.FALLOCATE, pos, len, mode, 0, before);
    }

    private void freed(long pos, long len) {
        freedPos = pos;
        freedLen = len;
    }

    long freedPos() {
        return freedPos;
    }

    long freedLen() {
        return freedLen;
    }

    void other(int thread, Op.Kind kind) {
        log(thread, kind, 0, 0, 0, 0, size);
    }

    /** The model's bytes in {@code [pos, pos+len)} clipped to the size (empty past it). */
    byte[] copy(long pos, int len) {
        if (pos >= size) {
            return new byte[0];
        }
        return Arrays.copyOfRange(data, (int) pos, (int) Math.min(size, pos + len));
    }

    byte byteAt(long pos) {
        return data[(int) pos];
    }

    /**
     * Where the bytes {@code actual[i..]} (file offset {@code filePos}) come from: the latest logged
     * write whose pattern they match over up to 16 bytes, or zeros, or nothing the log knows.
     */
    String origin(long filePos, byte[] actual, int i, int n) {
        int k = Math.min(16, n - i);
        boolean zeros = true;
        for (int j = 0; j < k; j++) {
            zeros &= actual[i + j] == 0;
        }
        if (zeros) {
            return "zeros";
        }
        for (Iterator<Rec> it = log.descendingIterator(); it.hasNext(); ) {
            Rec r = it.next();
            if (!r.writesData() || filePos < r.pos || filePos >= r.pos + r.len) {
                continue;
            }
            int m = (int) Math.min(k, r.pos + r.len - filePos);
            boolean match = true;
            for (int j = 0; j < m && match; j++) {
                match = Pattern.byteAt(r.tag, filePos + j) == actual[i + j];
            }
            if (match) {
                return "the data of " + r;
            }
        }
        return "bytes no logged write produced (the log holds the last " + log.size() + " ops)";
    }

    /** The latest logged operations that decided the byte at {@code p}, newest first. */
    List<Rec> history(long p, int max) {
        List<Rec> out = new ArrayList<>();
        for (Iterator<Rec> it = log.descendingIterator(); it.hasNext() && out.size() < max; ) {
            Rec r = it.next();
            if (r.touches(p)) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * A mismatch report: the first differing offset (and block), the length of the differing run,
     * both sides in hex, where the actual bytes come from and which operations last decided them.
     * Null when {@code actual} equals the model over {@code [pos, pos+n)}.
     */
    String compare(long pos, byte[] actual, int n, int blockSize) {
        byte[] expected = copy(pos, n);
        if (expected.length != n) {
            return path + ": read " + n + " bytes at " + pos + " but the model's size is " + size;
        }
        int i = Arrays.mismatch(expected, 0, n, actual, 0, n);
        if (i < 0) {
            return null;
        }
        int run = i;
        while (run < n && expected[run] != actual[run]) {
            run++;
        }
        long at = pos + i;
        StringBuilder sb = new StringBuilder();
        sb.append(path).append(": mismatch at offset ").append(at).append(" (block ").append(at / blockSize)
                .append(" + ").append(at % blockSize).append("), ").append(run - i)
                .append(" differing bytes from there; file size ").append(size).append('\n');
        sb.append("  expected ").append(hex(expected, i, 16)).append('\n');
        sb.append("  actual   ").append(hex(actual, i, 16)).append('\n');
        sb.append("  actual bytes are ").append(origin(at, actual, i, n)).append('\n');
        sb.append("  latest ops deciding offset ").append(at).append(", newest first:");
        for (Rec r : history(at, 8)) {
            sb.append("\n    ").append(r);
        }
        return sb.toString();
    }

    /** The logged operations, oldest first, one a line. */
    String logText() {
        StringBuilder sb = new StringBuilder(path).append(": ").append(log.size()).append(" of ").append(seq)
                .append(" ops logged, final model size ").append(size).append('\n');
        for (Rec r : log) {
            sb.append(r).append('\n');
        }
        return sb.toString();
    }

    static String hex(byte[] b, int from, int n) {
        StringBuilder sb = new StringBuilder();
        for (int j = from; j < Math.min(b.length, from + n); j++) {
            sb.append(String.format("%02x", b[j] & 0xFF));
        }
        return sb.toString();
    }
}
