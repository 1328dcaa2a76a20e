package org.ext4j.fs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.testing.Tools;

/**
 * Namespace operations written as one line each, applied to ext4j ({@link #apply}) or to a kernel
 * mount ({@code nsops.py run}), each answering "ok" or the errno name of its refusal; and a
 * generator of random workloads over a small set of names, so that most operations meet an
 * existing name, a missing one, a file where a directory is needed, a non-empty directory.
 */
final class NamespaceOps {
    private static final Pattern ERRNO = Pattern.compile("\\((E[A-Z]+)\\)");

    private NamespaceOps() {
    }

    /** Applies one operation to {@code fs}; "ok", or the errno name of the refusal. */
    static String apply(Ext4FileSystem fs, String line) throws IOException {
        String[] f = line.split(" ");
        try {
            switch (f[0]) {
                case "create" -> fs.createFile(f[1], Integer.parseInt(f[2], 8)).close();
                case "mkdir" -> fs.mkdir(f[1], Integer.parseInt(f[2], 8));
                case "mknod" -> {
                    int type = switch (f[2]) {
                        case "c" -> 0020000;
                        case "b" -> 0060000;
                        case "p" -> 0010000;
                        default -> 0140000;
                    };
                    fs.mknod(f[1], type | Integer.parseInt(f[3], 8), Integer.parseInt(f[4]), Integer.parseInt(f[5]));
                }
                case "symlink" -> fs.symlink(f[1], f[2]);
                case "link" -> fs.link(f[1], f[2]);
                case "unlink" -> fs.unlink(f[1]);
                case "rmdir" -> fs.rmdir(f[1]);
                case "rename" -> fs.rename(f[1], f[2], RenameMode.valueOf(f[3].toUpperCase()));
                case "chmod" -> fs.chmod(f[1], Integer.parseInt(f[2], 8));
                case "chown" -> fs.chown(f[1], Long.parseLong(f[2]), Long.parseLong(f[3]));
                case "utimens" -> fs.utimens(f[1], instant(f[2]), instant(f[3]), false);
                case "write" -> {
                    try (Ext4File file = fs.openFile(f[1])) {
                        byte[] b = HexFormat.of().parseHex(f[3]);
                        file.pwrite(Long.parseLong(f[2]), b, 0, b.length);
                    }
                }
                case "truncate" -> fs.truncate(f[1], Long.parseLong(f[2]));
                case "setxattr" -> fs.setXattr(f[1], f[2], HexFormat.of().parseHex(f[3]),
                        Ext4FileSystem.XattrMode.valueOf(f[4].toUpperCase()));
                case "rmxattr" -> fs.removeXattr(f[1], f[2]);
                default -> throw new IllegalArgumentException("unknown op " + line);
            }
            return "ok";
        } catch (org.ext4j.error.Ext4Exception e) {
            return errno(e);
        }
    }

    private static Instant instant(String ns) {
        long n = Long.parseLong(ns);
        return Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L));
    }

    /** The errno a refusal stands for: named in its message, else by its type. */
    static String errno(Exception e) {
        Matcher m = ERRNO.matcher(String.valueOf(e.getMessage()));
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        if (last != null) {
            return last;
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("too many levels of symbolic links")) {
            return "ELOOP";
        } else if (msg.contains("not a regular file")) {
            return "ENOTREG"; // nsops.py's answer for a write to a device, fifo or socket (never opened there)
        } else if (e instanceof org.ext4j.error.NotFoundException) {
            return "ENOENT";
        } else if (e instanceof org.ext4j.namespace.EntryExistsException) {
            return "EEXIST";
        } else if (e instanceof org.ext4j.error.WrongTypeException) {
            return msg.contains("is a directory") ? "EISDIR" : "ENOTDIR";
        } else if (e instanceof org.ext4j.namespace.DirectoryNotEmptyException) {
            return "ENOTEMPTY";
        } else if (e instanceof org.ext4j.alloc.NoSpaceException) {
            return "ENOSPC";
        } else if (e instanceof org.ext4j.error.NameTooLongException) {
            return "ENAMETOOLONG";
        } else if (e instanceof org.ext4j.error.InvalidArgumentException) {
            return "EINVAL";
        }
        throw new AssertionError("no errno for " + e, e);
    }

    /** The python helper, written out once per run. */
    static Path script(Path dir) throws IOException {
        Path p = dir.resolve("nsops.py");
        try (InputStream in = NamespaceOps.class.getResourceAsStream("/org/ext4j/testing/nsops.py")) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    /** Runs {@code ops} on the kernel mount at {@code root}; one answer per op. */
    static List<String> onKernel(Path script, Path root, List<String> ops) throws IOException {
        Path in = Files.createTempFile("nsops", ".txt");
        try {
            Files.writeString(in, String.join("\n", ops) + "\n");
            Tools.Result r = Tools.run(List.of("sh", "-c", "python3 '" + script + "' run '" + root + "' < '" + in + "'"), 300);
            if (r.exit() != 0) {
                throw new IOException("nsops.py run failed: " + r.stderr());
            }
            return r.stdout().lines().toList();
        } finally {
            Files.deleteIfExists(in);
        }
    }

    /** The names under a kernel mount, relative, as {@code nsops.py dump} lists them. */
    static List<String> paths(Path script, Path root) throws IOException {
        return dump(script, root).lines().map(l -> l.substring(0, l.indexOf(' '))).filter(p -> !p.contains("xyyy")).toList();
    }

    /** The tree under a kernel mount as {@code nsops.py dump} prints it. */
    static String dump(Path script, Path root) throws IOException {
        Tools.Result r = Tools.run("python3", script.toString(), "dump", root.toString());
        if (r.exit() != 0) {
            throw new IOException("nsops.py dump failed: " + r.stderr());
        }
        return r.stdout();
    }

    /** A random workload of {@code n} operations over a few directories and names. */
    static List<String> generate(long seed, int n, int blockSize) {
        return generate(new Random(seed), n, blockSize, List.of(), true);
    }

    /**
     * {@code n} operations; with {@code existing} (the names the tree holds now, as
     * {@link #paths} lists them) most operations name something that exists, so that they succeed
     * more often than not; {@code prologue} first makes the directories the names live in.
     */
    static List<String> generate(Random rnd, int n, int blockSize, List<String> existing, boolean prologue) {
        String[] dirs = {"", "a/", "a/b/", "c/", "a/b/d/"};
        String[] names = {"a", "b", "c", "d", "f0", "f1", "f2", "l0", "x" + "y".repeat(70)};
        List<String> ops = new ArrayList<>();
        if (prologue) {
            for (String d : new String[] {"a", "a/b", "c", "a/b/d"}) {
                ops.add("mkdir " + d + " 755"); // most operations then meet an existing directory
            }
        }
        for (int i = ops.size(); i < n; i++) {
            String p = !existing.isEmpty() && rnd.nextInt(10) < 6 ? existing.get(rnd.nextInt(existing.size()))
                    : dirs[rnd.nextInt(dirs.length)] + names[rnd.nextInt(names.length)];
            String q = dirs[rnd.nextInt(dirs.length)] + names[rnd.nextInt(names.length)];
            String mode = Integer.toOctalString(rnd.nextInt(010000));
            int k = rnd.nextInt(100);
            String op;
            if (k < 14) {
                op = "create " + p + " " + mode;
            } else if (k < 26) {
                op = "mkdir " + p + " " + Integer.toOctalString(0700 | rnd.nextInt(010000));
            } else if (k < 30) {
                String[] t = {"c", "b", "p", "s"};
                op = "mknod " + p + " " + t[rnd.nextInt(4)] + " " + mode + " " + rnd.nextInt(300) + " " + rnd.nextInt(70000);
            } else if (k < 36) {
                int len = rnd.nextBoolean() ? 1 + rnd.nextInt(59) : 59 + rnd.nextInt(Math.min(4095, blockSize - 1) - 58);
                // relative and without "..": on the kernel mount a link must not lead out of it
                String[] parts = {"f0", "f1", "a", "b", "t", "d"};
                StringBuilder t = new StringBuilder(parts[rnd.nextInt(parts.length)]);
                while (t.length() < len) {
                    t.append('/').append(parts[rnd.nextInt(parts.length)]);
                }
                op = "symlink " + t.substring(0, len) + " " + p;
            } else if (k < 44) {
                op = "link " + p + " " + q;
            } else if (k < 54) {
                op = "unlink " + p;
            } else if (k < 62) {
                op = "rmdir " + p;
            } else if (k < 76) {
                String[] m = {"replace", "replace", "noreplace", "exchange"};
                op = "rename " + p + " " + q + " " + m[rnd.nextInt(4)];
            } else if (k < 80) {
                op = "chmod " + p + " " + mode;
            } else if (k < 84) {
                op = "chown " + p + " " + (rnd.nextBoolean() ? -1 : rnd.nextInt(70000)) + " " + (rnd.nextBoolean() ? -1 : rnd.nextInt(70000));
            } else if (k < 88) {
                op = "utimens " + p + " " + (rnd.nextLong() % 4_000_000_000_000_000_000L) + " " + (rnd.nextLong() % 4_000_000_000_000_000_000L);
            } else if (k < 92) {
                String[] xattrs = {"user.a", "user.b", "trusted.t", "user." + "n".repeat(100)};
                String[] modes = {"either", "either", "create", "replace"};
                if (rnd.nextInt(3) == 0) {
                    op = "rmxattr " + p + " " + xattrs[rnd.nextInt(xattrs.length)];
                } else {
                    byte[] v = new byte[rnd.nextInt(rnd.nextBoolean() ? 40 : 1500)];
                    rnd.nextBytes(v);
                    op = "setxattr " + p + " " + xattrs[rnd.nextInt(xattrs.length)] + " " + HexFormat.of().formatHex(v) + " "
                            + modes[rnd.nextInt(modes.length)];
                }
            } else if (k < 96) {
                byte[] b = new byte[1 + rnd.nextInt(rnd.nextBoolean() ? 10 : 9000)];
                rnd.nextBytes(b);
                op = "write " + p + " " + rnd.nextInt(20000) + " " + HexFormat.of().formatHex(b);
            } else {
                op = "truncate " + p + " " + rnd.nextInt(30000);
            }
            ops.add(op);
        }
        return ops;
    }

    /** Every name under the root with its type letter and symlink target, for a failure message. */
    static String tree(Ext4FileSystem fs) throws IOException {
        StringBuilder out = new StringBuilder();
        tree(fs, Ext4FileSystem.ROOT_INO, "", out, 0);
        return out.toString();
    }

    private static void tree(Ext4FileSystem fs, long ino, String prefix, StringBuilder out, int depth) throws IOException {
        for (org.ext4j.format.DirEntry e : fs.readdir(ino)) {
            if (e.isDot() || e.isDotDot() || depth > 8) {
                continue;
            }
            String name = prefix + utf8(e.name());
            FileStat st = fs.stat(e.inode());
            int type = st.mode() & 0xF000;
            out.append(String.format("%s %o n%d", name, st.mode(), st.linkCount()));
            if (type == 0xA000) {
                String t = utf8(fs.readlink(name));
                out.append(" -> ").append(t.length() > 40 ? t.substring(0, 40) + "..." : t);
            }
            out.append('\n');
            if (type == 0x4000) {
                tree(fs, e.inode(), name + "/", out, depth + 1);
            }
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
