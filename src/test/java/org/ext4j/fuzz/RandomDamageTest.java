package org.ext4j.fuzz;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.ext4j.fuzz.Report.Violation;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Seeded random damage in {@code mvn test} (issue 8): {@link #SEEDS_PER_SET} damaged images of every
 * {@link FeatureSet}, each read through every read verb, compared with a kernel mount, and written
 * through {@link #WRITES_PER_IMAGE} of the six write commands, all judged by the rules of
 * {@link FuzzRunner}. One dynamic test per feature set; a failure lists each violation with the
 * damage that caused it and its replay line. The run's figures are printed and written under
 * {@code target/fuzz-reports}.
 *
 * <p>Replay one image, printing every command, outcome and kernel difference, and keeping the damaged
 * image in {@code target/fuzz-replay}:
 * {@code mvn -o test -Dtest=RandomDamageTest -Dext4j.fuzz.features=NAME -Dext4j.fuzz.seed=S}.
 * The longer campaign is {@link RandomDamageCampaignTest}.
 */
class RandomDamageTest {
    static final int SEEDS_PER_SET = Integer.getInteger("ext4j.fuzz.perSet", 12);
    static final int WRITES_PER_IMAGE = Integer.getInteger("ext4j.fuzz.writes", 2);
    static final int THREADS = Integer.getInteger("ext4j.fuzz.threads", 2);
    static final long TIME_LIMIT_MS = Long.getLong("ext4j.fuzz.timeLimitMillis", 5000);
    static final long HANG_LIMIT_MS = Long.getLong("ext4j.fuzz.hangLimitMillis", 60_000);

    private static Report report;
    private static FuzzRunner runner;
    private static Thread.UncaughtExceptionHandler previous;

    @BeforeAll
    static void setUp() throws IOException {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        boolean kernel = kernelAvailable();
        boolean replay = System.getProperty("ext4j.fuzz.seed") != null;
        report = new Report(replay ? "random damage replay" : "random damage (mvn test)");
        runner = new FuzzRunner(new FuzzRunner.Config(TIME_LIMIT_MS, HANG_LIMIT_MS, replay ? -1 : 8, 3, replay ? -1 : WRITES_PER_IMAGE, kernel, replay),
                report, BaseImage.runDir());
        previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler(runner::recordUncaught);
    }

    static boolean kernelAvailable() {
        boolean k = KernelWalk.available();
        if (!k) {
            System.out.println("SKIP: kernel comparison (rule f): needs root, losetup, mount and python3;"
                    + " the other rules still run");
        }
        return k;
    }

    @AfterAll
    static void tearDown() throws IOException {
        Thread.setDefaultUncaughtExceptionHandler(previous);
        if (report != null && report.images() > 0) {
            System.out.println(report.summary());
            Path f = report.write(BaseImage.buildDir().resolve("fuzz-reports"));
            System.out.println("fuzz report: " + f.toAbsolutePath());
        }
    }

    @TestFactory
    Stream<DynamicTest> randomDamage() {
        String seed = System.getProperty("ext4j.fuzz.seed");
        if (seed != null) {
            FeatureSet set = FeatureSet.byName(System.getProperty("ext4j.fuzz.features", "default"));
            long s = Long.parseLong(seed);
            return Stream.of(dynamicTest("replay " + set + " seed " + s, () -> replay(set, s)));
        }
        // -Dext4j.fuzz.features=NAME,NAME without a seed: only those feature sets
        String only = System.getProperty("ext4j.fuzz.features", "");
        return FeatureSet.all().stream().filter(f -> only.isEmpty() || List.of(only.split(",")).contains(f.name()))
                .map(set -> dynamicTest(set.name(), () -> {
            List<Long> seeds = new ArrayList<>();
            for (int i = 0; i < SEEDS_PER_SET; i++) {
                seeds.add(1000L + i);
            }
            judge(set, seeds);
        }));
    }

    private static void replay(FeatureSet set, long seed) throws IOException {
        BaseImage base = BaseImage.of(set);
        Path keep = BaseImage.buildDir().resolve("fuzz-replay");
        Files.createDirectories(keep);
        Damager.Damage d = Damager.damage(base, seed);
        Files.write(keep.resolve(set + "-" + seed + ".img"), d.image());
        Files.write(keep.resolve(set + "-base.img"), base.bytes);
        System.out.println("replay " + set + " seed " + seed + ": damaged image and its base in " + keep.toAbsolutePath());
        judge(set, List.of(seed));
    }

    private static void judge(FeatureSet set, List<Long> seeds) throws IOException {
        BaseImage base = BaseImage.of(set);
        List<Violation> found = runner.runAll(base, seeds, seeds.size() == 1 ? 1 : THREADS, 5);
        if (CliRun.abandoned() > 5) {
            fail("more than five commands hung; their threads still run: stopped early. " + found);
        }
        if (!found.isEmpty()) {
            StringBuilder s = new StringBuilder(set + ": " + found.size() + " rule violation(s) in " + seeds.size()
                    + " damaged images:\n");
            found.forEach(v -> s.append("  ").append(v).append('\n'));
            fail(s.toString());
        }
    }
}
