package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link DirEntry#walk} against {@code debugfs ls}: real directory blocks (root, a 150-entry
 * multi-block directory, every file type) over 1, 2 and 4 KiB blocks, with and without the
 * metadata_csum tail; then each of {@code __ext4_check_dir_entry}'s checks provoked on its own.
 */
class DirEntryTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p != null) {
            return p;
        }
        Path src = dir.resolve("src");
        if (!Files.exists(src)) {
            Files.createDirectories(src.resolve("big"));
            Files.createDirectories(src.resolve("sub"));
            for (int i = 0; i < 150; i++) {
                Files.writeString(src.resolve("big").resolve("file_with_a_rather_long_name_" + i), "x");
            }
            Files.writeString(src.resolve("a"), "a");
            Files.writeString(src.resolve("name-of-exactly-thirty-two-bytes"), "b");
        }
        int kib = Integer.parseInt(config.replaceAll(".*-(\\d+)k$", "$1"));
        List<String> opts = new ArrayList<>(List.of("-b", Integer.toString(kib * 1024)));
        if (config.startsWith("nocsum")) {
            opts.addAll(List.of("-O", "^metadata_csum"));
        }
        p = GoldenImage.mkfs(dir, config + ".img", "8M", opts, null, src);
        GoldenImage.debugfsWrite(p, "cd /sub", "mknod pipe p", "mknod chr c 1 3", "mknod blk b 7 0",
                "symlink link /a", "mkdir dir", "link /a hard");
        IMAGES.put(config, p);
        return p;
    }

    static Stream<String> configs() {
        return Stream.of("csum-1k", "csum-2k", "csum-4k", "nocsum-1k", "nocsum-4k");
    }

    /** {@code debugfs ls} prints "%u  (%d) %s   " per entry; an empty block's entry has an empty name. */
    private static final Pattern LS = Pattern.compile("(\\d+)  \\((\\d+)\\) (\\S*)");
    private static final Pattern LS_L = Pattern.compile(
            "^\\s*(\\d+)\\s+\\d+\\s+\\((\\d+)\\)\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\S+\\s+\\S+\\s+(\\S+)\\s*$", Pattern.MULTILINE);

    /** Physical blocks of a directory in logical order, from dump_extents. */
    static List<Long> blocks(Path img, String path) throws IOException {
        List<Long> out = new ArrayList<>();
        for (GoldenImage.ExtentLine l : GoldenImage.dumpExtents(img, path)) {
            if (l.level() == l.maxLevel()) {
                for (long i = 0; i < l.length(); i++) {
                    out.add(l.physical() + i);
                }
            }
        }
        return out;
    }

    private record Seen(long inode, int recLen, String name, int type, long block, int offset) {
    }

    private static List<Seen> walkAll(Path img, Superblock sb, String path) throws IOException {
        long ino = GoldenImage.inodeNumber(img, path);
        List<Seen> out = new ArrayList<>();
        for (long pblk : blocks(img, path)) {
            byte[] b = GoldenImage.readBlock(img, sb.blockSize, pblk);
            List<DirEntry> inBlock = new ArrayList<>();
            DirEntry.walk(b, 0, sb.blockSize, sb.blockSize, true, sb.inodesCount, ino, pblk, e -> inBlock.add(e));
            int covered = 0;
            for (DirEntry e : inBlock) {
                assertEquals(covered, e.offset(), "entries tile the block");
                covered += e.recLen();
                out.add(new Seen(e.inode(), e.recLen(), new String(e.name(), StandardCharsets.ISO_8859_1),
                        e.fileType(), pblk, e.offset()));
            }
            assertEquals(sb.blockSize, covered, "entries cover the block exactly");
            DirEntry last = inBlock.get(inBlock.size() - 1);
            assertEquals(sb.hasMetadataCsum(), DirEntry.hasTail(b, sb.blockSize), "tail in block " + pblk);
            if (sb.hasMetadataCsum()) {
                assertEquals(0, last.inode());
                assertEquals(DirEntry.TAIL_SIZE, last.recLen());
                assertEquals(DirEntry.TAIL_FT, last.fileType());
                assertEquals(0, last.name().length);
                InodeRecord dirInode = GoldenImage.inode(img, sb, ino);
                DirEntry.verifyTail(b, sb.blockSize, dirInode.checksumSeed(sb), ino, pblk);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void walkMatchesDebugfsLs(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        for (String path : List.of("/", "/big", "/sub", "/lost+found")) {
            List<Seen> seen = walkAll(img, sb, path);
            List<String> ours = new ArrayList<>();
            for (Seen s : seen) {
                // debugfs (ext2fs_dir_iterate with DIRENT_FLAG_INCLUDE_EMPTY) shows used entries and a
                // block's empty first entry; it hides later unused entries and the checksum tail
                if (s.inode() != 0 || s.offset() == 0) {
                    ours.add(s.inode() + " " + s.recLen() + " " + s.name());
                }
            }
            List<String> theirs = new ArrayList<>();
            Matcher m = LS.matcher(GoldenImage.debugfs(img, "ls " + path));
            while (m.find()) {
                theirs.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
            }
            assertEquals(theirs, ours, config + " " + path);
            if (path.equals("/big")) {
                assertTrue(blocks(img, path).size() > 1, "multi-block directory");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void fileTypesMatchDebugfsLsL(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        for (String path : List.of("/", "/sub")) {
            Map<String, Integer> types = new HashMap<>();
            for (Seen s : walkAll(img, sb, path)) {
                if (s.inode() != 0) {
                    types.put(s.name(), s.type());
                }
            }
            Matcher m = LS_L.matcher(GoldenImage.debugfs(img, "ls -l " + path));
            int n = 0;
            while (m.find()) {
                assertEquals(Integer.parseInt(m.group(2)), types.get(m.group(3)), config + " " + m.group(3));
                n++;
            }
            assertEquals(types.size(), n, config + " " + path);
        }
        Map<String, Integer> sub = new HashMap<>();
        for (Seen s : walkAll(img, sb, "/sub")) {
            sub.put(s.name(), s.type());
        }
        assertEquals(DirEntry.FT_FIFO, sub.get("pipe"));
        assertEquals(DirEntry.FT_CHRDEV, sub.get("chr"));
        assertEquals(DirEntry.FT_BLKDEV, sub.get("blk"));
        assertEquals(DirEntry.FT_SYMLINK, sub.get("link"));
        assertEquals(DirEntry.FT_DIR, sub.get("dir"));
        assertEquals(DirEntry.FT_REG_FILE, sub.get("hard"));
    }

    // ---- mutations of the root directory block -----------------------------------------------

    private record Block(Superblock sb, long inode, long pblk, byte[] bytes, int seed) {
        void walk() throws Exception {
            DirEntry.walk(bytes, 0, sb.blockSize, sb.blockSize, true, sb.inodesCount, inode, pblk, e -> true);
        }
    }

    /** The root block of csum-1k: ".", "..", "lost+found" (offset 24), then the rest. */
    private static Block root() throws IOException {
        Path img = image("csum-1k");
        Superblock sb = GoldenImage.superblock(img);
        long pblk = blocks(img, "/").get(0);
        byte[] b = GoldenImage.readBlock(img, sb.blockSize, pblk);
        assertEquals("lost+found", new String(b, 24 + 8, 10, StandardCharsets.ISO_8859_1));
        return new Block(sb, 2, pblk, b, GoldenImage.inode(img, sb, 2).checksumSeed(sb));
    }

    private static Arguments bad(String name, Consumer<byte[]> edit, String reason) {
        return Arguments.of(name, edit, reason);
    }

    static Stream<Arguments> corruptions() {
        return Stream.of(
                bad("rec_len 0", b -> Le.put16(b, 24 + 4, 0), "smaller than the minimum"),
                bad("rec_len 8", b -> Le.put16(b, 24 + 4, 8), "smaller than the minimum"),
                bad("rec_len 22 (not a multiple of 4)", b -> Le.put16(b, 24 + 4, 22), "not a multiple of 4"),
                bad("rec_len 13", b -> Le.put16(b, 24 + 4, 13), "not a multiple of 4"),
                bad("rec_len past the block end", b -> Le.put16(b, 24 + 4, 1024), "past the end of the block"),
                bad("rec_len 0xFFFC", b -> Le.put16(b, 24 + 4, 0xFFFC), "past the end of the block"),
                bad("name_len 13 > rec_len 20 allows", b -> Le.put16(b, 24 + 6, 13 | 2 << 8), "too small for name_len"),
                bad("name_len 255", b -> b[24 + 6] = (byte) 255, "too small for name_len"),
                bad("inode past s_inodes_count", b -> Le.put32(b, 24, 2049), "past s_inodes_count"),
                bad("inode 0xFFFFFFFF", b -> Le.put32(b, 24, 0xFFFFFFFFL), "past s_inodes_count"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void corruptEntryIsNamedWithItsOffset(String name, Consumer<byte[]> edit, String reason) throws Exception {
        Block r = root();
        assertEquals(2048, r.sb.inodesCount);
        r.walk();
        edit.accept(r.bytes);
        var ex = expectCorruption(Kind.BAD_DIR_ENTRY, 2, r.pblk, 24, r::walk);
        assertTrue(ex.getMessage().contains(reason), ex.getMessage());
    }

    @Test
    void lastInodeNumberIsFine() throws Exception {
        Block r = root();
        Le.put32(r.bytes, 24, r.sb.inodesCount);
        r.walk();
    }

    /**
     * {@code __ext4_check_dir_entry} ("directory entry too close to block end"): a record that leaves
     * fewer than 12 bytes after it, but not none, is refused at its own offset.
     */
    @Test
    void recordLeavingTooFewBytesBeforeTheEnd() {
        byte[] b = new byte[1024];
        Le.put16(b, 4, 1020); // one entry of 1020 leaves 4 bytes: too few for a record
        Le.put32(b, 0, 2);
        b[6] = 1;
        b[8] = '.';
        var ex = expectCorruption(Kind.BAD_DIR_ENTRY, 5, 77, 0,
                () -> DirEntry.walk(b, 0, 1024, 1024, true, 100, 5, 77, e -> true));
        assertTrue(ex.getMessage().contains("too few for a record"), ex.getMessage());
        Le.put16(b, 4, 1012); // 12 bytes left: room for one more record, which then must be valid
        ex = expectCorruption(Kind.BAD_DIR_ENTRY, 5, 77, 1012,
                () -> DirEntry.walk(b, 0, 1024, 1024, true, 100, 5, 77, e -> true));
        assertTrue(ex.getMessage().contains("smaller than the minimum"), ex.getMessage());
    }

    @Test
    void headerCutByTheEnd() {
        byte[] b = new byte[1024];
        var ex = expectCorruption(Kind.BAD_DIR_ENTRY, 5, 77, 1020,
                () -> DirEntry.walk(b, 1020, 1024, 1024, true, 100, 5, 77, e -> true));
        assertTrue(ex.getMessage().contains("header"), ex.getMessage());
    }

    @Test
    void walkStopsWhenTheVisitorSaysSo() throws Exception {
        Block r = root();
        List<String> names = new ArrayList<>();
        DirEntry.walk(r.bytes, 0, 1024, 1024, true, 2048, 2, r.pblk, e -> {
            names.add(e.nameString());
            return names.size() < 2;
        });
        assertEquals(List.of(".", ".."), names);
    }

    @ParameterizedTest(name = "byte {0}")
    @ValueSource(ints = {0, 4, 6, 7, 8, 24, 33, 500, 1011})
    void tailChecksumCoversTheEntries(int offset) throws IOException {
        Block r = root();
        DirEntry.verifyTail(r.bytes, 1024, r.seed, 2, r.pblk);
        r.bytes[offset] ^= 0x01;
        expectCorruption(Kind.CHECKSUM, 2, r.pblk, 1024 - 12,
                () -> DirEntry.verifyTail(r.bytes, 1024, r.seed, 2, r.pblk));
    }

    @Test
    void tailChecksumItselfFlipped() throws IOException {
        Block r = root();
        r.bytes[1024 - 4] ^= 0x01;
        expectCorruption(Kind.CHECKSUM, 2, r.pblk, 1024 - 12,
                () -> DirEntry.verifyTail(r.bytes, 1024, r.seed, 2, r.pblk));
    }

    @Test
    void tailIsBoundToTheDirectoryInode() throws IOException {
        Block r = root();
        int other = InodeRecord.checksumSeed(r.sb, 11, 0);
        expectCorruption(Kind.CHECKSUM, () -> DirEntry.verifyTail(r.bytes, 1024, other, 2, r.pblk));
    }

    @Test
    void tailRecognition() throws IOException {
        Block r = root();
        assertTrue(DirEntry.hasTail(r.bytes, 1024));
        byte[] b = r.bytes.clone();
        b[1024 - 12 + 7] = 0; // file type no longer 0xDE
        assertFalse(DirEntry.hasTail(b, 1024));
        b = r.bytes.clone();
        Le.put16(b, 1024 - 12 + 4, 16);
        assertFalse(DirEntry.hasTail(b, 1024));
        b = r.bytes.clone();
        Le.put32(b, 1024 - 12, 5);
        assertFalse(DirEntry.hasTail(b, 1024));
    }

    // ---- table-driven boundaries -------------------------------------------------------------

    /** EXT4_DIR_REC_LEN: 8-byte header plus the name, rounded up to 4. */
    @ParameterizedTest(name = "name_len {0} -> {1}")
    @CsvSource({"0, 8", "1, 12", "2, 12", "4, 12", "5, 16", "8, 16", "9, 20", "10, 20", "254, 264", "255, 264"})
    void recLenFor(int nameLen, int recLen) {
        assertEquals(recLen, DirEntry.recLenFor(nameLen));
    }

    /** ext4_rec_len_from_disk: identity below 64 KiB blocks; 64 KiB blocks fold bits 16-17 into the low bits. */
    @ParameterizedTest(name = "{0} in {1}-byte blocks -> {2}")
    @CsvSource({
        "12, 1024, 12",
        "1024, 1024, 1024",
        "0, 4096, 0",
        "65535, 4096, 65535",
        "12, 65536, 12",
        "65532, 65536, 65532",
        "65535, 65536, 65536",
        "0, 65536, 65536",
        "1, 65536, 65536",
        "2, 65536, 131072",
        "65533, 65536, 131068",
    })
    void recLenFromDisk(int disk, int blockSize, int expected) {
        assertEquals(expected, DirEntry.recLenFromDisk(disk, blockSize));
    }

    /** An entry whose rec_len reaches exactly the block end, and a minimal 12-byte one, are valid. */
    @Test
    void exactFits() throws Exception {
        byte[] b = new byte[1024];
        Le.put32(b, 0, 2);
        Le.put16(b, 4, 12);
        b[6] = 1;
        b[8] = '.';
        Le.put32(b, 12, 3);
        Le.put16(b, 16, 1024 - 12);
        b[18] = (byte) 255;
        List<DirEntry> seen = new ArrayList<>();
        DirEntry.walk(b, 0, 1024, 1024, true, 3, 2, 9, e -> seen.add(e));
        assertEquals(2, seen.size());
        assertEquals(255, seen.get(1).name().length);
        assertEquals(1012, seen.get(1).recLen());
    }

    /** Without the filetype feature the byte after name_len is the name_len high byte, ignored by ext4. */
    @Test
    void noFiletypeFeature() throws Exception {
        byte[] b = new byte[1024];
        Le.put32(b, 0, 2);
        Le.put16(b, 4, 1024);
        b[6] = 3;
        b[7] = 2; // would be FT_DIR with filetype
        b[8] = 'a';
        b[9] = 'b';
        b[10] = 'c';
        List<DirEntry> seen = new ArrayList<>();
        DirEntry.walk(b, 0, 1024, 1024, false, 3, 2, 9, e -> seen.add(e));
        assertEquals("abc", seen.get(0).nameString());
        assertEquals(DirEntry.FT_UNKNOWN, seen.get(0).fileType());
    }
}
