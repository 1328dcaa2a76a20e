package org.ext4j.race;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.ext4j.interleave.Protections.Protection;
import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every scenario of docs/RACES.md, replayed on real images of 1 KiB and 4 KiB blocks: with every
 * protection in force the file holds exactly the model's bytes in the page cache, on disk through
 * our reader, for {@code e2fsck -fn} and for the kernel; and with each protection the scenario
 * covers switched off, the same replay shows the corruption (the test's teeth).
 */
@ExtendWith(SkippedChecks.class)
class RaceScenariosTest {

    @TempDir
    Path tmp;

    private static RaceImage image(int blockSize) throws Exception {
        Tools.requireTools("mkfs.ext4");
        return RaceImage.shared(blockSize);
    }

    @TestFactory
    Stream<DynamicTest> protectedReplaysPreserveData() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Scenarios.Scenario s : Scenarios.all()) {
            for (int bs : new int[] {1024, 4096}) {
                tests.add(DynamicTest.dynamicTest(s.id() + " with " + bs + "-byte blocks", () -> {
                    List<String> story = new ArrayList<>();
                    byte[][] after = new byte[1][];
                    RaceRun.Verdict v = s.replay(image(bs), List.of(), story::add, img -> after[0] = img.clone());
                    assertTrue(v.preserved(), () -> s.id() + ": " + v.problems() + "\n" + String.join("\n", story));
                    assertArrayEquals(v.expected(), v.onDisk());
                    Path img = tmp.resolve(s.id() + "-" + bs + ".img");
                    Files.write(img, after[0]);
                    Tools.Result fsck = Tools.fsck(img);
                    assertEquals(0, fsck.exit(), () -> "e2fsck -fn after " + s.id() + ":\n" + fsck.stdout());
                    Tools.kernelCheck(s.id() + "'s file", () -> {
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

    @TestFactory
    Stream<DynamicTest> eachProtectionSwitchedOffShowsTheCorruption() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Scenarios.Scenario s : Scenarios.all()) {
            for (Protection p : s.covers()) {
                for (int bs : new int[] {1024, 4096}) {
                    tests.add(DynamicTest.dynamicTest(s.id() + " without " + p + ", " + bs + "-byte blocks", () -> {
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
