package dev.airlock.store.bench;

import com.google.common.hash.BloomFilter;
import com.google.common.hash.Funnel;
import dev.airlock.store.bloom.BloomMatrix;
import dev.airlock.store.format.RecordId;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * "Which segments may hold record X?": the bit-sliced Bloom matrix (k row reads ANDed, 64 segments per
 * word) against one Guava BloomFilter per segment at the same false-positive rate. Half the queried ids
 * were added (each to one segment), half never were.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class BloomLookupBench {
    @Param({"64", "1024", "4096"})
    int segments;

    /** A 64 MiB segment holds about 16,000 block records; fewer keeps setup fast, and lookup cost barely depends on it. */
    @Param({"1024"})
    int idsPerSegment;

    @Param({"0.01"})
    double fpr;

    private BloomMatrix matrix;
    private BloomFilter<RecordId>[] filters;
    private RecordId[] queries;
    private long[] scratch;
    private int next;

    private static final Funnel<RecordId> ID_FUNNEL = (id, into) -> into.putLong(id.hi()).putLong(id.lo());

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() {
        SplittableRandom random = new SplittableRandom(2026);
        matrix = BloomMatrix.sized(fpr, idsPerSegment, segments);
        filters = (BloomFilter<RecordId>[]) new BloomFilter<?>[segments];
        queries = new RecordId[4096];
        for (int s = 0; s < segments; s++) {
            filters[s] = BloomFilter.create(ID_FUNNEL, idsPerSegment, fpr);
            for (int i = 0; i < idsPerSegment; i++) {
                RecordId id = new RecordId(random.nextLong(), random.nextLong());
                matrix.add(s, id.hi(), id.lo());
                filters[s].put(id);
                int slot = random.nextInt(queries.length * 4); // sample present ids into half the query slots
                if (slot < queries.length && (slot & 1) == 0) {
                    queries[slot] = id;
                }
            }
        }
        for (int q = 0; q < queries.length; q++) {
            if (queries[q] == null) {
                queries[q] = new RecordId(random.nextLong(), random.nextLong());
            }
        }
        scratch = new long[matrix.wordsPerRow()];
    }

    @Benchmark
    public long matrixCandidates() {
        RecordId id = queries[next++ & (queries.length - 1)];
        matrix.candidates(id.hi(), id.lo(), scratch);
        long bits = 0;
        for (long w : scratch) {
            bits += Long.bitCount(w);
        }
        return bits;
    }

    @Benchmark
    public long guavaFilterPerSegment() {
        RecordId id = queries[next++ & (queries.length - 1)];
        long bits = 0;
        for (int s = 0; s < segments; s++) {
            if (filters[s].mightContain(id)) {
                scratch[s >>> 6] |= 1L << s;
                bits++;
            }
        }
        return bits;
    }
}
