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
import org.ext4j.interleave.Protections;
import org.ext4j.interleave.Protections.Protection;
import org.ext4j.race.Scheduler.Actor;

/**
 * The races of RACES.md as deterministic replays on a real image: each scenario sets a file up,
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

    /** One race of RACES.md. */
    public record Scenario(String id, String title, List<Protection> covers, int folioBlocks, Body body) {
        /**
         * Replays the scenario on a fresh copy of {@code image} with the protections in
         * {@code without} switched off (and back on afterwards), printing the story to {@code log}.
         */
        public RaceRun.Verdict replay(RaceImage image, List<Protection> without, Consumer<String> log) throws Exception {
            try {
                for (Protection p : without) {
                    Protections.set(p, false);
                }
                try (RaceRun r = new RaceRun(image, folioBlocks, null, log)) {
                    byte[] expected = body.run(r);
                    return r.finish(expected);
                }
            } finally {
                Protections.restoreAll();
            }
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

    /** Every scenario, in RACES.md's order. */
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
                        List.of(Protection.SHORT_WRITE_RELEASE), 1, Scenarios::r5));
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
        int maps = count(w, WRITE_AFTER_BEGIN);
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
        int maps = count(w, WRITE_AFTER_BEGIN);
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
        int maps = count(a, WRITE_AFTER_BEGIN);
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
