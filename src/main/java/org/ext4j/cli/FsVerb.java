package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A verb that works on one opened file system, run alone ({@code ext4j VERB IMAGE ...}: the image is
 * checked, opened read-write or read-only, the verb runs, the image is closed) or as one line of
 * {@code ext4j shell}, on the file system the shell opened once. Arguments are checked in
 * {@link #check} before any image is opened, so a malformed command leaves the image as it was.
 */
abstract class FsVerb implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Option(names = "-o", paramLabel = "OPTIONS", split = ",", description = MountOptions.DESCRIPTION)
    java.util.List<String> mountOptions = new java.util.ArrayList<>();

    /** {@code base} with the {@code -o} options applied (a usage error for an unknown one). */
    WriteOptions writeOptions(WriteOptions base) {
        return MountOptions.apply(spec.commandLine(), base, mountOptions);
    }

    /** The image argument (the shell fills it in with its own). */
    abstract Path image();

    /** Whether the verb changes the image (opened read-write). */
    boolean writes() {
        return true;
    }

    /** Checks the arguments before an image is opened; usage errors are thrown here. */
    void check() throws Exception {
    }

    /** Does the verb's work on the opened file system. */
    abstract void run(Ext4FileSystem fs, PrintWriter out) throws Exception;

    @Override
    public Integer call() throws Exception {
        check();
        WriteOptions options = writeOptions(WriteOptions.defaults());
        ImageOpener.checkImage(image(), writes());
        PrintWriter out = spec.commandLine().getOut();
        try (Ext4FileSystem fs = writes() ? Ext4FileSystem.openReadWrite(image(), options)
                : ImageOpener.open(image(), spec.commandLine().getErr())) {
            run(fs, out);
        }
        out.flush();
        return 0;
    }
}
