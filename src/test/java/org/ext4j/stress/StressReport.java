package org.ext4j.stress;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/** The figures of one stress run, printed as a block that can be quoted as is. */
final class StressReport {
    final StressRun.Config cfg;
    final LongAdder[] byKind = new LongAdder[Op.Kind.values().length];
    final LongAdder[] byFallocMode = new LongAdder[Op.FALLOC_MODES.length];
    final LongAdder bytesWritten = new LongAdder();
    final LongAdder unlockedReads = new LongAdder();
    final LongAdder unlockedReadStates = new LongAdder();
    final LongAdder zeroPastConcurrentEof = new LongAdder();
    final LongAdder rechecks = new LongAdder();
    long imageBytes;
    double seconds;
    long finalBytes;
    long evictions = -1;
    long flusherSubmits;
    long otherSubmits;
    long conversions;
    long staleRemaps;
    long validChecks;
    boolean noMismatch;
    private final List<String> stages = new ArrayList<>();

    StressReport(StressRun.Config cfg) {
        this.cfg = cfg;
        for (int i = 0; i < byKind.length; i++) {
            byKind[i] = new LongAdder();
        }
        for (int i = 0; i < byFallocMode.length; i++) {
            byFallocMode[i] = new LongAdder();
        }
    }

    void count(Op op) {
        byKind[op.kind().ordinal()].increment();
        if (op.kind() == Op.Kind.FALLOCATE) {
            for (int i = 0; i < Op.FALLOC_MODES.length; i++) {
                if (Op.FALLOC_MODES[i] == op.mode()) {
                    byFallocMode[i].increment();
                }
            }
        }
    }

    synchronized void stage(String s) {
        stages.add(s);
    }

    long ops() {
        long n = 0;
        for (LongAdder a : byKind) {
            n += a.sum();
        }
        return n;
    }

    String header() {
        return String.format(Locale.ROOT, "%s run, %d-byte blocks, seed %d, %d own-file writers + %d shared-file writers"
                + " + %d unlocked readers, %d files, file cap %d KiB, image %d MiB, page cache %d KiB, dirty limit %d KiB,"
                + " flusher every %d ms, %d status entries, folios up to %d KiB%s", cfg.mode(), cfg.blockSize(), cfg.seed(), cfg.ownWriters(), cfg.sharedWriters(),
                cfg.readers(), cfg.ownWriters() + 1, cfg.cap() >> 10, imageBytes >> 20, cfg.writeOptions().pageCacheBytes() >> 10,
                cfg.writeOptions().dirtyLimitBytes() >> 10, cfg.writeOptions().flushIntervalMillis(),
                cfg.writeOptions().statusTreeEntries(), cfg.writeOptions().maxFolioBytes() >> 10,
                cfg.jitter() ? ", jitter at interleaving points" : "");
    }

    private long kind(Op.Kind k) {
        return byKind[k.ordinal()].sum();
    }

    String format() {
        StringBuilder sb = new StringBuilder();
        sb.append("stress result: ").append(header()).append('\n');
        sb.append(String.format(Locale.ROOT, "  %.1f s, %d ops (%.0f/s): pwrite %d, append %d, truncate %d, fallocate %d"
                + " (alloc %d, alloc|keep %d, punch|keep %d, zero %d, zero|keep %d), fsync %d, close+reopen %d,"
                + " checked preads %d (plus %d rechecks of ranges an op zeroed or brought back)%n", seconds, ops(), ops() / Math.max(seconds, 1e-9), kind(Op.Kind.PWRITE),
                kind(Op.Kind.APPEND), kind(Op.Kind.TRUNCATE), kind(Op.Kind.FALLOCATE), byFallocMode[0].sum(),
                byFallocMode[1].sum(), byFallocMode[2].sum(), byFallocMode[3].sum(), byFallocMode[4].sum(),
                kind(Op.Kind.FSYNC), kind(Op.Kind.REOPEN), kind(Op.Kind.PREAD), rechecks.sum()));
        sb.append(String.format(Locale.ROOT, "  %.1f MiB written by pwrite/append; %.1f MiB in the files at the end%n",
                bytesWritten.sum() / 1048576.0, finalBytes / 1048576.0));
        long reads = unlockedReads.sum();
        sb.append(String.format(Locale.ROOT, "  %d unlocked preads of the shared file checked against the %.1f states"
                + " (on average) it passed through during each; %d saw zeros past a concurrently truncated end%n", reads,
                reads == 0 ? 0.0 : unlockedReadStates.sum() / (double) reads, zeroPastConcurrentEof.sum()));
        sb.append(String.format(Locale.ROOT, "  writeback: %d data writes by the background flusher, %d by writers"
                + " (throttling, fsync, truncate, fallocate), %d unwritten conversions; %d folios evicted;"
                + " %d validity checks, %d stale mappings mapped again%n", flusherSubmits, otherSubmits, conversions,
                evictions, validChecks, staleRemaps));
        for (String s : stages) {
            sb.append("  ").append(s).append('\n');
        }
        sb.append(noMismatch ? "  no mismatch\n" : "  NOT COMPLETE\n");
        return sb.toString();
    }
}
