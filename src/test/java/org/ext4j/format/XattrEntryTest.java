package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link XattrEntry} against {@code debugfs ea_list}: attributes written with {@code debugfs ea_set}
 * into the inode body (256-byte inodes) and into an external block (what does not fit, and all of
 * them with 128-byte inodes), entry hashes recomputed with the kernel's
 * {@code ext4_xattr_hash_entry}, the block checksum; then the range checks, one field at a time.
 */
class XattrEntryTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();
    static final byte[] BIG = new byte[600];
    static final Map<String, byte[]> VALUES = new TreeMap<>();

    static {
        new Random(5).nextBytes(BIG);
        VALUES.put("user.small", "hello".getBytes(StandardCharsets.US_ASCII));
        VALUES.put("user.empty", new byte[0]);
        VALUES.put("trusted.t", "x".getBytes(StandardCharsets.US_ASCII));
        VALUES.put("security.label", "abcdefg".getBytes(StandardCharsets.US_ASCII));
        VALUES.put("user.big", BIG);
        VALUES.put("user.second-in-block", "0123456789012345678901234567890123456789".getBytes(StandardCharsets.US_ASCII));
    }

    static Stream<String> configs() {
        return Stream.of("i256-csum-1k", "i128-csum-1k", "i256-nocsum-4k");
    }

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p != null) {
            return p;
        }
        Path big = dir.resolve("big.bin");
        Files.write(big, BIG);
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        List<String> opts = switch (config) {
            case "i256-csum-1k" -> List.of("-b", "1024");
            case "i128-csum-1k" -> List.of("-b", "1024", "-I", "128");
            case "i256-nocsum-4k" -> List.of("-b", "4096", "-O", "^metadata_csum");
            default -> throw new IllegalArgumentException(config);
        };
        p = GoldenImage.mkfs(dir, config + ".img", "8M", opts, null, null);
        GoldenImage.debugfsWrite(p, "write " + empty + " f",
                "ea_set f user.small hello",
                "ea_set -f " + empty + " f user.empty",
                "ea_set f trusted.t x",
                "ea_set f security.label abcdefg",
                "ea_set -f " + big + " f user.big",
                "ea_set f user.second-in-block 0123456789012345678901234567890123456789");
        IMAGES.put(config, p);
        return p;
    }

    /** An attribute decoded from the image, with its value bytes and where it lives. */
    private record Found(XattrEntry entry, byte[] value, boolean inBlock) {
    }

    private record Owner(Superblock sb, InodeRecord inode, byte[] ibody, byte[] block) {
    }

    private static Owner owner(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        InodeRecord r = GoldenImage.inode(img, sb, GoldenImage.inodeNumber(img, "f"));
        byte[] block = r.fileAcl == 0 ? null : GoldenImage.readBlock(img, sb.blockSize, r.fileAcl);
        return new Owner(sb, r, r.inlineXattrArea(), block);
    }

    private static List<Found> decodeAll(Owner o) throws IOException {
        List<Found> out = new ArrayList<>();
        if (o.ibody.length >= 4 && Le.u32(o.ibody, 0) == XattrEntry.MAGIC) {
            for (XattrEntry e : XattrEntry.decodeEntries(o.ibody, 4, o.ibody.length, 4, o.inode.number, -1)) {
                int s = 4 + e.valueOffset();
                out.add(new Found(e, Arrays.copyOfRange(o.ibody, s, s + e.valueSize()), false));
            }
        }
        if (o.block != null) {
            XattrEntry.checkBlockHeader(o.block, o.inode.number, o.inode.fileAcl);
            if (o.sb.hasMetadataCsum()) {
                XattrEntry.verifyBlock(o.sb, o.block, o.inode.number, o.inode.fileAcl);
            }
            for (XattrEntry e : XattrEntry.decodeEntries(o.block, 32, o.block.length, 0, o.inode.number,
                    o.inode.fileAcl)) {
                out.add(new Found(e, Arrays.copyOfRange(o.block, e.valueOffset(), e.valueOffset() + e.valueSize()),
                        true));
            }
        }
        return out;
    }

    private static final Pattern EA = Pattern.compile("^\\s+(\\S+) \\((\\d+)\\)(?: = \"(.*)\")?$", Pattern.MULTILINE);

    /** ext4_xattr_hash_entry (fs/ext4/xattr.c): name bytes, then the value as little-endian words. */
    static long kernelHash(byte[] suffix, byte[] value) {
        int hash = 0;
        for (byte c : suffix) {
            hash = (hash << 5) ^ (hash >>> 27) ^ c;
        }
        byte[] padded = Arrays.copyOf(value, (value.length + 3) & ~3);
        for (int i = 0; i < padded.length; i += 4) {
            hash = (hash << 16) ^ (hash >>> 16) ^ Le.i32(padded, i);
        }
        return hash & 0xFFFFFFFFL;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void attributesMatchEaList(String config) throws IOException {
        Path img = image(config);
        Owner o = owner(config);
        List<Found> found = decodeAll(o);
        Map<String, Long> ours = new TreeMap<>();
        for (Found f : found) {
            String name = f.entry.fullName();
            ours.put(name, (long) f.entry.valueSize());
            assertArrayEquals(VALUES.get(name), f.value, config + " " + name);
            if (f.inBlock) {
                assertEquals(kernelHash(f.entry.suffix(), f.value), f.entry.hash(), config + " hash of " + name);
            }
            assertEquals(0, f.entry.valueInum());
        }
        Map<String, Long> theirs = new TreeMap<>();
        Matcher m = EA.matcher(GoldenImage.debugfs(img, "ea_list f"));
        while (m.find()) {
            theirs.put(m.group(1), Long.parseLong(m.group(2)));
            if (m.group(3) != null) {
                assertEquals(m.group(3), new String(VALUES.get(m.group(1)), StandardCharsets.US_ASCII));
            }
        }
        assertEquals(theirs, ours, config);
        assertEquals(VALUES.keySet(), ours.keySet());
    }

    @Test
    void placement() throws IOException {
        List<Found> large = decodeAll(owner("i256-csum-1k"));
        assertTrue(large.stream().anyMatch(f -> !f.inBlock), "some attributes in the inode body");
        assertTrue(large.stream().anyMatch(f -> f.inBlock && f.entry.fullName().equals("user.big")));
        assertTrue(decodeAll(owner("i128-csum-1k")).stream().allMatch(Found::inBlock), "no room in 128-byte inodes");
        assertEquals(0, owner("i128-csum-1k").ibody.length);
    }

    @Test
    void nameIndexes() throws IOException {
        Map<String, Integer> index = new HashMap<>();
        for (Found f : decodeAll(owner("i256-csum-1k"))) {
            index.put(f.entry.fullName(), f.entry.nameIndex());
        }
        assertEquals(1, index.get("user.small"));
        assertEquals(4, index.get("trusted.t"));
        assertEquals(6, index.get("security.label"));
        assertEquals(null, new XattrEntry(5, new byte[] {'x'}, 0, 0, 0, 0).fullName(), "index 5 is unknown");
        assertEquals("system.posix_acl_access", new XattrEntry(2, new byte[0], 0, 0, 0, 0).fullName());
        assertEquals(null, new XattrEntry(200, new byte[] {'x'}, 0, 0, 0, 0).fullName());
    }

    // ---- block checksum ----------------------------------------------------------------------

    @ParameterizedTest(name = "byte {0}")
    @ValueSource(ints = {0, 4, 8, 0xC, 0x10, 0x13, 0x14, 32, 40, 200, 1000, 1023})
    void blockChecksumCoversTheWholeBlock(int offset) throws IOException {
        Owner o = owner("i256-csum-1k");
        o.block[offset] ^= 0x02;
        expectCorruption(Kind.CHECKSUM, o.inode.number, o.inode.fileAcl, 0x10,
                () -> XattrEntry.verifyBlock(o.sb, o.block, o.inode.number, o.inode.fileAcl));
    }

    @Test
    void blockChecksumIsBoundToTheBlockNumber() throws IOException {
        Owner o = owner("i256-csum-1k");
        expectCorruption(Kind.CHECKSUM, o.inode.number, o.inode.fileAcl + 1, 0x10,
                () -> XattrEntry.verifyBlock(o.sb, o.block, o.inode.number, o.inode.fileAcl + 1));
    }

    @Test
    void blockHeader() throws IOException {
        Owner o = owner("i256-csum-1k");
        byte[] b = o.block.clone();
        Le.put32(b, 0, 0xEA010000L);
        expectCorruption(Kind.BAD_XATTR, o.inode.number, o.inode.fileAcl, 0,
                () -> XattrEntry.checkBlockHeader(b, o.inode.number, o.inode.fileAcl));
        byte[] c = o.block.clone();
        Le.put32(c, 8, 2);
        expectCorruption(Kind.BAD_XATTR, o.inode.number, o.inode.fileAcl, 8,
                () -> XattrEntry.checkBlockHeader(c, o.inode.number, o.inode.fileAcl));
        Le.put32(c, 8, 0);
        expectCorruption(Kind.BAD_XATTR, () -> XattrEntry.checkBlockHeader(c, o.inode.number, o.inode.fileAcl));
    }

    // ---- entry mutations ---------------------------------------------------------------------

    private static Arguments bad(String name, Consumer<byte[]> edit, String reason) {
        return Arguments.of(name, edit, reason);
    }

    /** Edits of the first entry of an area, at {@code E}. */
    static Stream<Arguments> entryCorruptions() {
        return Stream.of(
                bad("e_value_offs past the area", b -> Le.put16(b, E + 2, 0xFFF0), "outside the area"),
                bad("e_value_size past the area", b -> Le.put32(b, E + 8, 0x7FFFFFF0L), "outside the area"),
                bad("e_value_size over 2^31", b -> Le.put32(b, E + 8, 0x80000000L), "too large"),
                bad("value ends one byte past the area", b -> {
                    Le.put16(b, E + 2, 0);
                    Le.put32(b, E + 8, AREA_END + 1);
                }, "outside the area"));
    }

    private static int E;
    private static int AREA_END;

    @ParameterizedTest(name = "block: {0}")
    @MethodSource("entryCorruptions")
    void corruptBlockEntry(String name, Consumer<byte[]> edit, String reason) throws IOException {
        Owner o = owner("i256-nocsum-4k");
        byte[] b = o.block;
        E = 32;
        AREA_END = b.length;
        XattrEntry.decodeEntries(b, 32, b.length, 0, o.inode.number, o.inode.fileAcl);
        edit.accept(b);
        var ex = expectCorruption(Kind.BAD_XATTR, o.inode.number, o.inode.fileAcl, 32,
                () -> XattrEntry.decodeEntries(b, 32, b.length, 0, o.inode.number, o.inode.fileAcl));
        assertTrue(ex.getMessage().contains(reason), ex.getMessage());
    }

    @ParameterizedTest(name = "inode body: {0}")
    @MethodSource("entryCorruptions")
    void corruptInodeBodyEntry(String name, Consumer<byte[]> edit, String reason) throws IOException {
        Owner o = owner("i256-csum-1k");
        byte[] b = o.ibody;
        E = 4;
        AREA_END = b.length - 4;
        edit.accept(b);
        var ex = expectCorruption(Kind.BAD_XATTR, o.inode.number, -1, 4,
                () -> XattrEntry.decodeEntries(b, 4, b.length, 4, o.inode.number, -1));
        assertTrue(ex.getMessage().contains(reason), ex.getMessage());
    }

    /**
     * e_name_len 0 is legal: system.posix_acl_access and _default are their prefix alone. The kernel's
     * ext4_xattr_check_entries does not refuse it, and e2fsprogs writes ACLs that way.
     */
    @Test
    void nameLenZeroIsAPrefixOnlyName() throws IOException {
        byte[] b = new byte[64];
        b[0] = 0; // e_name_len
        b[1] = 2; // e_name_index: system.posix_acl_access
        Le.put16(b, 2, 40);
        Le.put32(b, 8, 4);
        XattrEntry e = XattrEntry.decodeEntries(b, 0, 64, 0, 1, 2).get(0);
        assertEquals("system.posix_acl_access", e.fullName());
        assertEquals(0, e.suffix().length);
        assertEquals(1, XattrEntry.decodeEntries(b, 0, 64, 0, 1, 2).size(), "the next word is the end marker");
        // with index and value offset zero too, the first word is 0: the end-of-entries marker
        Le.put32(b, 0, 0);
        assertEquals(List.of(), XattrEntry.decodeEntries(b, 0, 64, 0, 1, 2));
    }

    @Test
    void nameRunningPastTheInodeBody() throws IOException {
        Owner o = owner("i256-csum-1k");
        byte[] b = o.ibody;
        b[4] = (byte) 255;
        var ex = expectCorruption(Kind.BAD_XATTR, o.inode.number, -1, 4,
                () -> XattrEntry.decodeEntries(b, 4, b.length, 4, o.inode.number, -1));
        assertTrue(ex.getMessage().contains("name runs past"), ex.getMessage());
    }

    /** A value that ends exactly at the area's end is inside it. */
    @Test
    void valueEndingAtTheAreaEndIsFine() throws IOException {
        Owner o = owner("i256-csum-1k");
        byte[] b = o.ibody;
        Le.put16(b, 4 + 2, 0);
        Le.put32(b, 4 + 8, b.length - 4);
        assertEquals(b.length - 4, XattrEntry.decodeEntries(b, 4, b.length, 4, o.inode.number, -1).get(0).valueSize());
    }

    /** An entry whose value lives in an EA inode has no in-area value to range-check. */
    @Test
    void valueInAnotherInodeIsNotRangeChecked() throws IOException {
        Owner o = owner("i256-nocsum-4k");
        byte[] b = o.block;
        Le.put32(b, 32 + 4, 99);
        Le.put32(b, 32 + 8, 1 << 20);
        Le.put16(b, 32 + 2, 0);
        XattrEntry e = XattrEntry.decodeEntries(b, 32, b.length, 0, o.inode.number, o.inode.fileAcl).get(0);
        assertEquals(99, e.valueInum());
        assertEquals(1 << 20, e.valueSize());
    }

    /** The header of the second entry cut by the area's end. */
    @Test
    void entryHeaderCutByTheEnd() {
        byte[] b = new byte[40];
        b[0] = 1;
        b[1] = 1;
        b[16] = 'a';
        b[20] = 1; // the next entry starts at 20 and needs 16 bytes; a 34-byte area has 14 left
        var ex = expectCorruption(Kind.BAD_XATTR, 3, 4, 20, () -> XattrEntry.decodeEntries(b, 0, 34, 0, 3, 4));
        assertTrue(ex.getMessage().contains("header"), ex.getMessage());
    }

    @Test
    void emptyAreaHasNoEntries() throws IOException {
        assertEquals(List.of(), XattrEntry.decodeEntries(new byte[64], 4, 64, 4, 1, -1));
    }
}
