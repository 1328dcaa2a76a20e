package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.namespace.EntryExistsException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ext4j mkdir [-p] [-m MODE] IMAGE PATH...}: as coreutils' mkdir (new directories 0755 unless -m). */
@Command(name = "mkdir", description = "Make directories in the image (read-write).")
final class MkdirCommand extends FsVerb {
    @Option(names = "-p", description = "Make missing parents; no error for a directory that exists.")
    boolean parents;

    @Option(names = "-m", paramLabel = "MODE", description = "Permissions of the new directories (octal or symbolic, from 0777); default 0755.")
    String modeText;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    private int mode = 0755;

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() {
        mode = modeText == null ? 0755 : Modes.parse(spec.commandLine(), modeText, 0777, true);
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        for (String p : paths) {
            if (parents) {
                mkdirs(fs, p, mode);
            } else {
                fs.mkdir(p, mode);
            }
        }
    }

    /** {@code mkdir -p}: each missing directory on the way, with 0755 for the parents (u+wx), {@code mode} for the last. */
    static void mkdirs(Ext4FileSystem fs, String path, int mode) throws Exception {
        String[] parts = path.split("/");
        StringBuilder cur = new StringBuilder(path.startsWith("/") ? "/" : "");
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty() || parts[i].equals(".")) {
                continue;
            }
            if (cur.length() > 0 && cur.charAt(cur.length() - 1) != '/') {
                cur.append('/');
            }
            cur.append(parts[i]);
            boolean last = i == parts.length - 1;
            try {
                fs.mkdir(cur.toString(), last ? mode : 0755);
            } catch (EntryExistsException e) {
                if (!fs.stat(fs.lookupFollow(cur.toString())).isDirectory()) {
                    throw new org.ext4j.error.WrongTypeException(cur + ": exists and is not a directory (ENOTDIR)");
                }
            }
        }
    }
}
