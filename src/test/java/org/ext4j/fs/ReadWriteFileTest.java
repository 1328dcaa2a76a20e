package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The write path end to end on a real image: random buffered writes (any size and alignment) and
 * truncates (down and up) into
 * an existing file through iomap, delayed allocation, writeback with unwritten-then-converted
 * extents, fsync and close; then the judges: e2fsck -fn clean, and the kernel's read-only mount
 * reads exactly the model's bytes.
 */
@ExtendWith(SkippedChecks.class)
class ReadWriteFileTest {

    @ParameterizedTest(name = "{0} blocks, {1}, aggressive writeback {2}")
    @CsvSource({"4096, defaults, false", "4096, defaults, true", "1024, defaults, true", "1024, ^metadata_csum, false",
        "4096, '^metadata_csum,^64bit', true"})
    void randomWritesMatchTheModelForTheKernel(int blockSize, String features, boolean aggressive, @TempDir Path tmp)
            throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] seed = new byte[5000];
        new Random(3).nextBytes(seed);
        Files.write(src.resolve("existing"), seed);
        Files.write(src.resolve("empty"), new byte[0]);
        Path img = tmp.resolve("fs.img");
        List<String> opts = features.equals("defaults") ? List.of("-b", Integer.toString(blockSize))
                : List.of("-b", Integer.toString(blockSize), "-O", features);
        Tools.mkfs(img, 64L << 20, opts, src);

        Random rnd = new Random(blockSize * 31L + features.hashCode() + (aggressive ? 1 : 0));
        byte[] modelEmpty = new byte[0];
        byte[] modelExisting = seed.clone();
        WriteOptions wo = aggressive ? WriteOptions.aggressive() : WriteOptions.defaults();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, wo)) {
            Ext4File empty = fs.openFile("/empty");
            Ext4File existing = fs.openFile("/existing");
            for (int i = 0; i < 300; i++) {
                boolean first = rnd.nextBoolean();
                Ext4File f = first ? empty : existing;
                byte[] model = first ? modelEmpty : modelExisting;
                long pos = rnd.nextInt(3) == 0 ? model.length : rnd.nextInt(2_000_000);
                int len = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(200_000) : rnd.nextInt(9000));
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                assertEquals(len, f.pwrite(pos, data, 0, len));
                if (pos + len > model.length) {
                    model = Arrays.copyOf(model, (int) (pos + len));
                }
                System.arraycopy(data, 0, model, (int) pos, len);
                if (first) {
                    modelEmpty = model;
                } else {
                    modelExisting = model;
                }
                if (rnd.nextInt(40) == 0) {
                    f.fsync();
                }
                if (rnd.nextInt(12) == 0) {
                    int op = rnd.nextInt(4);
                    int at = rnd.nextInt(Math.max(1, model.length + 50_000));
                    int n = 1 + rnd.nextInt(120_000);
                    int mode = switch (op) {
                        case 0 -> 0;
                        case 1 -> Ext4File.FALLOC_KEEP_SIZE;
                        case 2 -> Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE;
                        default -> Ext4File.FALLOC_ZERO_RANGE | (rnd.nextBoolean() ? Ext4File.FALLOC_KEEP_SIZE : 0);
                    };
                    f.fallocate(mode, at, n);
                    boolean keep = (mode & Ext4File.FALLOC_KEEP_SIZE) != 0;
                    if (!keep && at + n > model.length) {
                        model = Arrays.copyOf(model, at + n);
                    }
                    if (op >= 2) {
                        Arrays.fill(model, Math.min(at, model.length), Math.min(at + n, model.length), (byte) 0);
                    }
                    if (first) {
                        modelEmpty = model;
                    } else {
                        modelExisting = model;
                    }
                    assertEquals(model.length, f.size(), "size after fallocate mode " + mode);
                }
                if (rnd.nextInt(15) == 0) {
                    int newSize = rnd.nextBoolean() ? rnd.nextInt(Math.max(1, model.length + 1))
                            : model.length + rnd.nextInt(100_000);
                    f.truncate(newSize);
                    model = Arrays.copyOf(model, newSize); // grows with zeros, as the kernel
                    if (first) {
                        modelEmpty = model;
                    } else {
                        modelExisting = model;
                    }
                    assertEquals(newSize, f.size());
                }
                if (rnd.nextInt(25) == 0) {
                    int at = rnd.nextInt(Math.max(1, model.length));
                    byte[] got = new byte[Math.min(70_000, model.length - at)];
                    f.pread(at, got, 0, got.length);
                    assertArrayEquals(Arrays.copyOfRange(model, at, at + got.length), got, "read back at " + at);
                }
            }
            assertEquals(modelEmpty.length, empty.size());
        }
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            assertArrayEquals(modelEmpty, ro.readAll("/empty"), "ext4j's reader");
        }
        byte[] wantEmpty = modelEmpty;
        byte[] wantExisting = modelExisting;
        Tools.kernelCheck("/empty's and /existing's bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertArrayEquals(wantEmpty, Files.readAllBytes(m.dir().resolve("empty")), "kernel: /empty");
                assertArrayEquals(wantExisting, Files.readAllBytes(m.dir().resolve("existing")), "kernel: /existing");
            }
        });
    }

    @ParameterizedTest
    @CsvSource({"bigalloc"})
    void unsupportedFeaturesRefuseWriteAccessButStillRead(String feature, @TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 64L << 20, List.of("-O", feature), null);
        UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                () -> Ext4FileSystem.openReadWrite(img, WriteOptions.defaults()));
        assertTrue(e.getMessage().contains(feature), e.getMessage());
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            assertTrue(ro.readdir("/").size() >= 3);
        }
        assertEquals(0, Tools.fsck(img).exit());
    }

    @ParameterizedTest
    @CsvSource({"1024", "4096"})
    void fullFileSystemFailsTheWriteNotTheWriteback(int blockSize, @TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("f"), new byte[0]);
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8L << 20, List.of("-b", Integer.toString(blockSize), "-O", "^has_journal"), src);
        byte[] chunk = new byte[50_000];
        new Random(5).nextBytes(chunk);
        long written = 0;
        org.ext4j.alloc.NoSpaceException full = null;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.aggressive())) {
            Ext4File f = fs.openFile("/f");
            while (full == null) {
                try {
                    long n = f.pwrite(written, chunk, 0, chunk.length);
                    written += n;
                    if (n < chunk.length) {
                        f.pwrite(written, chunk, 0, chunk.length); // the next write must fail
                    }
                } catch (org.ext4j.alloc.NoSpaceException e) {
                    full = e;
                }
                assertTrue(written < 16L << 20, "an 8 MiB file system never filled up");
            }
            f.truncate(written); // what a failed write left past the last good byte
        }
        assertTrue(full.getMessage().contains("no space"), full.getMessage());
        assertTrue(written > 4L << 20, "most of the space was usable: " + written);
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
        long size = written;
        Tools.kernelCheck("/f's size and bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                byte[] got = Files.readAllBytes(m.dir().resolve("f"));
                assertEquals(size, got.length);
                for (long off = 0; off < size; off += chunk.length) {
                    int n = (int) Math.min(chunk.length, size - off);
                    assertArrayEquals(Arrays.copyOf(chunk, n), Arrays.copyOfRange(got, (int) off, (int) off + n),
                            "bytes at " + off);
                }
            }
        });
    }

    @ParameterizedTest
    @CsvSource({"1024", "4096"})
    void createdFilesAreSeenByTheKernel(int blockSize, @TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/sub"));
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", Integer.toString(blockSize)), src.getParent());
        Random rnd = new Random(blockSize);
        java.util.Map<String, byte[]> model = new java.util.TreeMap<>();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.aggressive())) {
            for (int i = 0; i < 300; i++) {
                String path = (i % 3 == 0 ? "/sub/" : "/") + "file-" + i + "-" + "x".repeat(rnd.nextInt(120));
                byte[] data = new byte[rnd.nextInt(20_000)];
                rnd.nextBytes(data);
                Ext4File f = fs.createFile(path, 0640);
                f.pwrite(0, data, 0, data.length);
                model.put(path, data);
            }
            String existing = model.keySet().iterator().next();
            assertThrows(org.ext4j.namespace.EntryExistsException.class, () -> fs.createFile(existing, 0644));
        }
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
        try (Ext4FileSystem ro = Ext4FileSystem.open(img)) {
            for (var e : model.entrySet()) {
                assertArrayEquals(e.getValue(), ro.readAll(e.getKey()), e.getKey());
                assertEquals(0100640, ro.stat(e.getKey()).mode());
            }
        }
        Tools.kernelCheck("the created files' bytes", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                for (var e : model.entrySet()) {
                    assertArrayEquals(e.getValue(), Files.readAllBytes(m.dir().resolve(e.getKey().substring(1))),
                            "kernel: " + e.getKey());
                }
            }
        });
    }
}
