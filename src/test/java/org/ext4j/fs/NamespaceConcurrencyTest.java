package org.ext4j.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.NotFoundException;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Namespace operations and file I/O from many threads at once against a model. Each writer thread
 * owns a subtree and a prefix of names in two shared directories, so its operations have one
 * outcome whatever the others do, and the final tree is the union of the writers' models: it
 * creates, writes, makes directories and symlinks, links, unlinks, removes directories, renames
 * within and across directories (the shared ones included, so cross-directory renames contend for
 * the rename lock and the shared directories' locks), changes modes and xattrs. Reader threads
 * meanwhile look names up, list and stat the shared directories (a name may come and go; damage
 * may never be reported), and one thread keeps writing an open file. Then {@code e2fsck -fn} must
 * be clean and the kernel's mount must show exactly the model: names, types, modes, sizes,
 * contents, symlink targets, link counts and hard-link groups.
 */
@ExtendWith(SkippedChecks.class)
class NamespaceConcurrencyTest {
    @TempDir
    Path tmp;

    /** One inode of the model; names map to it, several for hard links. */
    static final class Node {
        final char type; // f d l
        byte[] data = new byte[0];
        String target;
        int mode;

        Node(char type, int mode) {
            this.type = type;
            this.mode = mode;
        }
    }

    /** What one writer thread owns: its names (absolute paths) and their nodes. */
    static final class Model {
        final Map<String, Node> names = new TreeMap<>();
    }

    @ParameterizedTest(name = "{0} writers, seed {1}")
    @CsvSource({"4, 11", "6, 12"})
    void concurrentNamespaceAndDataMatchTheModel(int writers, long seed) throws Exception {
        Tools.requireTools("e2fsck");
        Path img = tmp.resolve("c.img");
        Tools.mkfs(img, 96L << 20, List.of("-b", "4096", "-N", "20000"), null);
        List<Model> models = new ArrayList<>();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ops = new AtomicLong();
        byte[] streamed;
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(img, WriteOptions.defaults())) {
            fs.mkdir("/s1", 0755);
            fs.mkdir("/s2", 0755);
            Ext4File stream = fs.createFile("/stream", 0644);
            List<Thread> threads = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            for (int t = 0; t < writers; t++) {
                Model m = new Model();
                models.add(m);
                int id = t;
                threads.add(new Thread(() -> {
                    try {
                        start.await();
                        writer(fs, id, new Random(seed * 100 + id), m, ops);
                    } catch (Throwable e) {
                        failures.add(new AssertionError("writer " + id + ": " + e, e));
                    }
                }, "writer-" + t));
            }
            for (int r = 0; r < 2; r++) {
                int id = r;
                threads.add(new Thread(() -> {
                    try {
                        start.await();
                        reader(fs, new Random(seed * 1000 + id), stop);
                    } catch (Throwable e) {
                        failures.add(new AssertionError("reader " + id + ": " + e, e));
                    }
                }, "reader-" + r));
            }
            byte[][] written = new byte[1][];
            Thread streamer = new Thread(() -> {
                try {
                    start.await();
                    written[0] = streamer(stream, new Random(seed), stop);
                } catch (Throwable e) {
                    failures.add(new AssertionError("streamer: " + e, e));
                }
            }, "streamer");
            threads.forEach(Thread::start);
            streamer.start();
            start.countDown();
            for (Thread t : threads.subList(0, writers)) {
                t.join();
            }
            stop.set(true);
            for (Thread t : threads.subList(writers, threads.size())) {
                t.join();
            }
            streamer.join();
            stream.close();
            streamed = written[0];
        }
        if (!failures.isEmpty()) {
            Throwable first = failures.peek();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw new AssertionError(failures.size() + " thread(s) failed after " + ops.get() + " operations", first);
        }
        System.out.println("concurrency: " + writers + " writers, " + ops.get() + " namespace operations");
        Tools.Result fsck = Tools.fsck(img);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout());

        Map<String, Node> expected = new TreeMap<>();
        models.forEach(m -> expected.putAll(m.names));
        Node s = new Node('f', 0644);
        s.data = streamed;
        expected.put("/stream", s);
        expected.put("/s1", new Node('d', 0755));
        expected.put("/s2", new Node('d', 0755));
        byte[] finalStream = streamed;
        try (Ext4FileSystem fs = Ext4FileSystem.open(img)) {
            assertTree(expected, ext4jView(fs), "ext4j's reader");
            assertTrue(Arrays.equals(finalStream, fs.readAll("/stream")));
        }
        Tools.kernelCheck("the tree written by concurrent threads", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                assertTree(expected, kernelView(m.dir()), "the kernel's mount");
            }
        });
    }

    /** Random valid operations on the thread's own names; every one must succeed. */
    private static void writer(Ext4FileSystem fs, int id, Random rnd, Model m, AtomicLong ops) throws Exception {
        String home = "/t" + id;
        fs.mkdir(home, 0755);
        m.names.put(home, new Node('d', 0755));
        String[] dirs = {home, home + "/a", home + "/a/b", "/s1", "/s2"};
        for (int i = 0; i < 400; i++) {
            String dir = dirs[rnd.nextInt(dirs.length)];
            if (!m.names.containsKey(dir) && !dir.startsWith("/s")) {
                if (!m.names.containsKey(parentOf(dir))) {
                    continue;
                }
                fs.mkdir(dir, 0700);
                m.names.put(dir, new Node('d', 0700));
                continue;
            }
            String name = dir + "/t" + id + "-" + rnd.nextInt(12);
            Node at = m.names.get(name);
            int k = rnd.nextInt(100);
            if (at == null) {
                if (k < 40) {
                    byte[] b = new byte[rnd.nextInt(3) == 0 ? rnd.nextInt(20000) : rnd.nextInt(100)];
                    rnd.nextBytes(b);
                    try (Ext4File f = fs.createFile(name, 0640)) {
                        f.pwrite(0, b, 0, b.length);
                    }
                    Node n = new Node('f', 0640);
                    n.data = b;
                    m.names.put(name, n);
                } else if (k < 55) {
                    fs.mkdir(name, 0750);
                    m.names.put(name, new Node('d', 0750));
                } else if (k < 70) {
                    String target = "target-" + rnd.nextInt(1000) + "x".repeat(rnd.nextBoolean() ? 0 : 100);
                    fs.symlink(target, name);
                    Node n = new Node('l', 0777);
                    n.target = target;
                    m.names.put(name, n);
                } else {
                    // a hard link to one of the thread's files, or a rename of one here
                    List<String> files = m.names.entrySet().stream().filter(e -> e.getValue().type != 'd')
                            .map(Map.Entry::getKey).toList();
                    if (files.isEmpty()) {
                        continue;
                    }
                    String from = files.get(rnd.nextInt(files.size()));
                    if (k < 85) {
                        fs.link(from, name);
                        m.names.put(name, m.names.get(from));
                    } else {
                        fs.rename(from, name);
                        m.names.put(name, m.names.remove(from));
                    }
                }
            } else if (at.type == 'd') {
                boolean empty = m.names.keySet().stream().noneMatch(p -> p.startsWith(name + "/"));
                if (empty && k < 50) {
                    fs.rmdir(name);
                    m.names.remove(name);
                } else if (empty) {
                    String to = dirs[rnd.nextInt(dirs.length)] + "/t" + id + "-r" + rnd.nextInt(4);
                    if (m.names.containsKey(to) || !m.names.containsKey(parentOf(to)) && !parentOf(to).startsWith("/s")) {
                        continue;
                    }
                    fs.rename(name, to, RenameMode.NOREPLACE);
                    m.names.put(to, m.names.remove(name));
                } else {
                    int mode = 0700 | rnd.nextInt(0100);
                    fs.chmod(name, mode);
                    at.mode = mode;
                }
            } else {
                if (k < 35) {
                    fs.unlink(name);
                    m.names.remove(name);
                } else if (k < 55 && at.type == 'f') {
                    byte[] b = new byte[1 + rnd.nextInt(5000)];
                    rnd.nextBytes(b);
                    int off = rnd.nextInt(at.data.length + 1);
                    try (Ext4File f = fs.openFile(name)) {
                        f.pwrite(off, b, 0, b.length);
                    }
                    byte[] d = Arrays.copyOf(at.data, Math.max(at.data.length, off + b.length));
                    System.arraycopy(b, 0, d, off, b.length);
                    at.data = d;
                } else if (k < 65 && at.type == 'f') {
                    int mode = rnd.nextInt(01000);
                    fs.chmod(name, mode);
                    at.mode = mode;
                } else {
                    // across directories, replacing one of the thread's own names or not, or exchanging
                    String other = dirs[rnd.nextInt(dirs.length)] + "/t" + id + "-" + rnd.nextInt(12);
                    Node there = m.names.get(other);
                    if (other.equals(name) || !m.names.containsKey(parentOf(other)) && !parentOf(other).startsWith("/s")
                            || there != null && there.type == 'd' || there == at) {
                        continue;
                    }
                    if (there != null && rnd.nextBoolean()) {
                        fs.rename(name, other, RenameMode.EXCHANGE);
                        m.names.put(other, at);
                        m.names.put(name, there);
                    } else {
                        fs.rename(name, other);
                        m.names.remove(name);
                        m.names.put(other, at);
                    }
                }
            }
            ops.incrementAndGet();
        }
    }

    private static String parentOf(String p) {
        return p.substring(0, p.lastIndexOf('/'));
    }

    /** Lookups, listings and stats of the shared directories while they change. */
    private static void reader(Ext4FileSystem fs, Random rnd, AtomicBoolean stop) throws Exception {
        while (!stop.get()) {
            String dir = rnd.nextBoolean() ? "/s1" : "/s2";
            for (org.ext4j.format.DirEntry e : fs.readdir(dir)) {
                if (e.isDot() || e.isDotDot()) {
                    continue;
                }
                try {
                    fs.stat(dir + "/" + new String(e.name(), StandardCharsets.UTF_8));
                } catch (NotFoundException gone) {
                    // renamed or removed since the listing
                }
            }
            try {
                fs.stat(dir + "/t" + rnd.nextInt(4) + "-" + rnd.nextInt(12));
            } catch (NotFoundException absent) {
                // fine
            } catch (CorruptionException c) {
                throw c;
            }
        }
    }

    /** Appends and overwrites an open file until told to stop; returns what it holds. */
    private static byte[] streamer(Ext4File f, Random rnd, AtomicBoolean stop) throws Exception {
        byte[] model = new byte[0];
        while (!stop.get()) {
            byte[] b = new byte[1 + rnd.nextInt(8192)];
            rnd.nextBytes(b);
            int off = rnd.nextInt(model.length + 1);
            f.pwrite(off, b, 0, b.length);
            model = Arrays.copyOf(model, Math.max(model.length, off + b.length));
            System.arraycopy(b, 0, model, off, b.length);
        }
        return model;
    }

    /** What a tree looks like as compared: path to "type mode size-or-target link-group". */
    private static void assertTree(Map<String, Node> expected, Map<String, Object[]> actual, String who) {
        Map<Node, String> groups = new HashMap<>();
        Map<String, String> exp = new TreeMap<>();
        Map<Node, Integer> links = new HashMap<>();
        expected.values().forEach(n -> links.merge(n, 1, Integer::sum));
        expected.forEach((p, n) -> {
            String group = groups.computeIfAbsent(n, x -> p);
            exp.put(p, n.type + " " + Integer.toOctalString(n.mode) + " " + (n.type == 'f' ? n.data.length + " "
                    + Arrays.hashCode(n.data) + " n" + links.get(n) + " " + group : n.type == 'l' ? n.target : ""));
        });
        Map<Long, String> inoGroups = new HashMap<>();
        Map<String, String> act = new TreeMap<>();
        actual.forEach((p, a) -> {
            char type = (char) a[0];
            String group = inoGroups.computeIfAbsent((Long) a[4], x -> p);
            act.put(p, type + " " + Integer.toOctalString((Integer) a[1]) + " " + (type == 'f' ? ((byte[]) a[2]).length
                    + " " + Arrays.hashCode((byte[]) a[2]) + " n" + a[3] + " " + group : type == 'l' ? (String) a[2] : ""));
        });
        List<String> diff = new ArrayList<>();
        exp.forEach((p, v) -> {
            if (!v.equals(act.get(p))) {
                diff.add(p + ": expected " + v + ", " + who + " shows " + act.get(p));
            }
        });
        act.keySet().stream().filter(p -> !exp.containsKey(p)).forEach(p -> diff.add(p + ": not in the model (" + act.get(p) + ")"));
        Collections.sort(diff);
        assertTrue(diff.isEmpty(), who + " differs from the model:\n" + String.join("\n", diff.subList(0, Math.min(30, diff.size()))));
    }

    /** path -> {type, mode, data-or-target, links, inode} through ext4j's reader. */
    private static Map<String, Object[]> ext4jView(Ext4FileSystem fs) throws Exception {
        Map<String, Object[]> out = new TreeMap<>();
        walk(fs, Ext4FileSystem.ROOT_INO, "", out);
        return out;
    }

    private static void walk(Ext4FileSystem fs, long dir, String prefix, Map<String, Object[]> out) throws Exception {
        for (org.ext4j.format.DirEntry e : fs.readdir(dir)) {
            String name = new String(e.name(), StandardCharsets.UTF_8);
            if (e.isDot() || e.isDotDot() || prefix.isEmpty() && name.equals("lost+found")) {
                continue;
            }
            String p = prefix + "/" + name;
            FileStat st = fs.stat(e.inode());
            char type = st.isDirectory() ? 'd' : st.isSymlink() ? 'l' : 'f';
            Object data = type == 'f' ? fs.readAll(p) : type == 'l' ? new String(fs.readlink(p), StandardCharsets.UTF_8) : null;
            out.put(p, new Object[] {type, st.mode() & 07777, data, st.linkCount(), e.inode()});
            if (type == 'd') {
                walk(fs, e.inode(), p, out);
            }
        }
    }

    /** The same through the kernel's mount. */
    private static Map<String, Object[]> kernelView(Path root) throws Exception {
        Map<String, Object[]> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                String rel = "/" + root.relativize(p);
                if (p.equals(root) || rel.startsWith("/lost+found")) {
                    continue;
                }
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,nlink,ino", LinkOption.NOFOLLOW_LINKS);
                int mode = (Integer) a.get("mode");
                char type = (mode & 0170000) == 0040000 ? 'd' : (mode & 0170000) == 0120000 ? 'l' : 'f';
                Object data = type == 'f' ? Files.readAllBytes(p) : type == 'l' ? Files.readSymbolicLink(p).toString() : null;
                out.put(rel, new Object[] {type, mode & 07777, data, a.get("nlink"), a.get("ino")});
            }
        }
        return out;
    }
}
