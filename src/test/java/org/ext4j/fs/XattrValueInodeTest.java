package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.ext4j.alloc.NoSpaceException;
import org.ext4j.inode.Xattr;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Attribute values in their own inode (ea_inode) written by ext4j, judged by e2fsck (which checks
 * each value inode's flag, size, hash, reference count and the owner's i_blocks charge), by the
 * kernel (which verifies the value's crc32c and the entry hash on every read), and by the kernel
 * doing the same operations on a copy: the value inodes it leaves must look the same in
 * {@code debugfs stat} (type, mode, flags, owner, size, links, i_blocks, the reference count in
 * ctime and i_version, the hash in atime) and the owners the same i_blocks. The other way round,
 * values the kernel put in inodes (one of them shared by two files through its mbcache) are read,
 * replaced and removed by ext4j.
 */
@ExtendWith(SkippedChecks.class)
class XattrValueInodeTest {

    /** file → attribute name → value. */
    private final Map<String, Map<String, byte[]>> model = new TreeMap<>();

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static Path image(Path tmp, String name, List<String> mkfs) throws IOException {
        return image(tmp, name, mkfs, List.of("a", "b", "c"));
    }

    static Path image(Path tmp, String name, List<String> mkfs, List<String> files) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src-" + name));
        for (String f : files) {
            Files.writeString(src.resolve(f), "file " + f + "\n");
        }
        List<String> opts = new ArrayList<>(List.of("-I", "256", "-O", "ea_inode"));
        opts.addAll(mkfs);
        Path img = tmp.resolve(name);
        Tools.mkfs(img, 32L << 20, opts, src);
        return img;
    }

    static List<String> mkfs(String options) {
        return List.of(options.strip().split("\\s+"));
    }

    private void set(Ext4FileSystem fs, String file, String name, byte[] value) throws IOException {
        fs.setXattr("/" + file, name, value, Ext4FileSystem.XattrMode.EITHER);
        model.computeIfAbsent(file, k -> new TreeMap<>()).put(name, value);
    }

    private void remove(Ext4FileSystem fs, String file, String name) throws IOException {
        fs.removeXattr("/" + file, name);
        model.get(file).remove(name);
    }

    private static Map<String, String> hex(Map<String, byte[]> m) {
        Map<String, String> out = new TreeMap<>();
        if (m != null) {
            m.forEach((k, v) -> out.put(k, HexFormat.of().formatHex(v)));
        }
        return out;
    }

    /** e2fsck clean; ext4j's reader and a kernel mount see exactly the model. */
    private void judge(Path img, String when) throws Exception {
        Tools.Result r = Tools.fsck(img);
        assertEquals(0, r.exit(), when + ": e2fsck -fn:\n" + r.stdout() + r.stderr());
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            for (String f : model.keySet()) {
                if (!model.containsKey(f) || !exists(fs, "/" + f)) {
                    continue;
                }
                Map<String, String> seen = new TreeMap<>();
                for (Xattr x : fs.listXattrs("/" + f)) {
                    seen.put(x.name(), HexFormat.of().formatHex(x.value()));
                }
                assertEquals(hex(model.get(f)), seen, when + ": ext4j reads /" + f);
            }
        }
        Tools.kernelCheck(when + ": the attributes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (String f : model.keySet()) {
                    Path p = m.dir().resolve(f);
                    if (Files.exists(p)) {
                        assertEquals(hex(model.get(f)), kernelXattrs(p), when + ": kernel reads /" + f);
                    }
                }
            }
        });
    }

    private static boolean exists(Ext4FileSystem fs, String path) throws IOException {
        try {
            fs.stat(path);
            return true;
        } catch (org.ext4j.error.NotFoundException e) {
            return false;
        }
    }

    /** The user.* attributes the kernel shows, through os.listxattr/os.getxattr. */
    static Map<String, String> kernelXattrs(Path p) throws IOException {
        String py = "import os,sys\n"
                + "for n in sorted(os.listxattr(sys.argv[1])):\n"
                + "    print(n, os.getxattr(sys.argv[1], n).hex())\n";
        Tools.Result r = Tools.run("python3", "-c", py, p.toString());
        assertEquals(0, r.exit(), "python3 getxattr " + p + ": " + r.stderr());
        Map<String, String> out = new TreeMap<>();
        for (String line : r.stdout().split("\n")) {
            if (!line.isBlank()) {
                String[] kv = line.split(" ", -1);
                out.put(kv[0], kv.length > 1 ? kv[1] : "");
            }
        }
        return out;
    }

    /** Sets attributes through the kernel: {@code ops} of file, name, value (null removes). */
    static void kernelSet(Path img, List<Object[]> ops) throws Exception {
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            for (Object[] op : ops) {
                Path p = m.dir().resolve((String) op[0]);
                Path val = Files.createTempFile("xattr", ".bin");
                try {
                    String py;
                    if (op[2] == null) {
                        py = "import os,sys\nos.removexattr(sys.argv[1], sys.argv[2])\n";
                    } else {
                        Files.write(val, (byte[]) op[2]);
                        py = "import os,sys\nos.setxattr(sys.argv[1], sys.argv[2], open(sys.argv[3],'rb').read())\n";
                    }
                    Tools.run("python3", "-c", py, p.toString(), (String) op[1], val.toString()).ok();
                } finally {
                    Files.deleteIfExists(val);
                }
            }
        }
    }

    /**
     * The live value inodes (EA_INODE flag, links left) among the first inodes, as {@code debugfs stat}
     * shows them, inode number and the fields that are random or the time of day left out.
     */
    static List<String> valueInodes(Path img) throws IOException {
        return valueInodes(img, false);
    }

    /** {@link #valueInodes(Path)}, with each one's inode number when {@code numbers}. */
    static List<String> valueInodes(Path img, boolean numbers) throws IOException {
        StringBuilder cmds = new StringBuilder();
        for (int i = 12; i < 48; i++) {
            cmds.append("stat <").append(i).append(">\n");
        }
        Path f = Files.createTempFile("debugfs", ".cmd");
        try {
            Files.writeString(f, cmds);
            String out = Tools.run("debugfs", "-f", f.toString(), img.toString()).ok().stdout();
            List<String> found = new ArrayList<>();
            for (String part : out.split("(?m)^Inode: ")) {
                int flagsAt = part.indexOf("Flags: 0x");
                if (flagsAt < 0) {
                    continue;
                }
                long flags = Long.parseLong(part.substring(flagsAt + 9).split("\\s")[0], 16);
                if ((flags & 0x200000) == 0 || part.contains("dtime:") || part.contains("Links: 0")) {
                    continue;
                }
                StringBuilder norm = new StringBuilder();
                for (String line : part.split("\n")) {
                    String l = line.strip();
                    if (l.startsWith("Generation:")) {
                        l = l.substring(l.indexOf("Version:")); // the generation is random
                    } else if (l.startsWith("mtime:") || l.startsWith("crtime:")
                            || l.startsWith("Inode checksum") || l.startsWith("EXTENTS") || l.startsWith("(")
                            || l.startsWith("debugfs") || l.isEmpty()) {
                        continue;
                    }
                    norm.append(numbers ? l : l.replaceFirst("^\\d+\\s+", "")).append('\n');
                }
                found.add(norm.toString());
            }
            found.sort(null);
            return found;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** A file's i_blocks ("Blockcount") as debugfs shows it. */
    static long blockcount(Path img, String file) throws IOException {
        String out = Tools.run("debugfs", "-R", "stat /" + file, img.toString()).ok().stdout();
        int at = out.indexOf("Blockcount: ");
        return Long.parseLong(out.substring(at + 12).split("\\s")[0]);
    }

    static String freeCounts(Path img) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : Tools.run("dumpe2fs", "-h", img.toString()).ok().stdout().split("\n")) {
            if (l.startsWith("Free blocks:") || l.startsWith("Free inodes:")) {
                sb.append(l).append('\n');
            }
        }
        return sb.toString();
    }

    /** Both images' value inodes and the files' i_blocks must be the same. */
    static void sameAsKernel(Path ours, Path theirs, String when) throws IOException {
        assertEquals(valueInodes(theirs, true), valueInodes(ours, true), when
                + ": value inodes (debugfs stat, inode numbers included), kernel vs ext4j");
        for (String f : List.of("a", "b", "c")) {
            if (Tools.run("debugfs", "-R", "stat /" + f, theirs.toString()).stdout().contains("Blockcount")) {
                assertEquals(blockcount(theirs, f), blockcount(ours, f), when + ": i_blocks of /" + f);
            }
        }
    }

    // ------------------------------------------------------------------ ext4j writes

    @ParameterizedTest(name = "{0}")
    @CsvSource({"-b 4096", "-b 1024", "-b 1024 -O ^metadata_csum", "'-b 4096 -O ^metadata_csum,^64bit'"})
    void largeValuesGoToValueInodesAsTheKernelPutsThem(String options, @TempDir Path tmp) throws Exception {
        Path img = image(tmp, "fs.img", mkfs(options));
        // value inodes are created in the root directory and take its inheritable flags (NOATIME here)
        Tools.run("debugfs", "-w", "-R", "sif <2> flags 0x80080", img.toString()).ok();
        // and the owner of the file whose attribute they hold
        Tools.run("debugfs", "-w", "-R", "sif /b uid 1234", img.toString()).ok();
        Tools.run("debugfs", "-w", "-R", "sif /b gid 5678", img.toString()).ok();
        Path theirs = tmp.resolve("theirs.img");
        Files.copy(img, theirs, StandardCopyOption.REPLACE_EXISTING);
        boolean kernel = Tools.kernelUnavailable() == null;

        byte[] v5k = random(5 * 1024, 1);
        byte[] v60kA = random(60 * 1024, 2);
        byte[] v60kB = random(60 * 1024, 3);
        byte[] small = "small".getBytes(StandardCharsets.US_ASCII);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            set(fs, "a", "user.v5k", v5k);
            set(fs, "a", "user.v60k", v60kA);
            set(fs, "b", "user.v60k", v60kB);
            set(fs, "c", "user.s", small);
        }
        judge(img, "after the sets");
        assertEquals(3, valueInodes(img).size(), "three value inodes");
        if (kernel) {
            kernelSet(theirs, List.of(new Object[] {"a", "user.v5k", v5k}, new Object[] {"a", "user.v60k", v60kA},
                    new Object[] {"b", "user.v60k", v60kB}, new Object[] {"c", "user.s", small}));
            sameAsKernel(img, theirs, "after the sets");
        }

        byte[] v60kC = random(60 * 1024, 4);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            set(fs, "a", "user.v60k", "tiny".getBytes(StandardCharsets.US_ASCII)); // large to small
            set(fs, "a", "user.v5k", v60kC); // large to large: a new value inode, the old one freed
            remove(fs, "b", "user.v60k");
            set(fs, "c", "user.s", v5k); // small to large
        }
        judge(img, "after replacing and removing");
        assertEquals(2, valueInodes(img).size(), "two value inodes left");
        if (kernel) {
            kernelSet(theirs, List.of(new Object[] {"a", "user.v60k", "tiny".getBytes(StandardCharsets.US_ASCII)},
                    new Object[] {"a", "user.v5k", v60kC}, new Object[] {"b", "user.v60k", null},
                    new Object[] {"c", "user.s", v5k}));
            sameAsKernel(img, theirs, "after replacing and removing");
        }

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.unlink("/a"); // its value inode goes with it
            model.remove("a");
            remove(fs, "c", "user.s");
        }
        judge(img, "after the unlink");
        assertEquals(List.of(), valueInodes(img), "no value inode left");
        Path fresh = image(tmp, "fresh.img", mkfs(options), List.of("b", "c"));
        assertEquals(freeCounts(fresh), freeCounts(img), "the counts of a fresh image without /a");
    }

    /** Two files, each with several large values, unlinked one after the other. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"-b 4096", "-b 1024"})
    void unlinkFreesEveryValueInode(String options, @TempDir Path tmp) throws Exception {
        Path img = image(tmp, "fs.img", mkfs(options));
        String before = freeCounts(img);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            for (int i = 0; i < 6; i++) {
                set(fs, "a", "user.a" + i, random(5000 + 9000 * i, 10 + i)); // the later ones' entries go to the block
                set(fs, "b", "user.b" + i, random(65536 - i, 20 + i));
            }
        }
        judge(img, "after the sets");
        assertEquals(12, valueInodes(img).size());
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.unlink("/a");
            model.remove("a");
        }
        judge(img, "after unlinking /a");
        assertEquals(6, valueInodes(img).size());
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.unlink("/b");
            model.remove("b");
            try (Ext4File f = fs.createFile("/a", 0644)) {
                f.pwrite(0, "file a\n".getBytes(StandardCharsets.US_ASCII), 0, 7);
            }
            try (Ext4File f = fs.createFile("/b", 0644)) {
                f.pwrite(0, "file b\n".getBytes(StandardCharsets.US_ASCII), 0, 7);
            }
        }
        judge(img, "after unlinking /b");
        assertEquals(List.of(), valueInodes(img));
        assertEquals(before, freeCounts(img), "every block and inode back");
    }

    // ------------------------------------------------------------------ the kernel writes, ext4j changes

    @ParameterizedTest(name = "{0}")
    @CsvSource({"-b 4096", "-b 1024"})
    void valuesTheKernelWroteAreReadReplacedAndRemoved(String options, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Path img = image(tmp, "fs.img", mkfs(options));
        String before = freeCounts(img);
        byte[] shared = random(40_000, 30);
        byte[] w = random(20_000, 31);
        byte[] pad = new byte[64];
        byte[] big = random(9_000, 32);
        // the same value on /a and /b: the kernel's mbcache gives both one value inode with two references
        kernelSet(img, List.of(new Object[] {"a", "user.shared", shared}, new Object[] {"b", "user.shared", shared},
                new Object[] {"a", "user.w", w}, new Object[] {"c", "user.pad", pad}, new Object[] {"c", "user.big", big}));
        model.put("a", new TreeMap<>(Map.of("user.shared", shared, "user.w", w)));
        model.put("b", new TreeMap<>(Map.of("user.shared", shared)));
        model.put("c", new TreeMap<>(Map.of("user.pad", pad, "user.big", big)));
        judge(img, "as the kernel left it");
        assertEquals(3, valueInodes(img).size(), "the kernel shares one value inode: " + valueInodes(img));
        assertTrue(valueInodes(img).stream().anyMatch(s -> s.contains("Version: 0x00000000:00000002")),
                "one value inode has two references");

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            set(fs, "a", "user.shared", random(30_000, 33)); // the shared one keeps /b's reference
        }
        judge(img, "after replacing /a's shared value");
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            remove(fs, "b", "user.shared"); // its last reference
            set(fs, "c", "user.big", "now small".getBytes(StandardCharsets.US_ASCII));
            remove(fs, "a", "user.w");
        }
        judge(img, "after removing");
        assertEquals(1, valueInodes(img).size());
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            remove(fs, "a", "user.shared");
            remove(fs, "c", "user.big");
            remove(fs, "c", "user.pad");
        }
        judge(img, "after removing everything");
        assertEquals(before, freeCounts(img), "every block and inode back");
    }

    /**
     * A block shared by /a and /b whose entry names a value inode (made with debugfs from a kernel
     * image: the kernel's own sharing of such blocks counts the value inode's references wrong).
     * Copying it on write for /b must take a reference on the value inode; unlinking /b then drops
     * the copy's, unlinking /a the last.
     */
    @Test
    void aSharedBlockCopiedOnWriteTakesReferences(@TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Path img = image(tmp, "fs.img", mkfs("-b 4096 -O ^metadata_csum"));
        byte[] pad = new byte[64];
        byte[] big = random(50_000, 40);
        kernelSet(img, List.of(new Object[] {"a", "user.p1", pad}, new Object[] {"a", "user.big", big},
                new Object[] {"b", "user.p1", pad}));
        String aStat = Tools.run("debugfs", "-R", "stat /a", img.toString()).ok().stdout();
        long blk = Long.parseLong(aStat.substring(aStat.indexOf("File ACL: ") + 10).split("\\s")[0]);
        assertTrue(blk != 0, "/a's big entry is in its block:\n" + aStat);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(blk * 4096 + 4);
            f.write(new byte[] {2, 0, 0, 0}); // h_refcount 2
        }
        Tools.run("debugfs", "-w", "-R", "sif /b file_acl " + blk, img.toString()).ok();
        Tools.run("debugfs", "-w", "-R", "sif /b blocks " + blockcount(img, "a"), img.toString()).ok();
        model.put("a", new TreeMap<>(Map.of("user.p1", pad, "user.big", big)));
        model.put("b", new TreeMap<>(Map.of("user.p1", pad, "user.big", big)));
        judge(img, "the shared block");

        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            set(fs, "b", "user.n", "new".getBytes(StandardCharsets.US_ASCII));
        }
        judge(img, "after copying the block for /b");
        assertTrue(valueInodes(img).get(0).contains("Version: 0x00000000:00000002"),
                "two blocks refer to the value inode: " + valueInodes(img));
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.unlink("/b");
            model.remove("b");
        }
        judge(img, "after unlinking /b");
        assertTrue(valueInodes(img).get(0).contains("Version: 0x00000000:00000001"));
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.unlink("/a");
            model.remove("a");
        }
        judge(img, "after unlinking /a");
        assertEquals(List.of(), valueInodes(img));
    }

    // ------------------------------------------------------------------ refusals

    /** A value inode that finds no room is refused (ENOSPC) and leaves the file system as it was. */
    @Test
    void noRoomForTheValueChangesNothing(@TempDir Path tmp) throws Exception {
        Path img = image(tmp, "fs.img", mkfs("-b 1024 -m 0"));
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            try (Ext4File f = fs.createFile("/fill", 0644)) {
                byte[] chunk = new byte[16 << 10];
                long pos = 0;
                try {
                    while (true) { // until no 16 KiB fit: fewer blocks left than a 60 KiB value needs
                        f.pwrite(pos, chunk, 0, chunk.length);
                        pos += chunk.length;
                    }
                } catch (NoSpaceException e) {
                    f.fsync();
                }
            }
            assertTrue(fs.statfs().availableBlocks() < 60, fs.statfs().toString());
        }
        String before = freeCounts(img);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            assertThrows(NoSpaceException.class, () -> fs.setXattr("/a", "user.big", random(60 * 1024, 50),
                    Ext4FileSystem.XattrMode.EITHER));
            assertTrue(fs.listXattrs("/a").isEmpty());
        }
        assertEquals(before, freeCounts(img));
        model.put("a", new TreeMap<>());
        judge(img, "after the refusal");
    }
}
