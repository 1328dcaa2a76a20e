package org.ext4j.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Crc32c;
import org.ext4j.inode.Inode;

/**
 * The log of a jbd2 journal as recovery reads it ({@code fs/jbd2/recovery.c}, {@code do_one_pass}
 * with {@code PASS_SCAN}, and the revoke records {@code PASS_REVOKE} collects): from the journal
 * superblock's {@code s_start} and {@code s_sequence}, block after block, wrapping from the end of
 * the log back to {@code s_first}, until a block is not a journal block of the expected sequence.
 * Descriptor blocks list the file system blocks whose copies follow them (tags of 8 to 16 bytes as
 * the features say, an escaped block marked), commit blocks end a transaction, revoke blocks list
 * blocks an older copy of which must not be replayed. With checksums v2 or v3, a descriptor or
 * revoke block whose checksum fails makes the commit time decide, and a commit block whose checksum
 * fails ends the log before its transaction, as the kernel decides; checksum v1 (the whole
 * transaction's crc32) is not checked. A revoke block whose {@code r_count} does not fit is not an
 * error of the scan (the kernel reads revoke records only in {@code PASS_REVOKE}, of the
 * transactions the scan accepted): it stays with its transaction, for the replay to raise. Nothing is written: this is what {@code ext4j journal} lists
 * and what a replay will apply.
 */
public final class JournalLog {
    /** {@code JBD2_MAGIC_NUMBER}. */
    public static final int MAGIC = 0xC03B3998;
    public static final int DESCRIPTOR_BLOCK = 1;
    public static final int COMMIT_BLOCK = 2;
    public static final int SUPERBLOCK_V1 = 3;
    public static final int SUPERBLOCK_V2 = 4;
    public static final int REVOKE_BLOCK = 5;
    public static final int INCOMPAT_REVOKE = 0x1;
    public static final int INCOMPAT_64BIT = 0x2;
    public static final int INCOMPAT_ASYNC_COMMIT = 0x4;
    public static final int INCOMPAT_CSUM_V2 = 0x8;
    public static final int INCOMPAT_CSUM_V3 = 0x10;
    public static final int INCOMPAT_FAST_COMMIT = 0x20;
    public static final int COMPAT_CHECKSUM = 0x1;
    static final int FLAG_ESCAPE = 0x1;
    static final int FLAG_SAME_UUID = 0x2;
    static final int FLAG_LAST_TAG = 0x8;
    /** {@code JBD2_DEFAULT_FAST_COMMIT_BLOCKS}: the fast-commit area when {@code s_num_fc_blks} is 0. */
    public static final int DEFAULT_FAST_COMMIT_BLOCKS = 256;

    /** One logged copy: file system block {@code fsBlock}, its copy at {@code logBlock} of the journal. */
    public record Tag(long fsBlock, long logBlock, int flags, boolean checksumOk) {
        public boolean escaped() {
            return (flags & FLAG_ESCAPE) != 0;
        }
    }

    /** A block of the log: its position and type (descriptor, commit or revoke). */
    public record LogBlock(long logBlock, int type) {
    }

    /**
     * A committed transaction: its sequence, the log blocks that make it up, the copies it logs,
     * the blocks it revokes, its commit time (seconds and nanoseconds; 0 for commit blocks that
     * carry none), and {@code revokeError}: null, or why one of its revoke blocks cannot be read
     * (an {@code r_count} past the block). The scan keeps that error with the transaction instead
     * of stopping, as the kernel reads revoke records only in {@code PASS_REVOKE}, of the
     * transactions the scan accepted: a transaction the log ends before never raises it, an
     * accepted one makes recovery fail ({@code EINVAL}) before anything is replayed.
     */
    public record Transaction(long sequence, List<LogBlock> blocks, List<Tag> tags, List<Long> revoked,
            long commitSeconds, int commitNanos, String revokeError) {
    }

    /**
     * The journal superblock's fields (big-endian on disk): those reading the log needs, and those
     * {@code dumpe2fs -h} lists ({@code s_nr_users}, {@code s_num_fc_blks} as stored, {@code
     * s_checksum}, the 768 bytes of {@code s_users}: read whatever the version, as dumpe2fs reads
     * them; the feature words of a v1 superblock are 0, as jbd2 reads them).
     */
    public record Header(int blockType, int blockSize, long maxLen, long first, long sequence, long start,
            int errno, int compat, int incompat, int roCompat, byte[] uuid, int checksumType, long fastCommitBlocks,
            long nrUsers, long numFcBlocks, int checksum, byte[] users) {
        /** {@code JBD2_USERS_MAX}. */
        public static final int USERS_MAX = 48;

        /** Decodes the first 1,024 bytes of a journal superblock, checking nothing. */
        public static Header decode(byte[] raw) {
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN);
            int type = b.getInt(0x4);
            boolean v2 = type == SUPERBLOCK_V2;
            int incompat = v2 ? b.getInt(0x28) : 0;
            long fc = 0;
            if ((incompat & INCOMPAT_FAST_COMMIT) != 0) {
                long v = Integer.toUnsignedLong(b.getInt(0x54));
                fc = v == 0 ? DEFAULT_FAST_COMMIT_BLOCKS : v;
            }
            byte[] uuid = java.util.Arrays.copyOfRange(raw, 0x30, 0x40);
            return new Header(type, b.getInt(0xC), Integer.toUnsignedLong(b.getInt(0x10)),
                    Integer.toUnsignedLong(b.getInt(0x14)), Integer.toUnsignedLong(b.getInt(0x18)),
                    Integer.toUnsignedLong(b.getInt(0x1C)), b.getInt(0x20), v2 ? b.getInt(0x24) : 0, incompat,
                    v2 ? b.getInt(0x2C) : 0, uuid, raw[0x50] & 0xFF, fc,
                    Integer.toUnsignedLong(b.getInt(0x40)), Integer.toUnsignedLong(b.getInt(0x54)), b.getInt(0xFC),
                    java.util.Arrays.copyOfRange(raw, 0x100, 0x400));
        }

        public boolean has64bit() {
            return (incompat & INCOMPAT_64BIT) != 0;
        }

        public boolean csumV2or3() {
            return (incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3)) != 0;
        }

        /** Whether the journal holds transactions to replay ({@code s_start} not 0). */
        public boolean needsRecovery() {
            return start != 0;
        }

        /** {@code j_last}: the end of the log proper (the fast-commit area, if any, follows it). */
        public long last() {
            return maxLen - fastCommitBlocks;
        }

        /** {@code journal_tag_bytes}. */
        int tagBytes() {
            if ((incompat & INCOMPAT_CSUM_V3) != 0) {
                return 16;
            }
            int sz = 12;
            if ((incompat & INCOMPAT_CSUM_V2) != 0) {
                sz += 2;
            }
            return has64bit() ? sz : sz - 4;
        }
    }

    private final Inode journal;
    private final long ino;
    private final Header header;
    private final int bs;
    private final int seed;
    private final List<Transaction> transactions = new ArrayList<>();
    private String end = "";
    private long endSequence;
    private long failedCommit = -1;
    /** Past {@code info->end_transaction} (an async commit failed its checksum): scanned, not replayed. */
    private boolean pastEnd;

    private JournalLog(Inode journal, long ino, Header header) {
        this.journal = journal;
        this.ino = ino;
        this.header = header;
        this.bs = header.blockSize;
        this.seed = Crc32c.update(~0, header.uuid, 0, header.uuid.length);
    }

    /**
     * Reads the log of the journal in inode {@code journal} (number {@code ino}, for messages):
     * its superblock, then, when it needs recovery, every committed transaction. A superblock that
     * is not one, or a log that points outside the journal, is a {@link CorruptionException}
     * naming the journal block.
     */
    public static JournalLog read(Inode journal, long ino, int fsBlockSize) throws IOException {
        byte[] raw = new byte[1024];
        if (journal.read(0, raw, 0, raw.length) != raw.length) {
            throw error(ino, 0, "the journal superblock is cut short");
        }
        Header h = Header.decode(raw);
        if (ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN).getInt(0) != MAGIC
                || (h.blockType != SUPERBLOCK_V1 && h.blockType != SUPERBLOCK_V2) || h.blockSize != fsBlockSize) {
            throw error(ino, 0, "not a journal superblock (magic, block type " + h.blockType + ", block size "
                    + h.blockSize + ")");
        }
        long blocks = journal.size() / fsBlockSize;
        if (h.maxLen > blocks || h.first == 0 || h.first >= h.last() || h.last() <= h.first) {
            throw error(ino, 0, "s_first " + h.first + " and s_maxlen " + h.maxLen + " do not fit the journal's "
                    + blocks + " blocks");
        }
        JournalLog log = new JournalLog(journal, ino, h);
        log.endSequence = h.sequence;
        if (h.needsRecovery()) {
            if (h.start < h.first || h.start >= h.last()) {
                throw error(ino, 0, "s_start " + h.start + " is outside the log (" + h.first + ".." + (h.last() - 1) + ")");
            }
            log.scan();
        }
        return log;
    }

    private static CorruptionException error(long ino, long logBlock, String what) {
        return CorruptionException.of(Kind.BAD_JOURNAL).inode(ino).build("journal block " + logBlock + ": " + what);
    }

    public Header header() {
        return header;
    }

    /** The committed transactions, oldest first: what a replay applies. */
    public List<Transaction> transactions() {
        return transactions;
    }

    /**
     * {@code info->end_transaction}: the sequence recovery stopped at (the first not committed, or
     * the one whose commit failed its checksum); the journal's superblock sequence when clean.
     */
    public long endSequence() {
        return endSequence;
    }

    /**
     * {@code j_failed_commit}: the transaction whose commit block failed its checksum, without
     * async_commit, or -1. The log ends before it; the kernel then refuses the mount
     * ({@code jbd2_journal_load}: "journal transaction N is corrupt", EFSCORRUPTED) after replaying
     * the rest, e2fsck replays the rest and records the error in the file system.
     */
    public long failedCommit() {
        return failedCommit;
    }

    /** Why the scan stopped, as recovery would say it. */
    public String end() {
        return end;
    }

    /** The logged copy {@code t} as it goes home: its first word given back the magic where it was escaped. */
    public byte[] copyOf(Tag t) throws IOException {
        byte[] b = block(t.logBlock());
        if (t.escaped()) {
            ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).putInt(0, MAGIC);
        }
        return b;
    }

    /** Block {@code logBlock} of the journal, or null past its end ({@code jread} failing). */
    byte[] blockOrNull(long logBlock) throws IOException {
        byte[] b = new byte[bs];
        return journal.read(logBlock * bs, b, 0, bs) == bs ? b : null;
    }

    private byte[] block(long logBlock) throws IOException {
        byte[] b = new byte[bs];
        if (journal.read(logBlock * bs, b, 0, bs) != bs) {
            throw error(ino, logBlock, "cut short");
        }
        return b;
    }

    private long wrap(long b) {
        return b >= header.last() ? b - (header.last() - header.first) : b;
    }

    /** Records why the log ended, unless it already ended before an async commit that failed its checksum. */
    private void ended(String why) {
        if (!pastEnd) {
            end = why;
        }
    }

    /** {@code do_one_pass(PASS_SCAN)}, collecting each transaction's tags and revokes on the way. */
    private void scan() throws IOException {
        long next = header.start;
        long sequence = header.sequence;
        long lastCommitTime = 0;
        boolean checkCommitTime = false;
        List<LogBlock> blocks = new ArrayList<>();
        List<Tag> tags = new ArrayList<>();
        List<Long> revoked = new ArrayList<>();
        String revokeError = null;
        long steps = 0;
        while (true) {
            if (++steps > header.maxLen * 2) {
                throw error(ino, next, "the log goes round more than twice without ending");
            }
            long here = next;
            byte[] b = block(here);
            next = wrap(next + 1);
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
            if (!pastEnd) {
                endSequence = sequence;
            }
            if (bb.getInt(0) != MAGIC) {
                ended("no journal magic at block " + here + ": end of the log");
                return;
            }
            int type = bb.getInt(4);
            long seq = Integer.toUnsignedLong(bb.getInt(8));
            if (seq != sequence) {
                ended("block " + here + " is of sequence " + seq + ", not the expected " + sequence + ": end of the log");
                return;
            }
            switch (type) {
                case DESCRIPTOR_BLOCK -> {
                    if (header.csumV2or3() && !tailOk(b)) {
                        checkCommitTime = true; // maybe a stale block of an older pass round the log
                    }
                    blocks.add(new LogBlock(here, type));
                    next = tags(b, next, seq, tags, here);
                }
                case COMMIT_BLOCK -> {
                    long commitSec = bb.getLong(0x30);
                    int commitNsec = bb.getInt(0x38);
                    if (checkCommitTime) {
                        if (Long.compareUnsigned(commitSec, lastCommitTime) >= 0) {
                            throw error(ino, here, "a descriptor or revoke block of transaction " + seq
                                    + " fails its checksum (EFSBADCRC)");
                        }
                        ended("transaction " + seq + " fails its checksums and is older than the last: stale, end of the log");
                        return;
                    }
                    if (header.csumV2or3() && !commitOk(b)) {
                        if (Long.compareUnsigned(commitSec, lastCommitTime) < 0) {
                            ended("transaction " + seq + " fails its commit checksum and is older than the last: stale, end of the log");
                            return;
                        }
                        if ((header.incompat & INCOMPAT_ASYNC_COMMIT) == 0) {
                            failedCommit = seq;
                            ended("the commit block of transaction " + seq + " at block " + here
                                    + " fails its checksum: the log ends before it, and the transaction is corrupt");
                            return;
                        }
                        if (!pastEnd) {
                            // async commit: the log ends before this transaction, but the scan reads
                            // on (a later damaged descriptor can still fail the recovery)
                            pastEnd = true;
                            endSequence = seq;
                            end = "the commit block of transaction " + seq + " at block " + here
                                    + " fails its checksum (async commit): the log ends before it";
                        }
                    }
                    lastCommitTime = commitSec;
                    blocks.add(new LogBlock(here, type));
                    if (!pastEnd) {
                        transactions.add(new Transaction(seq, List.copyOf(blocks), List.copyOf(tags),
                                List.copyOf(revoked), commitSec, commitNsec, revokeError));
                    }
                    blocks.clear();
                    tags.clear();
                    revoked.clear();
                    revokeError = null;
                    sequence++;
                    if (!pastEnd) {
                        endSequence = sequence;
                    }
                }
                case REVOKE_BLOCK -> {
                    if (header.csumV2or3() && !tailOk(b)) {
                        checkCommitTime = true;
                    }
                    blocks.add(new LogBlock(here, type));
                    String bad = revokes(bb, here, revoked);
                    if (revokeError == null) {
                        revokeError = bad;
                    }
                }
                default -> {
                    ended("block " + here + " is of unknown type " + type + ": end of the log");
                    return;
                }
            }
        }
    }

    /** {@code jbd2_descriptor_block_csum_verify}: crc32c of the block with its tail zeroed. */
    private boolean tailOk(byte[] b) {
        int provided = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).getInt(bs - 4);
        int crc = Crc32c.update(seed, b, 0, bs - 4);
        crc = Crc32c.updateZeros(crc, 4);
        return crc == provided;
    }

    /** {@code jbd2_commit_block_csum_verify}: crc32c of the block with h_chksum[0] zeroed. */
    private boolean commitOk(byte[] b) {
        int provided = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).getInt(0x10);
        int crc = Crc32c.update(seed, b, 0, 0x10);
        crc = Crc32c.updateZeros(crc, 4);
        crc = Crc32c.update(crc, b, 0x14, bs - 0x14);
        return crc == provided;
    }

    /** The tags of a descriptor block ({@code count_tags}); returns the log block after its copies. */
    private long tags(byte[] b, long next, long seq, List<Tag> out, long here) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
        int tagBytes = header.tagBytes();
        int size = bs - (header.csumV2or3() ? 4 : 0);
        boolean v3 = (header.incompat & INCOMPAT_CSUM_V3) != 0;
        boolean v2 = (header.incompat & INCOMPAT_CSUM_V2) != 0;
        int p = 12;
        while (p + tagBytes <= size) {
            long lo = Integer.toUnsignedLong(bb.getInt(p));
            int flags = v3 ? bb.getInt(p + 4) : Short.toUnsignedInt(bb.getShort(p + 6));
            long hi = header.has64bit() ? Integer.toUnsignedLong(bb.getInt(v3 ? p + 8 : p + 8)) : 0;
            long fsBlock = lo | hi << 32;
            long copyAt = next;
            boolean ok = true;
            if (v2 || v3) {
                byte[] copy = block(copyAt);
                byte[] s = {(byte) (seq >>> 24), (byte) (seq >>> 16), (byte) (seq >>> 8), (byte) seq};
                int crc = Crc32c.update(Crc32c.update(seed, s, 0, 4), copy, 0, bs);
                ok = v3 ? bb.getInt(p + 12) == crc : Short.toUnsignedInt(bb.getShort(p + 4)) == (crc & 0xFFFF);
            }
            out.add(new Tag(fsBlock, copyAt, flags, ok));
            next = wrap(next + 1);
            p += tagBytes;
            if ((flags & FLAG_SAME_UUID) == 0) {
                p += 16;
            }
            if ((flags & FLAG_LAST_TAG) != 0) {
                break;
            }
        }
        return next;
    }

    /**
     * {@code scan_revoke_records}: the records of the revoke block at {@code here}, added to
     * {@code out}; or, when its {@code r_count} (bytes used, header included) is past the block
     * (its checksum tail excluded), none and the reason, which the caller keeps with the
     * transaction. An {@code r_count} under the header's 16 bytes holds no record, as the kernel
     * reads it.
     */
    private String revokes(ByteBuffer bb, long here, List<Long> out) {
        long count = Integer.toUnsignedLong(bb.getInt(12));
        int csumSize = header.csumV2or3() ? 4 : 0;
        if (count > bs - csumSize) {
            return "journal block " + here + ": revoke block r_count " + count + " does not fit the block of "
                    + (bs - csumSize) + " bytes (EINVAL)";
        }
        int record = header.has64bit() ? 8 : 4;
        for (int off = 16; off + record <= count; off += record) {
            out.add(record == 8 ? bb.getLong(off) : Integer.toUnsignedLong(bb.getInt(off)));
        }
        return null;
    }
}
