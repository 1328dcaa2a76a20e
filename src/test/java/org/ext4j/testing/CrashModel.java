package org.ext4j.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;

/**
 * What must survive a crash, as a function of when the crash happened: the model a crash-point test
 * keeps beside its workload. Times are the recording device's flush count ({@code clock}): a crash
 * "in epoch k" lost power after the k-th flush and before the next.
 *
 * <p><b>Namespace.</b> Each namespace operation (create, mkdir, rename, unlink) appends a snapshot
 * of the whole namespace (path to inode number), stamped with the flush count when the operation
 * began; a {@link #sync} marks the current snapshot durable once its flush is done. A crash in epoch
 * {@code k} must show exactly one of the snapshots from the last one made durable by epoch {@code k}
 * up to the last operation begun by then: operations survive in order and whole (a journal commits
 * them in transactions, in order), a rename is atomic (the name points at the old or the new inode,
 * never at neither), and nothing synced is lost.
 *
 * <p><b>File contents.</b> Each change of a regular file's bytes or size (write, truncate, fallocate,
 * punch) is an event, stamped likewise; {@link #fsynced} (and {@link #sync}) mark the file's current
 * version durable. A file found in a crash state of epoch {@code k} must have a size between the
 * smallest and the largest of its versions from the last durable one up to the last begun by then
 * (writeback may grow the on-disk size extent by extent), and each byte must be that byte
 * in one of those versions (or zero where a version was shorter): the fsynced bytes and size survive,
 * and nothing appears that the file never held (no stale blocks). Files are known by inode number;
 * an inode number used again by a later file is checked against every file that had it.
 */
public final class CrashModel {

    private final IntSupplier clock;

    /** One namespace state: path to inode number, and which inodes are directories. */
    private record Snapshot(Map<String, Long> names, int began) {
    }

    private final List<Snapshot> snapshots = new ArrayList<>();
    /** (snapshot index, flush count by which it was durable), in order. */
    private final List<int[]> namespaceDurable = new ArrayList<>();
    private final Map<String, Long> current = new TreeMap<>();
    private final Map<Long, List<FileModel>> files = new HashMap<>();
    private final Map<Long, FileModel> live = new HashMap<>();

    /** A content event: a write of {@code data} at {@code pos}, a new size, or zeros over a range. */
    private record Event(int began, long pos, byte[] data, long newSize, long zeroLen) {
    }

    private static final class FileModel {
        final List<Event> events = new ArrayList<>();
        /** (number of events, flush count by which they were durable), in order. */
        final List<int[]> durable = new ArrayList<>();
    }

    /**
     * @param clock       the recording device's flush count now
     * @param initial     the namespace the workload starts from (durable)
     */
    public CrashModel(IntSupplier clock, Map<String, Long> initial) {
        this.clock = clock;
        current.putAll(initial);
        snapshots.add(new Snapshot(Map.copyOf(current), 0));
        namespaceDurable.add(new int[] {0, 0});
    }

    private void namespaceChanged(int began) {
        snapshots.add(new Snapshot(Map.copyOf(current), began));
    }

    /** The flush count now: call before an operation, pass to the model's record of it. */
    public int now() {
        return clock.getAsInt();
    }

    public void created(int began, String path, long ino) {
        current.put(path, ino);
        FileModel f = new FileModel();
        files.computeIfAbsent(ino, k -> new ArrayList<>()).add(f);
        live.put(ino, f);
        namespaceChanged(began);
    }

    public void mkdir(int began, String path, long ino) {
        current.put(path, ino);
        namespaceChanged(began);
    }

    /** rename(2) with replace: {@code to} now names what {@code from} named (a file). */
    public void renamed(int began, String from, String to) {
        Long ino = current.remove(from);
        if (ino == null) {
            throw new IllegalStateException(from + " is not in the model");
        }
        current.put(to, ino);
        namespaceChanged(began);
    }

    public void unlinked(int began, String path) {
        if (current.remove(path) == null) {
            throw new IllegalStateException(path + " is not in the model");
        }
        namespaceChanged(began);
    }

    public void wrote(int began, long ino, long pos, byte[] data) {
        file(ino).events.add(new Event(began, pos, data.clone(), -1, 0));
    }

    /** A new size: truncate, or fallocate growing the file (the new bytes read zero). */
    public void resized(int began, long ino, long newSize) {
        file(ino).events.add(new Event(began, 0, null, newSize, 0));
    }

    /** A range now reads zero without changing the size (punch hole, zero range with keep size). */
    public void zeroed(int began, long ino, long pos, long len) {
        file(ino).events.add(new Event(began, pos, null, -1, len));
    }

    /** fsync(2) of the file returned: its bytes and size so far survive any later crash. */
    public void fsynced(long ino) {
        FileModel f = file(ino);
        f.durable.add(new int[] {f.events.size(), now()});
    }

    /** syncfs(2) returned: the namespace and every live file's contents survive any later crash. */
    public void sync() {
        int t = now();
        namespaceDurable.add(new int[] {snapshots.size() - 1, t});
        for (FileModel f : live.values()) {
            f.durable.add(new int[] {f.events.size(), t});
        }
    }

    /** The file may get no further events (its inode is gone when it is closed; the number may come back). */
    public void forget(long ino) {
        live.remove(ino);
    }

    private FileModel file(long ino) {
        FileModel f = live.get(ino);
        if (f == null) {
            throw new IllegalStateException("inode " + ino + " is not a live file of the model");
        }
        return f;
    }

    /** Paths of the namespace now. */
    public Map<String, Long> names() {
        return Map.copyOf(current);
    }

    /**
     * What is wrong with {@code tree}, the state found after a crash in epoch {@code epoch} and its
     * recovery; empty when nothing is.
     */
    public List<String> check(Map<String, FsTree.Node> tree, int epoch) {
        List<String> problems = new ArrayList<>();
        int from = lastDurable(namespaceDurable, epoch);
        int to = from;
        for (int i = from + 1; i < snapshots.size() && snapshots.get(i).began() <= epoch; i++) {
            to = i;
        }
        Map<String, Long> found = new TreeMap<>();
        tree.forEach((p, n) -> found.put(p, n.ino()));
        boolean match = false;
        for (int i = to; i >= from && !match; i--) {
            match = snapshots.get(i).names().equals(found);
        }
        if (!match) {
            problems.add("namespace is none of the states of operations " + from + ".." + to + ": "
                    + diff(snapshots.get(to).names(), found) + " (against the latest)"
                    + (from != to ? "; against the oldest: " + diff(snapshots.get(from).names(), found) : ""));
        }
        for (FsTree.Node n : tree.values()) {
            if (n.type() != 'f') {
                continue;
            }
            List<FileModel> candidates = files.get(n.ino());
            if (candidates == null) {
                if (!isInitial(n.path(), n.ino())) {
                    problems.add(n.path() + ": inode " + n.ino() + " is no file the workload made");
                }
                continue;
            }
            String why = null;
            for (FileModel f : candidates) {
                why = contentProblem(f, n.data(), epoch);
                if (why == null) {
                    break;
                }
            }
            if (why != null) {
                problems.add(n.path() + " (inode " + n.ino() + "): " + why);
            }
        }
        return problems;
    }

    private boolean isInitial(String path, long ino) {
        Long was = snapshots.get(0).names().get(path);
        return was != null && was == ino;
    }

    private static int lastDurable(List<int[]> marks, int epoch) {
        int idx = -1;
        for (int[] m : marks) {
            if (m[1] <= epoch) {
                idx = Math.max(idx, m[0]);
            }
        }
        return idx;
    }

    /** Null when {@code actual} is an allowed content of {@code f} after a crash in {@code epoch}. */
    private static String contentProblem(FileModel f, byte[] actual, int epoch) {
        int from = Math.max(0, lastDurable(f.durable, epoch)); // events applied by the durable version
        int to = from;
        for (int i = from; i < f.events.size() && f.events.get(i).began() <= epoch; i++) {
            to = i + 1;
        }
        byte[] content = new byte[0];
        for (int i = 0; i < from; i++) {
            content = apply(content, f.events.get(i));
        }
        int len = actual.length;
        BitSet ok = new BitSet(len);
        List<Long> sizes = new ArrayList<>();
        // the durable version itself
        sizes.add((long) content.length);
        markEqual(ok, actual, content, 0, len);
        for (int i = from; i < to; i++) {
            Event e = f.events.get(i);
            byte[] next = apply(content, e);
            sizes.add((long) next.length);
            if (e.data() != null) {
                markEqual(ok, actual, next, e.pos(), Math.min(len, e.pos() + e.data().length));
                if (e.pos() > content.length) { // a hole up to the write
                    markEqual(ok, actual, next, content.length, Math.min(len, e.pos()));
                }
            } else if (e.newSize() >= 0) {
                markEqual(ok, actual, next, Math.min(content.length, next.length), len);
            } else {
                markEqual(ok, actual, next, e.pos(), Math.min(len, e.pos() + e.zeroLen()));
            }
            content = next;
        }
        long min = sizes.stream().mapToLong(Long::longValue).min().orElseThrow();
        long max = sizes.stream().mapToLong(Long::longValue).max().orElseThrow();
        if (len < min || len > max) {
            return "size " + len + " is outside the sizes " + min + ".." + max + " of versions " + from + ".." + to;
        }
        int bad = ok.nextClearBit(0);
        if (bad < len) {
            int end = bad;
            while (end < len && !ok.get(end)) {
                end++;
            }
            return "bytes " + bad + ".." + (end - 1) + " hold what no version " + from + ".." + to
                    + " held there (first byte 0x" + Integer.toHexString(actual[bad] & 0xff) + ")";
        }
        return null;
    }

    /** Sets ok[p] for p in [lo, hi) where actual[p] equals version[p] (zero past the version's end). */
    private static void markEqual(BitSet ok, byte[] actual, byte[] version, long lo, long hi) {
        for (int p = (int) Math.max(0, lo); p < hi && p < actual.length; p++) {
            byte want = p < version.length ? version[p] : 0;
            if (actual[p] == want) {
                ok.set(p);
            }
        }
    }

    private static byte[] apply(byte[] content, Event e) {
        if (e.data() != null) {
            long end = e.pos() + e.data().length;
            byte[] next = end > content.length ? Arrays.copyOf(content, (int) end) : content.clone();
            System.arraycopy(e.data(), 0, next, (int) e.pos(), e.data().length);
            return next;
        }
        if (e.newSize() >= 0) {
            return Arrays.copyOf(content, (int) e.newSize());
        }
        byte[] next = content.clone();
        int lo = (int) Math.min(e.pos(), next.length);
        int hi = (int) Math.min(e.pos() + e.zeroLen(), next.length);
        Arrays.fill(next, lo, hi, (byte) 0);
        return next;
    }

    private static String diff(Map<String, Long> want, Map<String, Long> found) {
        StringBuilder s = new StringBuilder();
        int shown = 0;
        for (var e : want.entrySet()) {
            Long f = found.get(e.getKey());
            if (!e.getValue().equals(f) && shown++ < 6) {
                s.append(f == null ? " missing " + e.getKey() : " " + e.getKey() + " is inode " + f + " not " + e.getValue());
            }
        }
        for (var e : found.entrySet()) {
            if (!want.containsKey(e.getKey()) && shown++ < 6) {
                s.append(" extra ").append(e.getKey()).append(" (inode ").append(e.getValue()).append(')');
            }
        }
        return shown > 6 ? s + " ..." : s.toString();
    }
}
