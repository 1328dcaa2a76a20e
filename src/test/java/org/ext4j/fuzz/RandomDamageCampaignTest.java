package org.ext4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The long random-damage campaign (issue 8): thousands of damaged images across every feature set,
 * every read verb with every path, all six write commands per image, the kernel comparison; at the
 * end the figures (images tried, exit statuses by command, every rule violation and every kernel
 * difference with its seed and command, grouped by kind) are printed and written under
 * {@code target/fuzz-reports}. Tagged {@code slow} and {@code fuzz}: runs with {@code -Pfuzz} (or
 * {@code -Pstress}), never in plain {@code mvn test}:
 * {@code mvn -o test -Pfuzz -Dext4j.fuzz.images=3000 -Dext4j.fuzz.seconds=3600}.
 *
 * <p>Seeds are drawn from {@code -Dext4j.fuzz.campaignSeed} (printed; the current time by default)
 * and each image prints as a {@link RandomDamageTest} replay line when it breaks a rule. Images go
 * round-robin over the feature sets ({@code -Dext4j.fuzz.features=NAME,NAME} narrows them).
 */
@Tag("slow")
@Tag("fuzz")
class RandomDamageCampaignTest {
    @Test
    void campaign() throws IOException {
        Tools.requireTools("mkfs.ext4", "e2fsck");
        int images = Integer.getInteger("ext4j.fuzz.images", 2000);
        long seconds = Long.getLong("ext4j.fuzz.seconds", 0);
        long campaignSeed = Long.getLong("ext4j.fuzz.campaignSeed", System.currentTimeMillis());
        int writes = Integer.getInteger("ext4j.fuzz.writes", -1);

        String only = System.getProperty("ext4j.fuzz.features", "");
        List<FeatureSet> sets = FeatureSet.all().stream()
                .filter(f -> only.isEmpty() || List.of(only.split(",")).contains(f.name())).toList();
        System.out.printf("fuzz campaign: seed %d, up to %d images%s over %s%n", campaignSeed, images,
                seconds > 0 ? " or " + seconds + " s" : "", sets);
        Report report = new Report("random damage campaign");
        FuzzRunner runner = new FuzzRunner(new FuzzRunner.Config(RandomDamageTest.TIME_LIMIT_MS, RandomDamageTest.HANG_LIMIT_MS, -1, 8, writes, RandomDamageTest.kernelAvailable(),
                false), report, BaseImage.runDir());
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler(runner::recordUncaught);
        Random rnd = new Random(campaignSeed);
        long deadline = seconds > 0 ? System.nanoTime() + seconds * 1_000_000_000L : Long.MAX_VALUE;
        int threads = Integer.getInteger("ext4j.fuzz.threads", 2);
        try {
            // rounds of one image per feature set and thread, until the count or the time is used up
            int shown = 0;
            for (int done = 0; done < images && System.nanoTime() < deadline; ) {
                for (FeatureSet set : sets) {
                    int n = Math.min(threads, images - done);
                    List<Long> seeds = new java.util.ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        seeds.add(rnd.nextLong() & Long.MAX_VALUE);
                    }
                    runner.runAll(BaseImage.of(set), seeds, threads, 20);
                    List<Report.Violation> found = report.violations();
                    for (Report.Violation v : found.subList(shown, found.size())) {
                        System.out.println("fuzz campaign: " + v); // as found: a long run can be triaged while it goes
                    }
                    shown = found.size();
                    int before = done;
                    done += n;
                    if (done / 100 != before / 100) {
                        System.out.printf("fuzz campaign: %d images, %d violations%n", done, report.violations().size());
                    }
                    if (done >= images || System.nanoTime() >= deadline) {
                        break;
                    }
                }
                if (CliRun.abandoned() > 20) {
                    System.out.println("fuzz campaign: more than 20 commands hung; stopping");
                    break;
                }
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
            System.out.println(report.summary());
            Path f = report.write(BaseImage.buildDir().resolve("fuzz-reports"));
            System.out.println("fuzz report: " + f.toAbsolutePath());
        }
        assertTrue(report.violations().isEmpty(), report.violations().size() + " rule violations; see the report above");
    }
}
