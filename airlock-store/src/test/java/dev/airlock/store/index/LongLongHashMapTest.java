package dev.airlock.store.index;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LongLongHashMapTest {
    @Test
    void behavesLikeHashMapUnderRandomPutsAndRemoves() {
        SplittableRandom random = new SplittableRandom(12345);
        LongLongHashMap map = new LongLongHashMap(4);
        Map<Long, Long> reference = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            long key = random.nextInt(5_000);
            if (random.nextInt(3) == 0) {
                Long expected = reference.remove(key);
                assertEquals(expected == null ? 0 : expected, map.remove(key));
            } else {
                long value = 1 + random.nextInt(1 << 20);
                Long expected = reference.put(key, value);
                assertEquals(expected == null ? 0 : expected, map.put(key, value));
            }
            if (i % 10_000 == 0) {
                for (long k = 0; k < 5_000; k++) {
                    Long expected = reference.get(k);
                    assertEquals(expected == null ? 0 : expected, map.get(k), "key " + k);
                }
            }
        }
        assertEquals(reference.size(), map.size());
    }
}
