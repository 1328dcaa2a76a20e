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
 * {@code ext4j recover IMAGE}: replays the journal as {@code e2fsck -E journal_only} does, then
 * frees the orphans a crash left (inodes unlinked while open, truncates cut short), as the kernel's
 * mount does after its replay ({@code ext4_orphan_cleanup}: a read-write open and close, which
 * writes nothing when there are none). Exit 0 when the journal was clean or is
 * replayed, 3 for an external journal, 1 when the journal is damaged:
 * <ul>
 * <li>a log that cannot be replayed (a journal superblock that is not one, an accepted
 * transaction's revoke block whose r_count does not fit, a copy of a block past the file system):
 * nothing is written. e2fsck, whose recovery fails there too ({@code EINVAL} for the r_count),
 * still empties the journal, clears needs_recovery and marks the file system not clean; ext4j
 * leaves the image as it was, for e2fsck to decide;</li>
 * <li>copies that fail their checksums: as e2fsck's {@code recover_ext3_journal} (the kernel's
 * recovery reports {@code EFSBADCRC} after writing the rest), the good copies are written, the
 * journal emptied, needs_recovery cleared and the file system marked not clean
 * ({@code EXT2_VALID_FS} cleared, so the next e2fsck is a full one), and the failures reported.
 * Every target has been checked to be inside the file system before the first write.</li>
 * <li>a transaction whose commit block fails its checksum (the kernel refuses the mount): as
 * e2fsck, the transactions before it replayed and the file system marked with errors
 * ({@code EXT2_ERROR_FS}); so is an error the journal superblock records ({@code s_errno}).</li>
 * </ul>
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
                return orphans(out, sb);
            }
            JournalReplay.Plan plan = JournalReplay.plan(log, journal, sb.journalInum, sb.blocksCount);
            JournalReplay.Result r = plan.apply(dev);
            out.printf("replayed %d blocks of %d transactions (%d revoked); the journal is empty at sequence %d%n",
                    r.replayed(), r.transactions(), r.revokeHits(), r.nextSequence());
            if (plan.failedCommit() >= 0) {
                spec.commandLine().getErr().printf("ext4j recover: journal transaction %d is corrupt (its commit block"
                        + " fails its checksum): not replayed; the file system is marked with errors: run e2fsck -f%n",
                        plan.failedCommit());
            } else if (plan.recordsError()) {
                spec.commandLine().getErr().printf("ext4j recover: the journal recorded error %d: the file system is"
                        + " marked with errors: run e2fsck -f%n", log.header().errno());
            }
            if (plan.recordsError() && r.checksumFailures() == 0) {
                spec.commandLine().getErr().flush();
                out.flush();
                return Main.EXIT_CORRUPT;
            }
            if (r.checksumFailures() > 0) {
                for (JournalReplay.Failure f : plan.checksumFailures()) {
                    spec.commandLine().getErr().printf("ext4j recover: the copy of block %d at journal block %d"
                            + " (transaction %d) fails its checksum: not replayed%n", f.tag().fsBlock(),
                            f.tag().logBlock(), f.sequence());
                }
                spec.commandLine().getErr().printf("ext4j recover: %d logged blocks failed their checksums and were"
                        + " not replayed; the file system is marked not clean: run e2fsck -f%n", r.checksumFailures());
                spec.commandLine().getErr().flush();
                out.flush();
                return Main.EXIT_CORRUPT;
            }
        }
        out.flush();
        try (FileBlockDevice again = FileBlockDevice.openReadOnly(image)) {
            return orphans(out, org.ext4j.volume.Volume.readSuperblock(again));
        }
    }

    /** Frees the orphans {@code sb} lists (classic list or orphan file) through a read-write open; 0 on success. */
    private int orphans(PrintWriter out, Superblock sb) throws Exception {
        if (sb.lastOrphan == 0 && !sb.hasRoCompat(Features.RO_COMPAT_ORPHAN_PRESENT)) {
            return 0;
        }
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, org.ext4j.fs.WriteOptions.defaults())) {
            out.println("orphans processed (ext4_orphan_cleanup)");
        } catch (org.ext4j.error.UnsupportedFeatureException e) {
            spec.commandLine().getErr().println(Main.oneLine("ext4j recover: orphans left for the kernel or e2fsck: "
                    + e.getMessage()));
            spec.commandLine().getErr().flush();
        }
        out.flush();
        return 0;
    }
}
