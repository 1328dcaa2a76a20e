package org.ext4j.journal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Crc32c;
import org.ext4j.format.Le;

/**
 * The fast-commit area of a jbd2 journal as recovery's scan reads it (e2fsck's and the kernel's
 * {@code ext4_fc_replay_scan}, called block after block by {@code fc_do_one_pass}): journal blocks
 * {@code j_last + 1} to {@code s_maxlen}, each a run of tag-length-value records (little-endian
 * {@code fc_tag}, {@code fc_len}). A fast commit is HEAD (features, tid), its tags, then TAIL (tid,
 * crc32c of every record since the HEAD up to the TAIL's crc); the tags of the fast commits whose
 * TAIL checks out, and whose tid is the one after the last full commit ({@code end_transaction}),
 * are the ones replayed. The scan stops at the first block that does not begin with HEAD, at the
 * first bad TAIL or unknown tag once a fast commit has checked out; before one has, a bad TAIL
 * ({@code EFSBADCRC}), an unknown tag ({@code ECANCELED}), a HEAD of another tid ({@code EINVAL})
 * or with features ({@code EOPNOTSUPP}) make the whole recovery fail, as they do in e2fsck 1.47.
 */
public final class FastCommitLog {
    public static final int TAG_ADD_RANGE = 1;
    public static final int TAG_DEL_RANGE = 2;
    public static final int TAG_CREAT = 3;
    public static final int TAG_LINK = 4;
    public static final int TAG_UNLINK = 5;
    public static final int TAG_INODE = 6;
    public static final int TAG_PAD = 7;
    public static final int TAG_TAIL = 8;
    public static final int TAG_HEAD = 9;

    /** One record to replay: its tag, its value, the journal block it is in. */
    public record Tag(int tag, byte[] value, long logBlock) {
    }

    private FastCommitLog() {
    }

    /** The name {@code debugfs logdump} gives a tag. */
    public static String name(int tag) {
        return switch (tag) {
            case TAG_ADD_RANGE -> "ADD_RANGE";
            case TAG_DEL_RANGE -> "DEL_RANGE";
            case TAG_CREAT -> "CREAT_DENTRY";
            case TAG_LINK -> "LINK";
            case TAG_UNLINK -> "DEL_ENTRY";
            case TAG_INODE -> "INODE";
            case TAG_PAD -> "PAD";
            case TAG_TAIL -> "TAIL";
            case TAG_HEAD -> "HEAD";
            default -> "tag " + tag;
        };
    }

    /**
     * The records of the fast commits to replay after {@code log}'s transactions, in order (HEAD,
     * PAD and TAIL included, as the replay counts them), or an empty list. A fast commit area that
     * makes recovery fail is a {@link CorruptionException} naming why.
     */
    public static List<Tag> scan(JournalLog log, long ino) throws IOException {
        JournalLog.Header h = log.header();
        if ((h.incompat() & JournalLog.INCOMPAT_FAST_COMMIT) == 0 || !h.needsRecovery()) {
            return List.of();
        }
        long expectedTid = log.endSequence() & 0xFFFFFFFFL;
        int bs = h.blockSize();
        List<Tag> all = new ArrayList<>();
        int replayNumTags = 0;
        int curTag = 0;
        int crc = 0;
        int expectedOff = 0;
        for (long blk = h.last() + 1; blk <= h.maxLen(); blk++) {
            byte[] b = log.blockOrNull(blk);
            if (b == null) {
                break; // jread fails past the journal: the scan ends there
            }
            int off = (int) (blk - h.last() - 1);
            if (expectedOff == 0) {
                all.clear();
                replayNumTags = 0;
                curTag = 0;
                crc = 0;
                if (Le.u16(b, 0) != TAG_HEAD) {
                    break; // "not a head tag": JBD2_FC_REPLAY_STOP
                }
            }
            if (off != expectedOff) {
                throw fail(ino, blk, "fast commit block out of order (EFSCORRUPTED)");
            }
            expectedOff++;
            boolean stop = false;
            for (int cur = 0; cur < bs - 1; ) {
                int tag = Le.u16(b, cur);
                int len = Le.u16(b, cur + 2);
                if (cur + 4 + len > bs) {
                    len = Math.max(0, bs - cur - 4); // a record running past the block: what is there
                }
                byte[] val = java.util.Arrays.copyOfRange(b, cur + 4, cur + 4 + len);
                switch (tag) {
                    case TAG_ADD_RANGE, TAG_DEL_RANGE, TAG_LINK, TAG_UNLINK, TAG_CREAT, TAG_INODE, TAG_PAD -> {
                        curTag++;
                        crc = Crc32c.update(crc, b, cur, 4 + len);
                        all.add(new Tag(tag, val, blk));
                    }
                    case TAG_TAIL -> {
                        curTag++;
                        crc = Crc32c.update(crc, b, cur, 8);
                        all.add(new Tag(tag, val, blk));
                        long tid = Le.u32(b, cur + 4);
                        long tailCrc = Le.u32(b, cur + 8);
                        if (tid == expectedTid && tailCrc == (crc & 0xFFFFFFFFL)) {
                            replayNumTags = curTag;
                        } else if (replayNumTags > 0) {
                            stop = true;
                        } else {
                            throw fail(ino, blk, "fast commit TAIL of tid " + tid + " fails its checksum or is not"
                                    + " tid " + expectedTid + " (EFSBADCRC)");
                        }
                        crc = 0;
                    }
                    case TAG_HEAD -> {
                        long features = Le.u32(b, cur + 4);
                        long tid = Le.u32(b, cur + 8);
                        if (features != 0) {
                            throw fail(ino, blk, "fast commit HEAD with features " + features + " (EOPNOTSUPP)");
                        }
                        if (tid != expectedTid) {
                            throw fail(ino, blk, "fast commit HEAD of tid " + tid + " where recovery expects "
                                    + expectedTid + " (EINVAL)");
                        }
                        curTag++;
                        crc = Crc32c.update(crc, b, cur, 4 + len);
                        all.add(new Tag(tag, val, blk));
                    }
                    default -> {
                        if (replayNumTags > 0) {
                            stop = true;
                        } else {
                            throw fail(ino, blk, "unknown fast commit tag " + tag + " (ECANCELED)");
                        }
                    }
                }
                if (stop) {
                    break;
                }
                cur += 4 + Le.u16(b, cur + 2);
            }
            if (stop) {
                break;
            }
        }
        return List.copyOf(all.subList(0, replayNumTags));
    }

    private static CorruptionException fail(long ino, long blk, String what) {
        return CorruptionException.of(Kind.BAD_JOURNAL).inode(ino)
                .build("journal block " + blk + ": " + what + ": recovery fails");
    }
}
