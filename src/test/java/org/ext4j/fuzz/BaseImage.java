package org.ext4j.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.testing.Tools;

/**
 * An undamaged image of one {@link FeatureSet}: {@code mkfs.ext4 -d} of the {@link FuzzTree} with a
 * fixed UUID, hash seed and time ({@code E2FSPROGS_FAKE_TIME}), then {@code e2fsck -fyD} (mkfs writes
 * directories linear; -D indexes the big one), then {@code e2fsck -fn} must find it clean. Built once
 * per feature set and JVM and kept in memory with its {@link MetadataMap} and the list of its paths
 * (as ext4j lists them: the round-trip tests hold ext4j to the kernel on such images).
 */
final class BaseImage {
    static final String UUID = "0b5c2a3e-0000-4000-8000-00000000f022";
    static final String HASH_SEED = "0b5c2a3e-0000-4000-8000-00000000a5ed";
    static final String FAKE_TIME = "1700000000";

    /** One path of the undamaged image. */
    record PathInfo(String path, long ino, int type, long size) {
        boolean isDir() {
            return type == 0x4000;
        }

        boolean isRegular() {
            return type == 0x8000;
        }

        boolean isSymlink() {
            return type == 0xA000;
        }
    }

    final FeatureSet set;
    final byte[] bytes;
    final MetadataMap map;
    final List<PathInfo> paths;
    final Map<String, PathInfo> byPath = new HashMap<>();
    final List<String> notes;

    private BaseImage(FeatureSet set, byte[] bytes, MetadataMap map, List<PathInfo> paths, List<String> notes) {
        this.set = set;
        this.bytes = bytes;
        this.map = map;
        this.paths = paths;
        this.notes = notes;
        paths.forEach(p -> byPath.put(p.path(), p));
    }

    private static final Map<String, BaseImage> CACHE = new HashMap<>();
    private static final Map<Boolean, Path> TREES = new HashMap<>();
    private static final Map<Boolean, List<String>> TREE_NOTES = new HashMap<>();
    private static Path runDir;

    /** The build directory (next to test-classes, wherever -Dext4j.buildDir put it): reports and replays go there. */
    static Path buildDir() {
        try {
            return Path.of(BaseImage.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return Path.of("target");
        }
    }

    /** A scratch directory for this JVM, deleted when it exits. */
    static synchronized Path runDir() throws IOException {
        if (runDir == null) {
            // tmpfs where there is one: get extracts thousands of files per image, cheaper there
            Path shm = Path.of("/dev/shm");
            runDir = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "ext4j-fuzz")
                    : Files.createTempDirectory("ext4j-fuzz");
            Path d = runDir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(d)));
        }
        return runDir;
    }

    static synchronized BaseImage of(FeatureSet set) throws IOException {
        BaseImage b = CACHE.get(set.name());
        if (b == null) {
            b = build(set);
            CACHE.put(set.name(), b);
        }
        return b;
    }

    private static Path tree(boolean eaInode) throws IOException {
        Path t = TREES.get(eaInode);
        if (t == null) {
            Path shm = Path.of("/dev/shm");
            Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : runDir();
            t = Files.createTempDirectory(parent, "ext4j-fuzz-tree");
            Path made = t;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(made)));
            TREE_NOTES.put(eaInode, FuzzTree.generate(t, eaInode));
            TREES.put(eaInode, t);
        }
        return t;
    }

    private static BaseImage build(FeatureSet set) throws IOException {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        long t0 = System.nanoTime();
        Path src = tree(set.eaInode());
        Path image = runDir().resolve("base-" + set.name() + ".img");
        List<String> cmd = new ArrayList<>(List.of("mkfs.ext4", "-q", "-F", "-U", UUID, "-E", "hash_seed=" + HASH_SEED));
        cmd.addAll(set.options());
        cmd.addAll(List.of("-N", "4096", "-d", src.toString(), image.toString(), FeatureSet.IMAGE_BYTES / 1024 + "k"));
        Tools.Result r = fakeTime(cmd);
        if (r.exit() != 0) {
            throw new IOException("mkfs.ext4 failed for " + set + ": " + r.stderr() + r.stdout() + " (" + cmd + ")");
        }
        List<String> notes = new ArrayList<>(TREE_NOTES.get(set.eaInode()));
        // mkfs writes every directory linear; -D indexes the big one (e2fsck exits 1: "modified")
        r = fakeTime(List.of("e2fsck", "-fyD", image.toString()));
        if (r.exit() > 1) {
            throw new IOException("e2fsck -fyD failed for " + set + " (" + r.exit() + "): " + r.stdout());
        }
        r = fakeTime(List.of("e2fsck", "-fn", image.toString()));
        if (r.exit() != 0) {
            throw new IOException("the base image of " + set + " is not clean: " + r.stdout());
        }
        byte[] bytes = Files.readAllBytes(image);
        MetadataMap map = MetadataMap.locate(image);
        List<PathInfo> paths = new ArrayList<>();
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            walk(fs, Ext4FileSystem.ROOT_INO, "", paths);
        }
        Files.delete(image);
        System.out.printf("fuzz base %s: %d paths, %s (%d ms)%n", set, paths.size(), map.summary(),
                (System.nanoTime() - t0) / 1_000_000);
        return new BaseImage(set, bytes, map, List.copyOf(paths), List.copyOf(notes));
    }

    private static Tools.Result fakeTime(List<String> cmd) throws IOException {
        // Tools.run has no environment parameter: env(1) sets the fake time for e2fsprogs
        List<String> c = new ArrayList<>(List.of("env", "E2FSPROGS_FAKE_TIME=" + FAKE_TIME));
        c.addAll(cmd);
        return Tools.run(c, 120);
    }

    private static void walk(Ext4FileSystem fs, long dirIno, String prefix, List<PathInfo> out) throws IOException {
        for (DirEntry e : fs.readdir(dirIno)) {
            if (e.isDot() || e.isDotDot()) {
                continue;
            }
            String path = prefix + "/" + new String(e.name(), StandardCharsets.UTF_8);
            FileStat st = fs.stat(e.inode());
            out.add(new PathInfo(path, e.inode(), st.type(), st.size()));
            if (st.isDirectory()) {
                walk(fs, e.inode(), path, out);
            }
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.deleteIfExists(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("fuzz: could not delete " + dir + ": " + e.getMessage());
        }
    }
}
