package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.ext4j.testing.Tools;
import org.ext4j.testing.Tools.Result;
import org.junit.jupiter.api.Test;

/**
 * The {@code ext4j race} contract, in a child JVM as a user runs it: the seed's race preserved with
 * the check, the exact zeroed bytes reported without it, exit 0 when the outcome is the one expected
 * for the mode, 2 for usage errors.
 */
class RaceCommandTest {

    @Test
    void r1WithTheCheckPreservesTheData() throws IOException {
        Tools.requireTools("mkfs.ext4");
        Result r = Tools.ext4j("race", "R1");
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("verdict: data preserved"), r.stdout());
        assertTrue(r.stdout().contains("stale, mapped again"), r.stdout());
    }

    @Test
    void r1WithoutTheCheckReportsTheZeroedBytes() throws IOException {
        Tools.requireTools("mkfs.ext4");
        Result r = Tools.ext4j("race", "R1", "--without-validity-check");
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("verdict: CORRUPTED"), r.stdout());
        assertTrue(r.stdout().contains("bytes [4095, 4096) read 0x00 where 'Y' (0x59) was written"), r.stdout());

        Result big = Tools.ext4j("race", "R1", "--without-validity-check", "-b", "4096");
        assertEquals(0, big.exit(), big.stdout() + big.stderr());
        assertTrue(big.stdout().contains("bytes [16383, 16384) read 0x00 where 'Y' (0x59) was written"), big.stdout());
    }

    @Test
    void theSeedsLookupSiteWithoutItsSequenceValueCorruptsR2() throws IOException {
        Tools.requireTools("mkfs.ext4");
        Result r = Tools.ext4j("race", "R2", "--without", "da-lookup2-seq");
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("read 0x00 where 'B' (0x42) was written"), r.stdout());
    }

    @Test
    void usageErrors() throws IOException {
        assertEquals(2, Tools.ext4j("race", "R99").exit(), "unknown scenario");
        assertEquals(2, Tools.ext4j("race", "R9", "--without-validity-check").exit(),
                "a protection the scenario does not cover");
        assertEquals(2, Tools.ext4j("race", "R1", "--without", "no-such-thing").exit(), "unknown protection");
        assertEquals(2, Tools.ext4j("race", "R1", "-b", "3000").exit(), "block size");
        Result list = Tools.ext4j("race", "--list");
        assertEquals(0, list.exit());
        assertTrue(list.stdout().contains("R12") && list.stdout().contains("--without validity-check"), list.stdout());
    }
}
