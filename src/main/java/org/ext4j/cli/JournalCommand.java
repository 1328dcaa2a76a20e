package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Features;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.inode.Inode;
import org.ext4j.journal.JournalLog;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j journal IMAGE}: the journal's state and the transactions recovery would replay, as
 * {@code debugfs -R logdump} lists them (with {@code -a}, every logged and revoked block). Reads
 * only; exit 1 when the journal's own blocks are damaged, 3 for an external journal.
 */
@Command(name = "journal", description = "List the journal's transactions and blocks (like debugfs logdump).")
final class JournalCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Option(names = {"-a", "--all"}, description = "List every block each transaction logs or revokes.")
    boolean all;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ImageOpener.checkImage(image, false);
        try (Ext4FileSystem fs = Ext4FileSystem.open(image, OpenOptions.readOnlyDefaults().withoutRecovery())) {
            Superblock sb = fs.superblock();
            Inode inode = journalInode(fs);
            if (inode == null) {
                out.println("no journal (has_journal is not set)");
                out.flush();
                return 0;
            }
            JournalLog log = JournalLog.read(inode, sb.journalInum, sb.blockSize);
            JournalLog.Header h = log.header();
            out.printf("Journal inode %d: %d blocks of %d bytes, log blocks %d..%d, features %s%n", sb.journalInum,
                    h.maxLen(), h.blockSize(), h.first(), h.last() - 1, features(h));
            if (!h.needsRecovery()) {
                out.printf("Journal is clean: nothing to replay, next transaction %d%n", h.sequence());
            } else {
                out.printf("Journal starts at block %d, transaction %d%n", h.start(), h.sequence());
                for (JournalLog.Transaction t : log.transactions()) {
                    long descriptors = t.blocks().stream().filter(b -> b.type() == JournalLog.DESCRIPTOR_BLOCK).count();
                    long commit = t.blocks().get(t.blocks().size() - 1).logBlock();
                    out.printf("Transaction %d: %d blocks logged under %d descriptor block%s, %d revoked, commit at block %d"
                            + " (%s)%n", t.sequence(), t.tags().size(), descriptors, descriptors == 1 ? "" : "s",
                            t.revoked().size(), commit, commitTime(t));
                    if (t.revokeError() != null) {
                        out.printf("  %s: recovery fails on it%n", t.revokeError());
                    }
                    if (all) {
                        for (JournalLog.Tag tag : t.tags()) {
                            out.printf("  FS block %d logged at journal block %d (flags 0x%x)%s%n", tag.fsBlock(),
                                    tag.logBlock(), tag.flags(), tag.checksumOk() ? "" : " checksum mismatch");
                        }
                        for (long r : t.revoked()) {
                            out.printf("  Revoke FS block %d%n", r);
                        }
                    }
                }
                out.printf("%d transaction%s to replay; %s%n", log.transactions().size(),
                        log.transactions().size() == 1 ? "" : "s", log.end());
            }
        }
        out.flush();
        return 0;
    }

    /** The journal's inode, null without has_journal; an external journal is refused by name (exit 3). */
    static Inode journalInode(Ext4FileSystem fs) throws java.io.IOException {
        Superblock sb = fs.superblock();
        if (!sb.hasCompat(Features.COMPAT_HAS_JOURNAL)) {
            return null;
        }
        if (sb.journalInum == 0) {
            throw new UnsupportedFeatureException("journal_dev", "an external journal is not read");
        }
        return Inode.load(fs.volume(), sb.journalInum);
    }

    private static String features(JournalLog.Header h) {
        List<String> f = new ArrayList<>();
        if ((h.incompat() & JournalLog.INCOMPAT_REVOKE) != 0) {
            f.add("journal_incompat_revoke");
        }
        if (h.has64bit()) {
            f.add("journal_64bit");
        }
        if ((h.incompat() & JournalLog.INCOMPAT_ASYNC_COMMIT) != 0) {
            f.add("journal_async_commit");
        }
        if ((h.incompat() & JournalLog.INCOMPAT_CSUM_V2) != 0) {
            f.add("journal_checksum_v2");
        }
        if ((h.incompat() & JournalLog.INCOMPAT_CSUM_V3) != 0) {
            f.add("journal_checksum_v3");
        }
        if ((h.incompat() & JournalLog.INCOMPAT_FAST_COMMIT) != 0) {
            f.add("fast_commit");
        }
        if ((h.compat() & JournalLog.COMPAT_CHECKSUM) != 0) {
            f.add("journal_checksum");
        }
        return f.isEmpty() ? "(none)" : String.join(" ", f);
    }

    /** The commit time as an instant; a damaged block's seconds past what an instant holds, as the raw number. */
    private static String commitTime(JournalLog.Transaction t) {
        long sec = t.commitSeconds();
        if (sec < Instant.MIN.getEpochSecond() || sec > Instant.MAX.getEpochSecond()) {
            return "commit time " + Long.toUnsignedString(sec) + " s";
        }
        return Instant.ofEpochSecond(sec, Integer.toUnsignedLong(t.commitNanos()) % 1_000_000_000L).toString();
    }
}
