package org.ext4j.race;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.ext4j.interleave.Interleave;

/**
 * A deterministic scheduler of actor threads over the write path's named interleaving points
 * ({@link Interleave}). Each actor is a real thread running real code with its real locks; at every
 * point it reaches, it parks until the scheduler lets it go. Only one actor runs at a time, so a
 * replay is the same interleaving every time: a scenario of docs/RACES.md says "run the writer to here,
 * the writeback to there, release", and the explorer enumerates every such order.
 *
 * <p>An actor that is let go may block on a lock another actor holds while parked (a folio lock, the
 * mapping lock). The scheduler sees that from the thread's state (waiting while not parked at a
 * point) and treats the actor as not runnable until the holder moves on; if every live actor is
 * blocked, that is a deadlock and is reported as one.
 *
 * <p>Threads that are not actors (the background flusher, the test's own thread) pass every point
 * untouched. One scheduler at a time owns the process-wide hook.
 */
public final class Scheduler implements AutoCloseable {
    /** An actor's body. */
    @FunctionalInterface
    public interface Task {
        void run() throws Exception;
    }

    /** How long the scheduler waits for an actor to reach its next point before calling it stuck. */
    private static final long STEP_TIMEOUT_MILLIS = 30_000;

    /** One thread under the scheduler's control. */
    public final class Actor {
        private final String name;
        private final Thread thread;
        // guarded by Scheduler.this
        private String at;
        private boolean started;
        private boolean finished;
        private boolean resumePending;
        private Throwable failure;
        private RuntimeException injected;
        private int arrivals;
        private int logged;
        private final List<String> trace = new ArrayList<>();

        private Actor(String name, Task task) {
            this.name = name;
            this.thread = new Thread(() -> {
                synchronized (Scheduler.this) {
                    resumePending = false; // running now: from here on its state tells what it does
                }
                try {
                    task.run();
                } catch (Throwable e) {
                    synchronized (Scheduler.this) {
                        failure = e;
                    }
                } finally {
                    synchronized (Scheduler.this) {
                        finished = true;
                        at = null;
                        Scheduler.this.notifyAll();
                    }
                }
            }, "race-" + name);
            this.thread.setDaemon(true);
        }

        public String name() {
            return name;
        }

        /** The point where the actor is parked, or null when running, blocked, not started or finished. */
        public String at() {
            synchronized (Scheduler.this) {
                return at;
            }
        }

        public boolean finished() {
            synchronized (Scheduler.this) {
                return finished;
            }
        }

        /** What the actor's task threw, if anything. */
        public Throwable failure() {
            synchronized (Scheduler.this) {
                return failure;
            }
        }

        /** Every point the actor reached, in order. */
        public List<String> trace() {
            synchronized (Scheduler.this) {
                return List.copyOf(trace);
            }
        }

        /** Runnable now: not started yet, or parked at a point. */
        boolean enabled() {
            return !finished && (!started || at != null);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final Map<Thread, Actor> byThread = new ConcurrentHashMap<>();
    private final List<Actor> actors = new ArrayList<>();
    private final java.util.Set<String> stops;
    private final Consumer<String> log;
    private volatile boolean closed;

    /**
     * A scheduler that parks actors at every point in {@code stops} (all points when null) and
     * prints each step to {@code log} (nothing when null). Installs itself as the interleaving hook.
     */
    public Scheduler(java.util.Set<String> stops, Consumer<String> log) {
        this.stops = stops;
        this.log = log == null ? s -> { } : log;
        Interleave.install(this::at);
    }

    public Scheduler() {
        this(null, null);
    }

    /** A new actor, not started: it starts with its first {@link #step}. */
    public synchronized Actor actor(String name, Task task) {
        Actor a = new Actor(name, task);
        actors.add(a);
        byThread.put(a.thread, a);
        return a;
    }

    public synchronized List<Actor> actors() {
        return Collections.unmodifiableList(new ArrayList<>(actors));
    }

    /** The hook: an actor parks at a point until let go; everyone else passes. */
    private void at(String point) {
        Actor a = byThread.get(Thread.currentThread());
        if (a == null || closed || stops != null && !stops.contains(point)) {
            return;
        }
        synchronized (this) {
            a.at = point;
            a.arrivals++;
            a.trace.add(point);
            a.resumePending = false;
            notifyAll();
            while (a.at != null && !closed) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            a.resumePending = false;
            if (a.injected != null && !closed) {
                RuntimeException e = a.injected;
                a.injected = null;
                throw e;
            }
        }
    }

    /**
     * Lets {@code a} go (starting it the first time) and waits until every actor is parked, finished
     * or blocked on a lock. Returns the point {@code a} is parked at next, or null if it finished or
     * is blocked.
     */
    public String step(Actor a) throws InterruptedException {
        synchronized (this) {
            if (a.finished) {
                throw new IllegalStateException(a.name + " has finished");
            }
            if (!a.started) {
                a.started = true;
                a.resumePending = true;
                a.thread.start();
            } else if (a.at != null) {
                a.at = null;
                a.resumePending = true;
                notifyAll();
            } else {
                throw new IllegalStateException(a.name + " is blocked, not parked: it cannot be stepped");
            }
        }
        awaitQuiet();
        synchronized (this) {
            return a.at;
        }
    }

    /** Steps {@code a} until it is parked at {@code point}; fails if it finishes or blocks first. */
    public void runTo(Actor a, String point) throws InterruptedException {
        String p = step(a);
        while (true) {
            if (point.equals(p)) {
                log.accept(String.format("  %-10s %sstopped at %s", a.name, passed(a), p));
                return;
            }
            boolean blocked;
            synchronized (this) {
                if (a.finished) {
                    throw new IllegalStateException(a.name + " finished without reaching " + point
                            + (a.failure != null ? " (it failed: " + a.failure + ")" : "") + "; trace " + a.trace);
                }
                blocked = a.at == null;
            }
            if (!blocked) {
                p = step(a);
                continue;
            }
            if (stillBlocked(a)) {
                synchronized (this) {
                    throw new IllegalStateException(a.name + " blocked on a lock before reaching " + point
                            + "; trace " + a.trace + "\n" + dump());
                }
            }
            synchronized (this) {
                p = a.at; // it was only slow to be scheduled: parked (or finished) now
            }
        }
    }

    /**
     * Steps {@code a} until it is parked at {@code point} (true) or blocked on a lock another actor
     * holds (false): how a scenario shows that an operation waits for something.
     */
    public boolean runToOrBlock(Actor a, String point) throws InterruptedException {
        while (true) {
            String p = step(a);
            synchronized (this) {
                if (point.equals(p)) {
                    log.accept(String.format("  %-10s %sstopped at %s", a.name, passed(a), p));
                    return true;
                }
                if (a.finished) {
                    throw new IllegalStateException(a.name + " finished without reaching " + point + "; trace " + a.trace);
                }
                if (a.at == null) {
                    log.accept(String.format("  %-10s %swaits (blocked)", a.name, passed(a)));
                    return false;
                }
            }
        }
    }

    /**
     * Steps {@code a} until it is parked at {@code point} (true) or has finished (false).
     */
    public boolean runToOrFinish(Actor a, String point) throws InterruptedException {
        while (true) {
            synchronized (this) {
                if (a.finished) {
                    log.accept(String.format("  %-10s %sfinished", a.name, passed(a)));
                    return false;
                }
            }
            String p = step(a);
            synchronized (this) {
                if (point.equals(p)) {
                    return true;
                }
                if (!a.finished && a.at == null) {
                    throw new IllegalStateException(a.name + " blocked before reaching " + point + "\n" + dump());
                }
            }
        }
    }

    /** Steps {@code a} until it has been parked at {@code point} {@code nth} more times. */
    public void runTo(Actor a, String point, int nth) throws InterruptedException {
        for (int i = 0; i < nth; i++) {
            runTo(a, point);
        }
    }

    /**
     * Lets {@code a} go with a failure: the point it is parked at throws {@code e} in its thread, as
     * a fault at that place would (a short source, an I/O error); then waits as {@link #step} does.
     */
    public void failAt(Actor a, RuntimeException e) throws InterruptedException {
        synchronized (this) {
            if (a.at == null) {
                throw new IllegalStateException(a.name + " is not parked at a point");
            }
            log.accept(String.format("  %-10s fails at %s: %s", a.name, a.at, e.getMessage()));
            a.injected = e;
        }
        step(a);
    }

    /** Steps {@code a} until it finishes; fails if it blocks on a lock another parked actor holds. */
    public void finish(Actor a) throws InterruptedException {
        while (true) {
            boolean blocked;
            synchronized (this) {
                if (a.finished) {
                    log.accept(String.format("  %-10s %sfinished%s", a.name, passed(a),
                            a.failure != null ? " with " + a.failure : ""));
                    return;
                }
                blocked = a.started && a.at == null;
            }
            if (blocked) {
                if (stillBlocked(a)) {
                    synchronized (this) {
                        throw new IllegalStateException(a.name + " is blocked on a lock; trace " + a.trace + "\n" + dump());
                    }
                }
                continue; // it was only slow to be scheduled: parked or finished now
            }
            step(a);
        }
    }

    /**
     * Whether {@code a}, seen waiting while not parked, still is after up to two seconds. A thread
     * just let go by a lock's release reads as waiting until it is scheduled, which on a loaded
     * machine can take longer than {@link #awaitQuiet}'s polls; a real block lasts.
     */
    private boolean stillBlocked(Actor a) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 2_000;
        while (true) {
            awaitQuiet();
            synchronized (this) {
                if (a.finished || a.at != null) {
                    return false;
                }
                if (System.currentTimeMillis() > deadline) {
                    return true;
                }
                wait(20);
            }
        }
    }

    /** The points {@code a} passed since the last line about it, as "passed x, y; ". */
    private String passed(Actor a) {
        int end = a.at != null ? a.trace.size() - 1 : a.trace.size();
        String out = end > a.logged ? "passed " + String.join(", ", a.trace.subList(a.logged, end)) + "; " : "";
        a.logged = a.trace.size();
        return out;
    }

    /** The actors that can be stepped now, in creation order. */
    public synchronized List<Actor> enabled() {
        List<Actor> out = new ArrayList<>();
        for (Actor a : actors) {
            if (a.enabled()) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * Whether an actor is blocked on a lock while no actor can be stepped: a deadlock. A thread
     * just let go by a lock's release also reads as waiting until it is scheduled, so before
     * answering yes this waits up to two seconds for such a thread to run on.
     */
    public boolean deadlocked() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 2_000;
        while (true) {
            synchronized (this) {
                if (!enabled().isEmpty() || !anyBlocked()) {
                    return false;
                }
                if (System.currentTimeMillis() > deadline) {
                    return true;
                }
                wait(20);
            }
            awaitQuiet();
        }
    }

    /** Whether any actor is started, not finished and not parked (blocked on a lock). */
    public synchronized boolean anyBlocked() {
        for (Actor a : actors) {
            if (a.started && !a.finished && a.at == null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits until no actor runs: each is parked, finished, not started, or blocked on a lock (waiting
     * while not parked, seen so in several polls in a row, as a thread just let go also reads as
     * waiting until it is scheduled).
     */
    private void awaitQuiet() throws InterruptedException {
        long deadline = System.currentTimeMillis() + STEP_TIMEOUT_MILLIS;
        int quietPolls = 0;
        while (true) {
            synchronized (this) {
                boolean running = false;
                boolean maybeBlocked = false;
                for (Actor a : actors) {
                    if (!a.started || a.finished || a.at != null) {
                        continue;
                    }
                    Thread.State st = a.thread.getState();
                    if (a.resumePending || st == Thread.State.RUNNABLE || st == Thread.State.NEW) {
                        running = true;
                    } else if (st != Thread.State.TERMINATED) {
                        maybeBlocked = true;
                    }
                }
                if (!running && !maybeBlocked) {
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("an actor ran for " + STEP_TIMEOUT_MILLIS
                            + " ms without reaching a point\n" + dump());
                }
                if (running) {
                    quietPolls = 0;
                    wait(10); // an actor that parks or finishes notifies
                    continue;
                }
                if (++quietPolls > BLOCK_POLLS) {
                    return;
                }
            }
            // only waiting actors left: poll a few times, briefly, outside the monitor, in case one
            // was just let go by a lock's release and has not been scheduled yet
            java.util.concurrent.locks.LockSupport.parkNanos(BLOCK_POLL_NANOS);
        }
    }

    /** How often, and how far apart, a waiting actor is looked at before it counts as blocked. */
    private static final int BLOCK_POLLS = Integer.getInteger("ext4j.race.blockPolls", 4);
    private static final long BLOCK_POLL_NANOS = Long.getLong("ext4j.race.blockPollMicros", 300) * 1000;

    /** The actors' states and stacks, for a failure message. */
    public synchronized String dump() {
        StringBuilder sb = new StringBuilder();
        for (Actor a : actors) {
            sb.append(a.name).append(": ").append(a.finished ? "finished" : a.at != null ? "at " + a.at
                    : a.started ? "blocked (" + a.thread.getState() + ")" : "not started").append('\n');
            if (a.started && !a.finished) {
                for (StackTraceElement e : a.thread.getStackTrace()) {
                    sb.append("    at ").append(e).append('\n');
                }
            }
        }
        return sb.toString();
    }

    /**
     * Lets every actor run free (points no longer park anyone), waits for them to end, and removes
     * the hook. An actor still blocked after that is reported.
     */
    @Override
    public void close() throws InterruptedException {
        synchronized (this) {
            closed = true;
            for (Actor a : actors) {
                a.at = null;
            }
            notifyAll();
        }
        Interleave.install(null);
        for (Actor a : actors) {
            if (a.started) {
                a.thread.join(STEP_TIMEOUT_MILLIS);
                if (a.thread.isAlive()) {
                    throw new IllegalStateException(a.name + " did not end\n" + dump());
                }
            }
        }
    }
}
