package dev.airlock.store.format;

import java.security.SecureRandom;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/** Draws record ids from an injected generator so tests are reproducible from a printed seed. Not thread-safe. */
public final class RecordIdGenerator {

    private final RandomGenerator random;

    public RecordIdGenerator(RandomGenerator random) {
        this.random = random;
    }

    public RecordId next() {
        return new RecordId(random.nextLong(), random.nextLong());
    }

    /** A production generator: 256 bits of state seeded from the OS, so ids of different stores do not collide. */
    public static RandomGenerator secureSeededRandom() {
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed); // nextBytes, not generateSeed: the latter may wait for entropy
        return RandomGeneratorFactory.of("L64X256MixRandom").create(seed);
    }
}
