package org.ext4j.race;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Exhaustive exploration of small cases: every interleaving of two actors' named points, each run
 * on a fresh copy of the scratch image and checked against the model.
 *
 * <p>A systematic scheduler in the manner of CHESS: a run is a sequence of choices (which parked
 * actor goes next, at every point where more than one could); the explorer replays a prefix of
 * choices and then takes the first choice at every later decision, and after each run backtracks
 * to the deepest decision with an untried alternative. Every run ends with every actor finished;
 * then the file is compared with the model in the page cache and, after writeback and close, on
 * disk. A run whose decisions differ from the prefix it replayed (an actor that should have been
 * parked was not yet: a thread let go by a lock's release that the machine was slow to schedule)
 * is replayed again, up to five times; one that still differs is counted as a divergence, and the
 * exploration of that branch is then not exact.
 */
public final class Explorer {
    private Explorer() {
    }

    /** A small case: a set-up file, two actors, and the outcomes the model allows. */
    public interface Case {
        String name();

        /** Largest folio, in blocks. */
        int folioBlocks();

        /** The points where actors may be preempted (null: every point). */
        Set<String> stops();

        /** Prepares the file (runs before the actors, unscheduled). */
        void setup(RaceRun r) throws Exception;

        /** Creates the two actors on {@code r.sched}. */
        void actors(RaceRun r) throws Exception;

        /**
         * The file contents the model allows after both actors (more than one when the actors'
         * operations are serialised by the inode lock and either order is legal).
         */
        List<byte[]> outcomes(RaceRun r) throws Exception;
    }

    /** What an exploration found. */
    public record Result(String name, long interleavings, int longestSchedule, long divergences,
            List<String> failures, boolean complete) {
    }

    /**
     * Explores every interleaving of {@code c} on {@code image}, up to {@code limit} runs (then the
     * result says it is not complete). Stops at the first {@code maxFailures} failures.
     */
    public static Result explore(RaceImage image, Case c, long limit, int maxFailures) throws Exception {
        List<Integer> prefix = new ArrayList<>();
        long runs = 0;
        long divergences = 0;
        int longest = 0;
        List<String> failures = new ArrayList<>();
        int retries = 0;
        while (true) {
            List<int[]> decisions = new ArrayList<>();
            boolean diverged = false;
            RaceRun r = new RaceRun(image, c.folioBlocks(), c.stops(), null);
            try {
                c.setup(r);
                c.actors(r);
                int depth = 0;
                while (true) {
                    List<Scheduler.Actor> enabled = r.sched.enabled();
                    if (enabled.isEmpty()) {
                        if (r.sched.deadlocked()) {
                            failures.add(c.name() + ": deadlock after schedule " + schedule(decisions) + "\n"
                                    + r.sched.dump());
                            break;
                        }
                        enabled = r.sched.enabled();
                        if (enabled.isEmpty()) {
                            break;
                        }
                    }
                    int choice = depth < prefix.size() ? prefix.get(depth) : 0;
                    if (choice >= enabled.size()) {
                        diverged = true;
                        choice = 0;
                    }
                    decisions.add(new int[] {choice, enabled.size()});
                    r.sched.step(enabled.get(choice));
                    depth++;
                }
                RaceRun.Verdict v = r.finishAny(c.outcomes(r));
                if (!v.preserved()) {
                    failures.add(c.name() + ": schedule " + schedule(decisions) + ": " + v.problems());
                }
            } finally {
                r.close();
            }
            if (diverged && retries < MAX_RETRIES && failures.isEmpty()) {
                retries++; // a thread was slow to wake: replay the same prefix rather than lose the branch
                continue;
            }
            retries = 0;
            runs++;
            if (diverged) {
                divergences++;
            }
            longest = Math.max(longest, decisions.size());
            if (failures.size() >= maxFailures) {
                return new Result(c.name(), runs, longest, divergences, failures, false);
            }
            int i = decisions.size() - 1;
            while (i >= 0 && decisions.get(i)[0] + 1 >= decisions.get(i)[1]) {
                i--;
            }
            if (i < 0) {
                return new Result(c.name(), runs, longest, divergences, failures, true);
            }
            if (runs >= limit) {
                return new Result(c.name(), runs, longest, divergences, failures, false);
            }
            List<Integer> next = new ArrayList<>();
            for (int k = 0; k < i; k++) {
                next.add(decisions.get(k)[0]);
            }
            next.add(decisions.get(i)[0] + 1);
            prefix = next;
        }
    }

    /** Replays of a prefix that diverged before the branch is given up as a divergence. */
    private static final int MAX_RETRIES = 5;

    /** A schedule as the sequence of choices where there was one ("1.0.2" style), for replay by hand. */
    private static String schedule(List<int[]> decisions) {
        StringBuilder sb = new StringBuilder();
        for (int[] d : decisions) {
            if (d[1] > 1) {
                sb.append(sb.length() == 0 ? "" : ".").append(d[0]);
            }
        }
        return sb.length() == 0 ? "(no choice)" : sb.toString();
    }

    /** The model's bytes: {@code base} with {@code data} written at {@code pos} (growing it as a write does). */
    public static byte[] written(byte[] base, long pos, byte[] data) {
        int end = (int) Math.max(base.length, pos + data.length);
        byte[] out = Arrays.copyOf(base, end);
        System.arraycopy(data, 0, out, (int) pos, data.length);
        return out;
    }
}
