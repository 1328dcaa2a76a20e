package org.ext4j.cli;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j ls [-l] [-R] [-a] IMAGE [PATH]}: names sorted bytewise, written as the raw bytes they
 * are on disk. Recursion refuses to enter a directory twice, so a directory hard link loop in a
 * damaged image is reported, not followed forever.
 */
@Command(name = "ls", description = "List a directory.")
final class LsCommand implements Callable<Integer> {
    static final int MAX_DEPTH = 2048;
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT).withZone(ZoneId.systemDefault());

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH", defaultValue = "/")
    String path;

    @Option(names = "-l", description = "Long listing: mode, links, owner, group, size, mtime.")
    boolean longFormat;

    @Option(names = "-R", description = "Recurse into subdirectories.")
    boolean recursive;

    @Option(names = "-a", description = "Show . and .. too.")
    boolean all;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ParentCommand
    Main main;

    private Ext4FileSystem fs;
    private OutputStream out;

    @Override
    public Integer call() throws Exception {
        out = new BufferedOutputStream(main.stdout(), 1 << 16);
        try (Ext4FileSystem opened = ImageOpener.open(image, spec.commandLine().getErr())) {
            fs = opened;
            long ino = fs.lookupFollow(path);
            FileStat st = fs.stat(ino);
            if (!st.isDirectory()) {
                entry(path.getBytes(StandardCharsets.UTF_8), fs.stat(fs.lookup(path)));
            } else {
                listDir(ino, path.getBytes(StandardCharsets.UTF_8), new HashSet<>(), 0);
            }
        } finally {
            out.flush();
        }
        return 0;
    }

    private void listDir(long ino, byte[] shown, Set<Long> seen, int depth) throws IOException {
        if (!seen.add(ino)) {
            throw CorruptionException.of(Kind.LOOP).inode(ino)
                    .build("directory inode " + ino + " is reached twice (a directory hard link loop)");
        }
        if (depth > MAX_DEPTH) {
            throw CorruptionException.of(Kind.LOOP).inode(ino).build("directories nest deeper than " + MAX_DEPTH);
        }
        List<DirEntry> entries = new ArrayList<>(fs.readdir(ino));
        entries.sort(Comparator.comparing(DirEntry::name, Arrays::compareUnsigned));
        if (recursive) {
            out.write(shown);
            out.write(":\n".getBytes(StandardCharsets.US_ASCII));
        }
        List<DirEntry> subdirs = new ArrayList<>();
        for (DirEntry e : entries) {
            boolean dots = e.isDot() || e.isDotDot();
            if (dots && !all) {
                continue;
            }
            FileStat st = longFormat || recursive ? fs.stat(fs.child(ino, e)) : null;
            entry(e.name(), st);
            if (recursive && !dots && st.isDirectory()) {
                subdirs.add(e);
            }
        }
        for (DirEntry e : subdirs) {
            out.write('\n');
            listDir(e.inode(), child(shown, e.name()), seen, depth + 1);
        }
    }

    static byte[] child(byte[] dir, byte[] name) {
        boolean slash = dir.length > 0 && dir[dir.length - 1] == '/';
        byte[] p = Arrays.copyOf(dir, dir.length + (slash ? 0 : 1) + name.length);
        if (!slash) {
            p[dir.length] = '/';
        }
        System.arraycopy(name, 0, p, p.length - name.length, name.length);
        return p;
    }

    private void entry(byte[] name, FileStat st) throws IOException {
        if (longFormat) {
            String size = st.isCharDevice() || st.isBlockDevice() ? st.rdevMajor() + ", " + st.rdevMinor()
                    : Long.toString(st.size());
            String head = String.format("%s %3d %5d %5d %10s %s ", modeString(st.mode()), st.linkCount(), st.uid(),
                    st.gid(), size, TIME.format(st.mtime()));
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(name);
            if (st.isSymlink()) {
                out.write(" -> ".getBytes(StandardCharsets.US_ASCII));
                out.write(fs.inode(st.inode()).readlinkBytes());
            }
        } else {
            out.write(name);
        }
        out.write('\n');
    }

    /** The ten-character mode of {@code ls -l}. */
    static String modeString(int mode) {
        char type = switch (mode & 0xF000) {
            case 0x4000 -> 'd';
            case 0xA000 -> 'l';
            case 0x2000 -> 'c';
            case 0x6000 -> 'b';
            case 0x1000 -> 'p';
            case 0xC000 -> 's';
            case 0x8000 -> '-';
            default -> '?';
        };
        char[] c = new char[10];
        c[0] = type;
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            c[i + 1] = (mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-';
        }
        if ((mode & 04000) != 0) {
            c[3] = c[3] == 'x' ? 's' : 'S';
        }
        if ((mode & 02000) != 0) {
            c[6] = c[6] == 'x' ? 's' : 'S';
        }
        if ((mode & 01000) != 0) {
            c[9] = c[9] == 'x' ? 't' : 'T';
        }
        return new String(c);
    }
}
