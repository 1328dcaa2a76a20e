package org.ext4j.tree;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
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
 * costs nothing here. A file outside every tree read is asked about alone ({@code stat}, the JDK's
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
        Thread sparseReader = new Thread(() -> readSparse(top), "ext4j-find");
        sparseReader.start();
        readXattrs(top); // the two tools walk the tree at once
        try {
            sparseReader.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return this;
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
