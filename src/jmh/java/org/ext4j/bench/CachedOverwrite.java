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
 * Buffered overwrites of a region ({@code regionKiB}, 64 MiB unless told otherwise) that is already
 * in the page cache: sequential writes of {@code writeSize} bytes wrapping around the region,
 * through {@code BufferedIO.write} with the file's real mapping layer. A region small enough for
 * the CPU's caches ({@code -p regionKiB=256}) takes the memory bus out of the copy: the rest of the
 * write path, and so the cost under test, is then a larger share of each write.
 *
 * <p>No allocation, no I/O: the region is either written back once at setup ({@code state=written}:
 * MAPPED mappings, uptodate folios that each write dirties again) or left dirty
 * ({@code state=delalloc}: one DELAYED range). Nothing is written back while measuring.
 *
 * <p>The methods differ only in their JVM: {@code with} is the write path as shipped (points and
 * validity check), {@code without} has neither ({@code -Dext4j.interleave=off} and
 * {@code -Dbench.check=off}); {@code pointsOnly} and {@code checkOnly} keep one of the two, to
 * say which costs what. Fork options given on JMH's command line ({@code -jvmArgs},
 * {@code -jvmArgsAppend}) would replace these: leave them alone.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 10, time = 1)
@Measurement(iterations = 15, time = 1)
public class CachedOverwrite {
    @Param({"4096", "65536"})
    int writeSize;

    @Param({"written", "delalloc"})
    String state;

    @Param({"65536"})
    int regionKiB;

    private WriteStack stack;
    private byte[] buf;
    private long pos;
    private long region;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        region = regionKiB * 1024L;
        if (region % writeSize != 0) {
            throw new IllegalArgumentException("region of " + region + " bytes is no multiple of " + writeSize);
        }
        stack = new WriteStack();
        stack.prepare(region, true);
        if (state.equals("written")) {
            stack.file.fsync(); // allocated and written: the status tree says WRITTEN, folios stay cached
        } else if (!state.equals("delalloc")) {
            throw new IllegalArgumentException("state " + state);
        }
        buf = new byte[writeSize];
        Arrays.fill(buf, (byte) 0xa5);
    }

    private long step() throws IOException {
        long p = pos;
        long next = p + writeSize;
        pos = next >= region ? 0 : next;
        return stack.write(p, buf, writeSize);
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dbench.check=on"})
    public long with(CpuCounter cpu) throws IOException {
        cpu.op();
        return step();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dext4j.interleave=off", "-Dbench.check=off"})
    public long without(CpuCounter cpu) throws IOException {
        cpu.op();
        return step();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dbench.check=off"})
    public long pointsOnly(CpuCounter cpu) throws IOException {
        cpu.op();
        return step();
    }

    @Benchmark
    @Fork(value = 3, jvmArgs = {"-Xms2g", "-Xmx2g"}, jvmArgsAppend = {"-Dext4j.interleave=off", "-Dbench.check=on"})
    public long checkOnly(CpuCounter cpu) throws IOException {
        cpu.op();
        return step();
    }
}
