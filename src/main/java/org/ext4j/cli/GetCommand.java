package org.ext4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.Ext4Exception;
import org.ext4j.extents.BlockMap;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.inode.Inode;
import org.ext4j.inode.Xattr;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j get IMAGE PATH DEST}: recursive extraction that keeps contents, holes (the output is
 * sparse where the file is), modes with set-id and sticky bits, owners (as root), nanosecond
 * access and modification times, symlinks, hard links, extended attributes, and, as root, device
 * nodes and fifos. Sockets are recreated as socket files.
 *
 * <p>If DEST is an existing directory the tree lands inside it under PATH's last name; extracting
 * "/" puts the root's contents into DEST. Names that are not valid UTF-8 cannot be represented by
 * the JDK's file API on a UTF-8 system: such names are written with each invalid byte as {@code %XX}
 * and a warning is printed.
 *
 * <p>DEST {@code -} writes a regular file's contents to standard output and nothing else, as
 * {@code cat} does (a symlink is followed); a directory or any other kind of file there is a usage
 * error (exit 2) and nothing is written. A file really named "-" is {@code ./-}.
 */
@Command(name = "get", description = {"Extract a file or directory tree from the image.",
    "DEST - writes a regular file's contents to standard output (symlinks followed)."})
final class GetCommand implements Callable<Integer> {
    private static final int COPY_CHUNK = 1 << 20;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH")
    String path;

    @Parameters(index = "2", paramLabel = "DEST", description = "Where to extract to; - for standard output.")
    Path dest;

    @Option(names = {"-k", "--keep-going"},
            description = "On a damaged file or directory, report it and go on with the rest; exit 1 at the end.")
    boolean keepGoing;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private Ext4FileSystem fs;
    private PrintWriter err;
    private final boolean root = isRoot();
    private boolean setgidDestination;
    private final Map<Long, Path> hardLinks = new HashMap<>();
    private final Set<Long> dirsSeen = new HashSet<>();
    private final Set<String> warned = new HashSet<>();
    private final boolean setfattr = root && onPath("setfattr");
    private int damaged;
    private final byte[] copyBuffer = new byte[COPY_CHUNK];

    /** The final verdict of a {@code --keep-going} run that skipped damaged parts. */
    private static final class CorruptionSummary extends Ext4Exception {
        CorruptionSummary(int count) {
            super(count + " damaged file(s) or directories were skipped");
        }
    }

    @Override
    public Integer call() throws Exception {
        err = spec.commandLine().getErr();
        if (dest.toString().equals("-")) {
            return toStdout();
        }
        try (Ext4FileSystem opened = ImageOpener.open(image, err)) {
            fs = opened;
            long ino = fs.lookup(path);
            Path parent = dest.toAbsolutePath().getParent();
            setgidDestination = parent != null && Files.isDirectory(dest.toAbsolutePath())
                    && ((Integer) Files.getAttribute(dest.toAbsolutePath(), "unix:mode") & 02000) != 0
                    || parent != null && Files.isDirectory(parent)
                    && ((Integer) Files.getAttribute(parent, "unix:mode") & 02000) != 0;
            Path target;
            if (ino == Ext4FileSystem.ROOT_INO) {
                target = dest;
            } else if (Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
                String name = Path.of(path).getFileName().toString();
                target = dest.resolve(name);
            } else {
                target = dest;
            }
            extract(fs.inode(ino), target, 0);
            if (damaged > 0) {
                throw new CorruptionSummary(damaged);
            }
        } finally {
            err.flush();
        }
        return 0;
    }

    /**
     * {@code get IMAGE PATH -}: one regular file's bytes to standard output, checked before the first
     * byte is written, so that a refusal leaves the output empty.
     */
    private int toStdout() throws IOException {
        try (Ext4FileSystem opened = ImageOpener.open(image, err)) {
            Inode inode = opened.inode(opened.lookupFollow(path));
            FileStat st = opened.stat(inode);
            if (!st.isRegularFile()) {
                String kind = st.isDirectory() ? "a directory" : "not a regular file";
                throw new ParameterException(spec.commandLine(), path + " is " + kind
                        + ": DEST - writes one regular file's contents to standard output; give a destination"
                        + " path to extract it");
            }
            // not closed: closing it would close file descriptor 1 for the rest of the JVM
            FileOutputStream out = new FileOutputStream(FileDescriptor.out);
            inode.transferTo(out.getChannel());
            out.flush();
        } finally {
            err.flush();
        }
        return 0;
    }

    private void extract(Inode inode, Path to, int depth) throws IOException {
        long ino = inode.number();
        FileStat st = fs.stat(inode);
        if (!st.isDirectory() && st.linkCount() > 1) {
            Path first = hardLinks.get(ino);
            if (first != null) {
                Files.createLink(to, first);
                return;
            }
            hardLinks.put(ino, to);
        }
        if (st.isDirectory()) {
            extractDirectory(ino, to, depth);
        } else if (st.isRegularFile()) {
            extractFile(inode, to, depth == 0);
        } else if (st.isSymlink()) {
            byte[] target = inode.readlinkBytes();
            for (byte b : target) {
                if (b == 0) {
                    throw CorruptionException.of(Kind.BAD_SYMLINK).inode(ino).build("symlink target contains a NUL byte");
                }
            }
            String t = hostName(target);
            if (Path.of(t).toString().equals(t)) {
                Files.createSymbolicLink(to, Path.of(t));
            } else {
                // java.nio normalises "a//b" and a trailing '/' away; the target must stay byte for byte
                run(List.of("ln", "-s", "--", t, to.toString()));
            }
        } else if (st.isFifo() || st.isCharDevice() || st.isBlockDevice()) {
            if (!root) {
                warnOnce("special", "not root: device nodes and fifos are skipped");
                return;
            }
            List<String> cmd = new ArrayList<>(List.of("mknod", to.toString()));
            if (st.isFifo()) {
                cmd.add("p");
            } else {
                cmd.add(st.isCharDevice() ? "c" : "b");
                cmd.add(Integer.toString(st.rdevMajor()));
                cmd.add(Integer.toString(st.rdevMinor()));
            }
            run(cmd);
        } else if (st.isSocket()) {
            try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                s.bind(UnixDomainSocketAddress.of(to));
            }
        } else {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build(String.format("unknown file type in mode 0%o", st.mode()));
        }
        applyMetadata(inode, st, to);
    }

    private void extractDirectory(long ino, Path to, int depth) throws IOException {
        if (!dirsSeen.add(ino)) {
            throw CorruptionException.of(Kind.LOOP).inode(ino)
                    .build("directory inode " + ino + " is reached twice (a directory hard link loop)");
        }
        if (depth > LsCommand.MAX_DEPTH) {
            throw CorruptionException.of(Kind.LOOP).inode(ino).build("directories nest deeper than " + LsCommand.MAX_DEPTH);
        }
        if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(to);
        }
        List<DirEntry> children = new ArrayList<>();
        fs.forEachEntry(ino, e -> {
            if (!e.isDot() && !e.isDotDot()) {
                children.add(e);
            }
            return true;
        });
        Set<String> names = new HashSet<>();
        for (DirEntry e : children) {
            Path child = to;
            try {
                child = safeChild(ino, e, to, names);
                extract(fs.child(ino, e), child, depth + 1);
            } catch (Ext4Exception damage) {
                if (!keepGoing || damage instanceof CorruptionSummary) {
                    throw damage;
                }
                damaged++;
                err.println("ext4j get: " + child + ": " + damage.getMessage());
            }
        }
    }

    /** Never lets a hostile name climb out of the destination or overwrite a sibling. */
    private Path safeChild(long dirIno, DirEntry e, Path dir, Set<String> siblings) throws CorruptionException {
        for (byte b : e.name()) {
            if (b == '/' || b == 0) {
                throw CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(dirIno).offset(e.offset())
                        .build("name contains a '/' or NUL byte: " + hostName(e.name()));
            }
        }
        String name = hostName(e.name());
        Path child = dir.resolve(name);
        if (!siblings.add(name)) {
            throw CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(dirIno).offset(e.offset())
                    .build("name \"" + hostName(e.name()) + "\" appears twice in the directory");
        }
        return child;
    }

    /** Copies the written ranges only; holes and unwritten extents stay holes in the output. */
    private void extractFile(Inode inode, Path to, boolean top) throws IOException {
        int bs = fs.superblock().blockSize;
        long size = inode.size();
        if (top) {
            Files.createFile(to); // never overwrite what the user already has
        }
        // below the top, names are unique per directory (checked) inside directories we created
        try (RandomAccessFile raf = new RandomAccessFile(to.toFile(), "rw"); FileChannel out = raf.getChannel()) {
            byte[] buf = copyBuffer;
            long pos = 0;
            long written = 0;
            // inline data: its bytes, then a hole to i_size (the kernel zero-fills the pages past them)
            long inlineEnd = inode.isInline() ? Math.min(size, inode.inlineData().length) : -1;
            while (pos < size) {
                long runEnd;
                boolean data;
                if (inlineEnd >= 0) {
                    data = pos < inlineEnd;
                    runEnd = data ? inlineEnd : size;
                } else {
                    long lblk = pos / bs;
                    BlockMap.Mapping m = inode.map(lblk, (size - pos + bs - 1) / bs);
                    runEnd = Math.min(size, (lblk + m.length()) * bs);
                    data = m.state() == BlockMap.State.WRITTEN;
                }
                if (data) {
                    while (pos < runEnd) {
                        int n = inode.read(pos, buf, 0, (int) Math.min(buf.length, runEnd - pos));
                        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                        while (bb.hasRemaining()) {
                            out.write(bb, pos + bb.position());
                        }
                        pos += n;
                    }
                    written = pos;
                } else {
                    pos = runEnd;
                }
            }
            if (written < size) {
                raf.setLength(size); // ftruncate: a trailing hole stays a hole
            }
        }
    }

    private void applyMetadata(Inode inode, FileStat st, Path to) throws IOException {
        boolean link = st.isSymlink();
        LinkOption[] nofollow = {LinkOption.NOFOLLOW_LINKS};
        // a created file already belongs to us: chown only when the image says otherwise (two
        // syscalls per file saved on trees owned by root; a setgid destination is always chowned)
        if (root && (st.uid() != 0 || st.gid() != 0 || setgidDestination)) {
            Files.setAttribute(to, "unix:uid", (int) st.uid(), nofollow);
            Files.setAttribute(to, "unix:gid", (int) st.gid(), nofollow);
        }
        for (Xattr x : inode.xattrs()) {
            setXattr(to, x, link);
        }
        if (!link) {
            Files.setAttribute(to, "unix:mode", st.mode() & 07777);
        }
        if (st.isRegularFile() || st.isDirectory()) {
            Files.getFileAttributeView(to, BasicFileAttributeView.class, nofollow)
                    .setTimes(FileTime.from(st.mtime()), FileTime.from(st.atime()), null);
        } else {
            // the JDK opens the file to set times, which blocks on a fifo and follows links:
            // touch -h uses utimensat(AT_SYMLINK_NOFOLLOW) without opening anything
            run(List.of("touch", "-h", "-m", "-d", touchTime(st.mtime()), to.toString()));
            run(List.of("touch", "-h", "-a", "-d", touchTime(st.atime()), to.toString()));
        }
    }

    private static String touchTime(java.time.Instant t) {
        return String.format("@%d.%09d", t.getEpochSecond(), t.getNano());
    }

    private void setXattr(Path to, Xattr x, boolean link) throws IOException {
        if (x.name().startsWith("user.") && link) {
            warnOnce("user-link", "Linux allows no user.* attributes on symlinks; skipped on " + to);
            return;
        }
        if (x.name().startsWith("user.")) {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(to, UserDefinedFileAttributeView.class);
            if (view != null) {
                try {
                    view.write(x.name().substring(5), ByteBuffer.wrap(x.value()));
                    return;
                } catch (IOException e) {
                    warnOnce("user-xattr", "cannot set user xattrs on the destination: " + e.getMessage());
                    return;
                }
            }
        }
        if (!setfattr) {
            warnOnce("xattr:" + x.name().split("\\.")[0], "cannot set " + x.name().split("\\.")[0]
                    + ".* attributes here (needs root and setfattr); skipped");
            return;
        }
        try {
            run(List.of("setfattr", "-h", "-n", x.name(), "-v", "0x" + HexFormat.of().formatHex(x.value()),
                    to.toString()));
        } catch (IOException e) {
            // the destination file system may not take this namespace: the extraction itself is sound
            warnOnce("setfattr:" + x.name(), "cannot set " + x.name() + " on " + to + ": " + e.getMessage());
        }
    }

    private void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            if (p.waitFor() != 0) {
                throw new IOException(cmd.get(0) + " failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd.get(0));
        }
    }

    /** A host name for an ext4 name: the same bytes when they are UTF-8, else invalid bytes as %XX. */
    private String hostName(byte[] name) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(name)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder s = new StringBuilder();
            for (byte b : name) {
                if (b >= 0x20 && b < 0x7F && b != '%') {
                    s.append((char) b);
                } else {
                    s.append(String.format("%%%02X", b & 0xFF));
                }
            }
            warnOnce("name:" + s, "name is not UTF-8, extracted as " + s);
            return s.toString();
        }
    }

    private void warnOnce(String key, String message) {
        if (warned.add(key)) {
            err.println("ext4j get: warning: " + message);
        }
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false; // no /proc or no unix view: behave as an ordinary user
        }
    }

    private static boolean onPath(String tool) {
        String p = System.getenv("PATH");
        if (p == null) {
            return false;
        }
        for (String dir : p.split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
