package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.fs.Ext4FileSystem;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ext4j rmdir IMAGE PATH...}: removes empty directories, as coreutils' rmdir. */
@Command(name = "rmdir", description = "Remove empty directories from the image (read-write).")
final class RmdirCommand extends FsVerb {
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
        for (String p : paths) {
            fs.rmdir(p);
        }
    }
}
