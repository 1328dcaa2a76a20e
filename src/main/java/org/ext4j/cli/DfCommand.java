package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.StatFs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j df IMAGE}: statfs as the kernel reports it for a mount of the image
 * ({@code stat -f}'s fields): block size, total, free and available blocks, inodes and free
 * inodes, then df's line in 1K blocks.
 */
@Command(name = "df", description = "Show the image's space and inode usage as statfs reports it.")
final class DfCommand extends FsVerb {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Override
    Path image() {
        return image;
    }

    @Override
    boolean writes() {
        return false;
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        StatFs s = fs.statfs();
        out.printf("Block size: %d%nBlocks: Total: %d Free: %d Available: %d%nInodes: Total: %d Free: %d%n",
                s.blockSize(), s.blocks(), s.freeBlocks(), s.availableBlocks(), s.inodes(), s.freeInodes());
        long k = s.blockSize() / 1024;
        long used = s.blocks() - s.freeBlocks();
        long pct = used + s.availableBlocks() == 0 ? 0 : (used * 100 + used + s.availableBlocks() - 1) / (used + s.availableBlocks());
        out.printf("%-12s %12s %12s %12s %5s%n", "1K-blocks", "Used", "Available", "Use%", "Inodes");
        out.printf("%-12d %12d %12d %11d%% %5d%n", s.blocks() * k, used * k, s.availableBlocks() * k, pct, s.inodes());
    }
}
