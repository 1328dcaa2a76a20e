package org.ext4j.extents;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernel and ext4j changing each other's extent trees: a deep tree built by ext4j is then
 * written into, punched and extended by the kernel (which splits, converts and removes in it), and
 * a fragmented tree the kernel built is cut, converted and extended by ext4j. After each side's
 * turn e2fsck must find the image clean and the contents must be the model's.
 */
@ExtendWith(SkippedChecks.class)
class ExtentTreeWriterKernelTest {

    static Stream<Arguments> geometries() {
        return Stream.of(Arguments.of(1024, true), Arguments.of(4096, false));
    }

    @ParameterizedTest(name = "{0}-byte blocks, metadata_csum {1}")
    @MethodSource("geometries")
    void kernelChangesATreeExt4jBuilt(int blockSize, boolean csum, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        long size = 300;
        byte[] model;
        Path img;
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.create(tmp, blockSize, csum, 32L << 20, size,
                ExtentTreeWriterTest.SMALL)) {
            Random rnd = new Random(blockSize);
            for (long l = 0; l < 280; l += 2) {
                f.allocateAndInsert(l, 1, rnd.nextInt(3) == 0, rnd);
            }
            f.commit();
            assertTrue(f.writer.depth() >= 2, "depth " + f.writer.depth());
            f.verify(false);
            model = f.expectedContent();
            img = f.image;
        }
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path file = m.dir().resolve("f");
            Random rnd = new Random(7);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (int i = 0; i < 60; i++) {
                    long block = rnd.nextInt((int) size + 20); // into holes, written and unwritten blocks, past EOF
                    int len = 1 + rnd.nextInt(3);
                    byte[] data = new byte[len * blockSize];
                    rnd.nextBytes(data);
                    ch.write(ByteBuffer.wrap(data), block * blockSize);
                    model = put(model, block * blockSize, data);
                }
                ch.force(true);
            }
            for (long[] punch : new long[][] {{10, 7}, {101, 40}, {250, 3}}) {
                Tools.run("fallocate", "-p", "-o", Long.toString(punch[0] * blockSize), "-l",
                        Long.toString(punch[1] * blockSize), file.toString()).ok();
                java.util.Arrays.fill(model, (int) (punch[0] * blockSize), (int) ((punch[0] + punch[1]) * blockSize), (byte) 0);
            }
            assertArrayEquals(model, Files.readAllBytes(file));
        }
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), fsck.stdout());
        String cat = Tools.run("debugfs", "-R", "cat /f", img.toString()).ok().stdout();
        assertArrayEquals(model, cat.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static byte[] put(byte[] model, long off, byte[] data) {
        byte[] out = model.length >= off + data.length ? model : java.util.Arrays.copyOf(model, (int) (off + data.length));
        System.arraycopy(data, 0, out, (int) off, data.length);
        return out;
    }

    @ParameterizedTest(name = "{0}-byte blocks, metadata_csum {1}")
    @MethodSource("geometries")
    void ext4jChangesATreeTheKernelBuilt(int blockSize, boolean csum, @TempDir Path tmp) throws Exception {
        Tools.requireRootAndLoop();
        Path img = tmp.resolve("k.img");
        Tools.mkfs(img, 32L << 20, List.of("-b", Integer.toString(blockSize), "-O",
                csum ? "metadata_csum" : "^metadata_csum"), null);
        long size = 1200;
        int gen = 1000;
        try (Tools.Mount m = Tools.Mount.of(img, false)) {
            Path file = m.dir().resolve("f");
            ExtentTreeWriterFixture shape = null;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                for (long l = 0; l < size; l += 2) {
                    if (l % 100 >= 80) {
                        continue; // left for fallocate
                    }
                    ch.write(ByteBuffer.wrap(pattern(blockSize, l, gen)), l * blockSize);
                    ch.force(false); // one allocation per block: a fragmented tree
                }
                ch.write(ByteBuffer.wrap(pattern(blockSize, size - 1, gen)), (size - 1) * blockSize);
            }
            for (long l = 80; l < size; l += 100) {
                Tools.run("fallocate", "-o", Long.toString(l * blockSize), "-l", Long.toString(10L * blockSize),
                        file.toString()).ok();
            }
        }
        assertEquals(0, Tools.fsck(img).exit());
        try (ExtentTreeWriterFixture f = ExtentTreeWriterFixture.open(img, blockSize, size, ExtentTreeWriter.Capacity.REAL,
                gen)) {
            int depth = f.writer.depth();
            assertTrue(depth >= 1, "the kernel's tree has depth " + depth);
            f.verify(false); // the model read from the kernel's tree is right to begin with
            f.removeRange(30, 25); // trims and removes kernel extents
            f.removeRange(85, 3); // the middle of a kernel unwritten extent
            f.convert(300, 60, true); // written kernel extents become unwritten
            f.allocateAndInsert(31, 20, false); // new data into the punched range (fills holes only)
            f.allocateAndInsert(1101, 1, true);
            f.convert(1101, 1, false);
            f.removeRange(1150, size); // truncate the tail
            f.commit();
            f.verify(true);
        }
    }

    /** The fixture's pattern without a fixture (the generation's blocks must match what the model expects). */
    private static byte[] pattern(int blockSize, long lblk, int g) {
        byte[] b = new byte[blockSize];
        for (int i = 0; i < blockSize; i++) {
            b[i] = (byte) (lblk * 31 + g * 7 + i / 8);
        }
        ByteBuffer.wrap(b).putLong(0, lblk).putInt(8, g);
        return b;
    }
}
