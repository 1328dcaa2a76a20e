package org.ext4j.race;

import static org.ext4j.interleave.Interleave.DA_AFTER_LOOKUP1;
import static org.ext4j.interleave.Interleave.WRITEBACK_AFTER_SUBMIT;
import static org.ext4j.interleave.Interleave.WRITEBACK_BEFORE_CONVERT;
import static org.ext4j.interleave.Interleave.WRITE_AFTER_BEGIN;
import static org.ext4j.interleave.Interleave.WRITE_AFTER_VALID;
import static org.ext4j.race.RaceRun.filled;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

import org.ext4j.fs.Ext4File;
import org.ext4j.interleave.Interleave;
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.race.Scheduler.Actor;

/**
 * The races of docs/RACES.md as deterministic replays on a real image: each scenario sets a file up,
 * drives its actors point by point with the {@link Scheduler}, tells what happens as it goes, and
 * states the bytes the file must hold. With every protection in force the data is preserved; with
 * one of the protections a scenario {@linkplain Scenario#covers covers} switched off, the replay
 * shows the corruption that protection prevents.
 *
 * <p>B is the block size; folios are one block unless a scenario says otherwise. Writers that hold
 * the inode writer lock use {@link Ext4File#pwrite}; a writer without it (the kernel's
 * {@code page_mkwrite}) stores through the mapping layer ({@link RaceRun#storeWithoutInodeLock}).
 */
public final class Scenarios {
    private Scenarios() {
    }

    /** A scenario's body: sets up, drives the actors, and returns the bytes the file must hold. */
    @FunctionalInterface
    interface Body {
        byte[] run(RaceRun r) throws Exception;
    }

    /** One race of docs/RACES.md. */
    public record Scenario(String id, String title, List<Protection> covers, int folioBlocks, Body body) {
        /**
         * Replays the scenario on a fresh copy of {@code image} with the protections in
         * {@code without} switched off (and back on afterwards), printing the story to {@code log}.
         */
        public RaceRun.Verdict replay(RaceImage image, List<Protection> without, Consumer<String> log) throws Exception {
            return replay(image, without, log, bytes -> { });
        }

        /** As {@link #replay(RaceImage, List, Consumer)}, also handing back the image's bytes after the run. */
        public RaceRun.Verdict replay(RaceImage image, List<Protection> without, Consumer<String> log,
                Consumer<byte[]> imageAfter) throws Exception {
            try {
                for (Protection p : without) {
                    Protections.set(p, false);
                }
                RaceRun r = new RaceRun(image, folioBlocks, null, log);
                try {
                    byte[] expected = body.run(r);
                    RaceRun.Verdict v = r.finish(expected);
                    imageAfter.accept(r.imageBytes());
                    return v;
                } finally {
                    r.close();
                }
            } finally {
                Protections.restoreAll();
            }
        }
    }

    /** Every scenario, in docs/RACES.md's order. */
    public static List<Scenario> all() {
        return List.of(
                new Scenario("R1", "the seed's race: a stale UNWRITTEN mapping after writeback converted the block",
                        List.of(Protection.VALIDITY_CHECK, Protection.DA_LOOKUP1_SEQ), 1, Scenarios::r1),
                new Scenario("R1b", "the same with DELAYED: writeback allocates, writes and converts under the writer",
                        List.of(Protection.VALIDITY_CHECK, Protection.DA_LOOKUP1_SEQ), 1, Scenarios::r1b),
                new Scenario("R2", "lookup #2 finds DELAYED inserted by another writer",
                        List.of(Protection.VALIDITY_CHECK, Protection.DA_LOOKUP2_SEQ), 1, Scenarios::r2),
                new Scenario("R3", "lookup #2 finds UNWRITTEN with writeback's I/O in flight",
                        List.of(Protection.VALIDITY_CHECK, Protection.DA_LOOKUP2_SEQ), 1, Scenarios::r3),
                new Scenario("R4", "a hole filled by fallocate between the two lookups",
                        List.of(Protection.DA_LOOKUP2), 1, Scenarios::r4),
                new Scenario("R5", "a write fails part way and leaves new DELAYED blocks",
                        List.of(Protection.SHORT_WRITE_RELEASE), 1, Scenarios::r5),
                new Scenario("R6", "writeback's cached mapping goes stale under truncate and a new write",
                        List.of(Protection.WRITEBACK_MAP_CHECK), 2, Scenarios::r6),
                new Scenario("R7", "zero range against writeback of the same blocks",
                        List.of(Protection.TRUNCATE_WAITS_FOR_WRITEBACK), 1, Scenarios::r7),
                new Scenario("R8", "an append past a partial EOF block with stale bytes past EOF in memory",
                        List.of(Protection.EOF_ZERO), 1, Scenarios::r8),
                new Scenario("R8b", "an append into the EOF block while writeback runs with the size it saw",
                        List.of(Protection.WRITEBACK_EOF_UNDER_FOLIO_LOCK), 1, Scenarios::r8b),
                new Scenario("R9", "the on-disk size against writeback completion, then a crash",
                        List.of(Protection.DISK_SIZE_WITHIN_WRITTEN), 1, Scenarios::r9),
                new Scenario("R10", "punch against in-flight unwritten I/O, then fallocate again",
                        List.of(Protection.TRUNCATE_WAITS_FOR_WRITEBACK), 1, Scenarios::r10),
                new Scenario("R11", "two status tree changes race on the counter",
                        List.of(Protection.SEQ_UNDER_LOCK), 1, Scenarios::r11),
                new Scenario("R12", "constant status tree changes elsewhere during a large write",
                        List.of(Protection.REMAP_UNDER_FOLIO_LOCK), 1, Scenarios::r12));
    }

    /** The scenario named {@code id} (case-insensitive), or null. */
    public static Scenario byId(String id) {
        for (Scenario s : all()) {
            if (s.id().equalsIgnoreCase(id)) {
                return s;
            }
        }
        return null;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    // ---------------------------------------------------------------------------------------------

    /** R1: fallocate [0,4B); 'Y' at 4B-1; writeback writes block 3 and holds completion; write X over [0,3B+1). */
    private static byte[] r1(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: fallocate [0, 4B) (B = %d): blocks 0-3 UNWRITTEN; write 'Y' at 4B-1 (folio 3 dirty)", b);
        r.file.fallocate(0, 0, 4L * b);
        r.file.pwrite(4L * b - 1, bytes("Y"), 0, 1);
        byte[] x = filled(3 * b + 1, 'X');
        Actor wb = r.sched.actor("writeback", () -> r.writeback(3L * b, 4L * b));
        Actor w = r.sched.actor("writer", () -> r.file.pwrite(0, x, 0, x.length));

        r.sched.runTo(wb, WRITEBACK_BEFORE_CONVERT);
        r.say("writeback wrote folio 3 ('Y') to disk and holds its completion; block 3 is still %s", r.status(3));
        long s0 = r.seq();
        r.sched.runTo(w, WRITE_AFTER_VALID, 3);
        r.say("writer (holds the inode lock) mapped [0, 4B) as UNWRITTEN with cookie S0 = %d,"
                + " copied folios 0-1, holds folio 2", s0);
        r.sched.finish(wb);
        r.say("completion converted block 3: %s, counter S1 = %d; folio 3 left writeback clean", r.status(3), r.seq());
        r.check(r.evict(3L * b), "reclaim could not evict folio 3");
        r.say("reclaim evicted folio 3");
        r.sched.finish(w);
        int maps = mappings(w);
        r.say("writer: new folio 3, valid? %s; mapped %d time(s) in all", maps > 1 ? "S0 != S1: stale, mapped again"
                + " (MAPPED: block 3 read from disk)" : "no check: trusted UNWRITTEN, zeroed block 3", maps);
        byte[] want = new byte[4 * b];
        Arrays.fill(want, 0, 3 * b + 1, (byte) 'X');
        want[4 * b - 1] = 'Y';
        return want;
    }

    /** R1b: 'Z' over [0,3B) and 'Y' at 4B-1 (DELAYED); the writer holds the DELAYED mapping while block 3 is written back. */
    private static byte[] r1b(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: write 'Z' over [0, 3B) and 'Y' at 4B-1 (B = %d): blocks 0-3 DELAYED, folios dirty", b);
        r.file.pwrite(0, filled(3 * b, 'Z'), 0, 3 * b);
        r.file.pwrite(4L * b - 1, bytes("Y"), 0, 1);
        byte[] x = filled(3 * b + 1, 'X');
        Actor wb = r.sched.actor("writeback", () -> r.writeback(3L * b, 4L * b));
        Actor w = r.sched.actor("writer", () -> r.file.pwrite(0, x, 0, x.length));

        long s0 = r.seq();
        r.sched.runTo(w, WRITE_AFTER_VALID, 3);
        r.say("writer mapped [0, 4B) as DELAYED with cookie S0 = %d, copied folios 0-1, holds folio 2", s0);
        r.sched.finish(wb);
        r.say("writeback allocated block 3, wrote 'Y', converted it: %s, counter %d", r.status(3), r.seq());
        r.check(r.evict(3L * b), "reclaim could not evict folio 3");
        r.say("reclaim evicted folio 3");
        r.sched.finish(w);
        int maps = mappings(w);
        r.say("writer mapped %d time(s): %s", maps, maps > 1 ? "the stale DELAYED mapping was dropped, block 3 read"
                : "the stale DELAYED mapping was trusted, block 3 zeroed");
        byte[] want = new byte[4 * b];
        Arrays.fill(want, 0, 3 * b + 1, (byte) 'X');
        want[4 * b - 1] = 'Y';
        return want;
    }

    /** R2 and R3: A maps a hole, B (no inode lock) dirties the block, A's lookup #2 finds it DELAYED (R2) or UNWRITTEN (R3). */
    private static byte[] lookupTwoRace(RaceRun r, boolean ioInFlight) throws Exception {
        int b = r.b;
        r.say("setup: a 4-block file of holes (B = %d)", b);
        r.file.truncate(4L * b);
        byte[] aBytes = filled(16, 'A');
        byte[] bBytes = filled(16, 'B');
        long aPos = b + 10;
        long bPos = b + 100;
        Actor a = r.sched.actor("writer-A", () -> r.file.pwrite(aPos, aBytes, 0, aBytes.length));
        Actor bw = r.sched.actor("writer-B", () -> r.storeWithoutInodeLock(bPos, bBytes));
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 4L * b));

        r.sched.runTo(a, DA_AFTER_LOOKUP1);
        r.say("writer A (inode lock) lookup #1 at block 1: HOLE");
        r.sched.finish(bw);
        r.say("writer B (no inode lock) dirtied block 1: %s, counter S1 = %d, %d block(s) reserved",
                r.status(1), r.seq(), r.reserved());
        if (ioInFlight) {
            r.sched.runTo(wb, WRITEBACK_AFTER_SUBMIT);
            r.say("writeback allocated block 1 and its I/O is in flight: %s, counter S2 = %d", r.status(1), r.seq());
        }
        long reservedAfterB = r.reserved();
        r.sched.runTo(a, WRITE_AFTER_BEGIN);
        r.say("writer A lookup #2 under the mapping lock found block 1 %s (counter %d)",
                ioInFlight ? "UNWRITTEN" : "DELAYED", r.seq());
        r.check(r.reserved() == reservedAfterB, "lookup #2 took a second reservation: " + r.reserved()
                + " block(s) reserved, " + reservedAfterB + " before");
        r.sched.finish(wb);
        r.say("writeback %s and converted block 1: %s, counter %d", ioInFlight ? "completed" : "allocated, wrote",
                r.status(1), r.seq());
        r.check(r.evict(b), "reclaim could not evict folio 1");
        r.say("reclaim evicted folio 1");
        r.sched.finish(a);
        int maps = mappings(a);
        r.say("writer A mapped %d time(s): %s", maps, maps > 1 ? "stale cookie, mapped again, block 1 read from disk"
                : "trusted the stale mapping and zeroed block 1");
        byte[] want = new byte[4 * b];
        System.arraycopy(aBytes, 0, want, (int) aPos, aBytes.length);
        System.arraycopy(bBytes, 0, want, (int) bPos, bBytes.length);
        return want;
    }

    private static byte[] r2(RaceRun r) throws Exception {
        return lookupTwoRace(r, false);
    }

    private static byte[] r3(RaceRun r) throws Exception {
        return lookupTwoRace(r, true);
    }

    /** R4: lookup #1 finds a hole; fallocate makes it UNWRITTEN; lookup #2 must take that as it is. */
    private static byte[] r4(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: a 4-block file of holes (B = %d)", b);
        r.file.truncate(4L * b);
        byte[] aBytes = filled(16, 'A');
        long aPos = b + 10;
        Actor a = r.sched.actor("writer", () -> r.storeWithoutInodeLock(aPos, aBytes));
        Actor f = r.sched.actor("fallocate", () -> r.file.fallocate(Ext4File.FALLOC_KEEP_SIZE, 0, 4L * b));

        r.sched.runTo(a, DA_AFTER_LOOKUP1);
        r.say("writer (no inode lock) lookup #1 at block 1: HOLE");
        r.sched.finish(f);
        r.say("fallocate made [0, 4B) UNWRITTEN: block 1 %s, counter %d", r.status(1), r.seq());
        r.sched.finish(a);
        String st = r.status(1);
        r.say("writer's lookup #2 saw block 1 as %s; %d block(s) reserved", st, r.reserved());
        r.check(st.startsWith("UNWRITTEN"), "block 1 is " + st + " after the write: a DELAYED entry replaced the unwritten extent");
        r.check(r.reserved() == 0, r.reserved() + " block(s) reserved for blocks fallocate already allocated");
        byte[] want = new byte[4 * b];
        System.arraycopy(aBytes, 0, want, (int) aPos, aBytes.length);
        return want;
    }

    /** R5: a write reserves [0,4B) as new DELAYED, copies one block, fails; block 2 was dirtied meanwhile. */
    private static byte[] r5(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: a 4-block file of holes (B = %d)", b);
        r.file.truncate(4L * b);
        byte[] aBytes = filled(4 * b, 'A');
        byte[] bBytes = filled(10, 'B');
        long bPos = 2L * b + 5;
        r.expectFailure("writer-A");
        Actor a = r.sched.actor("writer-A", () -> r.file.pwrite(0, aBytes, 0, aBytes.length));
        Actor bw = r.sched.actor("writer-B", () -> r.storeWithoutInodeLock(bPos, bBytes));

        r.sched.runTo(a, WRITE_AFTER_VALID, 2);
        r.say("writer A mapped [0, 4B) as new DELAYED (%d block(s) reserved), copied block 0, holds folio 1",
                r.reserved());
        r.sched.finish(bw);
        r.say("writer B (no inode lock) dirtied block 2 under A's DELAYED range; %d block(s) reserved", r.reserved());
        r.sched.failAt(a, new IllegalStateException("the source ran short"));
        r.sched.finish(a);
        r.say("writer A failed; blocks: 0 %s, 1 %s, 2 %s, 3 %s; %d block(s) reserved", r.status(0), r.status(1),
                r.status(2), r.status(3), r.reserved());
        r.check(r.reserved() == 2, r.reserved() + " block(s) reserved after the failed write, where blocks 0 and 2"
                + " (dirty) should keep theirs and 1 and 3 give theirs back");
        byte[] want = new byte[4 * b];
        Arrays.fill(want, 0, b, (byte) 'A');
        System.arraycopy(bBytes, 0, want, (int) bPos, bBytes.length);
        return want;
    }

    /**
     * R6 (two-block folios): writeback maps [0,8B) and writes the first folio; truncate to 7B frees
     * block 7 and a write dirties it again in the same folio; writeback must not reuse its mapping.
     */
    private static byte[] r6(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: write 'A' over [0, 8B) (B = %d, folios of two blocks): blocks 0-7 DELAYED", b);
        r.file.pwrite(0, filled(8 * b, 'A'), 0, 8 * b);
        byte[] c = filled(b / 2, 'C');
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 8L * b));
        Actor t = r.sched.actor("truncate", () -> {
            r.file.truncate(7L * b);
            r.file.pwrite(7L * b, c, 0, c.length);
        });
        r.sched.runTo(wb, WRITEBACK_AFTER_SUBMIT);
        r.say("writeback allocated [0, 8B): block 7 %s; wrote folio [0, 2B); caches that mapping (counter %d)",
                r.status(7), r.seq());
        r.sched.finish(t);
        r.say("truncate to 7B freed block 7; a write at 7B dirtied it again in folio [6B, 8B): block 7 %s,"
                + " counter %d", r.status(7), r.seq());
        r.sched.finish(wb);
        r.say("writeback reached folio [6B, 8B): block 7 is now %s", r.status(7));
        byte[] want = new byte[7 * b + b / 2];
        Arrays.fill(want, 0, 7 * b, (byte) 'A');
        Arrays.fill(want, 7 * b, want.length, (byte) 'C');
        return want;
    }

    /** R7: zero range over blocks 1-2 while writeback holds block 1's completion. */
    private static byte[] r7(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: fallocate [0, 4B) (B = %d), write 'A' over block 1 (folio 1 dirty)", b);
        r.file.fallocate(0, 0, 4L * b);
        r.file.pwrite(b, filled(b, 'A'), 0, b);
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 4L * b));
        Actor z = r.sched.actor("zero-range", () -> r.file.fallocate(Ext4File.FALLOC_ZERO_RANGE | Ext4File.FALLOC_KEEP_SIZE,
                b, 2L * b));
        r.sched.runTo(wb, WRITEBACK_BEFORE_CONVERT);
        r.say("writeback wrote folio 1 (block 1: %s) and holds the conversion", r.status(1));
        boolean reached = r.sched.runToOrBlock(z, Interleave.ZERO_AFTER_UNMAP);
        r.say(reached ? "zero range did not wait: blocks 1-2 are now %s, counter %d"
                : "zero range waits for folio 1 to leave writeback (%s, counter %d)", r.status(1), r.seq());
        r.sched.finish(wb);
        r.say("writeback's completion ran: block 1 %s", r.status(1));
        r.sched.finish(z);
        r.say("zero range done: block 1 %s, block 2 %s", r.status(1), r.status(2));
        return new byte[4 * b];
    }

    /** R8: size 1.5B, a store past EOF leaves 'S' in the page, then a write at 3B. */
    private static byte[] r8(RaceRun r) throws Exception {
        int b = r.b;
        int half = b / 2;
        r.say("setup: write 'A' over [0, 1.5B) (B = %d): size %d", b, b + half);
        r.file.pwrite(0, filled(b + half, 'A'), 0, b + half);
        r.storeWithoutInodeLock(b + half, filled(half, 'S'));
        r.say("a store past EOF (as through an mmap of the EOF page) left 'S' in [1.5B, 2B) of folio 1; size still %d",
                r.file.size());
        r.file.pwrite(3L * b, filled(10, 'B'), 0, 10);
        r.say("a write at 3B grew the file to %d", r.file.size());
        byte[] want = new byte[3 * b + 10];
        Arrays.fill(want, 0, b + half, (byte) 'A');
        Arrays.fill(want, 3 * b, want.length, (byte) 'B');
        return want;
    }

    /**
     * R8b (not in the first catalogue; found by a test of unlink): writeback starts with size 1.5B; before it
     * locks the EOF folio an append fills the rest of it. Zeroing the EOF block's tail by the size
     * writeback started with would destroy the appended bytes on disk, behind a clean folio.
     */
    private static byte[] r8b(RaceRun r) throws Exception {
        int b = r.b;
        int half = b / 2;
        r.say("setup: write 'A' over [0, 1.5B) (B = %d)", b);
        r.file.pwrite(0, filled(b + half, 'A'), 0, b + half);
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 4L * b));
        Actor ap = r.sched.actor("append", () -> r.file.pwrite(b + half, filled(b, 'B'), 0, b));
        r.sched.runTo(wb, Interleave.WRITEBACK_BEFORE_FOLIO_LOCK, 2);
        r.say("writeback started with size %d, wrote folio 0, is about to lock folio 1 (the EOF folio)", b + half);
        r.sched.finish(ap);
        r.say("an append filled [1.5B, 2.5B): size %d", r.file.size());
        r.sched.finish(wb);
        r.evictAll();
        r.say("writeback wrote folio 1; reclaim evicted the clean folios");
        byte[] want = new byte[2 * b + half];
        Arrays.fill(want, 0, b + half, (byte) 'A');
        Arrays.fill(want, b + half, want.length, (byte) 'B');
        return want;
    }

    /** R9: writeback of [0,2B) submitted; an append grows the file; completion; crash. */
    private static byte[] r9(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: write 'A' over [0, 2B) (B = %d)", b);
        r.file.pwrite(0, filled(2 * b, 'A'), 0, 2 * b);
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 2L * b));
        Actor ap = r.sched.actor("append", () -> r.file.pwrite(2L * b, filled(2 * b, 'B'), 0, 2 * b));
        r.sched.runTo(wb, WRITEBACK_BEFORE_CONVERT);
        r.say("writeback submitted [0, 2B) (the size it saw) and holds its completion");
        r.sched.finish(ap);
        r.say("an append grew the file to %d; its blocks are %s, not written", r.file.size(), r.status(2));
        r.sched.finish(wb);
        r.say("completion converted [0, 2B) and moved the on-disk size");
        byte[] crashView = r.crashView();
        r.say("crash: metadata committed, the appended data never written; the image shows /f with %d bytes",
                crashView.length);
        r.check(crashView.length <= 2 * b, "after the crash the on-disk size is " + crashView.length
                + ", covering data that never reached the disk (only [0, " + 2 * b + ") was written)");
        for (int i = 0; i < crashView.length; i++) {
            if (crashView[i] != (i < 2 * b ? 'A' : 0)) {
                r.check(false, "after the crash byte " + i + " reads " + RaceRun.show(crashView[i]));
                break;
            }
        }
        byte[] want = new byte[4 * b];
        Arrays.fill(want, 0, 2 * b, (byte) 'A');
        Arrays.fill(want, 2 * b, 4 * b, (byte) 'B');
        return want;
    }

    /** R10: punch [B,3B) while writeback of [0,4B) holds its conversion; fallocate the range again. */
    private static byte[] r10(RaceRun r) throws Exception {
        int b = r.b;
        r.say("setup: write 'A' over [0, 4B) (B = %d)", b);
        r.file.pwrite(0, filled(4 * b, 'A'), 0, 4 * b);
        Actor wb = r.sched.actor("writeback", () -> r.writeback(0, 4L * b));
        Actor p = r.sched.actor("punch", () -> {
            r.file.fallocate(Ext4File.FALLOC_PUNCH_HOLE | Ext4File.FALLOC_KEEP_SIZE, b, 2L * b);
            r.file.fallocate(Ext4File.FALLOC_KEEP_SIZE, b, 2L * b);
        });
        r.sched.runTo(wb, WRITEBACK_BEFORE_CONVERT);
        r.say("writeback allocated and wrote [0, 4B) (blocks %s ...) and holds the conversion", r.status(1));
        long before = r.seq();
        boolean reached = r.sched.runToOrBlock(p, Interleave.PUNCH_AFTER_UNMAP);
        if (!reached) {
            r.say("punch waits for folios 1-2 to leave writeback");
            r.sched.finish(wb);
            r.say("writeback's completion converted [0, 4B): block 1 %s", r.status(1));
            if (!Interleave.PUNCH_AFTER_UNMAP.equals(p.at())) { // it may have got there as writeback ended
                r.sched.runTo(p, Interleave.PUNCH_AFTER_UNMAP);
            }
        }
        r.say("punch done: block 1 %s, counter %d (was %d)", r.status(1), r.seq(), before);
        r.check(r.status(1).equals("HOLE") && r.status(2).equals("HOLE"), "after punch blocks 1-2 are "
                + r.status(1) + " and " + r.status(2) + ", not holes");
        r.check(r.seq() > before, "punch did not move the counter");
        r.sched.finish(p);
        r.say("fallocate made [B, 3B) unwritten again: block 1 %s", r.status(1));
        if (reached) {
            r.sched.finish(wb);
            r.say("the late completion ran: block 1 %s", r.status(1));
        }
        byte[] want = new byte[4 * b];
        Arrays.fill(want, 0, b, (byte) 'A');
        Arrays.fill(want, 3 * b, 4 * b, (byte) 'A');
        return want;
    }

    /** R11: two status tree changes, the first stopped between reading and writing the counter. */
    private static byte[] r11(RaceRun r) throws Exception {
        org.ext4j.extentstatus.ExtentStatusTree es = r.layers.mapper().statusTree();
        long s0 = r.seq();
        es.cache(300, 1, org.ext4j.extentstatus.ExtentStatusTree.NO_PBLK,
                org.ext4j.extentstatus.ExtentStatusTree.Status.HOLE);
        es.shrink(Long.MAX_VALUE);
        r.check(r.seq() == s0, "caching and evicting entries moved the counter from " + s0 + " to " + r.seq());
        r.say("caching an on-disk extent and evicting entries under memory pressure leave the counter at %d", s0);
        Actor a = r.sched.actor("change-A", () -> es.insert(100, 1, org.ext4j.extentstatus.ExtentStatusTree.NO_PBLK,
                org.ext4j.extentstatus.ExtentStatusTree.Status.HOLE));
        Actor bw = r.sched.actor("change-B", () -> es.insert(200, 1, org.ext4j.extentstatus.ExtentStatusTree.NO_PBLK,
                org.ext4j.extentstatus.ExtentStatusTree.Status.HOLE));
        boolean parked = r.sched.runToOrFinish(a, Interleave.ES_SEQ_READ);
        r.say(parked ? "change A read the counter (%d) outside the lock and stops before writing it"
                : "change A made its change and its increment under the lock: counter %d", r.seq());
        r.sched.finish(bw);
        long cookie = es.lookup(200).seq();
        boolean aDone = a.finished();
        r.say("change B done: counter %d; a reader maps block 200 with cookie %d", r.seq(), cookie);
        r.sched.finish(a);
        r.say("change A done: counter %d", r.seq());
        r.check(r.seq() == s0 + 2, "two changes moved the counter from " + s0 + " to " + r.seq() + ": an increment was lost");
        r.check(es.isCurrent(cookie) == aDone, "the cookie " + cookie + " taken before change A finished still"
                + " looks current after it: a stale mapping looks valid");
        return new byte[0];
    }

    /** R12: a large write while another writer changes the status tree before every validity check. */
    private static byte[] r12(RaceRun r) throws Exception {
        int b = r.b;
        int rounds = 40;
        r.say("setup: a 128-block file of holes (B = %d); the writer writes [0, 8B), another writer stores"
                + " one byte at a time into blocks 64 and up", b);
        r.file.truncate(128L * b);
        byte[] x = filled(8 * b, 'X');
        Actor w = r.sched.actor("writer", () -> r.file.pwrite(0, x, 0, x.length));
        Actor d = r.sched.actor("elsewhere", () -> {
            for (int i = 0; i < rounds; i++) {
                r.storeWithoutInodeLock((64L + i) * b, new byte[] {'D'});
            }
        });
        int changes = 0;
        while (r.sched.runToOrFinish(w, Interleave.WRITE_BEFORE_VALID)) {
            if (!r.sched.runToOrFinish(d, Interleave.DA_AFTER_LOOKUP2)) {
                r.sched.finish(w); // no more changes elsewhere
                break;
            }
            changes++;
        }
        if (!d.finished()) {
            r.sched.finish(d);
        }
        int fruitless = fruitlessRemaps(w.trace());
        int remaps = count(w, Interleave.WRITE_AFTER_REMAP) + count(w, WRITE_AFTER_BEGIN) - 1;
        r.say("the write finished after %d change(s) elsewhere: %d remap(s), %d of them without progress",
                changes, remaps, fruitless);
        r.check(fruitless == 0, fruitless + " remap(s) made no progress: the write starves while the file changes elsewhere");
        byte[] want = new byte[128 * b];
        Arrays.fill(want, 0, 8 * b, (byte) 'X');
        for (int i = 0; i < rounds; i++) {
            want[(64 + i) * b] = 'D';
        }
        return want;
    }

    /** Remaps that copied nothing: a validity check followed by a new mapping without a copy in between. */
    private static int fruitlessRemaps(List<String> trace) {
        int n = 0;
        String last = null;
        for (String p : trace) {
            if (!p.startsWith("write.") || p.equals(Interleave.WRITE_AFTER_FOLIO_LOCK)) {
                continue;
            }
            if (p.equals(WRITE_AFTER_BEGIN) && Interleave.WRITE_BEFORE_VALID.equals(last)) {
                n++;
            }
            last = p;
        }
        return n;
    }

    /** How many mappings a writer used: its first, and one per remap (after a stale answer). */
    private static int mappings(Actor a) {
        return count(a, WRITE_AFTER_BEGIN) + count(a, Interleave.WRITE_AFTER_REMAP);
    }

    private static int count(Actor a, String point) {
        int n = 0;
        for (String p : a.trace()) {
            if (p.equals(point)) {
                n++;
            }
        }
        return n;
    }

    /** The protections a user can name: VALIDITY_CHECK as validity-check, and so on. */
    public static String optionName(Protection p) {
        return p.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The scenario ids, for messages. */
    public static List<String> ids() {
        List<String> out = new ArrayList<>();
        for (Scenario s : all()) {
            out.add(s.id());
        }
        return out;
    }
}
