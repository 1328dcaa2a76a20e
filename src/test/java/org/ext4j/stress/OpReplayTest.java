package org.ext4j.stress;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.fs.WriteOptions;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reduction tool as a test that runs only when asked: {@code -Dext4j.stress.replay=OPLOG
 * -Dext4j.stress.replayFile=/d/own-2 -Dext4j.stress.blockSizes=1024} replays that file's operations
 * from a failed stress run's op log, single-threaded with the flusher off (so the replay is
 * deterministic), and if the file comes out wrong, reduces the operations to a minimal failing list
 * and prints it as Java for a regression test. Other {@link WritePathStressTest#writeOptions()}
 * overrides apply ({@code -Dext4j.stress.maxFolioBytes=1024}, for instance).
 */
class OpReplayTest {
    @Test
    void replayAndReduce(@TempDir Path tmp) throws Exception {
        String log = System.getProperty("ext4j.stress.replay", "");
        assumeTrue(!log.isEmpty(), "no -Dext4j.stress.replay=OPLOG: nothing to replay");
        String file = System.getProperty("ext4j.stress.replayFile", "/shared");
        int bs = Integer.parseInt(System.getProperty("ext4j.stress.blockSizes", "4096"));
        List<OpReplay.Step> steps = OpReplay.parse(Path.of(log), file);
        WriteOptions wo = WritePathStressTest.writeOptions();
        wo = new WriteOptions(wo.pageCacheBytes(), wo.dirtyBackgroundBytes(), wo.dirtyLimitBytes(), wo.statusTreeEntries(),
                Long.getLong("ext4j.stress.flushMillis", 3_600_000), wo.dirtyExpireMillis(), wo.maxFolioBytes());
        byte[] image = emptyImage(tmp, bs);
        String first = OpReplay.run(image, bs, wo, steps);
        System.out.println("replay of " + steps.size() + " steps of " + file + ": " + (first == null ? "no mismatch" : first));
        assumeTrue(first != null, "the replay does not fail");
        boolean threw = first.startsWith("step ");
        WriteOptions options = wo;
        List<OpReplay.Step> min = OpReplay.minimize(steps, s -> {
            String r = OpReplay.run(image, bs, options, s);
            return r != null && r.startsWith("step ") == threw;
        });
        System.out.println("reduced to " + min.size() + " steps: " + OpReplay.run(image, bs, wo, min));
        for (OpReplay.Step s : min) {
            System.out.println("        " + s.java() + ",");
        }
    }

    /** An empty 64 MiB ext4 image of the default features, as the stress test makes them. */
    static byte[] emptyImage(Path tmp, int blockSize) throws Exception {
        Path img = tmp.resolve("empty-" + blockSize + ".img");
        Tools.mkfs(img, 64L << 20, List.of("-b", Integer.toString(blockSize)), null);
        return Files.readAllBytes(img);
    }
}
