package org.ext4j.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.ext4j.error.WrongTypeException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Inode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code ext4j cat IMAGE PATH}: a file's bytes to standard output, in 1 MiB reads. */
@Command(name = "cat", description = "Write a file's contents to standard output.")
public final class CatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH")
    String path;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ParentCommand
    Main main;

    @Override
    public Integer call() throws Exception {
        try (Ext4FileSystem fs = ImageOpener.open(image, spec.commandLine().getErr())) {
            Inode inode = fileToCat(fs, path);
            // not closed: closing it would close file descriptor 1 for the rest of the JVM; a file
            // channel lets the device send the bytes without copying them through the heap
            OutputStream out = main.stdout();
            WritableByteChannel channel = out instanceof FileOutputStream f ? f.getChannel() : Channels.newChannel(out);
            inode.transferTo(channel);
            out.flush();
        }
        return 0;
    }

    private static Inode fileToCat(Ext4FileSystem fs, String path) throws IOException {
        long ino = fs.lookupFollow(path);
        Inode inode = fs.inode(ino);
        if (inode.record().isDirectory()) {
            throw new WrongTypeException(path + ": is a directory");
        }
        if (!inode.record().isRegular()) {
            // a device, fifo or socket has no bytes of its own in the image: the kernel's open would
            // reach the device or pipe itself
            throw new WrongTypeException(path + ": is a " + StatCommand.typeName(fs.stat(ino)) + ", not a regular file");
        }
        return inode;
    }

    /** The whole of what {@code cat} does once the image is open: also how the corpus walk reads files. */
    public static long copy(Ext4FileSystem fs, String path, OutputStream out) throws IOException {
        Inode inode = fileToCat(fs, path);
        byte[] buf = new byte[1 << 20];
        long pos = 0;
        int n;
        while ((n = inode.read(pos, buf, 0, buf.length)) > 0) {
            out.write(buf, 0, n);
            pos += n;
        }
        return pos;
    }
}
