package org.ext4j.tree;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the JDK cannot tell about host files, asked of the host's tools once per source tree: which
 * regular files are sparse ({@code find -printf %b}, st_blocks below the size: their all-zero
 * blocks are left unwritten, as {@code cp --sparse=auto} does) and the extended attributes of every
 * namespace ({@code getfattr -R}; the JDK reads only {@code user.}). Both outputs are streamed and
 * only the exceptions are kept (sparse files, files with xattrs), so a tree of a million plain files
 * costs nothing here; creation times, asked for, take 16 bytes a name. A file outside every tree read is asked about alone ({@code stat}, the JDK's
 * user xattrs). Without {@code getfattr} only {@code user.*} attributes are found, and
 * {@code warnings} is told once.
 */
public final class HostFacts {
    private final Consumer<String> warnings;
    /** Absolute paths of the sparse regular files under the trees {@code find} read. */
    private final java.util.Set<String> sparse = java.util.Collections.synchronizedSet(new java.util.HashSet<>());
    /** Trees find read (absolute, ending in '/'). */
    private final List<String> findRoots = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Map<String, List<String[]>> xattrs = new HashMap<>();
    /** Trees getfattr read (absolute, ending in '/'): a file under one that it did not list has no xattrs. */
    private final List<String> xattrRoots = new ArrayList<>();
    private boolean warnedXattrs;

    /** Facts of no tree yet; {@link #read} adds trees. */
    public HostFacts(Consumer<String> warnings) {
        this.warnings = warnings;
    }

    /** Reads the sparse files and the extended attributes of everything under {@code top}. */
    public HostFacts read(Path top) {
        return read(top, false);
    }

    /**
     * Reads the sparse files and the extended attributes of everything under {@code top}, and with
     * {@code birthTimes} the creation times too (the JDK does not give them): the tools walk the tree
     * at once.
     */
    public HostFacts read(Path top, boolean birthTimes) {
        List<Thread> readers = new ArrayList<>();
        readers.add(new Thread(() -> readSparse(top), "ext4j-find"));
        if (birthTimes) {
            readers.add(new Thread(() -> readBirthTimes(top), "ext4j-stat"));
        }
        readers.forEach(Thread::start);
        readXattrs(top);
        for (Thread t : readers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return this;
    }

    /** Creation times in nanoseconds by (device << 48) ^ inode, open addressing; key 0 is free. */
    private long[] btimeKeys = new long[0];
    private long[] btimeValues = new long[0];
    private int btimes;

    /**
     * The creation time of the host file with this device and inode number, where the source's file
     * system records one (statx's btime, through {@code stat %W}); null when unknown.
     */
    public synchronized Instant birthTime(long dev, long ino) {
        if (btimes == 0) {
            return null;
        }
        long key = btimeKey(dev, ino);
        int mask = btimeKeys.length - 1;
        for (int i = mix(key) & mask; btimeKeys[i] != 0; i = (i + 1) & mask) {
            if (btimeKeys[i] == key) {
                long ns = btimeValues[i];
                return Instant.ofEpochSecond(Math.floorDiv(ns, 1_000_000_000L), Math.floorMod(ns, 1_000_000_000L));
            }
        }
        return null;
    }

    private static long btimeKey(long dev, long ino) {
        long k = (dev << 48) ^ ino;
        return k == 0 ? 1 : k;
    }

    private static int mix(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    private synchronized void putBirthTime(long dev, long ino, long ns) {
        if ((btimes + 1) * 2 > btimeKeys.length) {
            long[] oldKeys = btimeKeys;
            long[] oldValues = btimeValues;
            btimeKeys = new long[Math.max(1024, oldKeys.length * 2)];
            btimeValues = new long[btimeKeys.length];
            btimes = 0;
            for (int i = 0; i < oldKeys.length; i++) {
                if (oldKeys[i] != 0) {
                    insert(oldKeys[i], oldValues[i]);
                }
            }
        }
        insert(btimeKey(dev, ino), ns);
    }

    private void insert(long key, long ns) {
        int mask = btimeKeys.length - 1;
        int i = mix(key) & mask;
        while (btimeKeys[i] != 0 && btimeKeys[i] != key) {
            i = (i + 1) & mask;
        }
        if (btimeKeys[i] == 0) {
            btimes++;
        }
        btimeKeys[i] = key;
        btimeValues[i] = ns;
    }

    /**
     * Every name's creation time under {@code top}, from {@code stat} over {@code find}'s list, when
     * the top itself has one (a file system that records none answers 0: then nothing is run).
     */
    private void readBirthTimes(Path top) {
        List<String> probe = run(List.of("stat", "-c", "%W", "--", top.toString()));
        if (probe.isEmpty() || probe.get(0).strip().equals("0") || probe.get(0).strip().equals("-")) {
            return;
        }
        try {
            Process p = new ProcessBuilder("sh", "-c", "find -P \"$1\" -print0 | xargs -0 -r stat -c '%d %i %.9W' --",
                    "sh", top.toAbsolutePath().toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    String[] f = line.split(" ");
                    if (f.length != 3) {
                        continue;
                    }
                    try {
                        int dot = f[2].indexOf('.');
                        long s = Long.parseLong(dot < 0 ? f[2] : f[2].substring(0, dot));
                        long ns = dot < 0 ? 0 : Long.parseLong((f[2].substring(dot + 1) + "000000000").substring(0, 9));
                        if (s != 0 || ns != 0) {
                            putBirthTime(Long.parseLong(f[0]), Long.parseLong(f[1]), s * 1_000_000_000L + ns);
                        }
                    } catch (NumberFormatException e) {
                        // not a record of ours
                    }
                }
            }
            p.waitFor();
        } catch (IOException e) {
            // no find, xargs or stat: creation times are the build's
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String dirKey(Path top) {
        String s = top.toAbsolutePath().toString();
        return s.endsWith("/") ? s : s + "/";
    }

    private static boolean under(List<String> roots, String abs) {
        for (String r : roots) {
            if (abs.startsWith(r)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the regular file {@code p} of {@code size} bytes has fewer blocks than its size needs. */
    public boolean sparse(Path p, long size) {
        if (size == 0) {
            return false;
        }
        String abs = p.toAbsolutePath().toString();
        if (under(findRoots, abs)) {
            return sparse.contains(abs);
        }
        List<String> out = run(List.of("stat", "-c", "%b", "--", p.toString()));
        try {
            return !out.isEmpty() && Long.parseLong(out.get(0).strip()) * 512 < size;
        } catch (NumberFormatException e) {
            return false; // unknown: written whole
        }
    }

    /** st_blocks and size of every regular file under {@code top} with one {@code find}; the sparse ones kept. */
    private void readSparse(Path top) {
        try {
            Process pr = new ProcessBuilder("find", "-P", top.toAbsolutePath().toString(), "-type", "f",
                    "-printf", "%b %s %p\\0").redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (java.io.InputStream in = new java.io.BufferedInputStream(pr.getInputStream(), 1 << 16)) {
                java.io.ByteArrayOutputStream rec = new java.io.ByteArrayOutputStream();
                for (int c = in.read(); c >= 0; c = in.read()) {
                    if (c != 0) {
                        rec.write(c);
                        continue;
                    }
                    String r = rec.toString(StandardCharsets.UTF_8);
                    rec.reset();
                    int a = r.indexOf(' ');
                    int b = a < 0 ? -1 : r.indexOf(' ', a + 1);
                    if (b > 0) {
                        try {
                            if (Long.parseLong(r.substring(0, a)) * 512 < Long.parseLong(r.substring(a + 1, b))) {
                                sparse.add(r.substring(b + 1));
                            }
                        } catch (NumberFormatException e) {
                            // not a record of ours
                        }
                    }
                }
            }
            if (pr.waitFor() == 0) {
                findRoots.add(dirKey(top));
            }
        } catch (IOException e) {
            // no find: each file is asked about alone
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads every xattr of every name under {@code top} with one {@code getfattr -R}, when it is installed. */
    private void readXattrs(Path top) {
        try {
            Process p = new ProcessBuilder("getfattr", "-R", "-P", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--",
                    top.toAbsolutePath().toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                List<String[]> file = null;
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (line.startsWith("# file: ")) {
                        file = new ArrayList<>();
                        xattrs.put(unescape(line.substring(8)), file);
                    } else if (file != null && line.contains("=0x")) {
                        int eq = line.indexOf("=0x");
                        file.add(new String[] {line.substring(0, eq), line.substring(eq + 3)});
                    } else if (file != null && line.endsWith("=\"\"")) {
                        file.add(new String[] {line.substring(0, line.length() - 3), ""});
                    }
                }
            }
            p.waitFor();
            xattrRoots.add(dirKey(top));
        } catch (IOException e) {
            if (!warnedXattrs) {
                warnedXattrs = true;
                warnings.accept("getfattr is not installed: only user.* extended attributes are copied");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** getfattr's escaping of names: octal \NNN for odd bytes. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() + 0 && s.substring(i + 1, Math.min(s.length(), i + 4)).matches("[0-7]{3}")) {
                b.write(Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                byte[] e = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                b.write(e, 0, e.length);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    /**
     * The extended attributes of {@code src} (of file type {@code type}, S_IFMT bits) as
     * {name, hex value} pairs: from getfattr's listing where it read the tree, else the JDK's
     * {@code user.} view for regular files and directories.
     */
    public List<String[]> xattrs(Path src, int type) {
        String abs = src.toAbsolutePath().toString();
        List<String[]> list = xattrs.get(abs);
        if (list == null && under(xattrRoots, abs)) {
            list = List.of(); // getfattr read this tree and listed nothing for the file
        }
        if (list == null) {
            // the JDK's view opens the file: open(2) of a fifo blocks until a writer comes, so the
            // xattrs of fifos, sockets and devices come from getfattr only (which lists none here)
            list = type == 0100000 || type == 0040000 ? userXattrs(src) : List.of();
        }
        return list;
    }

    /** The user.* attributes through the JDK, where getfattr did not read them. */
    private static List<String[]> userXattrs(Path src) {
        List<String[]> out = new ArrayList<>();
        try {
            java.nio.file.attribute.UserDefinedFileAttributeView v = Files.getFileAttributeView(src,
                    java.nio.file.attribute.UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            if (v == null) {
                return out;
            }
            for (String name : v.list()) {
                ByteBuffer b = ByteBuffer.allocate(v.size(name));
                v.read(name, b);
                out.add(new String[] {"user." + name, HexFormat.of().formatHex(b.array(), 0, b.position())});
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no xattrs on the source file system
        }
        return out;
    }

    /** Standard output of a host tool as lines; empty when the tool is missing or fails. */
    private static List<String> run(List<String> cmd) {
        try {
            Process pr = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            pr.waitFor();
            return out.isEmpty() ? List.of() : List.of(out.split("\n", -1));
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** The attributes {@code lstat} gives that a copy needs, without the owner-name lookups of {@code unix:*}. */
    public static final String LSTAT = "unix:mode,ino,dev,rdev,nlink,uid,gid,size,lastAccessTime,lastModifiedTime";

    /** glibc's {@code gnu_dev_major} of an st_rdev. */
    public static int major(long rdev) {
        return (int) (((rdev >>> 32) & 0xFFFFF000L) | ((rdev >>> 8) & 0xFFF));
    }

    /** glibc's {@code gnu_dev_minor} of an st_rdev. */
    public static int minor(long rdev) {
        return (int) (((rdev >>> 12) & 0xFFFFFF00L) | (rdev & 0xFF));
    }
}
