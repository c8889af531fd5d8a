package dev.airlock.store.bench;

import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageStore;
import dev.airlock.store.bloom.BloomMatrixFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
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
 * Time to open an image with a large log: footers of sealed segments are read (not their records), the
 * unsealed tail is scanned, the block map is replayed, the Bloom matrix is loaded or rebuilt. The
 * documented target is a 10 GiB log: {@code -p logMiB=10240} (needs that much free disk).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(1)
public class RecoveryBench {
    @Param({"1024"})
    int logMiB;

    /** "present": a current Bloom file; "missing": rebuilt from footers on open. */
    @Param({"present", "missing"})
    String bloomFile;

    private Path directory;
    private Path imageDirectory;
    private ImageStore opened;

    @Setup(Level.Trial)
    public void createLog() throws IOException {
        directory = StoreBenchSupport.newDirectory("airlock-recovery-");
        try (ImageStore store = ImageStore.open(directory, StoreBenchSupport.options())) {
            long blocks = logMiB * 256L;
            DiskImage image = store.create("bench", blocks * 4096);
            ByteBuffer chunk = ByteBuffer.allocate(1024 * 4096);
            SplittableRandom r = new SplittableRandom(5);
            r.nextBytes(chunk.array());
            for (long b = 0; b < blocks; b += 1024) {
                chunk.clear().limit((int) Math.min(1024, blocks - b) * 4096);
                image.write(b, chunk);
            }
            imageDirectory = store.imageDirectory("bench");
        }
    }

    @Setup(Level.Invocation)
    public void prepare() throws IOException {
        if (bloomFile.equals("missing")) {
            Files.deleteIfExists(imageDirectory.resolve(BloomMatrixFile.FILE_NAME));
        }
    }

    @Benchmark
    public long openImage() {
        opened = ImageStore.open(directory, StoreBenchSupport.options());
        return opened.image("bench").stats().recordCount();
    }

    @TearDown(Level.Invocation)
    public void closeImage() {
        opened.close(); // rewrites the Bloom file, outside the measured time
    }

    @TearDown(Level.Trial)
    public void deleteLog() throws IOException {
        StoreBenchSupport.deleteTree(directory);
    }
}
