package dev.airlock.store;

import dev.airlock.store.format.RecordIdGenerator;
import dev.airlock.store.io.RealFileSystem;
import dev.airlock.store.io.StoreFileSystem;
import java.time.Clock;
import java.util.random.RandomGenerator;

/**
 * How a store is opened. Clock and randomness are injected so tests replay exactly from a seed.
 *
 * @param segmentSizeBytes     size limit of a segment file for new images (footer included)
 * @param bloomFalsePositiveRate target false-positive rate of each segment's column in the Bloom matrix
 * @param bloomPersistEverySeals how many segment seals between rewrites of the Bloom file (it is a cache)
 */
public record StoreOptions(StoreFileSystem fileSystem, Clock clock, RandomGenerator random, int segmentSizeBytes,
        double bloomFalsePositiveRate, int bloomPersistEverySeals) {

    public static final int DEFAULT_SEGMENT_SIZE_BYTES = 64 << 20;
    public static final int MIN_SEGMENT_SIZE_BYTES = 16 << 10;
    public static final int MAX_SEGMENT_SIZE_BYTES = 1 << 30;

    public StoreOptions {
        if (segmentSizeBytes < MIN_SEGMENT_SIZE_BYTES || segmentSizeBytes > MAX_SEGMENT_SIZE_BYTES) {
            throw new IllegalArgumentException("segmentSizeBytes must be in [" + MIN_SEGMENT_SIZE_BYTES + ", "
                    + MAX_SEGMENT_SIZE_BYTES + "]: " + segmentSizeBytes);
        }
        if (bloomPersistEverySeals < 1) {
            throw new IllegalArgumentException("bloomPersistEverySeals must be >= 1: " + bloomPersistEverySeals);
        }
        if (!(bloomFalsePositiveRate > 0 && bloomFalsePositiveRate < 1)) {
            throw new IllegalArgumentException("bloomFalsePositiveRate must be in (0, 1): " + bloomFalsePositiveRate);
        }
    }

    /** The real file system, the system clock and an OS-seeded generator. */
    public static StoreOptions defaults() {
        return new StoreOptions(RealFileSystem.INSTANCE, Clock.systemUTC(), RecordIdGenerator.secureSeededRandom(),
                DEFAULT_SEGMENT_SIZE_BYTES, 0.01, 64);
    }

    public StoreOptions withFileSystem(StoreFileSystem fs) {
        return new StoreOptions(fs, clock, random, segmentSizeBytes, bloomFalsePositiveRate, bloomPersistEverySeals);
    }

    public StoreOptions withClock(Clock c) {
        return new StoreOptions(fileSystem, c, random, segmentSizeBytes, bloomFalsePositiveRate, bloomPersistEverySeals);
    }

    public StoreOptions withRandom(RandomGenerator r) {
        return new StoreOptions(fileSystem, clock, r, segmentSizeBytes, bloomFalsePositiveRate, bloomPersistEverySeals);
    }

    public StoreOptions withSegmentSizeBytes(int bytes) {
        return new StoreOptions(fileSystem, clock, random, bytes, bloomFalsePositiveRate, bloomPersistEverySeals);
    }

    public StoreOptions withBloomFalsePositiveRate(double fpr) {
        return new StoreOptions(fileSystem, clock, random, segmentSizeBytes, fpr, bloomPersistEverySeals);
    }

    public StoreOptions withBloomPersistEverySeals(int seals) {
        return new StoreOptions(fileSystem, clock, random, segmentSizeBytes, bloomFalsePositiveRate, seals);
    }
}
