package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.Features;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.inode.Inode;
import org.ext4j.journal.JournalLog;
import org.ext4j.journal.JournalReplay;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j recover IMAGE}: replays the journal and nothing else, as {@code e2fsck -E
 * journal_only} does (orphans are not processed yet). Exit 0 when the journal was clean or is
 * replayed, 1 when the journal is damaged (nothing written when its log cannot be read; a copy
 * that fails its checksum is skipped, the rest written, as the kernel does), 3 for an external
 * journal.
 */
@Command(name = "recover", description = "Replay the journal into the image (like e2fsck -E journal_only).")
final class RecoverCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ImageOpener.checkImage(image, true);
        FileBlockDevice dev = FileBlockDevice.openReadWrite(image);
        try (Ext4FileSystem fs = Ext4FileSystem.open(dev, OpenOptions.readOnlyDefaults().withWarnings(w -> { }).withoutRecovery())) {
            Superblock sb = fs.superblock();
            Inode journal = JournalCommand.journalInode(fs);
            if (journal == null) {
                out.println("no journal: nothing to recover");
                out.flush();
                return 0;
            }
            JournalLog log = JournalLog.read(journal, sb.journalInum, sb.blockSize);
            if (!log.header().needsRecovery() && !sb.hasIncompat(Features.INCOMPAT_RECOVER)) {
                out.println("the journal is clean: nothing to recover");
                out.flush();
                return 0;
            }
            JournalReplay.Result r = JournalReplay.replay(log, journal, sb.journalInum, dev, sb.blocksCount);
            out.printf("replayed %d blocks of %d transactions (%d revoked); the journal is empty at sequence %d%n",
                    r.replayed(), r.transactions(), r.revokeHits(), r.nextSequence());
            if (r.checksumFailures() > 0) {
                spec.commandLine().getErr().printf("ext4j recover: %d logged blocks failed their checksums and were"
                        + " not replayed%n", r.checksumFailures());
                spec.commandLine().getErr().flush();
                out.flush();
                return Main.EXIT_CORRUPT;
            }
        }
        out.flush();
        return 0;
    }
}
