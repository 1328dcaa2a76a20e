package org.ext4j.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;

/**
 * A whole tree as a map from path ("/" for the root, "/a/b" below it) to what the crash checks and
 * the kernel-versus-ext4j comparison look at: type, permission bits, link count, size, inode number
 * and, for regular files and symlinks, the bytes. Read through ext4j ({@link #of(Ext4FileSystem)}) or
 * through a kernel mount ({@link #of(Path)}), so that the two can be compared line by line
 * ({@link #lines}).
 */
public final class FsTree {
    private FsTree() {
    }

    /** One object: type is f, d, l or o (other); data null for directories and others. */
    public record Node(String path, char type, int perm, long nlink, long size, long ino, byte[] data) {
        /** A line that says everything compared: the bytes by their SHA-256. */
        public String line() {
            return path + " " + type + " " + Integer.toOctalString(perm) + " nlink=" + nlink
                    + (type == 'd' ? "" : " size=" + size + (data == null ? "" : " sha256=" + sha(data)))
                    + " ino=" + ino;
        }
    }

    /** The tree an ext4j file system holds, lost+found included. */
    public static Map<String, Node> of(Ext4FileSystem fs) throws IOException {
        Map<String, Node> out = new TreeMap<>();
        walk(fs, Ext4FileSystem.ROOT_INO, "/", out, 0);
        return out;
    }

    private static void walk(Ext4FileSystem fs, long ino, String path, Map<String, Node> out, int depth)
            throws IOException {
        if (depth > 64) {
            throw new IOException(path + ": directories nested more than 64 deep (a loop?)");
        }
        FileStat st = fs.stat(ino);
        char type = st.isDirectory() ? 'd' : st.isRegularFile() ? 'f' : st.isSymlink() ? 'l' : 'o';
        byte[] data = null;
        if (type == 'f') {
            data = fs.inode(ino).readAll(64 << 20);
        } else if (type == 'l') {
            data = fs.readlink(path);
        }
        out.put(path, new Node(path, type, st.permissions(), st.linkCount(), st.size(), ino, data));
        if (type != 'd') {
            return;
        }
        for (DirEntry e : fs.readdir(ino)) {
            if (e.isDot() || e.isDotDot()) {
                continue;
            }
            String name = new String(e.name(), StandardCharsets.UTF_8);
            walk(fs, e.inode(), path.equals("/") ? "/" + name : path + "/" + name, out, depth + 1);
        }
    }

    /** The tree under {@code root} (a kernel mount), read through the host's system calls. */
    public static Map<String, Node> of(Path root) throws IOException {
        Map<String, Node> out = new TreeMap<>();
        walk(root, root, out);
        return out;
    }

    private static void walk(Path root, Path p, Map<String, Node> out) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,nlink,ino,size", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        char type = switch (mode & 0170000) {
            case 0040000 -> 'd';
            case 0100000 -> 'f';
            case 0120000 -> 'l';
            default -> 'o';
        };
        String rel = root.relativize(p).toString();
        String path = "/" + rel;
        byte[] data = type == 'f' ? Files.readAllBytes(p)
                : type == 'l' ? Files.readSymbolicLink(p).toString().getBytes(StandardCharsets.UTF_8) : null;
        out.put(path, new Node(path, type, mode & 07777, ((Number) a.get("nlink")).longValue(),
                (Long) a.get("size"), (Long) a.get("ino"), data));
        if (type == 'd') {
            List<Path> children = new ArrayList<>();
            try (var s = Files.list(p)) {
                s.forEach(children::add);
            }
            for (Path c : children) {
                walk(root, c, out);
            }
        }
    }

    /** The tree as sorted lines, for {@link Tools#assertSameLines}. */
    public static String lines(Map<String, Node> tree) {
        StringBuilder s = new StringBuilder();
        for (Node n : new TreeMap<>(tree).values()) {
            s.append(n.line()).append('\n');
        }
        return s.toString();
    }

    static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
