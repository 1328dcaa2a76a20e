package org.ext4j.tree;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.MalformedArchiveException;
import org.ext4j.error.NameTooLongException;

/**
 * The members of a tar archive as {@link Entry entries}, read from a stream as they come: POSIX
 * ustar headers (name, prefix, mode, ids, size, mtime, link name, device numbers), pax extended
 * headers ({@code x} for the next member, {@code g} for all that follow: {@code path},
 * {@code linkpath}, {@code size}, {@code uid}, {@code gid}, {@code mtime} and {@code atime} with
 * their fractions, {@code SCHILY.xattr.*} raw and {@code LIBARCHIVE.xattr.*} in base64), GNU long
 * names and link names ({@code L}, {@code K}) and GNU base-256 numbers. Member types 0 and NUL
 * (file), 7 (contiguous file, a file), 1 (hard link), 2 (symlink), 3 and 4 (devices), 5 and GNU's D
 * (directory), 6 (fifo), and GNU sparse files (old GNU type S with its extension blocks, pax
 * formats 0.1 and 1.0 as {@code tar --sparse} writes them), whose maps become the entry's data
 * ranges; sparse format 0.0 and multi-volume members are refused, naming the member. Owners are the numeric ids
 * ({@code --numeric-owner}); names come from the archive's bytes as UTF-8. A member's all-zero
 * blocks become holes ({@code cp --sparse=always}): the archive does not say where the source's
 * holes were, and zeros read the same either way.
 *
 * <p>Mirrors what GNU tar's {@code src/list.c} ({@code read_header}, {@code tar_checksum}) and
 * {@code src/xheader.c} check. A member's contents are handed out as a stream over the archive
 * itself, valid until the next call of {@link #next}: nothing is held in memory but one header.
 * Every failure is a {@link MalformedArchiveException} naming the member and the offset of its
 * header: a bad checksum, an archive cut short, a ".." component, a name over 255 bytes.
 */
final class TarEntrySource implements EntrySource {
    private static final int BLOCK = 512;
    /** The largest pax or GNU long-name header read into memory. */
    private static final int MAX_META = 16 << 20;

    private final InputStream in;
    private final String archive;
    private final byte[] header = new byte[BLOCK];
    private final byte[] scratch = new byte[64 << 10];
    private final Map<String, byte[]> globals = new HashMap<>();
    /** Offset of the next unread byte. */
    private long pos;
    /** The current member's data not yet read, and the padding after it. */
    private long remaining;
    private long padding;
    private String member;
    private long memberOffset;
    /** Bumped at each member, so a stale contents stream is refused. */
    private int generation;
    private boolean done;

    TarEntrySource(InputStream in, String archive) {
        this.in = in;
        this.archive = archive;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    @Override
    public Entry next() throws IOException {
        if (done) {
            return null;
        }
        skip(remaining + padding);
        remaining = 0;
        padding = 0;
        generation++;
        Map<String, byte[]> pax = new HashMap<>();
        String longName = null;
        String longLink = null;
        while (true) {
            long at = pos;
            int n = readBlock();
            if (n == 0) {
                done = true; // the end without the two zero blocks: tar accepts it too
                return null;
            }
            if (n < BLOCK) {
                throw bad(null, at, "the archive ends inside a header (" + n + " of 512 bytes)");
            }
            if (allZero(header)) {
                done = true; // the end-of-archive blocks; what follows is not read
                return null;
            }
            String rawName = string(header, 0, 100);
            member = rawName;
            memberOffset = at;
            checksum(rawName, at);
            char type = (char) (header[156] & 0xFF);
            long size = number(rawName, at, 124, 12, "size");
            switch (type) {
                case 'x', 'g' -> {
                    Map<String, byte[]> into = type == 'x' ? pax : globals;
                    into.putAll(paxRecords(rawName, at, meta(rawName, at, size)));
                    continue;
                }
                case 'L' -> {
                    longName = cString(meta(rawName, at, size));
                    continue;
                }
                case 'K' -> {
                    longLink = cString(meta(rawName, at, size));
                    continue;
                }
                case 'V' -> {
                    skip(padded(size));
                    continue;
                }
                default -> {
                    return entry(type, size, at, merged(pax), longName, longLink);
                }
            }
        }
    }

    private Map<String, byte[]> merged(Map<String, byte[]> pax) {
        if (globals.isEmpty()) {
            return pax;
        }
        Map<String, byte[]> all = new LinkedHashMap<>(globals);
        all.putAll(pax);
        return all;
    }

    private Entry entry(char type, long size, long at, Map<String, byte[]> pax, String longName, String longLink)
            throws IOException {
        boolean ustar = header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a'
                && header[261] == 'r' && header[262] == 0;
        String name = string(header, 0, 100);
        if (ustar && header[345] != 0) {
            name = string(header, 345, 155) + "/" + name;
        }
        if (longName != null) {
            name = longName;
        }
        if (pax.containsKey("path")) {
            name = utf8(pax.get("path"));
        }
        member = name;
        memberOffset = at;
        String link = longLink != null ? longLink : string(header, 157, 100);
        if (pax.containsKey("linkpath")) {
            link = utf8(pax.get("linkpath"));
        }
        if (pax.containsKey("size")) {
            size = paxLong(pax, "size");
        }
        boolean sparse1 = false;
        boolean sparse01 = false;
        if (pax.containsKey("GNU.sparse.major") || pax.containsKey("GNU.sparse.map")) {
            sparse1 = pax.containsKey("GNU.sparse.major") && pax.containsKey("GNU.sparse.minor")
                    && "1".equals(utf8(pax.get("GNU.sparse.major"))) && "0".equals(utf8(pax.get("GNU.sparse.minor")));
            sparse01 = !sparse1 && pax.containsKey("GNU.sparse.map");
            if (!sparse1 && !sparse01) {
                throw bad(name, at, "a GNU sparse member of a format other than 0.1 and 1.0: not supported");
            }
            if (pax.containsKey("GNU.sparse.name")) {
                name = utf8(pax.get("GNU.sparse.name"));
                member = name;
            }
        } else {
            for (String k : pax.keySet()) {
                if (k.startsWith("GNU.sparse.")) {
                    throw bad(name, at, "a GNU sparse member of format 0.0 (pax " + k + "): not supported");
                }
            }
        }
        String rel;
        try {
            rel = EntryImporter.normalize(name);
            if (type == '1') {
                EntryImporter.normalize(link);
            }
        } catch (InvalidArgumentException | NameTooLongException e) {
            throw bad(name, at, e.getMessage());
        }
        int mode = (int) (number(name, at, 100, 8, "mode") & 07777);
        long uid = pax.containsKey("uid") ? paxLong(pax, "uid") : number(name, at, 108, 8, "uid");
        long gid = pax.containsKey("gid") ? paxLong(pax, "gid") : number(name, at, 116, 8, "gid");
        Instant mtime = pax.containsKey("mtime") ? paxTime(pax, "mtime")
                : Instant.ofEpochSecond(number(name, at, 136, 12, "mtime"));
        Instant atime = pax.containsKey("atime") ? paxTime(pax, "atime") : mtime;
        int major = (int) number(name, at, 329, 8, "devmajor");
        int minor = (int) number(name, at, 337, 8, "devminor");
        Entry.Builder b;
        long data = size;
        switch (type) {
            case 'S' -> {
                long realSize = number(name, at, 483, 12, "realsize"); // before extension blocks reuse the buffer
                b = Entry.file(rel, sparseContents(name, at, oldGnuMap(name, at), realSize, size, size));
                data = 0;
            }
            case '0', '\0', '7' -> {
                if (sparse1 || sparse01) {
                    String real = sparse1 ? "GNU.sparse.realsize" : "GNU.sparse.size";
                    if (!pax.containsKey(real)) {
                        throw bad(name, at, "a GNU sparse member without pax " + real);
                    }
                    long[] map;
                    long stored = size;
                    if (sparse1) {
                        long before = pos;
                        map = sparseMap1(name, at, size);
                        stored = size - (pos - before);
                    } else {
                        map = sparseMap01(name, at, utf8(pax.get("GNU.sparse.map")));
                    }
                    b = Entry.file(rel, sparseContents(name, at, map, paxLong(pax, real), stored, size));
                    data = 0;
                } else if (type == '\0' && name.endsWith("/")) {
                    b = Entry.directory(rel); // a V7 directory
                } else {
                    b = Entry.file(rel, Entry.Contents.of(size, opener(size)).detectingHoles());
                    data = 0; // read (or skipped) through the contents stream
                    remaining = size;
                    padding = padded(size) - size;
                }
            }
            case '1' -> b = Entry.hardLink(rel, link);
            case '2' -> b = Entry.symlink(rel, link);
            case '3' -> b = Entry.charDevice(rel, major, minor);
            case '4' -> b = Entry.blockDevice(rel, major, minor);
            case '5', 'D' -> b = Entry.directory(rel);
            case '6' -> b = Entry.fifo(rel);
            default -> throw bad(name, at, "member type '" + printable(type) + "' is not supported");
        }
        if (data > 0) {
            remaining = data; // a directory's or link's data, skipped at the next member
            padding = padded(data) - data;
        }
        if (type == '1') {
            return b.build();
        }
        if (uid > 0xFFFF_FFFFL || gid > 0xFFFF_FFFFL || uid < 0 || gid < 0) {
            throw bad(name, at, "owner " + uid + ":" + gid + " is not of 32-bit ids");
        }
        b.mode(mode).owner(uid, gid).times(atime, mtime);
        for (Map.Entry<String, byte[]> x : pax.entrySet()) {
            String k = x.getKey();
            if (k.startsWith("SCHILY.xattr.")) {
                b.xattr(k.substring(13), x.getValue());
            } else if (k.startsWith("LIBARCHIVE.xattr.")) {
                try {
                    b.xattr(urlDecode(k.substring(17)), Base64.getDecoder().decode(
                            utf8(x.getValue()).replaceAll("\\s", "")));
                } catch (IllegalArgumentException e) {
                    throw bad(name, at, "pax " + k + ": not base64");
                }
            }
        }
        return b.build();
    }

    /**
     * A GNU sparse member's contents: {@code map} holds (offset, length) pairs, the member's
     * {@code stored} bytes are the ranges' data one after the other, and the file is {@code realSize}
     * bytes long.
     */
    private Entry.Contents sparseContents(String name, long at, long[] map, long realSize, long stored,
            long memberSize) throws MalformedArchiveException {
        java.util.List<Entry.Contents.DataRange> ranges = new java.util.ArrayList<>();
        long sum = 0;
        for (int i = 0; i < map.length; i += 2) {
            if (map[i + 1] > 0) {
                ranges.add(new Entry.Contents.DataRange(map[i], map[i + 1]));
            }
            sum += map[i + 1];
        }
        if (sum != stored) {
            throw bad(name, at, "the sparse map's " + sum + " bytes of data do not match the member's " + stored);
        }
        try {
            Entry.Contents c = Entry.Contents.of(realSize, opener(stored)).withDataRanges(ranges);
            remaining = stored;
            padding = padded(memberSize) - memberSize;
            return c;
        } catch (IllegalArgumentException e) {
            throw bad(name, at, "a bad sparse map: " + e.getMessage());
        }
    }

    /** The old GNU format's map: four entries in the header, 21 in each extension block. */
    private long[] oldGnuMap(String name, long at) throws IOException {
        java.util.List<Long> map = new java.util.ArrayList<>();
        sparseEntries(name, at, 386, 4, map);
        boolean extended = header[482] != 0;
        while (extended) {
            if (readBlock() < BLOCK) {
                throw bad(name, at, "the archive ends inside a sparse map");
            }
            sparseEntries(name, at, 0, 21, map);
            extended = header[504] != 0;
            if (map.size() > 2 << 20) {
                throw bad(name, at, "a sparse map of more than a million entries");
            }
        }
        return map.stream().mapToLong(Long::longValue).toArray();
    }

    private void sparseEntries(String name, long at, int off, int count, java.util.List<Long> into)
            throws MalformedArchiveException {
        for (int i = 0; i < count; i++) {
            int e = off + i * 24;
            if (header[e] == 0) {
                return;
            }
            into.add(number(name, at, e, 12, "sparse offset"));
            into.add(number(name, at, e + 12, 12, "sparse numbytes"));
        }
    }

    /** Format 1.0's map: decimal lines (a count, then offset and length pairs) at the start of the data, padded to a block. */
    private long[] sparseMap1(String name, long at, long size) throws IOException {
        long[] map = null;
        int filled = 0;
        long count = -1;
        long value = 0;
        boolean digits = false;
        long read = 0;
        while (map == null || filled < map.length) {
            if (read >= size || readBlock() < BLOCK) {
                throw bad(name, at, "the archive ends inside a sparse map");
            }
            read += BLOCK;
            for (int i = 0; i < BLOCK && (map == null || filled < map.length); i++) {
                byte c = header[i];
                if (c >= '0' && c <= '9' && value < Long.MAX_VALUE / 10 - 10) {
                    value = value * 10 + (c - '0');
                    digits = true;
                } else if (c == '\n' && digits) {
                    if (count < 0) {
                        if (value > 1 << 20) {
                            throw bad(name, at, "a sparse map of " + value + " entries");
                        }
                        count = value;
                        map = new long[(int) (2 * count)];
                    } else {
                        map[filled++] = value;
                    }
                    value = 0;
                    digits = false;
                } else {
                    throw bad(name, at, "a malformed sparse map");
                }
            }
        }
        return map;
    }

    /** Format 0.1's map: "offset,length,offset,length,...". */
    private long[] sparseMap01(String name, long at, String map) throws MalformedArchiveException {
        String[] parts = map.isEmpty() ? new String[0] : map.split(",");
        if (parts.length % 2 != 0) {
            throw bad(name, at, "pax GNU.sparse.map has an odd number of values");
        }
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Long.parseLong(parts[i]);
                if (out[i] < 0) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw bad(name, at, "pax GNU.sparse.map: " + parts[i] + " is not a number");
            }
        }
        return out;
    }

    private static String urlDecode(String s) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '%' && i + 2 < b.length && hex(b[i + 1]) >= 0 && hex(b[i + 2]) >= 0) {
                out.write(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 2;
            } else {
                out.write(b[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int hex(byte c) {
        return Character.digit(c, 16);
    }

    /** A stream over the current member's data, valid until the next member is asked for. */
    private Entry.Contents.Opener opener(long size) {
        int gen = generation;
        String name = member;
        long at = memberOffset;
        return () -> {
            if (gen != generation || remaining != size) {
                throw bad(name, at, "the contents were read once, or after the next member was asked for");
            }
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (gen != generation) {
                        throw bad(name, at, "the contents were read after the next member was asked for");
                    }
                    if (remaining == 0) {
                        return -1;
                    }
                    int n = in.read(b, off, (int) Math.min(len, remaining));
                    if (n < 0) {
                        throw bad(name, at, "the archive ends inside the member's data, " + remaining
                                + " bytes short");
                    }
                    pos += n;
                    remaining -= n;
                    return n;
                }
            };
        };
    }

    private static long padded(long size) {
        return (size + BLOCK - 1) / BLOCK * BLOCK;
    }

    /** Reads up to one block into the header buffer; the count read (short only at the end). */
    private int readBlock() throws IOException {
        int n = in.readNBytes(header, 0, BLOCK);
        pos += n;
        return n;
    }

    /** Skips by reading: a pipe (standard input) cannot seek. */
    private void skip(long n) throws IOException {
        long left = n;
        while (left > 0) {
            int s = in.read(scratch, 0, (int) Math.min(scratch.length, left));
            if (s < 0) {
                throw bad(member, memberOffset, "the archive ends inside the member's data, " + left
                        + " bytes short");
            }
            left -= s;
            pos += s;
        }
    }

    /** The data of a pax or GNU long-name member, whole. */
    private byte[] meta(String name, long at, long size) throws IOException {
        if (size > MAX_META) {
            throw bad(name, at, "an extended header of " + size + " bytes (at most " + MAX_META + ")");
        }
        byte[] b = in.readNBytes((int) size);
        pos += b.length;
        if (b.length < size) {
            throw bad(name, at, "the archive ends inside an extended header");
        }
        remaining = 0;
        skip(padded(size) - size);
        return b;
    }

    /** pax records: "LENGTH key=value\n", LENGTH counting the whole record in bytes. */
    private Map<String, byte[]> paxRecords(String name, long at, byte[] b) throws MalformedArchiveException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int off = 0;
        while (off < b.length) {
            int sp = off;
            long len = 0;
            while (sp < b.length && b[sp] >= '0' && b[sp] <= '9' && len < Integer.MAX_VALUE) {
                len = len * 10 + (b[sp] - '0');
                sp++;
            }
            if (sp == off || sp >= b.length || b[sp] != ' ' || len <= sp - off + 1 || off + len > b.length
                    || b[(int) (off + len - 1)] != '\n') {
                throw bad(name, at, "a malformed pax record at byte " + off + " of the extended header");
            }
            int end = (int) (off + len - 1);
            int eq = sp + 1;
            while (eq < end && b[eq] != '=') {
                eq++;
            }
            if (eq >= end) {
                throw bad(name, at, "a pax record without '=' at byte " + off + " of the extended header");
            }
            String key = new String(b, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
            byte[] value = java.util.Arrays.copyOfRange(b, eq + 1, end);
            out.put(key, value);
            off = (int) (off + len);
        }
        return out;
    }

    private long paxLong(Map<String, byte[]> pax, String key) throws MalformedArchiveException {
        String v = utf8(pax.get(key));
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(member, memberOffset, "pax " + key + "=" + v + ": not a number");
        }
    }

    private Instant paxTime(Map<String, byte[]> pax, String key) throws MalformedArchiveException {
        String v = utf8(pax.get(key));
        try {
            BigDecimal d = new BigDecimal(v);
            BigDecimal secs = d.setScale(0, java.math.RoundingMode.FLOOR);
            long nanos = d.subtract(secs).movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
            return Instant.ofEpochSecond(secs.longValueExact(), nanos);
        } catch (NumberFormatException | ArithmeticException | java.time.DateTimeException e) {
            throw bad(member, memberOffset, "pax " + key + "=" + v + ": not a time");
        }
    }

    /** GNU tar's {@code tar_checksum}: the header's bytes summed with the checksum field as spaces, unsigned or signed. */
    private void checksum(String name, long at) throws MalformedArchiveException {
        long stored = number(name, at, 148, 8, "checksum");
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int v = i >= 148 && i < 156 ? ' ' : header[i];
            unsigned += v & 0xFF;
            signed += v;
        }
        if (stored != unsigned && stored != signed) {
            throw bad(name, at, "bad header checksum (stored " + stored + ", computed " + unsigned + ")");
        }
    }

    /** A numeric field: octal digits (leading spaces or NULs skipped, ended by a space or NUL), or GNU base-256. */
    private long number(String name, long at, int off, int len, String field) throws MalformedArchiveException {
        if ((header[off] & 0x80) != 0) {
            if ((header[off] & 0xFF) != 0x80) {
                throw bad(name, at, "the " + field + " field is negative (base-256)");
            }
            long v = 0;
            for (int i = off + 1; i < off + len; i++) {
                if (v >>> 55 != 0) {
                    throw bad(name, at, "the " + field + " field is too large");
                }
                v = (v << 8) | (header[i] & 0xFF);
            }
            return v;
        }
        int i = off;
        while (i < off + len && (header[i] == ' ' || header[i] == 0)) {
            i++;
        }
        long v = 0;
        for (; i < off + len && header[i] != ' ' && header[i] != 0; i++) {
            int d = header[i] - '0';
            if (d < 0 || d > 7 || v >>> 60 != 0) {
                throw bad(name, at, "the " + field + " field is not an octal number");
            }
            v = v * 8 + d;
        }
        return v;
    }

    private MalformedArchiveException bad(String name, long at, String reason) {
        return new MalformedArchiveException(archive, name == null || name.isEmpty() ? null : name, at, reason);
    }

    private static String string(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static String cString(byte[] b) {
        return string(b, 0, b.length);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02x", (int) c);
    }
}
