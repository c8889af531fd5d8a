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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of a random 4 KiB read of a written block: block map lookup, positional read of the record,
 * CRC32C check, copy. The data set is usually in the page cache, so this is the store's own cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class ReadLatencyBench {
    @Param({"256"})
    int dataMiB;

    private Path directory;
    private ImageStore store;
    private DiskImage image;
    private long blocks;
    private final SplittableRandom random = new SplittableRandom(7);
    private final ByteBuffer dst = ByteBuffer.allocate(4096);

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        directory = StoreBenchSupport.newDirectory("airlock-read-");
        store = ImageStore.open(directory, StoreBenchSupport.options());
        blocks = dataMiB * 256L;
        image = store.create("bench", blocks * 4096);
        ByteBuffer chunk = ByteBuffer.allocate(256 * 4096);
        SplittableRandom r = new SplittableRandom(3);
        for (long b = 0; b < blocks; b += 256) {
            chunk.clear();
            r.nextBytes(chunk.array());
            image.write(b, chunk);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        store.close();
        StoreBenchSupport.deleteTree(directory);
    }

    @Benchmark
    public ByteBuffer randomRead4k() {
        dst.clear();
        image.read(random.nextLong(blocks), dst);
        return dst;
    }
}
