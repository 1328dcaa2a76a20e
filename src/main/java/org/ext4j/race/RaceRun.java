package org.ext4j.race;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.ext4j.blockdev.MemoryBlockDevice;
import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;
import org.ext4j.fs.WriteOptions;
import org.ext4j.pagecache.Folio;

/**
 * One replay of a race: a fresh copy of the scratch image open read-write in memory with no
 * background writeback, one file {@code /f}, a {@link Scheduler} for the actors, and the model of
 * what the file must hold. {@link #finish} closes everything, reads the file back from the closed
 * image with a fresh read-only open, and judges.
 */
public final class RaceRun implements AutoCloseable {
    /** The block size. */
    public final int b;
    private final byte[] disk;
    private final Ext4FileSystem fs;
    public final Ext4File file;
    public final Ext4File.Layers layers;
    public final Scheduler sched;
    private final Consumer<String> log;
    private final List<String> problems = new ArrayList<>();
    private boolean closed;

    /**
     * A run on a fresh copy of {@code image}, folios of at most {@code maxFolioBlocks} blocks,
     * actors parked at the points in {@code stops} (all when null), steps printed to {@code log}.
     */
    public RaceRun(RaceImage image, int maxFolioBlocks, Set<String> stops, Consumer<String> log) throws IOException {
        this.b = image.blockSize();
        this.disk = image.freshCopy();
        this.log = log == null ? s -> { } : log;
        this.fs = Ext4FileSystem.openReadWrite(new MemoryBlockDevice(disk, false),
                WriteOptions.manualWriteback().withMaxFolioBytes(Math.max(1, maxFolioBlocks) * b));
        this.file = fs.createFile("/f", 0644);
        this.layers = file.layers();
        this.sched = new Scheduler(stops, log);
    }

    /** Prints a step of the story. */
    public void say(String fmt, Object... args) {
        log.accept(String.format(fmt, args));
    }

    /** The inode's extent status sequence counter now. */
    public long seq() {
        return layers.mapper().statusTree().seq();
    }

    /** The status tree's entry for block {@code lblk}, as text. */
    public String status(long lblk) throws IOException {
        ExtentStatusTree.Entry e = layers.mapper().lookup(lblk).entry();
        return e.status() + (e.status().hasPblk() ? " at block " + e.pblkOf(lblk) : "");
    }

    /**
     * A store through the mapping layer without the inode writer lock, as the kernel's
     * {@code page_mkwrite} makes one: it never moves the file size.
     */
    public long storeWithoutInodeLock(long pos, byte[] data) throws IOException {
        return layers.io().write(layers.ops(), pos, data, 0, data.length, file::size, n -> { });
    }

    /** Writeback of the dirty folios of {@code [from, to)} as the flusher's range writeback does it. */
    public long writeback(long from, long to) throws IOException {
        return layers.io().writeback(layers.ops(), from, to, file.size());
    }

    /** Reclaim of the clean folio holding {@code pos}; whether it went. */
    public boolean evict(long pos) {
        Folio f = layers.space().find(pos);
        return f != null && layers.space().tryEvict(f);
    }

    /** Reclaim of every clean folio of the file (memory pressure), as {@link #evict} for each. */
    public void evictAll() {
        for (Folio f : layers.space().folios()) {
            layers.space().tryEvict(f);
        }
    }

    /** Blocks promised to delayed allocation now. */
    public long reserved() {
        return fs.reservedBlocks();
    }

    /**
     * What a crash right now would leave of {@code /f}: the metadata changed so far is committed
     * (as a periodic journal commit would), no dirty data is written, and the file is read back
     * from a copy of the image's bytes at this moment.
     */
    public byte[] crashView() throws IOException {
        fs.commitMetadata();
        byte[] copy = disk.clone();
        try (Ext4FileSystem ro = Ext4FileSystem.open(new MemoryBlockDevice(copy, true), OpenOptions.readOnlyDefaults())) {
            return ro.readAll("/f");
        }
    }

    /** Records a problem unless {@code ok}. */
    public void check(boolean ok, String problem) {
        if (!ok) {
            problems.add(problem);
        }
    }

    /** The bytes of the file now, through the page cache. */
    public byte[] cachedBytes() throws IOException {
        byte[] out = new byte[(int) file.size()];
        int done = 0;
        while (done < out.length) {
            int n = file.pread(done, out, done, out.length - done);
            if (n <= 0) {
                break;
            }
            done += n;
        }
        return out;
    }

    /**
     * Lets every actor end, compares the page cache with {@code expected}, writes everything back,
     * checks that no reservation is left, closes the image, reads {@code /f} back from the closed
     * image's bytes and compares that too.
     */
    public Verdict finish(byte[] expected) throws Exception {
        return finishAny(List.of(expected));
    }

    /**
     * As {@link #finish}, where the model allows any of {@code outcomes} (operations the inode lock
     * serialised in either order): the one the page cache shows is the one the disk must show too.
     */
    public Verdict finishAny(List<byte[]> outcomes) throws Exception {
        sched.close();
        for (Scheduler.Actor a : sched.actors()) {
            if (a.failure() != null && !expectedFailures.contains(a.name())) {
                problems.add(a.name() + " failed: " + a.failure());
            }
        }
        byte[] cached = cachedBytes();
        byte[] expected = outcomes.get(0);
        for (byte[] o : outcomes) {
            if (Arrays.equals(o, cached)) {
                expected = o;
            }
        }
        diff("page cache", expected, cached);
        // from here on a failure is part of the verdict: a broken write path may break writeback
        try {
            file.fsync();
            check(reserved() == 0, "reserved-block count is " + reserved() + " after everything was written back");
        } catch (IOException | RuntimeException e) {
            problems.add("writing back failed: " + e.getMessage());
        }
        try {
            close();
        } catch (IOException | RuntimeException e) {
            problems.add("closing the image failed: " + e.getMessage());
        }
        byte[] onDisk = new byte[0];
        try (Ext4FileSystem ro = Ext4FileSystem.open(new MemoryBlockDevice(disk, true), OpenOptions.readOnlyDefaults())) {
            onDisk = ro.readAll("/f");
            diff("disk", expected, onDisk);
        } catch (IOException | RuntimeException e) {
            problems.add("reading the closed image failed: " + e.getMessage());
        }
        return new Verdict(List.copyOf(problems), expected, cached, onDisk);
    }

    private final java.util.Set<String> expectedFailures = new java.util.HashSet<>();

    /** {@code actor} is meant to fail (a write that fails part way, R5). */
    public void expectFailure(String actor) {
        expectedFailures.add(actor);
    }

    /** Closes the file and the file system (idempotent). */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            sched.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            file.close();
        } finally {
            fs.close();
        }
    }

    /** The image's bytes (after {@link #finish}: the closed image, for e2fsck and the kernel). */
    public byte[] imageBytes() {
        return disk;
    }

    private void diff(String where, byte[] expected, byte[] actual) {
        if (Arrays.equals(expected, actual)) {
            return;
        }
        if (expected.length != actual.length) {
            problems.add(where + ": size " + actual.length + " where " + expected.length + " was expected");
        }
        int n = Math.min(expected.length, actual.length);
        int i = 0;
        while (i < n) {
            if (expected[i] == actual[i]) {
                i++;
                continue;
            }
            int start = i;
            while (i < n && expected[i] != actual[i] && actual[i] == actual[start] && expected[i] == expected[start]) {
                i++;
            }
            problems.add(String.format("%s: bytes [%d, %d) read %s where %s was written", where, start, i,
                    show(actual[start]), show(expected[start])));
        }
    }

    static String show(byte v) {
        return v >= 0x21 && v < 0x7f ? String.format("'%c' (0x%02x)", (char) v, v) : String.format("0x%02x", v);
    }

    /** A byte array of {@code len} copies of {@code c}. */
    public static byte[] filled(int len, char c) {
        byte[] out = new byte[len];
        Arrays.fill(out, (byte) c);
        return out;
    }

    /** What a replay found: the problems (none: the data was preserved) and the bytes compared. */
    public record Verdict(List<String> problems, byte[] expected, byte[] cached, byte[] onDisk) {
        public boolean preserved() {
            return problems.isEmpty();
        }
    }
}
