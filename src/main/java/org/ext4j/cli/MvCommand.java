package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;

import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.RenameMode;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j mv [--no-replace|--exchange] IMAGE SRC DEST}: rename(2) as mv does it: into DEST when
 * DEST is an existing directory (not with --exchange), as DEST otherwise; renameat2's NOREPLACE and
 * EXCHANGE with the options.
 */
@Command(name = "mv", description = "Move or rename a name in the image (read-write).")
final class MvCommand extends FsVerb {
    static final class Modes {
        @Option(names = "--no-replace", description = "Fail (EEXIST) if the target exists (RENAME_NOREPLACE).")
        boolean noReplace;

        @Option(names = "--exchange", description = "Swap SRC and DEST, which must both exist (RENAME_EXCHANGE).")
        boolean exchange;
    }

    @ArgGroup(exclusive = true)
    Modes modes;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "SRC")
    String src;

    @Parameters(index = "2", paramLabel = "DEST")
    String dest;

    @Override
    Path image() {
        return image;
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        RenameMode mode = modes == null ? RenameMode.REPLACE
                : modes.exchange ? RenameMode.EXCHANGE : modes.noReplace ? RenameMode.NOREPLACE : RenameMode.REPLACE;
        fs.rename(src, mode == RenameMode.EXCHANGE ? dest : into(fs, src, dest), mode);
    }

    /** DEST itself, or DEST/basename(SRC) when DEST is an existing directory (symlinks followed), as mv and cp place. */
    static String into(Ext4FileSystem fs, String src, String dest) throws Exception {
        try {
            if (fs.stat(fs.lookupFollow(dest)).isDirectory()) {
                String base = src.replaceAll("/+$", "");
                base = base.substring(base.lastIndexOf('/') + 1);
                return dest.endsWith("/") ? dest + base : dest + "/" + base;
            }
        } catch (NotFoundException e) {
            // DEST is the new name
        }
        return dest;
    }
}
