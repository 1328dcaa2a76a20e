package org.ext4j.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * CPU time of the benchmark thread per operation in each iteration, a secondary result
 * ({@code :cpuNsPerOp}, nanoseconds) beside the wall-clock score: on a machine whose CPUs other
 * jobs share, wall-clock throughput moves with the share of a CPU the benchmark gets, its CPU time
 * per operation much less. The benchmark method calls {@link #op()} once per operation.
 *
 * <p>JMH adds up {@code @AuxCounters} events over the iterations of a fork, so its printed table
 * shows the sum: divide by the sample count ({@code scripts/bench-overhead.sh} reads the
 * per-iteration values from JMH's JSON instead).
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class CpuCounter {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private long thread;
    private long startCpu;
    private long ops;

    @Setup(Level.Iteration)
    public void start() {
        thread = Thread.currentThread().getId();
        ops = 0;
        startCpu = THREADS.getThreadCpuTime(thread);
    }

    void op() {
        ops++;
    }

    /** Writing thread's CPU nanoseconds per operation so far in this iteration. */
    public double cpuNsPerOp() {
        return ops == 0 ? Double.NaN : (double) (THREADS.getThreadCpuTime(thread) - startCpu) / ops;
    }
}
