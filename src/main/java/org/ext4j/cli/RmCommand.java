package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.error.NotFoundException;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j rm [-r] [-f] IMAGE PATH...}: removes names as coreutils' rm
 * ({@link Ext4FileSystem#unlink}; with the last name the inode and its blocks are freed). A
 * directory is refused ("is a directory", status 1) unless -r, which removes it with everything in
 * it (depth first, {@link Ext4FileSystem#rmdir} last); -f ignores names that do not exist. A
 * refusal leaves the image as it was: the path is checked before anything changes.
 */
@Command(name = "rm", description = "Remove files, symlinks, devices, fifos, sockets, and with -r directories, from the image (read-write).")
final class RmCommand extends FsVerb {
    @Option(names = {"-r", "-R"}, description = "Remove directories and their contents.")
    boolean recursive;

    @Option(names = "-f", description = "Ignore names that do not exist.")
    boolean force;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    @Override
    Path image() {
        return image;
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        if (!force) {
            for (String p : paths) {
                fs.lookup(p); // every name exists before the first goes: a missing one changes nothing
            }
        }
        for (String p : paths) {
            try {
                if (recursive && fs.stat(fs.lookup(p)).isDirectory()) {
                    if (p.replaceAll("/+", "/").equals("/")) {
                        throw new org.ext4j.error.InvalidRequestException("/: refusing to remove the root (EBUSY)");
                    }
                    removeTree(fs, p);
                } else {
                    fs.unlink(p);
                }
            } catch (NotFoundException e) {
                if (!force) {
                    throw e;
                }
            }
        }
    }

    /** Everything in directory {@code dir}, depth first, then the directory. */
    static void removeTree(Ext4FileSystem fs, String dir) throws Exception {
        List<DirEntry> entries = fs.readdir(fs.lookup(dir));
        for (DirEntry e : entries) {
            if (e.isDot() || e.isDotDot()) {
                continue;
            }
            String child = dir.endsWith("/") ? dir + name(e) : dir + "/" + name(e);
            FileStat st = fs.stat(e.inode());
            if (st.isDirectory()) {
                removeTree(fs, child);
            } else {
                fs.unlink(child);
            }
        }
        fs.rmdir(dir);
    }

    private static String name(DirEntry e) {
        return new String(e.name(), StandardCharsets.UTF_8);
    }
}
