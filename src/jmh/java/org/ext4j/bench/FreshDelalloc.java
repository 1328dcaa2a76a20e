package org.ext4j.bench;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Buffered writes into a fresh delayed-allocation range: one measured shot writes the 64 MiB
 * region of a file that is a hole and has nothing cached, in sequential writes of {@code writeSize}
 * bytes (each maps a hole, reserves its blocks, inserts a DELAYED status entry and creates its
 * folios). Before every shot, untimed, the file is truncated to 0 (which writes back, allocates
 * and frees the previous shot's data) and grown again to 64 MiB, so every shot starts alike.
 * Score: milliseconds per 64 MiB shot.
 *
 * <p>The four methods are the JVM variants of {@link CachedOverwrite}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 60)
@Measurement(iterations = 60)
public class FreshDelalloc {
    @Param({"4096", "65536"})
    int writeSize;

    private WriteStack stack;
    private byte[] buf;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        stack = new WriteStack();
        buf = new byte[writeSize];
        Arrays.fill(buf, (byte) 0xa5);
    }

    @Setup(Level.Iteration)
    public void emptyFile() throws IOException {
        stack.file.truncate(0);
        stack.prepare(WriteStack.REGION, false);
    }

    private long shot() throws IOException {
        long n = 0;
        for (long p = 0; p < WriteStack.REGION; p += writeSize) {
            n += stack.write(p, buf, writeSize);
        }
        return n;
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dbench.check=on"})
    public long with(CpuCounter cpu) throws IOException {
        cpu.op();
        return shot();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dext4j.interleave=off", "-Dbench.check=off"})
    public long without(CpuCounter cpu) throws IOException {
        cpu.op();
        return shot();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dbench.check=off"})
    public long pointsOnly(CpuCounter cpu) throws IOException {
        cpu.op();
        return shot();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dext4j.interleave=off", "-Dbench.check=on"})
    public long checkOnly(CpuCounter cpu) throws IOException {
        cpu.op();
        return shot();
    }
}
