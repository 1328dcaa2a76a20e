package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import org.ext4j.format.Features;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.testing.Tools;
import org.ext4j.testing.Corpus;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code ext4j recover} against {@code e2fsck -y -E journal_only} ({@link JournalOnlyComparison})
 * on every image of e2fsprogs' test corpus that has a journal to recover: the {@code j_*} images
 * and the {@code f_*} ones whose superblock has has_journal and needs_recovery. Each must leave the
 * same bytes, or both must refuse (ext4j leaving the image as it was). The images where ext4j
 * knowingly does something else are listed in {@link #KNOWN} with the reason, and end as skipped
 * with it.
 *
 * <p>The corpus is found as {@code CorpusWalkTest} finds it: {@code ../shared/corpus/e2fsprogs}
 * beside the project, or {@code -Dext4j.corpus=DIR}; without it the test is one visible skip.
 */
class CorpusJournalTest {

    /** Images where ext4j's recovery knowingly differs from e2fsck's, and why. */
    static final Map<String, String> KNOWN = Map.of(
            "f_journal", "the journal inode is zeroed: e2fsck reads the journal from the superblock's backup of its"
                    + " block map (s_jnl_blocks), the kernel and ext4j refuse (journal inode deleted); e2fsck then also"
                    + " frees orphans, which ext4j recover does not do yet");

    @TempDir
    Path tmp;

    static Stream<Named<Path>> images() throws IOException {
        Path corpus = Corpus.location();
        List<Path> dirs = Corpus.imageDirs();
        if (dirs.isEmpty()) {
            System.out.println("SKIP: " + whyMissing());
            return Stream.of(Named.of("e2fsprogs corpus not found", null));
        }
        List<Path> journals = new ArrayList<>();
        for (Path d : dirs) {
            if (d.getFileName().toString().startsWith("j_") || needsRecovery(d.resolve("image.gz"))) {
                journals.add(d);
            }
        }
        System.out.println("corpus journals: " + journals.size() + " of " + dirs.size() + " images in " + corpus);
        return journals.stream().map(d -> Named.of(d.getFileName().toString(), d));
    }

    private static String whyMissing() {
        return Corpus.whyMissing("no journal of it is recovered", "CorpusJournalTest");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void recoverIsWhatE2fsckJournalOnlyDoes(Path dir) throws Exception {
        assumeTrue(dir != null, CorpusJournalTest::whyMissing);
        String name = dir.getFileName().toString();
        Path image = tmp.resolve("image");
        try (InputStream in = new GZIPInputStream(Files.newInputStream(dir.resolve("image.gz")))) {
            Files.copy(in, image);
        }
        Tools.requireTools("e2fsck");
        assumeTrue(!KNOWN.containsKey(name), () -> "ext4j knowingly differs from e2fsck here: " + KNOWN.get(name));
        if (Tools.run("dumpe2fs", "-h", image.toString()).exit() == 0) {
            // ext4j info lists the journal as dumpe2fs -h does wherever dumpe2fs can read it
            long waiting = Dumpe2fsJournal.assertInfoListsTheJournalAsDumpe2fs(image);
            assertTrue(waiting >= 0, name + ": the log cannot be read");
        }
        Path work = Files.createDirectory(tmp.resolve("work"));
        JournalOnlyComparison.Outcome o = JournalOnlyComparison.assertSameOrBothRefuse(image, work);
        if (name.equals("j_corrupt_revoke_rcount")) {
            // recovery fails with EINVAL in both; e2fsck then empties the journal, clears
            // needs_recovery and marks the file system not clean, ext4j leaves it all to e2fsck
            assertTrue(o.e2fsckRefused(), o.e2fsckSaid());
            assertEquals(1, o.ext4jExit(), o.ext4jSaid());
            assertTrue(o.ext4jSaid().contains("r_count"), o.ext4jSaid());
        }
        if (name.equals("j_corrupt_revoke_block")) {
            assertEquals(0, o.ext4jExit(), o.ext4jSaid()); // the bad revoke block is past the end of the log
        }
    }

    /** Whether the gzipped image's superblock has has_journal and needs_recovery. */
    private static boolean needsRecovery(Path gz) throws IOException {
        byte[] sb;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            byte[] head = in.readNBytes(Superblock.OFFSET + Superblock.SIZE);
            if (head.length < Superblock.OFFSET + Superblock.SIZE) {
                return false;
            }
            sb = java.util.Arrays.copyOfRange(head, Superblock.OFFSET, head.length);
        }
        return Le.u16(sb, 0x38) == 0xEF53 && (Le.u32(sb, 0x5C) & Features.COMPAT_HAS_JOURNAL) != 0
                && (Le.u32(sb, 0x60) & Features.INCOMPAT_RECOVER) != 0;
    }
}
