package org.ext4j.extentstatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.ext4j.extentstatus.ExtentStatusTree.Change;
import org.ext4j.extentstatus.ExtentStatusTree.Entry;
import org.ext4j.extentstatus.ExtentStatusTree.Lookup;
import org.ext4j.extentstatus.ExtentStatusTree.RangeLookup;
import org.ext4j.extentstatus.ExtentStatusTree.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Writers change one tree while readers look it up. Every change returns the counter value it
 * produced, so after the run the changes can be replayed in counter order on a {@link BlockModel};
 * every answer a reader got must then equal the model's state at the counter value it was handed
 * (docs/RACES.md R11: a lookup's entry and its cookie belong together). And no increment is lost.
 */
class ExtentStatusConcurrencyTest {

    private static final int WINDOW = 48;
    private static final int WRITERS = 2;
    private static final int READERS = 2;
    private static final int WRITES_PER_WRITER = 8000;
    private static final int MAX_READS_PER_READER = 200_000;
    private static final int READS_PER_STATE = 16;

    /**
     * Writers sleep briefly after each change, so that readers (which otherwise compete with them
     * for two cores and lose whole time slices when they park on the lock) get to see most states.
     */
    private static void pause() {
        LockSupport.parkNanos(20_000);
    }

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS), "threads left running");
    }

    enum WriteKind { INSERT, DELAYED, REMOVE, CONVERT }

    /** A change as the writer made it, stamped with the counter value it produced. */
    record Write(long seq, WriteKind kind, long lblk, long len, long pblk, Status status) {
        void applyTo(BlockModel m) {
            switch (kind) {
                case INSERT -> m.insert(lblk, len, pblk, status);
                case DELAYED -> m.insert(lblk, len, ExtentStatusTree.NO_PBLK, Status.DELAYED);
                case REMOVE -> m.remove(lblk, len);
                case CONVERT -> m.convertUnwritten(lblk, len);
                default -> throw new AssertionError(kind);
            }
        }
    }

    enum ReadKind { LOOKUP, NEXT, RANGE, FIND_DELAYED }

    /** What a reader asked and got; {@code answer} is a Lookup or a RangeLookup. */
    record Read(ReadKind kind, long lblk, long len, Object answer, long seq) {
    }

    private static Write write(ExtentStatusTree tree, Random r) {
        WriteKind kind = WriteKind.values()[r.nextInt(WriteKind.values().length)];
        long lblk = r.nextInt(WINDOW);
        long len = 1 + r.nextInt(Math.min(6, WINDOW - (int) lblk));
        Status status = List.of(Status.WRITTEN, Status.UNWRITTEN, Status.HOLE).get(r.nextInt(3));
        long pblk = !status.hasPblk() ? ExtentStatusTree.NO_PBLK
                : r.nextBoolean() ? 1000 + lblk : r.nextInt(100);
        Change c = switch (kind) {
            case INSERT -> tree.insert(lblk, len, pblk, status);
            case DELAYED -> tree.insertDelayed(lblk, len);
            case REMOVE -> tree.remove(lblk, len);
            case CONVERT -> tree.convertUnwritten(lblk, len);
        };
        return new Write(c.seq(), kind, lblk, len, pblk, status);
    }

    private static Read read(ExtentStatusTree tree, Random r) {
        ReadKind kind = ReadKind.values()[r.nextInt(ReadKind.values().length)];
        long lblk = r.nextInt(WINDOW);
        long len = 1 + r.nextInt(WINDOW - (int) lblk);
        return switch (kind) {
            case LOOKUP -> {
                Lookup l = tree.lookup(lblk);
                yield new Read(kind, lblk, 1, l, l.seq());
            }
            case NEXT -> {
                Lookup l = tree.nextAfter(lblk);
                yield new Read(kind, lblk, 1, l, l.seq());
            }
            case RANGE -> {
                RangeLookup rl = tree.lookupRange(lblk, len);
                yield new Read(kind, lblk, len, rl, rl.seq());
            }
            case FIND_DELAYED -> {
                Lookup l = tree.findFirst(lblk, lblk + len - 1, EnumSet.of(Status.DELAYED));
                yield new Read(kind, lblk, len, l, l.seq());
            }
        };
    }

    /** Null if {@code read} is what the tree must answer in state {@code m}, else a description. */
    static String mismatch(BlockModel m, Read read) {
        Object expected = switch (read.kind()) {
            case LOOKUP -> new Lookup(m.runAt(read.lblk()), read.seq());
            case NEXT -> new Lookup(m.firstRunAfter(read.lblk()), read.seq());
            case RANGE -> new RangeLookup(m.runsOverlapping(read.lblk(), read.len()), read.seq());
            case FIND_DELAYED -> new Lookup(m.runsOverlapping(read.lblk(), read.len()).stream()
                    .filter(e -> e.status() == Status.DELAYED).findFirst().orElse(null), read.seq());
        };
        return expected.equals(read.answer()) ? null
                : read + " but the state at seq " + read.seq() + " answers " + expected;
    }

    @Test
    void everyLookupMatchesTheStateCurrentAtItsSeq() throws Exception {
        ExtentStatusTree tree = new ExtentStatusTree();
        AtomicBoolean writing = new AtomicBoolean(true);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<Write>>> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            long seed = 100 + w;
            writers.add(pool.submit(() -> {
                Random r = new Random(seed);
                List<Write> log = new ArrayList<>(WRITES_PER_WRITER);
                start.await();
                for (int i = 0; i < WRITES_PER_WRITER; i++) {
                    log.add(write(tree, r));
                    pause(); // let readers in between changes, or they see few counter values
                }
                return log;
            }));
        }
        List<Future<List<Read>>> readers = new ArrayList<>();
        for (int rd = 0; rd < READERS; rd++) {
            long seed = 200 + rd;
            readers.add(pool.submit(() -> {
                Random r = new Random(seed);
                List<Read> log = new ArrayList<>();
                long last = -1;
                int readsAtLast = 0;
                start.await();
                while (writing.get() && log.size() < MAX_READS_PER_READER) {
                    Read rd1 = read(tree, r);
                    // one thread's successive lock holds see the counter in order
                    assertTrue(rd1.seq() >= last, "counter went back: " + last + " -> " + rd1.seq());
                    assertTrue(tree.seq() >= rd1.seq(), "lock-free seq() behind a locked read");
                    readsAtLast = rd1.seq() == last ? readsAtLast + 1 : 0;
                    last = rd1.seq();
                    log.add(rd1);
                    // enough answers for this state: wait (lock-free) for the next one, so the
                    // reads spread over many states instead of piling up on a few
                    while (readsAtLast >= READS_PER_STATE && tree.seq() == last && writing.get()) {
                        Thread.onSpinWait(); // not yield(): that gives the core away for a time slice
                    }
                }
                return log;
            }));
        }
        start.countDown();
        List<Write> writes = new ArrayList<>();
        for (Future<List<Write>> f : writers) {
            writes.addAll(f.get(60, TimeUnit.SECONDS));
        }
        writing.set(false);
        List<Read> reads = new ArrayList<>();
        for (Future<List<Read>> f : readers) {
            reads.addAll(f.get(60, TimeUnit.SECONDS));
        }

        writes.sort(Comparator.comparingLong(Write::seq));
        for (int i = 0; i < writes.size(); i++) {
            assertEquals(i + 1, writes.get(i).seq(), "counter values handed out by changes");
        }
        assertEquals(writes.size(), tree.seq());

        reads.sort(Comparator.comparingLong(Read::seq));
        BlockModel model = new BlockModel();
        int next = 0;
        long distinctSeqsSeen = 0;
        for (long s = 0; s <= writes.size(); s++) {
            if (s > 0) {
                writes.get((int) s - 1).applyTo(model);
            }
            boolean seen = false;
            while (next < reads.size() && reads.get(next).seq() == s) {
                String bad = mismatch(model, reads.get(next));
                assertNull(bad, bad);
                next++;
                seen = true;
            }
            if (seen) {
                distinctSeqsSeen++;
            }
        }
        assertEquals(reads.size(), next);
        assertEquals(model.runs(), tree.snapshot().entries(), "final state");
        tree.checkInvariants();
        System.out.printf("es concurrency: %d changes, %d reads at %d distinct counter values%n",
                writes.size(), reads.size(), distinctSeqsSeen);
        assertTrue(distinctSeqsSeen > 100, "readers never overlapped the writers; the test proved nothing");
    }

    /**
     * The checker above has teeth: a lookup that reads the counter after dropping the lock (entry
     * first, {@code seq()} later, a conversion in between) pairs a stale UNWRITTEN entry with the new
     * counter value, and is caught.
     */
    @Test
    void checkerCatchesACookieReadOutsideTheLock() {
        ExtentStatusTree tree = new ExtentStatusTree();
        BlockModel model = new BlockModel();
        tree.insert(0, 4, 100, Status.UNWRITTEN);
        model.insert(0, 4, 100, Status.UNWRITTEN);
        Entry stale = tree.lookup(3).entry();
        tree.convertUnwritten(3, 1); // writeback completion sneaks in
        model.convertUnwritten(3, 1);
        Read broken = new Read(ReadKind.LOOKUP, 3, 1, new Lookup(stale, tree.seq()), tree.seq());
        assertNotNull(mismatch(model, broken));
        Lookup right = tree.lookup(3);
        assertNull(mismatch(model, new Read(ReadKind.LOOKUP, 3, 1, right, right.seq())));
    }

    /**
     * N threads x M changes leave the counter at exactly N x M, each value handed out once, while
     * other threads cache, evict (explicitly and through a tiny shrinker) and read the counter
     * lock-free, which must never see it go back.
     */
    @Test
    void concurrentIncrementsAreNeverLost() throws Exception {
        int n = 4;
        int m = 25_000;
        ExtentStatusShrinker shrinker = new ExtentStatusShrinker(8);
        ExtentStatusTree tree = new ExtentStatusTree(shrinker);
        AtomicBoolean running = new AtomicBoolean(true);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<long[]>> changers = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            long seed = t;
            changers.add(pool.submit(() -> {
                Random r = new Random(seed);
                long[] seqs = new long[m];
                start.await();
                for (int i = 0; i < m; i++) {
                    long lblk = r.nextInt(256);
                    seqs[i] = (i % 5 == 0 ? tree.remove(lblk, 3)
                            : tree.insert(lblk, 1 + r.nextInt(3), r.nextInt(1 << 20), Status.WRITTEN)).seq();
                }
                return seqs;
            }));
        }
        List<Future<Long>> bystanders = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            long seed = 50 + t;
            bystanders.add(pool.submit(() -> {
                Random r = new Random(seed);
                long last = 0;
                long observations = 0;
                start.await();
                while (running.get()) {
                    long lblk = r.nextInt(256);
                    switch (r.nextInt(3)) {
                        case 0 -> tree.cache(lblk, 2, ExtentStatusTree.NO_PBLK, Status.HOLE);
                        case 1 -> tree.shrink(1 + r.nextInt(4));
                        default -> tree.lookup(lblk);
                    }
                    long s = tree.seq();
                    assertTrue(s >= last, "seq() went back: " + last + " -> " + s);
                    last = s;
                    observations++;
                }
                return observations;
            }));
        }
        start.countDown();
        BitSet handedOut = new BitSet();
        for (Future<long[]> f : changers) {
            for (long s : f.get(60, TimeUnit.SECONDS)) {
                assertTrue(s >= 1 && s <= (long) n * m, "seq out of range: " + s);
                assertTrue(!handedOut.get((int) s), "seq handed out twice: " + s);
                handedOut.set((int) s);
            }
        }
        running.set(false);
        for (Future<Long> f : bystanders) {
            assertTrue(f.get(60, TimeUnit.SECONDS) > 0);
        }
        assertEquals((long) n * m, tree.seq());
        assertEquals(n * m, handedOut.cardinality());
        assertEquals(tree.entryCount(), shrinker.totalEntries());
        tree.checkInvariants();
    }
}
