package org.ext4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

import org.ext4j.mkfs.Mkfs;

/**
 * A one-line progress display for a terminal, redrawn in place with {@code \r} at most five times a
 * second: entries and bytes done of the totals, the rate, and a bar ({@code mkfs -d}'s copy, as
 * mke2fs's {@code ext2fs_numeric_progress}). Written only when standard output is a terminal; the
 * caller decides ({@link #onTerminal}).
 */
final class ProgressBar implements Mkfs.Progress {
    private static final long REDRAW_NANOS = 200_000_000L;
    private static final int WIDTH = 30;

    private final PrintWriter out;
    private final String what;
    private long totalEntries;
    private long totalBytes;
    private long entries;
    private long bytes;
    private long started;
    private long lastDraw;
    private int lastLength;

    ProgressBar(PrintWriter out, String what) {
        this.out = out;
        this.what = what;
    }

    /** Whether a progress bar may be drawn: a console is attached and standard output is a terminal. */
    static boolean onTerminal() {
        // Java 17: System.console() is non-null only when standard input and output are both terminals
        return System.console() != null;
    }

    @Override
    public void begin(long entries, long bytes) {
        this.totalEntries = entries;
        this.totalBytes = bytes;
        this.started = System.nanoTime();
        this.lastDraw = started - REDRAW_NANOS;
        draw(started);
    }

    @Override
    public void copied(long e, long b) {
        entries += e;
        bytes += b;
        long now = System.nanoTime();
        if (now - lastDraw >= REDRAW_NANOS) {
            draw(now);
        }
    }

    @Override
    public void end() {
        draw(System.nanoTime());
        out.print("\r" + " ".repeat(lastLength) + "\r"); // the line goes: the summary takes its place
        out.flush();
    }

    private void draw(long now) {
        lastDraw = now;
        double secs = Math.max(1e-3, (now - started) / 1e9);
        double frac = totalBytes > 0 ? Math.min(1, (double) bytes / totalBytes)
                : totalEntries > 0 ? Math.min(1, (double) entries / totalEntries) : 1;
        int full = (int) Math.round(frac * WIDTH);
        String line = String.format(Locale.ROOT, "%s [%s%s] %3d%%  %d/%d files  %s/%s  %s/s", what, "#".repeat(full),
                " ".repeat(WIDTH - full), (int) Math.round(frac * 100), entries, totalEntries, human(bytes),
                human(totalBytes), human((long) (bytes / secs)));
        int pad = Math.max(0, lastLength - line.length());
        out.print("\r" + line + " ".repeat(pad));
        out.flush();
        lastLength = line.length();
    }

    private static String human(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
