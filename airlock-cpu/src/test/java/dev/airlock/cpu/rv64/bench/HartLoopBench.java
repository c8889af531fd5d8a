package dev.airlock.cpu.rv64.bench;

import dev.airlock.cpu.rv64.HartBenchSupport;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hart's inner loop on a load/ALU/store/branch kernel: score is guest instructions per second.
 * Run with {@code -prof gc}: gc.alloc.rate.norm must stay at ~0 bytes per invocation.
 * scripts/bench-cpu.sh runs it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:-DontCompileHugeMethods",
        "-XX:CompileCommand=quiet", "-XX:CompileCommand=dontinline,dev.airlock.cpu.rv64.Hart::outOfLine*",
        "-XX:CompileCommand=MaxNodeLimit,dev/airlock/cpu/rv64/TranslatedBlock*.*,1",
        "-XX:CompileCommand=CompileThresholdScaling,dev/airlock/cpu/rv64/TranslatedBlock*.*,0.01"})
public class HartLoopBench {
    static final int INSTRUCTIONS = 1_000_000;

    /** interpreter: the predecoded fast path; reference: every instruction through the reference interpreter; translator: hot blocks as JVM bytecode (translator-warm: first tier only). */
    @Param({"interpreter", "reference", "translator", "translator-warm"})
    String engine;

    HartBenchSupport machine;

    @Setup(Level.Trial)
    public void setUp() {
        machine = HartBenchSupport.checksumLoop(engine);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        machine.close();
    }

    @Benchmark
    @OperationsPerInvocation(INSTRUCTIONS)
    public int interpret() {
        return machine.run(INSTRUCTIONS);
    }
}
