package org.ext4j.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.error.CorruptionException;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.function.Executable;

/**
 * Golden-byte fixtures for the codec tests: small images made by {@code mkfs.ext4} at test time with
 * a fixed UUID, hash seed and clock, changed with {@code debugfs -w}, read back as raw bytes with
 * plain file reads, and described by {@code dumpe2fs} and {@code debugfs} output that the tests parse
 * and hold the codecs to. e2fsprogs is the judge; nothing here uses ext4j to find out what to expect.
 */
public final class GoldenImage {
    public static final String UUID = "01234567-89ab-cdef-0123-456789abcdef";
    public static final String HASH_SEED = "a3f1c2d4-5b6e-4f70-8192-a3b4c5d6e7f8";
    /** mkfs/debugfs "now": 2023-11-14T22:13:20Z. */
    public static final long FAKE_TIME = 1_700_000_000L;

    private GoldenImage() {
    }

    /** Skips the caller unless e2fsprogs is installed. */
    public static void requireTools() {
        Tools.requireTools("mkfs.ext4", "debugfs", "dumpe2fs", "e2fsck");
    }

    /**
     * Makes {@code dir/name} with {@code mkfs.ext4 -q -F -U UUID -E hash_seed=..,lazy_itable_init=1[,extended]}
     * plus {@code options}, populated from {@code source} when it is not null.
     */
    public static Path mkfs(Path dir, String name, String size, List<String> options, String extended, Path source)
            throws IOException {
        requireTools();
        Path image = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of("mkfs.ext4", "-q", "-F", "-U", UUID));
        cmd.addAll(options);
        cmd.add("-E");
        cmd.add("hash_seed=" + HASH_SEED + ",lazy_itable_init=1" + (extended == null ? "" : "," + extended));
        if (source != null) {
            cmd.add("-d");
            cmd.add(source.toString());
        }
        cmd.add(image.toString());
        cmd.add(size);
        run(cmd);
        return image;
    }

    public static Path mkfs(Path dir, String name, String size, String... options) throws IOException {
        return mkfs(dir, name, size, List.of(options), null, null);
    }

    /** Runs an e2fsprogs command with a fixed clock and UTC; fails the test on a non-zero exit. */
    public static String run(List<String> cmd) throws IOException {
        Path out = Files.createTempFile("golden", ".out");
        Path err = Files.createTempFile("golden", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().put("TZ", "UTC");
            pb.environment().put("LC_ALL", "C");
            pb.environment().put("E2FSPROGS_FAKE_TIME", Long.toString(FAKE_TIME));
            pb.environment().put("PATH", pb.environment().getOrDefault("PATH", "") + ":/sbin:/usr/sbin");
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + cmd);
            }
            String stdout = Files.readString(out, StandardCharsets.ISO_8859_1);
            String stderr = Files.readString(err, StandardCharsets.ISO_8859_1);
            if (p.exitValue() != 0) {
                throw new AssertionError(cmd + " exited " + p.exitValue() + ": " + stderr + stdout);
            }
            if (cmd.get(0).equals("debugfs") && !cmd.contains("-c")) {
                // debugfs exits 0 even when a request fails; its complaints go to stderr
                for (String line : stderr.split("\n")) {
                    if (!line.isBlank() && !line.startsWith("debugfs ")) {
                        throw new AssertionError(cmd + " complained: " + stderr);
                    }
                }
            }
            return stdout;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** {@code debugfs -R request image}: its standard output. */
    public static String debugfs(Path image, String request) throws IOException {
        return run(List.of("debugfs", "-R", request, image.toString()));
    }

    /**
     * {@code debugfs -c -R request image} (catastrophic mode: no bitmaps read), whose stderr is not
     * checked: for requests such as {@code htree_dump} on a file system without metadata_csum, where
     * debugfs 1.47 complains that it cannot compute a checksum that does not exist.
     */
    public static String debugfsLenient(Path image, String request) throws IOException {
        return run(List.of("debugfs", "-c", "-R", request, image.toString()));
    }

    /** Runs {@code commands} through {@code debugfs -w -f script image}. */
    public static void debugfsWrite(Path image, String... commands) throws IOException {
        Path script = Files.createTempFile("golden", ".debugfs");
        try {
            Files.writeString(script, String.join("\n", commands) + "\n");
            run(List.of("debugfs", "-w", "-f", script.toString(), image.toString()));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /**
     * The superblock part of {@code dumpe2fs -h} as "key: value" pairs in print order; stops where
     * the journal superblock and MMP block are printed, which are not the ext4 superblock.
     */
    public static Map<String, String> dumpe2fsHeader(Path image) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : run(List.of("dumpe2fs", "-h", image.toString())).split("\n")) {
            if (line.startsWith("Journal features:") || line.startsWith("MMP_block:") || line.isBlank()) {
                break;
            }
            int colon = line.indexOf(':');
            if (colon < 0 || line.startsWith(" ")) {
                continue;
            }
            out.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
        }
        return out;
    }

    /** One group as {@code dumpe2fs} prints it. */
    public record Group(int number, int checksum, List<String> flags, long blockBitmap, long blockBitmapCsum,
            long inodeBitmap, long inodeBitmapCsum, long inodeTable, long freeBlocks, long freeInodes,
            long directories, long unusedInodes) {
    }

    private static final Pattern GROUP = Pattern.compile(
            "^Group (\\d+): \\(Blocks [^)]*\\)(?: csum 0x([0-9a-f]+))?(?: \\[([A-Z_, ]*)\\])?");
    private static final Pattern BITMAP = Pattern.compile(
            "^\\s+(Block|Inode) bitmap at (\\d+) \\([^)]*\\)(?:, csum 0x([0-9a-f]+))?");
    private static final Pattern TABLE = Pattern.compile("^\\s+Inode table at (\\d+)-");
    private static final Pattern COUNTS = Pattern.compile(
            "^\\s+(\\d+) free (?:blocks|clusters), (\\d+) free inodes, (\\d+) directories(?:, (\\d+) unused inodes)?");

    public static List<Group> dumpe2fsGroups(Path image) throws IOException {
        List<Group> out = new ArrayList<>();
        long[] v = null;
        int csum = -1;
        List<String> flags = null;
        for (String line : (run(List.of("dumpe2fs", image.toString())) + "\nGroup 999999: (Blocks x)").split("\n")) {
            Matcher m = GROUP.matcher(line);
            if (m.find()) {
                if (v != null) {
                    out.add(new Group((int) v[0], csum, flags, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]));
                }
                v = new long[10];
                v[0] = Long.parseLong(m.group(1));
                csum = m.group(2) == null ? -1 : Integer.parseInt(m.group(2), 16);
                flags = m.group(3) == null ? List.of() : List.of(m.group(3).split(", "));
                continue;
            }
            if (v == null) {
                continue;
            }
            m = BITMAP.matcher(line);
            if (m.find()) {
                int i = m.group(1).equals("Block") ? 1 : 3;
                v[i] = Long.parseLong(m.group(2));
                v[i + 1] = m.group(3) == null ? -1 : Long.parseLong(m.group(3), 16);
                continue;
            }
            m = TABLE.matcher(line);
            if (m.find()) {
                v[5] = Long.parseLong(m.group(1));
                continue;
            }
            m = COUNTS.matcher(line);
            if (m.find()) {
                v[6] = Long.parseLong(m.group(1));
                v[7] = Long.parseLong(m.group(2));
                v[8] = Long.parseLong(m.group(3));
                v[9] = m.group(4) == null ? -1 : Long.parseLong(m.group(4));
            }
        }
        return out;
    }

    public static byte[] read(Path image, long offset, int length) throws IOException {
        byte[] b = new byte[length];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(offset);
            f.readFully(b);
        }
        return b;
    }

    public static void write(Path image, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    public static Superblock superblock(Path image) throws IOException {
        return Superblock.decode(read(image, Superblock.OFFSET, Superblock.SIZE));
    }

    public static byte[] readBlock(Path image, int blockSize, long block) throws IOException {
        return read(image, block * blockSize, blockSize);
    }

    private static final Pattern IMAP = Pattern.compile("located at block (\\d+), offset 0x([0-9a-f]+)");

    /** Block and byte offset of inode {@code ino}, from {@code debugfs -R "imap <ino>"}. */
    public static long[] inodeLocation(Path image, long ino) throws IOException {
        Matcher m = IMAP.matcher(debugfs(image, "imap <" + ino + ">"));
        assertTrue(m.find(), "imap output");
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2), 16)};
    }

    /** The inode number debugfs resolves {@code path} to. */
    public static long inodeNumber(Path image, String path) throws IOException {
        String out = debugfs(image, "stat " + path);
        Matcher m = Pattern.compile("^Inode: (\\d+)", Pattern.MULTILINE).matcher(out);
        assertTrue(m.find(), "stat output for " + path);
        return Long.parseLong(m.group(1));
    }

    /** The on-disk inode record, decoded from the raw bytes at the place debugfs names. */
    public static InodeRecord inode(Path image, Superblock sb, long ino) throws IOException {
        long[] loc = inodeLocation(image, ino);
        byte[] raw = read(image, loc[0] * sb.blockSize + loc[1], sb.inodeSize);
        return InodeRecord.decode(sb, ino, raw, loc[0], (int) loc[1]);
    }

    /** One line of {@code debugfs -R "dump_extents -n -l FILE"}. */
    public record ExtentLine(int level, int maxLevel, int entry, int entries, long logicalStart, long logicalEnd,
            long physical, long length, boolean uninit) {
    }

    private static final Pattern EXTENT = Pattern.compile(
            "^\\s*(\\d+)/\\s*(\\d+)\\s+(\\d+)/\\s*(\\d+)\\s+(\\d+) -\\s*(\\d+)\\s+(\\d+)(?: -\\s*\\d+)?\\s+(\\d+)\\s*(Uninit)?");

    public static List<ExtentLine> dumpExtents(Path image, String file) throws IOException {
        List<ExtentLine> out = new ArrayList<>();
        for (String line : debugfs(image, "dump_extents " + file).split("\n")) {
            Matcher m = EXTENT.matcher(line);
            if (m.find()) {
                out.add(new ExtentLine(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                        Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), Long.parseLong(m.group(5)),
                        Long.parseLong(m.group(6)), Long.parseLong(m.group(7)), Long.parseLong(m.group(8)),
                        m.group(9) != null));
            }
        }
        return out;
    }

    /** Asserts that {@code e} throws a {@link CorruptionException} of {@code kind}, and returns it. */
    public static CorruptionException expectCorruption(CorruptionException.Kind kind, Executable e) {
        CorruptionException ex = assertThrows(CorruptionException.class, e);
        assertEquals(kind, ex.kind(), ex.getMessage());
        return ex;
    }

    /** Asserts the kind and where the exception points: inode, block, offset (-1 for "none"). */
    public static CorruptionException expectCorruption(CorruptionException.Kind kind, long inode, long block,
            long offset, Executable e) {
        CorruptionException ex = expectCorruption(kind, e);
        assertEquals(inode, ex.inode(), "inode in: " + ex.getMessage());
        assertEquals(block, ex.block(), "block in: " + ex.getMessage());
        assertEquals(offset, ex.offset(), "offset in: " + ex.getMessage());
        return ex;
    }
}
