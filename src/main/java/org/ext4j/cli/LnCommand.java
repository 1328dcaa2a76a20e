package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;

import org.ext4j.fs.Ext4FileSystem;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j ln [-s] IMAGE TARGET LINK}: a hard link to TARGET (a final symlink is linked itself),
 * or with -s a symbolic link holding TARGET; into LINK when it is an existing directory, as ln does.
 */
@Command(name = "ln", description = "Make a hard or symbolic link in the image (read-write).")
final class LnCommand extends FsVerb {
    @Option(names = "-s", description = "Make a symbolic link holding TARGET.")
    boolean symbolic;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "TARGET")
    String target;

    @Parameters(index = "2", paramLabel = "LINK")
    String link;

    @Override
    Path image() {
        return image;
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        String at = MvCommand.into(fs, target, link);
        if (symbolic) {
            fs.symlink(target, at);
        } else {
            fs.link(target, at);
        }
    }
}
