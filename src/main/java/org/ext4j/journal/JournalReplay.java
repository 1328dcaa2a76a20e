package org.ext4j.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import org.ext4j.blockdev.BlockDevice;
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
 * {@link JournalLog}'s scan: the revoke records of every committed transaction (a block revoked in
 * transaction N is not replayed from N or an earlier one: {@code PASS_REVOKE}), then every logged
 * copy written home in log order ({@code PASS_REPLAY}), escaped copies given their magic back, a
 * copy whose checksum (v2/v3) fails skipped and counted as the kernel does; then the journal is
 * marked empty (s_start 0, s_sequence one past the last transaction recovery looked for, its
 * checksum set) and the file system's needs_recovery flag cleared. Every target is checked to be
 * a block of the file system before anything is written.
 */
public final class JournalReplay {
    /** What a replay did: copies written, copies skipped as revoked or for a bad checksum, the journal's new sequence. */
    public record Result(int transactions, int replayed, int revokeHits, int checksumFailures, long nextSequence) {
    }

    private JournalReplay() {
    }

    /**
     * Replays {@code log} (read from the journal in inode {@code journal}) onto {@code dev}, a file
     * system of {@code blocksCount} blocks, then empties the journal and clears needs_recovery.
     */
    public static Result replay(JournalLog log, Inode journal, long ino, BlockDevice dev, long blocksCount) throws IOException {
        JournalLog.Header h = log.header();
        int bs = h.blockSize();
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
        int replayed = 0;
        int hits = 0;
        int failures = 0;
        for (JournalLog.Transaction t : log.transactions()) {
            for (JournalLog.Tag tag : t.tags()) {
                Long r = revoked.get(tag.fsBlock());
                if (r != null && t.sequence() <= r) {
                    hits++;
                    continue;
                }
                if (!tag.checksumOk()) {
                    failures++; // "JBD2: Invalid checksum recovering data block": skipped, recovery reports it
                    continue;
                }
                dev.write(tag.fsBlock() * bs, ByteBuffer.wrap(log.copyOf(tag)));
                replayed++;
            }
        }
        long next = h.sequence();
        if (h.needsRecovery()) { // a clean log (s_start 0 under needs_recovery) is left as it is, as e2fsck leaves it
            next = log.endSequence() + 1;
            byte[] jsb = new byte[1024];
            dev.read(home.physical() * bs, ByteBuffer.wrap(jsb));
            ByteBuffer j = ByteBuffer.wrap(jsb).order(ByteOrder.BIG_ENDIAN);
            j.putInt(0x18, (int) next);
            j.putInt(0x1C, 0);
            if (h.csumV2or3()) {
                j.putInt(0xFC, 0);
                j.putInt(0xFC, Crc32c.update(~0, jsb, 0, jsb.length));
            }
            dev.write(home.physical() * bs, ByteBuffer.wrap(jsb));
        }
        byte[] sb = new byte[Superblock.SIZE];
        dev.read(Superblock.OFFSET, ByteBuffer.wrap(sb));
        Le.put32(sb, 0x60, Le.u32(sb, 0x60) & ~Features.INCOMPAT_RECOVER);
        Superblock.setChecksum(sb);
        dev.write(Superblock.OFFSET, ByteBuffer.wrap(sb));
        dev.flush();
        return new Result(log.transactions().size(), replayed, hits, failures, next);
    }
}
