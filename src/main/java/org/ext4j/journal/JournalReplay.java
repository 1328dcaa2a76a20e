package org.ext4j.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.blockdev.BlockDevice;
import org.ext4j.blockdev.OverlayBlockDevice;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.BlockMap;
import org.ext4j.format.Crc32c;
import org.ext4j.format.Features;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;

/**
 * Recovery as {@code jbd2_journal_recover} and e2fsck's {@code recover_ext3_journal} do it, after
 * {@link JournalLog}'s scan, in two steps so that a refusal writes nothing.
 *
 * <p>{@link #plan} decides everything and reads only: the revoke records of every accepted
 * transaction (a block revoked in transaction N is not replayed from N or an earlier one:
 * {@code PASS_REVOKE}; a revoke block whose {@code r_count} does not fit makes the whole recovery
 * fail, {@code EINVAL}, as there), then every logged copy in log order ({@code PASS_REPLAY}),
 * revoked ones counted as revoke hits, copies whose checksum (v2/v3) fails set aside as failures,
 * every target checked to be a block of the file system, the journal superblock's home found.
 * Any of these that fails is a {@link CorruptionException} and nothing has been written.
 *
 * <p>{@link Plan#apply} then writes: the good copies home (escaped ones given their magic back),
 * the journal marked empty (s_start 0, s_sequence one past the last transaction recovery looked
 * for, its checksum set) and the file system's needs_recovery cleared. Where copies failed their
 * checksums the caller chooses before calling it: a mount (the read-write open, the read-only
 * open's in-memory replay) refuses without writing anything, where the kernel would have written
 * the good copies and then failed the mount with {@code EFSBADCRC}; {@code ext4j recover} applies
 * it as e2fsck does (the good copies written, the journal emptied with its sequence left as it
 * was, needs_recovery cleared), and then, as {@code e2fsck_clear_recover(ctx, error)}, the file
 * system is marked not clean ({@code EXT2_VALID_FS} cleared) so that the next check is a full one.
 *
 * <p>A commit block that fails its checksum without async_commit ends the log before its
 * transaction and marks it failed ({@code j_failed_commit}): the kernel replays the rest and then
 * refuses the mount (EFSCORRUPTED), so a mount here refuses before writing; e2fsck replays the
 * rest and records the error, as {@code ext4j recover} does: the journal superblock's
 * {@code s_errno} (the kernel's record of an aborted journal, or e2fsck's EINVAL for the failed
 * commit) becomes {@code EXT2_ERROR_FS} in the file system's superblock and is cleared, as
 * {@code e2fsck_check_ext3_journal} does after recovery.
 */
public final class JournalReplay {
    /** What a replay did: copies written, copies skipped as revoked or for a bad checksum, the journal's new sequence. */
    public record Result(int transactions, int replayed, int revokeHits, int checksumFailures, long nextSequence) {
    }

    /** A logged copy that fails its checksum: the transaction that logs it and its tag. */
    public record Failure(long sequence, JournalLog.Tag tag) {
    }

    /**
     * Everything a replay will write, decided: the copies to write home in log order, the revoke
     * hits, the copies that fail their checksums (not written), the journal superblock's block.
     */
    public static final class Plan {
        private final JournalLog log;
        private final List<JournalLog.Tag> writes;
        private final int revokeHits;
        private final List<Failure> failures;
        private final long journalSuperblock;
        private final long ino;
        private final List<FastCommitLog.Tag> fastCommits;

        private Plan(JournalLog log, List<JournalLog.Tag> writes, int revokeHits, List<Failure> failures,
                long journalSuperblock, long ino, List<FastCommitLog.Tag> fastCommits) {
            this.ino = ino;
            this.fastCommits = fastCommits;
            this.log = log;
            this.writes = writes;
            this.revokeHits = revokeHits;
            this.failures = failures;
            this.journalSuperblock = journalSuperblock;
        }

        /**
         * {@code j_failed_commit} ({@link JournalLog#failedCommit}), or -1: a mount refuses the
         * file system, e2fsck replays what comes before it and records the error.
         */
        public long failedCommit() {
            return log.failedCommit();
        }

        /**
         * Whether the replay records an error in the file system ({@code EXT2_ERROR_FS}): a failed
         * commit, or an error the journal superblock already holds ({@code s_errno}), as e2fsck's
         * {@code e2fsck_check_ext3_journal} moves it there after recovery.
         */
        public boolean recordsError() {
            return log.failedCommit() >= 0 || log.header().errno() != 0;
        }

        /** The copies that fail their checksums ("JBD2: Invalid checksum recovering data block"). */
        public List<Failure> checksumFailures() {
            return failures;
        }

        /**
         * The sequence the emptied journal will start at: one past the last transaction recovery
         * looked for; where copies failed their checksums, the journal's own, as e2fsck leaves it
         * (its {@code recover_ext3_journal} skips setting {@code j_tail_sequence} when recovery
         * reports an error, and {@code e2fsck_journal_release} writes that back).
         */
        public long nextSequence() {
            return log.header().needsRecovery() && failures.isEmpty() ? log.endSequence() + 1 : log.header().sequence();
        }

        /**
         * Writes the plan onto {@code dev}: the good copies, the emptied journal superblock, the
         * file system superblock without needs_recovery (and, where copies failed their checksums,
         * without {@code EXT2_VALID_FS}, as e2fsck leaves it after a failed recovery); then flushes.
         */
        public Result apply(BlockDevice dev) throws IOException {
            JournalLog.Header h = log.header();
            int bs = h.blockSize();
            if (!fastCommits.isEmpty()) {
                // the fast commits are replayed over the full commits in memory first: one that
                // cannot be replayed here refuses before anything reaches the device
                OverlayBlockDevice overlay = new OverlayBlockDevice(dev, bs);
                Result r = applyTo(overlay, h, bs);
                for (Map.Entry<Long, byte[]> e : overlay.keptBlocks().entrySet()) {
                    dev.write(e.getKey() * bs, ByteBuffer.wrap(e.getValue()));
                }
                dev.flush();
                return r;
            }
            Result r = applyTo(dev, h, bs);
            dev.flush();
            return r;
        }

        /** The fast commits this plan replays after the full commits (records HEAD to TAIL, in order). */
        public List<FastCommitLog.Tag> fastCommits() {
            return fastCommits;
        }

        private Result applyTo(BlockDevice dev, JournalLog.Header h, int bs) throws IOException {
            for (JournalLog.Tag tag : writes) {
                dev.write(tag.fsBlock() * bs, ByteBuffer.wrap(log.copyOf(tag)));
            }
            FastCommitReplay.replay(dev, ino, fastCommits);
            // a clean log (s_start 0 under needs_recovery) is left as it is, as e2fsck leaves it,
            // but for the error it holds, which moves to the file system's superblock
            if (h.needsRecovery() || h.errno() != 0) {
                byte[] jsb = new byte[1024];
                dev.read(journalSuperblock * bs, ByteBuffer.wrap(jsb));
                ByteBuffer j = ByteBuffer.wrap(jsb).order(ByteOrder.BIG_ENDIAN);
                j.putInt(0x18, (int) nextSequence());
                j.putInt(0x1C, 0);
                j.putInt(0x20, 0); // s_errno
                if (h.csumV2or3()) {
                    j.putInt(0xFC, 0);
                    j.putInt(0xFC, Crc32c.update(~0, jsb, 0, jsb.length));
                }
                dev.write(journalSuperblock * bs, ByteBuffer.wrap(jsb));
            }
            byte[] sb = new byte[Superblock.SIZE];
            dev.read(Superblock.OFFSET, ByteBuffer.wrap(sb));
            Le.put32(sb, 0x60, Le.u32(sb, 0x60) & ~Features.INCOMPAT_RECOVER);
            if (!failures.isEmpty()) {
                Le.put16(sb, 0x3A, Le.u16(sb, 0x3A) & ~Superblock.STATE_VALID);
            }
            if (recordsError()) {
                Le.put16(sb, 0x3A, Le.u16(sb, 0x3A) | Superblock.STATE_ERROR);
            }
            Superblock.setChecksum(sb);
            dev.write(Superblock.OFFSET, ByteBuffer.wrap(sb));
            return new Result(log.transactions().size(), writes.size(), revokeHits, failures.size(), nextSequence());
        }
    }

    private JournalReplay() {
    }

    /**
     * Decides the replay of {@code log} (read from the journal in inode {@code journal}, number
     * {@code ino}) onto a file system of {@code blocksCount} blocks, reading only. A revoke block
     * that cannot be read in an accepted transaction, a copy of a block past the file system, or
     * a journal superblock not mapped inside it is a {@link CorruptionException}.
     */
    public static Plan plan(JournalLog log, Inode journal, long ino, long blocksCount) throws IOException {
        Map<Long, Long> revoked = new HashMap<>();
        for (JournalLog.Transaction t : log.transactions()) {
            if (t.revokeError() != null) {
                throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build(t.revokeError()
                        + " in transaction " + t.sequence() + ", which recovery replays: nothing can be replayed");
            }
            for (long b : t.revoked()) {
                revoked.merge(b, t.sequence(), Math::max);
            }
            for (JournalLog.Tag tag : t.tags()) {
                if (tag.fsBlock() >= blocksCount) {
                    throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).block(tag.fsBlock())
                            .build("journal block " + tag.logBlock() + " of transaction " + t.sequence()
                                    + " is a copy of block " + tag.fsBlock() + ", past the file system's " + blocksCount);
                }
            }
        }
        BlockMap.Mapping home = journal.blockMap().map(0, 1);
        if (home.state() != BlockMap.State.WRITTEN || home.physical() <= 0 || home.physical() >= blocksCount) {
            throw CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("the journal superblock is not mapped");
        }
        List<JournalLog.Tag> writes = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        int hits = 0;
        for (JournalLog.Transaction t : log.transactions()) {
            for (JournalLog.Tag tag : t.tags()) {
                Long r = revoked.get(tag.fsBlock());
                if (r != null && t.sequence() <= r) {
                    hits++; // jbd2_journal_test_revoke comes before the checksum, as in do_one_pass
                } else if (!tag.checksumOk()) {
                    failures.add(new Failure(t.sequence(), tag));
                } else {
                    writes.add(tag);
                }
            }
        }
        List<FastCommitLog.Tag> fc = FastCommitLog.scan(log, ino);
        return new Plan(log, List.copyOf(writes), hits, List.copyOf(failures), home.physical(), ino, fc);
    }

    /**
     * Replays {@code log} onto {@code dev} as e2fsck does ({@link #plan}, then {@link Plan#apply}
     * whatever failed its checksum): what {@code ext4j recover} runs.
     */
    public static Result replay(JournalLog log, Inode journal, long ino, BlockDevice dev, long blocksCount) throws IOException {
        return plan(log, journal, ino, blocksCount).apply(dev);
    }
}
