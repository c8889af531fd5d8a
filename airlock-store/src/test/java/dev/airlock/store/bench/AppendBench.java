package dev.airlock.store.bench;

import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable appends on the real disk: every call returns only after fdatasync. One writer pays one sync per
 * call; several writers share syncs (group commit); a 256 KiB call is 64 records and one sync.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class AppendBench {
    @Param({"64"})
    int blocksPerBatch;

    private Path directory;
    private ImageStore store;
    private DiskImage image;
    private final ThreadLocal<SplittableRandom> random = ThreadLocal.withInitial(
            () -> new SplittableRandom(Thread.currentThread().threadId()));
    private byte[] block;
    private ByteBuffer batch;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        directory = StoreBenchSupport.newDirectory("airlock-append-");
        store = ImageStore.open(directory, StoreBenchSupport.options());
        image = store.create("bench", 16L << 30);
        SplittableRandom r = new SplittableRandom(1);
        block = StoreBenchSupport.randomBlock(r);
        batch = ByteBuffer.allocate(blocksPerBatch * 4096);
        for (int i = 0; i < blocksPerBatch; i++) {
            batch.put(StoreBenchSupport.randomBlock(r));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        store.close();
        StoreBenchSupport.deleteTree(directory);
    }

    private long randomBlockIndex(int span) {
        return random.get().nextLong(image.blockCount() - span);
    }

    @Benchmark
    @Threads(1)
    public void write4kOneThread() {
        image.write(randomBlockIndex(1), block);
    }

    @Benchmark
    @Threads(8)
    public void write4kEightThreads() {
        image.write(randomBlockIndex(1), block);
    }

    @Benchmark
    @Threads(1)
    public void writeBatchOneThread() {
        image.write(randomBlockIndex(blocksPerBatch), batch.duplicate().clear());
    }
}
