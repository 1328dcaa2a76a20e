package org.ext4j.format;

import static org.ext4j.format.GoldenImage.expectCorruption;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * {@link InodeRecord} against {@code debugfs stat}: 256-byte and 128-byte inodes with fields set
 * through {@code debugfs set_inode_field} (32-bit ids, 64-bit size, times past 2038 and before 1970
 * with nanoseconds, version, project), checksums with and without metadata_csum; then mutations
 * and the kernel's timestamp table ({@code fs/ext4/inode-test.c}).
 */
class InodeRecordTest {

    @TempDir
    static Path dir;

    private static final Map<String, Path> IMAGES = new HashMap<>();

    static synchronized Path image(String config) throws IOException {
        Path p = IMAGES.get(config);
        if (p != null) {
            return p;
        }
        Path content = dir.resolve("content.txt");
        Files.writeString(content, "hello");
        List<String> common = List.of(
                "write " + content + " f",
                "sif f uid 100000",
                "sif f gid 70000",
                "sif f generation 0x12345678",
                "sif f size 0x123456789",
                "sif f links_count 3",
                "sif f dtime 12345",
                "mkdir d",
                "symlink sl /some/target",
                "mknod cdev c 1 5",
                "mknod bdev b 8 1",
                "mknod pipe p");
        List<String> large = List.of(
                "sif f mtime 20400101000000",
                "sif f mtime_extra 0x1d6f3455",
                "sif f atime @-315619200", // 1960-01-01; debugfs parses 19600101 as Jan 2
                "sif f atime_extra 4",
                "sif f ctime 24000101000000",
                "sif f crtime 21060207062816",
                "sif f crtime_extra 0x00000ffd",
                "sif f version 0x11223344",
                "sif f version_hi 0x55667788",
                "sif f projid 77");
        List<String> small = List.of(
                "sif f mtime 20380119031407",
                "sif f atime @-315619200",
                "sif f ctime @-2147483648",
                "sif f version 0x11223344");
        List<String> script = new ArrayList<>(common);
        switch (config) {
            case "i256" -> {
                p = GoldenImage.mkfs(dir, "i256.img", "8M", "-b", "1024", "-O", "project");
                script.addAll(large);
            }
            case "i128" -> {
                p = GoldenImage.mkfs(dir, "i128.img", "8M", "-b", "1024", "-I", "128");
                script.addAll(small);
            }
            case "i256-nocsum" -> {
                p = GoldenImage.mkfs(dir, "i256n.img", "8M", "-b", "4096", "-O", "^metadata_csum");
                script.addAll(large.subList(0, 7));
            }
            case "i1024" -> {
                p = GoldenImage.mkfs(dir, "i1024.img", "8M", "-b", "4096", "-I", "1024");
                script.addAll(large.subList(0, 9));
            }
            default -> throw new IllegalArgumentException(config);
        }
        GoldenImage.debugfsWrite(p, script.toArray(String[]::new));
        IMAGES.put(config, p);
        return p;
    }

    /** debugfs's own names for the inode types it prints. */
    private static String typeName(int type) {
        return switch (type) {
            case InodeRecord.S_IFREG -> "regular";
            case InodeRecord.S_IFDIR -> "directory";
            case InodeRecord.S_IFLNK -> "symlink";
            case InodeRecord.S_IFCHR -> "character special";
            case InodeRecord.S_IFBLK -> "block special";
            case InodeRecord.S_IFIFO -> "FIFO";
            case InodeRecord.S_IFSOCK -> "socket";
            default -> "bad type";
        };
    }

    private static long field(String stat, String regex) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(stat);
        assertTrue(m.find(), "no " + regex + " in\n" + stat);
        String v = m.group(1);
        return v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
    }

    private static String group(String stat, String regex, int g) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(stat);
        return m.find() ? m.group(g) : null;
    }

    /** Every field {@code debugfs stat} prints, against the record decoded from the raw bytes. */
    private static void assertMatchesDebugfs(Path img, Superblock sb, long ino) throws IOException {
        InodeRecord r = GoldenImage.inode(img, sb, ino);
        String stat = GoldenImage.debugfs(img, "stat <" + ino + ">");
        String at = img.getFileName() + " inode " + ino;
        assertEquals(ino, r.number);
        assertEquals(typeName(r.type()), group(stat, "Type: (.+?)\\s+Mode:", 1), at);
        assertEquals(Integer.parseInt(group(stat, "Mode:\\s+(\\d+)", 1), 8), r.mode & 07777, at);
        assertEquals(field(stat, "Flags: (0x[0-9a-f]+)"), r.flags, at);
        assertEquals(field(stat, "^Generation: (\\d+)"), r.generation, at);
        String version = group(stat, "Version: 0x([0-9a-f]+)(?::([0-9a-f]+))?", 0);
        Matcher vm = Pattern.compile("0x([0-9a-f]+)(?::([0-9a-f]+))?").matcher(version);
        assertTrue(vm.find());
        long expectedVersion = vm.group(2) == null ? Long.parseLong(vm.group(1), 16)
                : Long.parseLong(vm.group(1), 16) << 32 | Long.parseLong(vm.group(2), 16);
        assertEquals(expectedVersion, r.version, at + " version");
        assertEquals(field(stat, "^User:\\s+(\\d+)"), r.uid, at);
        assertEquals(field(stat, "Group:\\s+(\\d+)"), r.gid, at);
        if (stat.contains("Project:")) {
            assertEquals(field(stat, "Project:\\s+(\\d+)"), r.projid, at);
        }
        assertEquals(field(stat, "Size: (\\d+)"), r.size, at);
        assertEquals(field(stat, "^File ACL: (\\d+)"), r.fileAcl, at);
        assertEquals(field(stat, "^Links: (\\d+)"), r.linksCount, at);
        assertEquals(field(stat, "Blockcount: (\\d+)"), r.blocksRaw, at);
        assertTime(stat, "atime", r.atime, at);
        assertTime(stat, "ctime", r.ctime, at);
        assertTime(stat, "mtime", r.mtime, at);
        if (stat.contains("crtime:")) {
            assertTime(stat, "crtime", r.crtime, at);
        } else {
            assertNull(r.crtime, at);
        }
        String dtime = group(stat, "^\\s*dtime: 0x([0-9a-f]+)", 1);
        assertEquals(dtime == null ? 0 : Long.parseLong(dtime, 16), r.dtime, at);
        if (sb.inodeSize > 128) {
            assertEquals(field(stat, "^Size of extra inode fields: (\\d+)"), r.extraIsize, at);
        }
        String csum = group(stat, "^Inode checksum: 0x([0-9a-f]+)", 1);
        boolean unused = java.util.Arrays.equals(r.raw(), new byte[sb.inodeSize]);
        if (sb.hasMetadataCsum() && unused) {
            assertEquals(0, Long.parseLong(csum, 16), at + " checksum of an unused inode");
        } else if (sb.hasMetadataCsum()) {
            long mask = sb.inodeSize > 128 && r.extraIsize >= 4 ? 0xFFFFFFFFL : 0xFFFFL;
            assertEquals(Long.parseLong(csum, 16), r.computeChecksum(sb) & mask, at + " checksum");
        } else {
            assertNull(csum, at);
        }
        byte[] iblock = r.iBlock();
        long[] loc = GoldenImage.inodeLocation(img, ino);
        assertArrayEquals(GoldenImage.read(img, loc[0] * sb.blockSize + loc[1] + 0x28, 60), iblock, at);
    }

    /** {@code " atime: 0x83aa7e80:1d6f3455 -- ..."}: the raw base and extra words. */
    private static void assertTime(String stat, String name, InodeRecord.Timestamp t, String at) {
        Matcher m = Pattern.compile("^\\s*" + name + ": 0x([0-9a-f]{8})(?::([0-9a-f]{8}))?", Pattern.MULTILINE)
                .matcher(stat);
        assertTrue(m.find(), at + " " + name);
        long base = Long.parseLong(m.group(1), 16);
        long extra = m.group(2) == null ? 0 : Long.parseLong(m.group(2), 16);
        long seconds = (int) base + ((extra & 3) << 32);
        assertEquals(seconds, t.seconds(), at + " " + name + " seconds");
        assertEquals(extra >>> 2, t.nanos(), at + " " + name + " nanoseconds");
    }

    static Stream<Arguments> inodes() {
        List<Arguments> out = new ArrayList<>();
        for (String c : List.of("i256", "i128", "i256-nocsum", "i1024")) {
            for (long ino = 1; ino <= 18; ino++) {
                out.add(Arguments.of(c, ino));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} <{1}>")
    @MethodSource("inodes")
    void matchesDebugfsStat(String config, long ino) throws IOException {
        Path img = image(config);
        assertMatchesDebugfs(img, GoldenImage.superblock(img), ino);
    }

    /** The values set through debugfs, stated as dates: the ground truth for the extra-epoch decoding. */
    @Test
    void largeInodeTimes() throws IOException {
        Path img = image("i256");
        Superblock sb = GoldenImage.superblock(img);
        InodeRecord f = GoldenImage.inode(img, sb, GoldenImage.inodeNumber(img, "f"));
        assertEquals(Instant.parse("2040-01-01T00:00:00.123456789Z"), instant(f.mtime));
        assertEquals(Instant.parse("1960-01-01T00:00:00.000000001Z"), instant(f.atime));
        assertEquals(Instant.parse("2400-01-01T00:00:00Z"), instant(f.ctime));
        assertEquals(Instant.parse("2106-02-07T06:28:16.000001023Z"), instant(f.crtime));
        assertEquals(100000, f.uid);
        assertEquals(70000, f.gid);
        assertEquals(0x123456789L, f.size);
        assertEquals(0x12345678L, f.generation);
        assertEquals(0x5566778811223344L, f.version);
        assertEquals(77, f.projid);
        assertEquals(12345, f.dtime);
        assertEquals(3, f.linksCount);
        assertTrue(f.isRegular());
        assertTrue(f.hasFlag(InodeRecord.FL_EXTENTS));
    }

    /** 128-byte inodes have no extra words: times are signed 32-bit (1901..2038), no crtime. */
    @Test
    void smallInodeTimes() throws IOException {
        Path img = image("i128");
        Superblock sb = GoldenImage.superblock(img);
        InodeRecord f = GoldenImage.inode(img, sb, GoldenImage.inodeNumber(img, "f"));
        assertEquals(Instant.parse("2038-01-19T03:14:07Z"), instant(f.mtime));
        assertEquals(Instant.parse("1960-01-01T00:00:00Z"), instant(f.atime));
        assertEquals(Instant.parse("1901-12-13T20:45:52Z"), instant(f.ctime));
        assertNull(f.crtime);
        assertEquals(0, f.extraIsize);
        assertEquals(0, f.projid);
        assertEquals(0x11223344L, f.version);
        assertEquals(0, f.inlineXattrArea().length);
    }

    private static Instant instant(InodeRecord.Timestamp t) {
        return Instant.ofEpochSecond(t.seconds(), t.nanos());
    }

    /** The boundary table of the kernel's {@code ext4_inode_test} (fs/ext4/inode-test.c). */
    @ParameterizedTest(name = "0x{0} extra {1} = {2}")
    @CsvSource(delimiter = '|', textBlock = """
            80000000 | 0          | 1901-12-13T20:45:52Z
            ffffffff | 0          | 1969-12-31T23:59:59Z
            00000000 | 0          | 1970-01-01T00:00:00Z
            7fffffff | 0          | 2038-01-19T03:14:07Z
            80000000 | 1          | 2038-01-19T03:14:08Z
            ffffffff | 1          | 2106-02-07T06:28:15Z
            00000000 | 1          | 2106-02-07T06:28:16Z
            7fffffff | 1          | 2174-02-25T09:42:23Z
            80000000 | 2          | 2174-02-25T09:42:24Z
            ffffffff | 2          | 2242-03-16T12:56:31Z
            00000000 | 2          | 2242-03-16T12:56:32Z
            7fffffff | 2          | 2310-04-04T16:10:39Z
            80000000 | 3          | 2310-04-04T16:10:40Z
            ffffffff | 3          | 2378-04-22T19:24:47Z
            00000000 | 3          | 2378-04-22T19:24:48Z
            7fffffff | 3          | 2446-05-10T22:38:55Z
            7fffffff | 6          | 2310-04-04T16:10:39.000000001Z
            00000000 | ee6b27fd   | 2106-02-07T06:28:16.999999999Z
            00000000 | fffffffc   | 1970-01-01T00:00:01.073741823Z
            """)
    void timestampDecoding(String base, String extra, String expected) {
        InodeRecord.Timestamp t = InodeRecord.Timestamp.of(Long.parseLong(base, 16), Long.parseLong(extra, 16));
        assertEquals(Instant.parse(expected), instant(t));
    }

    // ---- mutations ---------------------------------------------------------------------------

    private record Raw(Superblock sb, long ino, byte[] bytes, long block, int offset) {
    }

    private static Raw raw(String config) throws IOException {
        Path img = image(config);
        Superblock sb = GoldenImage.superblock(img);
        long ino = GoldenImage.inodeNumber(img, "f");
        long[] loc = GoldenImage.inodeLocation(img, ino);
        byte[] b = GoldenImage.read(img, loc[0] * sb.blockSize + loc[1], sb.inodeSize);
        InodeRecord.decode(sb, ino, b, loc[0], (int) loc[1]);
        return new Raw(sb, ino, b, loc[0], (int) loc[1]);
    }

    /** One flipped byte in each region the inode checksum covers, both checksum halves included. */
    @ParameterizedTest(name = "i256 byte 0x{0}")
    @ValueSource(ints = {0x00, 0x02, 0x04, 0x08, 0x1A, 0x20, 0x28, 0x63, 0x64, 0x6C, 0x7C, 0x7D, 0x7E, 0x80, 0x82,
        0x83, 0x84, 0x90, 0x9C, 0xA0, 0xC0, 0xFF})
    void flippedByteFailsTheChecksum(int offset) throws IOException {
        Raw r = raw("i256");
        r.bytes[offset] ^= 0x20;
        expectCorruption(Kind.CHECKSUM, r.ino, r.block, r.offset,
                () -> InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset));
    }

    @ParameterizedTest(name = "i128 byte 0x{0}")
    @ValueSource(ints = {0x00, 0x04, 0x28, 0x64, 0x7C, 0x7D, 0x7E, 0x7F})
    void flippedByteFailsTheChecksumOf128ByteInodes(int offset) throws IOException {
        Raw r = raw("i128");
        r.bytes[offset] ^= 0x20;
        expectCorruption(Kind.CHECKSUM, r.ino, r.block, r.offset,
                () -> InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset));
    }

    @Test
    void checksumIsBoundToTheInodeNumber() throws IOException {
        Raw r = raw("i256");
        expectCorruption(Kind.CHECKSUM, r.ino + 1, r.block, r.offset,
                () -> InodeRecord.decode(r.sb, r.ino + 1, r.bytes, r.block, r.offset));
    }

    @Test
    void withoutMetadataCsumNothingIsVerified() throws IOException {
        Raw r = raw("i256-nocsum");
        r.bytes[0x04] ^= 0x20;
        assertEquals(0x123456789L ^ 0x20, InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset).size);
    }

    @ParameterizedTest(name = "i_extra_isize {0}")
    @ValueSource(ints = {1, 2, 3, 6, 130, 132, 256, 0xFFFF})
    void badExtraIsize(int extra) throws IOException {
        Raw r = raw("i256");
        Le.put16(r.bytes, 0x80, extra);
        expectCorruption(Kind.BAD_INODE, r.ino, r.block, r.offset,
                () -> InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset));
    }

    /** i_extra_isize up to the whole tail is legal; only the checksum then notices the change. */
    @ParameterizedTest(name = "i_extra_isize {0}")
    @ValueSource(ints = {0, 4, 28, 128})
    void legalExtraIsizeIsDecodedOrChecksummed(int extra) throws IOException {
        Raw r = raw("i256-nocsum");
        Le.put16(r.bytes, 0x80, extra);
        InodeRecord rec = InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset);
        assertEquals(extra, rec.extraIsize);
        // i_crtime lies at 0x90..0x94: present exactly when i_extra_isize reaches it
        assertEquals(extra >= 0x94 - 0x80, rec.crtime != null);
        assertEquals(256 - 128 - extra, rec.inlineXattrArea().length);
        Raw c = raw("i256");
        Le.put16(c.bytes, 0x80, extra);
        if (extra != 32) {
            expectCorruption(Kind.CHECKSUM, () -> InodeRecord.decode(c.sb, c.ino, c.bytes, c.block, c.offset));
        }
    }

    /** An all-zero inode (never used) is not a checksum error, as the kernel's ext4_inode_csum_verify. */
    @Test
    void allZeroInodeIsAccepted() throws IOException {
        Raw r = raw("i256");
        byte[] zero = new byte[r.bytes.length];
        InodeRecord rec = InodeRecord.decode(r.sb, 100, zero, r.block, 0);
        assertEquals(0, rec.mode);
    }

    @Test
    void fieldsPastExtraIsizeAreAbsent() throws IOException {
        Raw r = raw("i256-nocsum");
        Le.put16(r.bytes, 0x80, 4); // covers only i_extra_isize and i_checksum_hi
        InodeRecord rec = InodeRecord.decode(r.sb, r.ino, r.bytes, r.block, r.offset);
        assertNull(rec.crtime);
        assertEquals(0, rec.mtime.nanos());
        assertEquals((int) Le.u32(r.bytes, 0x10), rec.mtime.seconds());
        assertEquals(0, rec.projid);
    }
}
