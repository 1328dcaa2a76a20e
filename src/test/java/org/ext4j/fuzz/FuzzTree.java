package org.ext4j.fuzz;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.ext4j.testing.Tools;

/**
 * The small host tree packed into every base image: every kind of object whose metadata the damager
 * aims at, and little data, so that a damaged image is read, extracted and walked by the kernel in a
 * fraction of a second. Regular files small (inline-sized with inline_data) and large (indirect and
 * double-indirect maps on block-mapped sets), sparse files (holes, an extent tree with an index
 * block), a directory of {@link #HTREE_ENTRIES} names that {@code e2fsck -D} indexes (two levels
 * with 1 KiB blocks), fast and slow symlinks, hard links, a fifo and device nodes (as root), xattrs in
 * the inode and in an external block (and in an EA inode with {@code eaInode}).
 *
 * <p>Deterministic: contents from a fixed seed, times fixed, and built on tmpfs where there is one
 * ({@code /dev/shm}), whose directories list in creation order, so that {@code mkfs.ext4 -d} hands out
 * the same inode numbers on every machine. Only inode change times (which no one can set) differ
 * between runs; damage is placed by structure, so a seed damages the same field every time.
 * {@link org.ext4j.testing.TreeGenerator} is the exhaustive tree of the round-trip tests; this one is
 * deliberately small.
 */
final class FuzzTree {
    static final int HTREE_ENTRIES = 3000;
    private static final long SEED = 0xf022_7ee5L;

    private final Path root;
    private final Random rnd = new Random(SEED);
    private final List<Path> created = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    private FuzzTree(Path root) {
        this.root = root;
    }

    /** Builds the tree in {@code root} (an empty directory) and returns notes on what was left out. */
    static List<String> generate(Path root, boolean eaInode) throws IOException {
        FuzzTree t = new FuzzTree(root);
        t.build(eaInode);
        return t.notes;
    }

    private void build(boolean eaInode) throws IOException {
        file("hello.txt", "hello, ext4j\n".getBytes(StandardCharsets.US_ASCII));
        dir("small");
        for (int size : new int[] {0, 1, 59, 60, 61, 100, 150, 1000, 1023, 2047, 4095, 4096, 4097, 10_000}) {
            file(String.format("small/s%05d", size), random(size));
        }
        dir("big");
        file("big/medium", random(300 * 1024 + 17));   // double indirect with 1 KiB blocks
        file("big/large", random(4 * 1024 * 1024 + 300 * 1024)); // double indirect with 4 KiB blocks
        dir("sparse");
        sparse("sparse/holes", 3L << 20, new long[][] {{0, 5000}, {1L << 20, 5000}, {(5L << 20) / 2, 100}});
        List<long[]> islands = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            islands.add(new long[] {i * 65536L + 7, 3000});
        }
        sparse("sparse/many-extents", 20 * 65536L, islands.toArray(new long[0][]));
        sparse("sparse/far", 12L << 20, new long[][] {{100, 10}, {11L << 20, 4000}});
        sparse("sparse/all-hole", 1L << 20, new long[0][]);
        dir("links");
        symlink("links/fast", "../hello.txt");
        symlink("links/slow", "seg/".repeat(30) + "end");
        symlink("links/slow-long", "x".repeat(900));
        symlink("links/dangling", "does/not/exist");
        symlink("links/to-dir", "../small");
        dir("hard");
        dir("hard/sub");
        file("hard/target", random(5000));
        Files.createLink(root.resolve("hard/link-2"), root.resolve("hard/target"));
        Files.createLink(root.resolve("hard/sub/link-3"), root.resolve("hard/target"));
        specials();
        dir("xattr");
        file("xattr/small", random(10));
        userXattr("xattr/small", "a", "1".getBytes(StandardCharsets.US_ASCII));
        file("xattr/big", random(100));
        userXattr("xattr/big", "big", random(700)); // too large for the inode: an external block
        file("xattr/shared-1", random(20));
        file("xattr/shared-2", random(20));
        byte[] shared = random(300);
        userXattr("xattr/shared-1", "s", shared);
        userXattr("xattr/shared-2", "s", shared);
        dir("xattr/dir");
        userXattr("xattr/dir", "on-dir", "d".getBytes(StandardCharsets.US_ASCII));
        if (eaInode) {
            file("xattr/huge", random(10));
            userXattr("xattr/huge", "huge", random(6000)); // larger than a block: its own EA inode
        }
        dir("deep");
        StringBuilder p = new StringBuilder("deep");
        for (char c = 'a'; c <= 'f'; c++) {
            p.append('/').append(c);
            dir(p.toString());
        }
        file(p + "/bottom", random(123));
        dir("empty-dir");
        dir("tiny");
        file("tiny/a", random(5));
        file("tiny/b", random(0));
        htree();
        // fixed times, children before parents, so creating an entry does not move its directory's mtime
        long t = 1_600_000_000_000L;
        for (int i = created.size() - 1; i >= 0; i--) {
            Path c = created.get(i);
            // the JDK opens a file to set its times: that blocks on a fifo and follows symlinks
            if (Files.isRegularFile(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.setLastModifiedTime(c, FileTime.fromMillis(t + i * 1000L));
            }
        }
    }

    private void htree() throws IOException {
        dir("htree");
        for (int i = 0; i < HTREE_ENTRIES; i++) {
            StringBuilder name = new StringBuilder(String.format("e%05d-", i));
            int len = 10 + rnd.nextInt(50);
            while (name.length() < len) {
                name.append((char) ('a' + rnd.nextInt(26)));
            }
            String rel = "htree/" + name;
            if (i % 1499 == 3) {
                symlink(rel, "../hello.txt");
            } else if (i % 701 == 5) {
                Files.createLink(root.resolve(rel), root.resolve("hard/target"));
            } else if (i % 97 == 1) {
                file(rel, random(64));
            } else {
                Files.createFile(root.resolve(rel));
                created.add(root.resolve(rel));
            }
        }
    }

    private void specials() throws IOException {
        dir("special");
        if (!Tools.isRoot()) {
            notes.add("not root: no fifo or device nodes in the tree");
            return;
        }
        run("mknod", root.resolve("special/fifo").toString(), "p");
        run("mknod", root.resolve("special/chr").toString(), "c", "1", "3");
        run("mknod", root.resolve("special/blk").toString(), "b", "8", "1");
        created.add(root.resolve("special/fifo"));
        created.add(root.resolve("special/chr"));
        created.add(root.resolve("special/blk"));
    }

    private static void run(String... cmd) throws IOException {
        Tools.Result r = Tools.run(cmd);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + r.stderr());
        }
    }

    private void userXattr(String rel, String name, byte[] value) throws IOException {
        UserDefinedFileAttributeView v = Files.getFileAttributeView(root.resolve(rel), UserDefinedFileAttributeView.class);
        v.write(name, ByteBuffer.wrap(value));
    }

    private void file(String rel, byte[] data) throws IOException {
        Files.write(root.resolve(rel), data);
        created.add(root.resolve(rel));
    }

    private void dir(String rel) throws IOException {
        Files.createDirectory(root.resolve(rel));
        created.add(root.resolve(rel));
    }

    private void symlink(String rel, String target) throws IOException {
        Files.createSymbolicLink(root.resolve(rel), Path.of(target));
        created.add(root.resolve(rel));
    }

    /** A file with data only at {@code islands} ({offset, length}): the host file is really sparse. */
    private void sparse(String rel, long size, long[][] islands) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(root.resolve(rel).toFile(), "rw")) {
            for (long[] is : islands) {
                raf.seek(is[0]);
                raf.write(random((int) is[1]));
            }
            raf.setLength(size);
        }
        created.add(root.resolve(rel));
    }

    private byte[] random(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
