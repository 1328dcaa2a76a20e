package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.fs.Ext4FileSystem;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j chown [-h] IMAGE UID[:GID] PATH...}: numeric owner and group ({@code :GID} alone
 * changes the group), as chown(1); symlinks followed unless -h. A change of owner clears
 * set-user-ID and set-group-ID of non-directories, as chown(2) does.
 */
@Command(name = "chown", description = "Change owner and group (numeric) of names in the image (read-write).")
final class ChownCommand extends FsVerb {
    @Option(names = "-h", description = "Change a symlink itself, not what it points to.")
    boolean noDereference;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "UID[:GID]")
    String owner;

    @Parameters(index = "2..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    private long uid = -1;
    private long gid = -1;

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() {
        if (!owner.matches("(\\d{1,10})?(:(\\d{1,10})?)?") || owner.isEmpty() || owner.equals(":")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "invalid owner: '" + owner
                    + "' (numeric UID[:GID] or :GID; names are not looked up)");
        }
        String[] f = owner.split(":", -1);
        uid = f[0].isEmpty() ? -1 : Long.parseLong(f[0]);
        gid = f.length > 1 && !f[1].isEmpty() ? Long.parseLong(f[1]) : -1;
        if (uid > 0xFFFFFFFEL || gid > 0xFFFFFFFEL) {
            throw new CommandLine.ParameterException(spec.commandLine(), "invalid owner: '" + owner + "' (ids are 0..4294967294)");
        }
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        for (String p : paths) {
            fs.setAttributes(p, org.ext4j.fs.InodeAttributes.owner(uid, gid), !noDereference);
        }
    }
}
