package org.ext4j.mkfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.ext4j.cli.Main;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The geometry judge: for a matrix of sizes and options, {@code dumpe2fs} of {@code ext4j mkfs}'s
 * image equals {@code dumpe2fs} of {@code mkfs.ext4}'s with the same options, the same UUID and hash
 * seed, line for line: counts, groups, reserved and reserved-GDT blocks, every group's layout,
 * flags, free counts and free ranges, journal size and features. Only what must differ between two
 * runs is left out: the times, the lifetime writes (mke2fs counts its own I/O) and the checksums
 * that cover them. {@code e2fsck -fn} must find nothing in ext4j's image.
 */
class MkfsGeometryTest {
    static final String UUID = "11111111-2222-3333-4444-555555555555";
    static final String SEED = "66666666-7777-8888-9999-aaaaaaaaaaaa";

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "4M", "64M", "300M", "1G", "5G", "1T",
        "64M -b 1024", "64M -b 2048", "300M -b 4096", "2G -b 1024",
        "1G -O ^has_journal", "1G -O ^metadata_csum", "1G -O ^64bit", "1G -O ^flex_bg", "100M -O ^resize_inode",
        "1G -I 128", "64M -O inline_data", "1G -O ^metadata_csum,uninit_bg",
        "64M -t ext3", "1G -t ext3", "600M -b 2048 -t ext3", "300M -t ext2", "2900K", "3M -t ext2",
        "1G -N 100000", "1G -i 8192", "1G -m 0", "1G -m 1", "1G -J size=64", "20M -L label",
        "200M -E lazy_itable_init=0", "64M -E root_owner=1000:1000"})
    void dumpe2fsMatchesMke2fs(String row) throws Exception {
        Tools.requireTools("mkfs.ext4", "dumpe2fs", "e2fsck");
        List<String> words = new ArrayList<>(List.of(row.split(" ")));
        String size = words.get(0);
        List<String> opts = words.subList(1, words.size());
        int e = opts.indexOf("-E");
        String extended = "hash_seed=" + SEED + (e < 0 ? "" : "," + opts.get(e + 1));
        if (e >= 0) { // mke2fs keeps only its last -E
            opts.remove(e + 1);
            opts.remove(e);
        }
        Path theirs = tmp.resolve("mke2fs.img");
        Path ours = tmp.resolve("ext4j.img");

        List<String> cmd = new ArrayList<>(List.of("mkfs.ext4", "-q", "-F", "-U", UUID, "-E", extended));
        cmd.addAll(opts);
        cmd.add(theirs.toString());
        cmd.add(size);
        Tools.run(cmd).ok();

        List<String> args = new ArrayList<>(List.of("mkfs", "-q", "-U", UUID, "-E", extended));
        args.addAll(opts);
        args.add(ours.toString());
        args.add(size);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(out, err, args.toArray(String[]::new));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));

        String expected = dumpe2fs(theirs);
        String actual = dumpe2fs(ours);
        if (!expected.equals(actual)) {
            throw new AssertionError("dumpe2fs differs (- mke2fs, + ext4j):\n" + diff(expected, actual));
        }
        Tools.Result fsck = Tools.fsck(ours);
        assertEquals(0, fsck.exit(), "e2fsck -fn:\n" + fsck.stdout() + fsck.stderr());
    }

    /** dumpe2fs without what differs between any two runs of mke2fs itself. */
    static String dumpe2fs(Path img) throws Exception {
        String s = Tools.run("dumpe2fs", img.toString()).ok().stdout();
        return s.lines()
                .filter(l -> !l.matches("(Filesystem created|Last write time|Last checked|Lifetime writes|Checksum):.*"))
                .map(l -> l.replaceAll("csum 0x[0-9a-f]+", "csum"))
                .collect(Collectors.joining("\n"));
    }

    /** The first lines that differ, in order, with their line numbers. */
    static String diff(String expected, String actual) {
        String[] e = expected.split("\n", -1);
        String[] a = actual.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (int i = 0; i < Math.max(e.length, a.length) && shown < 40; i++) {
            String x = i < e.length ? e[i] : "<none>";
            String y = i < a.length ? a[i] : "<none>";
            if (!x.equals(y)) {
                sb.append(i + 1).append(":\n- ").append(x).append("\n+ ").append(y).append('\n');
                shown++;
            }
        }
        return sb.toString();
    }
}
