package dev.airlock.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LongHashSetTest {
    @Test
    void addsOnceGrowsAndClearsKeepingCapacity() {
        LongHashSet set = new LongHashSet(4);
        assertEquals(16, set.capacity());
        assertTrue(set.add(0));
        assertFalse(set.add(0));
        assertTrue(set.contains(0));
        assertFalse(set.contains(1));
        assertFalse(set.contains(-1), "the empty-slot marker is never a member");
        assertThrows(IllegalArgumentException.class, () -> set.add(-1));
        for (long k = 1; k <= 1000; k++) assertTrue(set.add(k << 12));
        assertEquals(1001, set.size());
        int grown = set.capacity();
        assertTrue(grown >= 2048, "at most half full: " + grown);
        set.clear();
        assertEquals(0, set.size());
        assertEquals(grown, set.capacity());
        assertFalse(set.contains(1L << 12));
    }

    @Test
    void agreesWithHashSetOnRandomFrameNumbers() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        LongHashSet set = new LongHashSet(16);
        Set<Long> reference = new HashSet<>();
        for (int i = 0; i < 200_000; i++) {
            // Clustered keys, as page-cache frames of one file are, and scattered ones, as KSM frames are.
            long key = random.nextBoolean() ? random.nextInt(50_000) : random.nextLong() & ((1L << 40) - 1);
            assertEquals(reference.add(key), set.add(key), "seed " + seed + ", key " + key);
        }
        assertEquals(reference.size(), set.size(), "seed " + seed);
        for (int i = 0; i < 100_000; i++) {
            long key = random.nextInt(100_000);
            assertEquals(reference.contains(key), set.contains(key), "seed " + seed + ", key " + key);
        }
    }
}
