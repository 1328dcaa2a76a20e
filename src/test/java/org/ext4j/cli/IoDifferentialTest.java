package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Differential test of {@code ext4j io} against {@code xfs_io} on a kernel mount: the same random
 * command sequence on two identical images must print the same data lines (wrote/read/hex dumps)
 * and leave the same bytes, as the kernel reads them back; e2fsck -fn is clean after ext4j.
 */
class IoDifferentialTest {

    @ParameterizedTest(name = "{0}-byte blocks, seed {1}, aggressive {2}")
    @CsvSource({"4096, 1, false", "4096, 2, true", "1024, 3, true"})
    void sameCommandsSameBytesAsTheKernel(int blockSize, long seed, boolean aggressive, @TempDir Path tmp)
            throws Exception {
        Tools.requireTools("xfs_io");
        Tools.requireRootAndLoop();
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("f"), new byte[0]);
        Path ours = tmp.resolve("ours.img");
        Path kernels = tmp.resolve("kernel.img");
        Tools.mkfs(ours, 32L << 20, List.of("-b", Integer.toString(blockSize)), src);
        Files.copy(ours, kernels);

        Random rnd = new Random(seed);
        List<String> cmds = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int kind = rnd.nextInt(10);
            long off = rnd.nextInt(3) == 0 ? rnd.nextInt(1 << 22) : rnd.nextInt(40_000);
            long len = 1 + (rnd.nextInt(5) == 0 ? rnd.nextInt(300_000) : rnd.nextInt(5000));
            if (kind < 6) {
                cmds.add(String.format("pwrite -S 0x%02x -b %d %d %d", rnd.nextInt(256), 512 << rnd.nextInt(6), off, len));
            } else if (kind == 6) {
                switch (rnd.nextInt(4)) {
                    case 0 -> cmds.add("truncate " + rnd.nextInt(1 << 21));
                    case 1 -> cmds.add((rnd.nextBoolean() ? "falloc -k " : "falloc ") + off + " " + len);
                    case 2 -> cmds.add("fpunch " + off + " " + len);
                    default -> cmds.add((rnd.nextBoolean() ? "fzero -k " : "fzero ") + off + " " + len);
                }
            } else if (kind < 9) {
                cmds.add(String.format("pread -v %d %d", off, Math.min(len, 300)));
            } else {
                cmds.add("fsync");
            }
        }
        List<String> args = new ArrayList<>(List.of("io", "-f"));
        if (aggressive) {
            args.add("-A");
        }
        args.addAll(List.of(ours.toString(), "/g")); // created by -f, as xfs_io -f does
        for (String c : cmds) {
            args.add("-c");
            args.add(c);
        }
        Tools.Result mine = Tools.ext4j(args.toArray(String[]::new)).ok();

        List<String> xfs = new ArrayList<>(List.of("xfs_io", "-f"));
        byte[] kernelBytes;
        try (Tools.Mount m = Tools.Mount.of(kernels, false)) {
            for (String c : cmds) {
                xfs.add("-c");
                xfs.add(c);
            }
            xfs.add(m.dir().resolve("g").toString());
            Tools.Result theirs = Tools.run(xfs).ok();
            assertEquals(dataLines(theirs.stdout()), dataLines(mine.stdout()), "command output");
            kernelBytes = Files.readAllBytes(m.dir().resolve("g"));
        }
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), fsck.stdout());
        List<String> probe = List.of("fiemap -v", "seek -d 0", "seek -h 0", "seek -d 70000", "seek -h 70000");
        List<String> ourProbe = new ArrayList<>(List.of("io", ours.toString(), "/g"));
        List<String> kernelProbe = new ArrayList<>(List.of("xfs_io", "-r"));
        for (String c : probe) {
            ourProbe.addAll(List.of("-c", c));
            kernelProbe.addAll(List.of("-c", c));
        }
        String ourMap = Tools.ext4j(ourProbe.toArray(String[]::new)).ok().stdout();
        try (Tools.Mount m = Tools.Mount.of(ours, true)) {
            // probe before reading: SEEK_DATA counts unwritten blocks with uptodate page cache as data
            kernelProbe.add(m.dir().resolve("g").toString());
            String kernelMap = Tools.run(kernelProbe).ok().stdout();
            assertArrayEquals(kernelBytes, Files.readAllBytes(m.dir().resolve("g")), "file bytes");
            // the same image: the kernel's FIEMAP and SEEK_DATA/SEEK_HOLE must see the block map ext4j sees
            assertEquals(withoutPathLine(kernelMap), withoutPathLine(ourMap), "fiemap and seek of ext4j's image");
        }
    }

    private static List<String> withoutPathLine(String out) {
        return out.lines().filter(l -> !l.endsWith(":") || l.startsWith(" ")).toList();
    }

    /** The lines that carry data: xfs_io's timing lines and our lack of them are not compared. */
    private static List<String> dataLines(String out) {
        return out.lines().filter(l -> l.startsWith("wrote ") || l.startsWith("read ") || l.matches("^[0-9a-f]{8}:.*"))
                .toList();
    }
}
