package org.ext4j.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.cli.Main;
import org.ext4j.testing.Tools;

/**
 * {@code ext4j info -h}'s journal lines against {@code dumpe2fs -h}'s: from "Journal features:" to
 * the end of dumpe2fs's journal block, the same labels and values, line for line; then ext4j's own
 * "Journal transactions waiting:" line.
 */
final class Dumpe2fsJournal {
    private static final String WAITING = "Journal transactions waiting: ";

    private Dumpe2fsJournal() {
    }

    /**
     * Asserts the journal lines agree and returns the number ext4j says is waiting ("unknown: ..."
     * as -1; 0 without an internal journal, where neither lists any).
     */
    static long assertInfoListsTheJournalAsDumpe2fs(Path image) throws IOException {
        Tools.requireTools("dumpe2fs");
        String theirs = Tools.run("dumpe2fs", "-h", image.toString()).ok().stdout();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(out, err, "info", "-h", image.toString()), err.toString(StandardCharsets.UTF_8));
        List<String> ours = journalLines(out.toString(StandardCharsets.UTF_8));
        if (journalLines(theirs).isEmpty()) { // no internal journal (none, or an external one)
            assertEquals(List.of(), ours, "journal lines where dumpe2fs lists none");
            return 0;
        }
        String waiting = ours.isEmpty() ? "" : ours.remove(ours.size() - 1);
        Tools.assertSameLines(String.join("\n", journalLines(theirs)), String.join("\n", ours),
                "ext4j info -h's journal lines (+) differ from dumpe2fs -h's (-)");
        assertEquals(journalLines(theirs).size(), ours.size(), "number of journal lines:\n" + ours);
        if (!waiting.startsWith(WAITING)) {
            throw new AssertionError("no \"" + WAITING + "\" line last: " + waiting);
        }
        String n = waiting.substring(WAITING.length());
        return n.startsWith("unknown") ? -1 : Long.parseLong(n);
    }

    /** The lines from "Journal features:" to the first empty one. */
    private static List<String> journalLines(String text) {
        List<String> lines = new ArrayList<>();
        boolean in = false;
        for (String l : text.lines().toList()) {
            in |= l.startsWith("Journal features:");
            if (in && l.isEmpty()) {
                break;
            }
            if (in) {
                lines.add(l);
            }
        }
        return lines;
    }
}
