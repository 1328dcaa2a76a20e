package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.ext4j.format.DirEntry;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many threads share one {@link Ext4FileSystem}: random-offset reads, lookups, readdir and xattr
 * reads all at once, each checked against the source tree. Small metadata cache pressure comes
 * from many files in many directories, so cache hits and misses interleave across threads.
 */
class ConcurrentReadTest {
    private static final int THREADS = 8;
    private static final int OPS_PER_THREAD = 3000;

    @Test
    void concurrentReadersSeeExactBytes(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random rnd = new Random(42);
        List<String> names = new ArrayList<>();
        List<byte[]> contents = new ArrayList<>();
        for (int d = 0; d < 20; d++) {
            Path dir = Files.createDirectories(src.resolve("d" + d));
            for (int f = 0; f < 40; f++) {
                byte[] data = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(300_000) : rnd.nextInt(9000)];
                rnd.nextBytes(data);
                Files.write(dir.resolve("f" + f), data);
                names.add("/d" + d + "/f" + f);
                contents.add(data);
            }
        }
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 64L << 20, List.of("-b", "1024"), src);

        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long seed = t;
                results.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    int checks = 0;
                    for (int i = 0; i < OPS_PER_THREAD; i++) {
                        int k = r.nextInt(names.size());
                        byte[] want = contents.get(k);
                        switch (r.nextInt(3)) {
                            case 0 -> {
                                long ino = fs.lookup(names.get(k));
                                int off = want.length == 0 ? 0 : r.nextInt(want.length);
                                int len = r.nextInt(70_000);
                                byte[] buf = new byte[len];
                                int n = fs.read(ino, off, buf, 0, len);
                                int expect = Math.min(len, want.length - off);
                                if (expect == 0) {
                                    assertEquals(len == 0 ? 0 : -1, n);
                                } else {
                                    assertEquals(expect, n);
                                    assertArrayEquals(Arrays.copyOfRange(want, off, off + n), Arrays.copyOf(buf, n));
                                }
                            }
                            case 1 -> assertArrayEquals(want, fs.readAll(names.get(k)));
                            default -> {
                                String dir = names.get(k).substring(0, names.get(k).lastIndexOf('/'));
                                List<DirEntry> entries = fs.readdir(dir);
                                assertEquals(42, entries.size()); // 40 files plus . and ..
                                assertEquals(fs.lookup(names.get(k)), entries.stream()
                                        .filter(e -> new String(e.name(), StandardCharsets.UTF_8)
                                                .equals(names.get(k).substring(dir.length() + 1)))
                                        .findFirst().orElseThrow().inode());
                            }
                        }
                        checks++;
                    }
                    return checks;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            pool.shutdown();
            assertEquals(THREADS * OPS_PER_THREAD, total);
        }
    }
}
