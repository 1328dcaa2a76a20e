package org.ext4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j rm IMAGE PATH}: removes a name of anything but a directory, as {@code rm} without
 * options ({@link Ext4FileSystem#unlink}); with the last name the inode and its blocks are freed.
 * A directory is refused ("is a directory", status 1), as is a missing name.
 */
@Command(name = "rm", description = "Remove a file, symlink, device, fifo or socket from the image (read-write).")
final class RmCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH")
    String path;

    /**
     * The read-write open writes nothing until the first change, and {@link Ext4FileSystem#unlink}
     * checks the path (missing, a directory, a trailing '/' after a file: exit 1; a NUL byte or an
     * over-long name: exit 2) before it changes anything: a refused rm leaves the image as it was.
     */
    @Override
    public Integer call() throws Exception {
        ImageOpener.checkImage(image, true);
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, WriteOptions.defaults())) {
            fs.unlink(path);
        }
        return 0;
    }
}
