package org.ext4j.alloc;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.testing.Tools;

/**
 * What {@code e2fsck -fn} says about an image, split into the bitmap differences the allocator
 * tests expect (allocated blocks and inodes that nothing owns yet: {@code -N} / {@code -(a--b)}),
 * the per-group directory counts (a directory inode allocated but never written), and every other
 * line, which must be none.
 */
record FsckReport(int exit, TreeSet<Long> blocksUsedButUnowned, TreeSet<Long> blocksOwnedButFree,
        TreeSet<Long> inodesUsedButUnowned, TreeSet<Long> inodesOwnedButFree,
        Map<Long, long[]> directoryCounts, List<String> otherLines, String output) {

    private static final Pattern TOKEN = Pattern.compile("([+-])(?:\\((\\d+)--(\\d+)\\)|(\\d+))");
    private static final Pattern DIRS = Pattern.compile("Directories count wrong for group #(\\d+) \\((\\d+), counted=(\\d+)\\)\\.");
    private static final List<Pattern> HARMLESS = List.of(
            Pattern.compile("Pass \\d[A-Z]?: .*"),
            Pattern.compile("Fix\\? no"),
            Pattern.compile(""),
            Pattern.compile("\\S+: \\d+/\\d+ files \\(.*\\), \\d+/\\d+ blocks"),
            Pattern.compile("\\S+: \\*+ WARNING: Filesystem still has errors \\*+"));

    static FsckReport of(Path image) throws IOException {
        Tools.Result r = Tools.fsck(image);
        var bu = new TreeSet<Long>();
        var bo = new TreeSet<Long>();
        var iu = new TreeSet<Long>();
        var io = new TreeSet<Long>();
        Map<Long, long[]> dirs = new TreeMap<>();
        List<String> other = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            String l = line.strip();
            if (l.startsWith("Block bitmap differences:")) {
                parse(l.substring("Block bitmap differences:".length()), bu, bo);
            } else if (l.startsWith("Inode bitmap differences:")) {
                parse(l.substring("Inode bitmap differences:".length()), iu, io);
            } else {
                Matcher m = DIRS.matcher(l);
                if (m.matches()) {
                    dirs.put(Long.parseLong(m.group(1)), new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
                } else if (HARMLESS.stream().noneMatch(p -> p.matcher(l).matches())) {
                    other.add(l);
                }
            }
        }
        return new FsckReport(r.exit(), bu, bo, iu, io, dirs, other, r.stdout() + r.stderr());
    }

    private static void parse(String s, TreeSet<Long> minus, TreeSet<Long> plus) {
        Matcher m = TOKEN.matcher(s);
        while (m.find()) {
            TreeSet<Long> into = m.group(1).equals("-") ? minus : plus;
            long a = Long.parseLong(m.group(2) != null ? m.group(2) : m.group(4));
            long b = m.group(3) != null ? Long.parseLong(m.group(3)) : a;
            for (long x = a; x <= b; x++) {
                into.add(x);
            }
        }
    }

    boolean clean() {
        return exit == 0 && blocksUsedButUnowned.isEmpty() && blocksOwnedButFree.isEmpty()
                && inodesUsedButUnowned.isEmpty() && inodesOwnedButFree.isEmpty() && directoryCounts.isEmpty()
                && otherLines.isEmpty();
    }
}
