package dev.airlock.store;

import dev.airlock.store.io.FaultyFileSystem;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.SplittableRandom;

/** Deterministic stores for tests: in-memory faulty file system, fixed clock, seeded randomness. */
public final class TestStores {
    private TestStores() {
    }

    public static final Path ROOT = Path.of("/mem/store");
    public static final int SMALL_SEGMENT_BYTES = 64 << 10;

    /** A seed from -Dairlock.seed or the clock, printed so a failure can be replayed. */
    public static long seed(String testName) {
        long seed = Long.getLong("airlock.seed", System.nanoTime());
        System.out.println(testName + " seed: " + seed + " (rerun with -Dairlock.seed=" + seed + ")");
        return seed;
    }

    public static StoreOptions options(FaultyFileSystem fs, long seed) {
        return StoreOptions.defaults().withFileSystem(fs)
                .withClock(Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC))
                .withRandom(new SplittableRandom(seed ^ 0x5DEECE66DL)).withSegmentSizeBytes(SMALL_SEGMENT_BYTES)
                .withBloomPersistEverySeals(4);
    }

    public static byte[] block(long pattern) {
        byte[] b = new byte[BlockDevice.BLOCK_SIZE_BYTES];
        if (pattern == 0) {
            return b;
        }
        SplittableRandom r = new SplittableRandom(pattern);
        r.nextBytes(b);
        return b;
    }
}
