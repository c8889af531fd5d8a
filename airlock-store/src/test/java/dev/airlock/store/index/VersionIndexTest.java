package dev.airlock.store.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The index against the definition it implements: a snapshot at S sees, per block, the newest record
 * with sequence <= S. Also checks liveness: exactly the records some view sees are referenced, which is
 * what lets cleaning delete the rest.
 */
class VersionIndexTest {
    private static final int BLOCKS = 12;

    record Step(int kind, int block, int count) {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Combinators.combine(Arbitraries.integers().between(0, 9), Arbitraries.integers().between(0, BLOCKS - 1),
                Arbitraries.integers().between(1, 4)).as(Step::new).list().ofMinSize(1).ofMaxSize(80);
    }

    @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
    void viewsAndLivenessMatchTheDefinition(@ForAll("steps") List<Step> steps) {
        Map<Long, Integer> refs = new HashMap<>();
        VersionIndex index = new VersionIndex(4, new VersionIndex.References() {
            @Override
            public void added(long location) {
                refs.merge(location, 1, Integer::sum);
            }

            @Override
            public void dropped(long location) {
                int n = refs.merge(location, -1, Integer::sum);
                assertTrue(n >= 0, "location dropped more often than added");
                if (n == 0) {
                    refs.remove(location);
                }
            }
        });
        // The definition: every record ever applied, per block, in sequence order.
        Map<Integer, TreeMap<Long, Long>> history = new HashMap<>();
        List<Long> snapshots = new ArrayList<>();
        long sequence = 0;
        int offset = 128;
        for (Step step : steps) {
            if (step.kind() <= 4) {
                long location = VersionIndex.location(1, offset += 64, false);
                sequence++;
                index.apply(step.block(), sequence, location);
                history.computeIfAbsent(step.block(), b -> new TreeMap<>()).put(sequence, location);
            } else if (step.kind() <= 6) {
                long location = VersionIndex.location(2, offset += 64, true);
                sequence++;
                for (int b = step.block(); b < Math.min(BLOCKS, step.block() + step.count()); b++) {
                    index.applyTombstone(b, sequence, location, false);
                    TreeMap<Long, Long> h = history.computeIfAbsent(b, x -> new TreeMap<>());
                    if (!h.isEmpty() && !VersionIndex.isTombstone(h.lastEntry().getValue())) {
                        h.put(sequence, location); // the index skips blocks that already read as zeros
                    }
                }
            } else if (step.kind() <= 8) {
                index.addSnapshot(sequence);
                snapshots.add(sequence);
            } else if (!snapshots.isEmpty()) {
                long s = snapshots.remove(step.block() % snapshots.size());
                index.removeSnapshot(s);
            }
        }
        Set<Long> seen = new HashSet<>();
        for (int b = 0; b < BLOCKS; b++) {
            TreeMap<Long, Long> h = history.getOrDefault(b, new TreeMap<>());
            long head = h.isEmpty() ? 0 : h.lastEntry().getValue();
            assertEquals(head, index.lookupHead(b), "head of block " + b);
            if (head != 0) {
                seen.add(head);
            }
            for (long s : snapshots) {
                Map.Entry<Long, Long> e = h.floorEntry(s);
                long expected = e == null ? 0 : e.getValue();
                assertEquals(expected, index.lookupAt(b, s), "block " + b + " at snapshot " + s);
                if (expected != 0) {
                    seen.add(expected);
                }
            }
        }
        assertEquals(seen, refs.keySet(), "referenced records are exactly those some view sees");
    }
}
