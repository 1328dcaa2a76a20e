package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;

import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.InodeRecord;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.inode.Inode;
import org.ext4j.inode.Xattr;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j stat IMAGE PATH}: the inode's fields, its extended attributes and its block mapping:
 * every extent with its state (written or unwritten), or the runs of a legacy block map.
 */
@Command(name = "stat", description = "Show an inode's fields and its extents.")
final class StatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH")
    String path;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Ext4FileSystem fs = ImageOpener.open(image, spec.commandLine().getErr())) {
            long ino = fs.lookup(path);
            FileStat st = fs.stat(ino);
            Inode inode = fs.inode(ino);
            InodeRecord r = inode.record();
            out.printf("Inode: %d   Type: %s   Mode: %04o   Flags: 0x%x%n", ino, typeName(st), st.permissions(),
                    st.flags());
            out.printf("Generation: %d   Version: %d%n", r.generation, r.version);
            out.printf("User: %d   Group: %d   Project: %d   Size: %d%n", st.uid(), st.gid(), r.projid, st.size());
            out.printf("File ACL: %d%n", r.fileAcl);
            out.printf("Links: %d   Blockcount: %d%n", st.linkCount(), st.blocks512());
            time(out, "ctime", st.ctime());
            time(out, "atime", st.atime());
            time(out, "mtime", st.mtime());
            if (st.crtime() != null) {
                time(out, "crtime", st.crtime());
            }
            if (r.raw().length > org.ext4j.format.Superblock.GOOD_OLD_INODE_SIZE) {
                out.printf("Size of extra inode fields: %d%n", r.extraIsize);
            }
            if (st.isCharDevice() || st.isBlockDevice()) {
                out.printf("Device major/minor number: %d, %d%n", st.rdevMajor(), st.rdevMinor());
            }
            if (st.isSymlink()) {
                out.printf("Link target: \"%s\"%n", new String(inode.readlinkBytes(), StandardCharsets.UTF_8));
            }
            List<Xattr> xattrs = inode.xattrs();
            if (!xattrs.isEmpty()) {
                out.println("Extended attributes:");
                for (Xattr x : xattrs) {
                    out.printf("  %s (%d) = %s%n", x.name(), x.value().length, show(x.value()));
                }
            }
            mapping(fs, inode, out);
        }
        out.flush();
        return 0;
    }

    private static void mapping(Ext4FileSystem fs, Inode inode, PrintWriter out) throws Exception {
        if (inode.isInline()) {
            out.printf("Size of inline data: %d%n", inode.inlineData().length);
            return;
        }
        if (inode.blockMap() instanceof ExtentTreeReader tree) {
            List<Long> treeBlocks = new ArrayList<>();
            List<Extent> extents = tree.allExtents(treeBlocks);
            out.printf("EXTENTS: depth %d, %d extent(s), tree blocks %s%n", tree.depth(), extents.size(), treeBlocks);
            for (Extent e : extents) {
                out.printf("  (%d-%d): %d-%d  %d block(s)  %s%n", e.logical(), e.logicalEnd() - 1, e.physical(),
                        e.physical() + e.length() - 1, e.length(), e.unwritten() ? "unwritten" : "written");
            }
            return;
        }
        if (inode.blockMap() != null) {
            int bs = fs.superblock().blockSize;
            long blocks = (inode.size() + bs - 1) / bs;
            out.println("BLOCKS:");
            long l = 0;
            while (l < blocks) {
                var m = inode.map(l, blocks - l);
                if (m.physical() >= 0) {
                    out.printf("  (%d-%d): %d-%d%n", l, l + m.length() - 1, m.physical(), m.physical() + m.length() - 1);
                }
                l += m.length();
            }
        }
    }

    private static void time(PrintWriter out, String label, Instant t) {
        out.printf("%6s: %d.%09d -- %s%n", label, t.getEpochSecond(), t.getNano(), t);
    }

    private static String show(byte[] v) {
        boolean text = v.length > 0;
        for (byte b : v) {
            if (b < 0x20 || b == 0x7F) {
                text = false;
                break;
            }
        }
        return text ? "\"" + new String(v, StandardCharsets.UTF_8) + "\"" : "0x" + HexFormat.of().formatHex(v);
    }

    /** The file type as stat prints it ("regular", "character special", ...). */
    static String typeName(FileStat st) {
        if (st.isRegularFile()) {
            return "regular";
        }
        if (st.isDirectory()) {
            return "directory";
        }
        if (st.isSymlink()) {
            return "symlink";
        }
        if (st.isCharDevice()) {
            return "character special";
        }
        if (st.isBlockDevice()) {
            return "block special";
        }
        if (st.isFifo()) {
            return "FIFO";
        }
        if (st.isSocket()) {
            return "socket";
        }
        return "bad type";
    }

}
