package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.ext4j.cli.Main;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;

/**
 * {@code ext4j recover} against {@code e2fsck -y -E journal_only} on two copies of one image:
 * either both leave the same bytes, but for the superblock fields that record when it was
 * written, mounted or checked, its lifetime kbytes written and its checksum; or both refuse (ext4j
 * with exit 1 or 3 and the image as it was, e2fsck failing its recovery or finding no journal it
 * can replay). No {@code -f}: e2fsck's {@code check_if_skip} returns before its journal_only exit
 * when the check is forced, and runs passes 1 to 5.
 */
final class JournalOnlyComparison {
    /** What e2fsck prints when its recovery failed or it would not replay the journal it found. */
    private static final Pattern E2FSCK_REFUSED = Pattern.compile("while recovering journal|Journal corrupted in"
            + "|invalid journal|Cannot proceed|while checking journal");

    /** The superblock bytes that may differ: times of write, mount and check, kbytes written, checksum. */
    private static boolean mayDiffer(int sbOff) {
        return sbOff >= 0x2C && sbOff < 0x34 // s_mtime, s_wtime
                || sbOff >= 0x40 && sbOff < 0x44 // s_lastcheck
                || sbOff >= 0x178 && sbOff < 0x180 // s_kbytes_written
                || sbOff == 0x274 || sbOff == 0x275 || sbOff == 0x277 // s_wtime_hi, s_mtime_hi, s_lastcheck_hi
                || sbOff >= Superblock.CHECKSUM_OFFSET && sbOff < Superblock.SIZE; // s_checksum
    }

    /** How each side ended: exit status, what it said, and whether ext4j left the image as it was. */
    record Outcome(int ext4jExit, String ext4jSaid, boolean ext4jUntouched, int e2fsckExit, String e2fsckSaid,
            List<String> differences) {
        boolean e2fsckRefused() {
            return (e2fsckExit & 8) != 0 || E2FSCK_REFUSED.matcher(e2fsckSaid).find();
        }

        boolean ext4jRefused() {
            return ext4jExit != 0 && ext4jUntouched;
        }
    }

    private JournalOnlyComparison() {
    }

    /** Runs both on copies of {@code image} made in {@code tmp}. */
    static Outcome run(Path image, Path tmp) throws IOException {
        Path ours = tmp.resolve("ext4j.img");
        Path theirs = tmp.resolve("e2fsck.img");
        Files.copy(image, ours);
        Files.copy(image, theirs);
        byte[] before = Files.readAllBytes(image);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = Main.run(out, out, "recover", ours.toString());
        Tools.Result fsck = Tools.run("e2fsck", "-y", "-E", "journal_only", theirs.toString());
        byte[] a = Files.readAllBytes(ours);
        byte[] b = Files.readAllBytes(theirs);
        List<String> differ = new ArrayList<>();
        if (a.length != b.length) {
            differ.add("length: ext4j " + a.length + ", e2fsck " + b.length);
        }
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] != b[i] && !mayDiffer(i - Superblock.OFFSET)) {
                differ.add("byte " + i + " (block " + (i / 1024) + " of 1 KiB): ext4j " + (a[i] & 0xFF)
                        + ", e2fsck " + (b[i] & 0xFF));
            }
        }
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), java.util.Arrays.equals(before, a), fsck.exit(),
                fsck.stdout() + fsck.stderr(), differ);
    }

    /** Same bytes, or both refuse; returns the outcome for further checks. */
    static Outcome assertSameOrBothRefuse(Path image, Path tmp) throws IOException {
        Outcome o = run(image, tmp);
        String both = "ext4j recover (exit " + o.ext4jExit() + "):\n" + o.ext4jSaid() + "e2fsck -y -E journal_only (exit "
                + o.e2fsckExit() + "):\n" + o.e2fsckSaid();
        if (o.e2fsckRefused()) {
            assertTrue(o.ext4jExit() == 1 || o.ext4jExit() == 3, "e2fsck refused, ext4j did not:\n" + both);
            assertTrue(o.ext4jUntouched(), "ext4j refused but changed the image:\n" + both);
            return o;
        }
        assertTrue((o.e2fsckExit() & ~1) == 0, "e2fsck failed:\n" + both);
        assertTrue(o.differences().isEmpty(), "ext4j recover and e2fsck -E journal_only differ:\n"
                + String.join("\n", o.differences().subList(0, Math.min(20, o.differences().size()))) + "\n" + both);
        return o;
    }

    /** Fails unless the two copies are the same bytes (allowed fields aside). */
    static void assertSameBytes(Outcome o) {
        assertEquals(List.of(), o.differences().subList(0, Math.min(20, o.differences().size())),
                "ext4j recover (exit " + o.ext4jExit() + ") and e2fsck -E journal_only differ");
    }
}
