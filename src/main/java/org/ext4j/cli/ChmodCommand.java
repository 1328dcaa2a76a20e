package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ext4j chmod IMAGE MODE PATH...}: octal or symbolic modes, as chmod(1); symlinks followed. */
@Command(name = "chmod", description = "Change permissions of names in the image (read-write).")
final class ChmodCommand extends FsVerb {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "MODE")
    String mode;

    @Parameters(index = "2..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() {
        Modes.parse(spec.commandLine(), mode, 0, false); // a malformed mode is refused before the open
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        for (String p : paths) {
            FileStat st = fs.stat(fs.lookupFollow(p));
            fs.chmod(p, Modes.parse(spec.commandLine(), mode, st.mode(), st.isDirectory()));
        }
    }
}
