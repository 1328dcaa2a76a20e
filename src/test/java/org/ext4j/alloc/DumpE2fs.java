package org.ext4j.alloc;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ext4j.testing.Tools;

/** The parts of {@code dumpe2fs} output the allocator tests compare: per-group counts, flags and free lists. */
record DumpE2fs(long freeBlocks, long freeInodes, List<Group> groups) {

    record Group(long number, long first, long last, Set<String> flags, long freeBlocks, long freeInodes,
            long directories, long unusedInodes, TreeSet<Long> freeBlockSet, TreeSet<Long> freeInodeSet) {
    }

    private static final Pattern HEAD = Pattern.compile("Group (\\d+): \\(Blocks (\\d+)-(\\d+)\\)(?: csum 0x[0-9a-f]+)?(?: \\[(.*)\\])?.*");
    private static final Pattern COUNTS = Pattern.compile(
            "(\\d+) free blocks, (\\d+) free inodes, (\\d+) directories(?:, (\\d+) unused inodes)?");

    static DumpE2fs of(Path image) throws IOException {
        Tools.Result r = Tools.run("dumpe2fs", image.toString()).ok();
        long fb = -1;
        long fi = -1;
        List<Group> groups = new ArrayList<>();
        long[] cur = null;
        Set<String> flags = null;
        TreeSet<Long> fbs = null;
        for (String line : r.stdout().split("\n")) {
            String l = line.strip();
            Matcher h = HEAD.matcher(l);
            if (h.matches()) {
                cur = new long[] {Long.parseLong(h.group(1)), Long.parseLong(h.group(2)), Long.parseLong(h.group(3)), 0, 0, 0, -1};
                flags = new TreeSet<>();
                if (h.group(4) != null) {
                    for (String f : h.group(4).split(",\\s*")) {
                        flags.add(f);
                    }
                }
                continue;
            }
            if (cur == null) {
                if (l.startsWith("Free blocks:")) {
                    fb = Long.parseLong(l.substring(12).strip());
                } else if (l.startsWith("Free inodes:")) {
                    fi = Long.parseLong(l.substring(12).strip());
                }
                continue;
            }
            Matcher c = COUNTS.matcher(l);
            if (c.matches()) {
                cur[3] = Long.parseLong(c.group(1));
                cur[4] = Long.parseLong(c.group(2));
                cur[5] = Long.parseLong(c.group(3));
                cur[6] = c.group(4) == null ? -1 : Long.parseLong(c.group(4));
            } else if (l.startsWith("Free blocks:")) {
                fbs = ranges(l.substring(12));
            } else if (l.startsWith("Free inodes:")) {
                groups.add(new Group(cur[0], cur[1], cur[2], flags, cur[3], cur[4], cur[5], cur[6], fbs, ranges(l.substring(12))));
            }
        }
        return new DumpE2fs(fb, fi, groups);
    }

    private static TreeSet<Long> ranges(String s) {
        TreeSet<Long> out = new TreeSet<>();
        for (String part : s.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-');
            long a = Long.parseLong(dash < 0 ? p : p.substring(0, dash));
            long b = dash < 0 ? a : Long.parseLong(p.substring(dash + 1));
            for (long x = a; x <= b; x++) {
                out.add(x);
            }
        }
        return out;
    }

    TreeSet<Long> allFreeBlocks() {
        TreeSet<Long> all = new TreeSet<>();
        groups.forEach(g -> all.addAll(g.freeBlockSet()));
        return all;
    }

    TreeSet<Long> allFreeInodes() {
        TreeSet<Long> all = new TreeSet<>();
        groups.forEach(g -> all.addAll(g.freeInodeSet()));
        return all;
    }

    Group group(long g) {
        return groups.get((int) g);
    }
}
