package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.Test;

/**
 * What a newcomer sees first: {@code ext4j} without a verb names every verb (read and write), the
 * banner does not claim that ext4j only reads, and every verb answers {@code --help}.
 */
class VerbListTest {
    /** The verbs as the README's table lists them. */
    private static final List<String> VERBS = List.of("info", "ls", "stat", "cat", "get", "io", "rm", "mkdir", "rmdir", "mv",
            "ln", "chmod", "chown", "touch", "truncate", "xattr", "df", "put", "shell", "race", "mkfs", "journal", "recover");

    @Test
    void noVerbNamesEveryRegisteredVerb() throws IOException {
        Result r = Tools.ext4j();
        assertEquals(2, r.exit(), r.stderr());
        String first = r.stderr().lines().findFirst().orElse("");
        assertEquals("missing verb: one of " + String.join(", ", VERBS), first);
        assertEquals(Set.copyOf(VERBS), Main.commandLine().getSubcommands().keySet(),
                "the README's verbs are the registered ones");
    }

    @Test
    void theBannerSaysExt4jWritesToo() throws IOException {
        String help = Tools.ext4j("--help").ok().stdout();
        String banner = help.lines().skip(1).findFirst().orElse("");
        assertTrue(banner.contains("write"), banner);
        assertFalse(help.contains("read only") || help.contains("reads only"), help);
    }

    @Test
    void everyVerbAnswersHelp() throws IOException {
        for (String verb : VERBS) {
            Result r = Tools.ext4j(verb, "--help");
            assertEquals(0, r.exit(), verb + " --help: " + r.stderr());
            assertTrue(r.stdout().startsWith("Usage: ext4j " + verb), r.stdout());
        }
    }
}
