package org.ext4j.race;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.ext4j.interleave.Protections.Protection;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The races of docs/RACES.md that need no unwritten blocks, replayed on a block-mapped file (an
 * {@code mkfs.ext4 -t ext3} image): the indirect map sits under the same status tree and the same
 * lookups, so every lookup must hand out the sequence value it read under here too. With every
 * protection the model's bytes for ext4j, {@code e2fsck -fn} and the kernel; with each protection
 * the scenario covers switched off, the corruption. (Fallocate, zero range and unwritten extents,
 * which R1, R4, R7 and R10 use, do not exist for block-mapped files; R3's race is against the
 * conversion of an unwritten block at writeback completion, and writeback of a block-mapped file
 * maps its blocks WRITTEN at once, so the mapping R3's writer holds never goes stale: with its
 * protections off R3 keeps the data, checked as preserved below.)
 */
@ExtendWith(SkippedChecks.class)
class IndirectRaceTest {
    private static final Set<String> SCENARIOS = Set.of("R1b", "R2", "R5", "R6", "R8", "R8b", "R9", "R11", "R12");
    private static final Map<Integer, RaceImage> IMAGES = new ConcurrentHashMap<>();

    @TempDir
    Path tmp;

    private static RaceImage image(int blockSize) throws Exception {
        Tools.requireTools("mkfs.ext4");
        RaceImage img = IMAGES.get(blockSize);
        if (img == null) {
            img = RaceImage.create(blockSize, List.of("-t", "ext3"));
            IMAGES.put(blockSize, img);
        }
        return img;
    }

    private static List<Scenarios.Scenario> scenarios() {
        return Scenarios.all().stream().filter(s -> SCENARIOS.contains(s.id())).toList();
    }

    @TestFactory
    Stream<DynamicTest> protectedReplaysPreserveData() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Scenarios.Scenario s : scenarios()) {
            for (int bs : new int[] {1024, 4096}) {
                tests.add(DynamicTest.dynamicTest(s.id() + " on ext3 with " + bs + "-byte blocks", () -> {
                    List<String> story = new ArrayList<>();
                    byte[][] after = new byte[1][];
                    RaceRun.Verdict v = s.replay(image(bs), List.of(), story::add, img -> after[0] = img.clone());
                    assertTrue(v.preserved(), () -> s.id() + ": " + v.problems() + "\n" + String.join("\n", story));
                    assertArrayEquals(v.expected(), v.onDisk());
                    Path img = tmp.resolve(s.id() + "-" + bs + ".img");
                    Files.write(img, after[0]);
                    try (org.ext4j.fs.Ext4FileSystem ro = org.ext4j.fs.Ext4FileSystem.open(img)) {
                        assertFalse(ro.inode(ro.lookup("/f")).record().hasFlag(org.ext4j.format.InodeRecord.FL_EXTENTS),
                                "the race file is block-mapped");
                    }
                    Tools.Result fsck = Tools.fsck(img);
                    assertEquals(0, fsck.exit(), () -> "e2fsck -fn after " + s.id() + ":\n" + fsck.stdout());
                    Tools.kernelCheck(s.id() + "'s block-mapped file", () -> {
                        try (Tools.Mount m = Tools.Mount.of(img, true)) {
                            assertArrayEquals(v.expected(), Files.readAllBytes(m.dir().resolve("f")),
                                    s.id() + ": the kernel reads the model's bytes");
                        }
                    });
                }));
            }
        }
        return tests.stream();
    }

    /** R3 without its protections: no conversion at completion, so nothing goes stale. */
    @TestFactory
    Stream<DynamicTest> r3HasNoRaceWithoutUnwrittenBlocks() {
        List<DynamicTest> tests = new ArrayList<>();
        Scenarios.Scenario r3 = Scenarios.byId("R3");
        for (Protection p : r3.covers()) {
            for (int bs : new int[] {1024, 4096}) {
                tests.add(DynamicTest.dynamicTest("R3 on ext3 without " + p + ", " + bs + "-byte blocks", () -> {
                    List<String> story = new ArrayList<>();
                    RaceRun.Verdict v = r3.replay(image(bs), List.of(p), story::add);
                    assertTrue(v.preserved(), () -> "R3 without " + p + ": " + v.problems() + "\n" + String.join("\n", story));
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> eachProtectionSwitchedOffShowsTheCorruption() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Scenarios.Scenario s : scenarios()) {
            for (Protection p : s.covers()) {
                for (int bs : new int[] {1024, 4096}) {
                    tests.add(DynamicTest.dynamicTest(s.id() + " on ext3 without " + p + ", " + bs + "-byte blocks", () -> {
                        List<String> story = new ArrayList<>();
                        RaceRun.Verdict v = s.replay(image(bs), List.of(p), story::add);
                        assertFalse(v.preserved(), () -> s.id() + " without " + p
                                + " should show the corruption, but the data was preserved:\n" + String.join("\n", story));
                    }));
                }
            }
        }
        return tests.stream();
    }
}
