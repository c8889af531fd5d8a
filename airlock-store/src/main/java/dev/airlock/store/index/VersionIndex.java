package dev.airlock.store.index;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which record holds each block, now and at every snapshot.
 *
 * <p>{@code head} maps block → newest location. Each snapshot S has a delta holding, for every block
 * first changed after S (and before the next snapshot), the location S saw ({@link #ABSENT} if none). So
 * the view at S is: the first of delta(S), delta(S+1), ... holding the block, else head. Records that are
 * neither in head nor in a delta are dead and may be cleaned; every change reports references gained and
 * lost to {@link References}, which keeps per-segment liveness.
 *
 * <p>Applying records in sequence order with all snapshots registered first gives the same state as the
 * live system reached, which is how open rebuilds it. Not thread-safe; the image's map lock guards it.
 */
public final class VersionIndex {

    /** A delta value: the block had no record at that snapshot (reads fall through to the base, or zeros). */
    public static final long ABSENT = 1;

    /** Location words: bits 0-31 offset in segment, 32-61 segment number, 62 tombstone (trim or zero record). */
    public static final long TOMBSTONE_BIT = 1L << 62;

    public static long location(long segmentNumber, int offsetBytes, boolean tombstone) {
        return (tombstone ? TOMBSTONE_BIT : 0) | (segmentNumber << 32) | (offsetBytes & 0xffffffffL);
    }

    public static long segmentOf(long location) {
        return (location & ~TOMBSTONE_BIT) >>> 32;
    }

    public static int offsetOf(long location) {
        return (int) location;
    }

    public static boolean isTombstone(long location) {
        return (location & TOMBSTONE_BIT) != 0;
    }

    /** Told whenever a location becomes referenced by, or stops being referenced by, any view. */
    public interface References {
        void added(long location);

        void dropped(long location);
    }

    private final LongLongHashMap head;
    private final TreeMap<Long, LongLongHashMap> deltas = new TreeMap<>();
    private final TreeMap<Long, Integer> snapshotsPerSequence = new TreeMap<>();
    private final References references;

    public VersionIndex(int expectedBlocks, References references) {
        this.head = new LongLongHashMap(expectedBlocks);
        this.references = references;
    }

    public int headSize() {
        return head.size();
    }

    /** Location of the newest record for a block, or 0 if it was never written (fall through). */
    public long lookupHead(long block) {
        return head.get(block);
    }

    /** Location the snapshot at {@code sequence} sees, or 0 if it saw none (fall through). */
    public long lookupAt(long block, long sequence) {
        for (LongLongHashMap delta : deltas.tailMap(sequence, true).values()) {
            long v = delta.get(block);
            if (v != 0) {
                return v == ABSENT ? 0 : v;
            }
        }
        return head.get(block);
    }

    /** A write or zeroing record for a block, at sequence {@code sequence}, newer than everything applied. */
    public void apply(long block, long sequence, long location) {
        long old = head.put(block, location);
        retainOrDrop(block, sequence, old);
        references.added(location);
    }

    /**
     * A trim for one block. Skipped when the block already reads as zeros here: its head is a tombstone, or
     * it has no record and {@code baseHasData} is false (no base, or the base reads zeros there).
     */
    public void applyTombstone(long block, long sequence, long tombstoneLocation, boolean baseHasData) {
        long current = head.get(block);
        if (isTombstone(current) || (current == 0 && !baseHasData)) {
            return;
        }
        apply(block, sequence, tombstoneLocation);
    }

    private void retainOrDrop(long block, long sequence, long old) {
        Map.Entry<Long, LongLongHashMap> latest = deltas.lowerEntry(sequence);
        if (latest != null && !latest.getValue().containsKey(block)) {
            // First change since the latest older snapshot: it must keep seeing the old version.
            latest.getValue().put(block, old == 0 ? ABSENT : old);
        } else if (old != 0) {
            references.dropped(old);
        }
    }

    public void addSnapshot(long sequence) {
        snapshotsPerSequence.merge(sequence, 1, Integer::sum);
        deltas.computeIfAbsent(sequence, s -> new LongLongHashMap(64));
    }

    /** Forgets one snapshot at {@code sequence}; versions only it needed become dead. */
    public void removeSnapshot(long sequence) {
        Integer count = snapshotsPerSequence.get(sequence);
        if (count == null) {
            throw new IllegalArgumentException("no snapshot at sequence " + sequence);
        }
        if (count > 1) {
            snapshotsPerSequence.put(sequence, count - 1);
            return;
        }
        snapshotsPerSequence.remove(sequence);
        LongLongHashMap removed = deltas.remove(sequence);
        Map.Entry<Long, LongLongHashMap> previous = deltas.lowerEntry(sequence);
        for (int s = 0; s < removed.capacity(); s++) {
            long block = removed.keyAt(s);
            if (block < 0) {
                continue;
            }
            long v = removed.valueAt(s);
            // The previous snapshot now covers both intervals; it keeps its own older view if it has one.
            if (previous != null && !previous.getValue().containsKey(block)) {
                previous.getValue().put(block, v);
            } else if (v != ABSENT) {
                references.dropped(v);
            }
        }
    }

    /** Whether any view references {@code location} for {@code block}. */
    public boolean references(long block, long location) {
        if (head.get(block) == location) {
            return true;
        }
        for (LongLongHashMap delta : deltas.values()) {
            if (delta.get(block) == location) {
                return true;
            }
        }
        return false;
    }

    /**
     * Cleaning moved a record: every view of blocks [first, first+count) that pointed at {@code oldLocation}
     * now points at {@code newLocation}. Returns how many references moved.
     */
    public int relocate(long first, long count, long oldLocation, long newLocation) {
        int moved = 0;
        long entries = head.size();
        for (LongLongHashMap d : deltas.values()) {
            entries += d.size();
        }
        List<LongLongHashMap> maps = new ArrayList<>(deltas.size() + 1);
        maps.add(head);
        maps.addAll(deltas.values());
        if (count <= entries) {
            for (long b = first; b < first + count; b++) {
                for (LongLongHashMap map : maps) {
                    if (map.get(b) == oldLocation) {
                        map.put(b, newLocation);
                        moved++;
                    }
                }
            }
        } else {
            for (LongLongHashMap map : maps) {
                for (int s = 0; s < map.capacity(); s++) {
                    if (map.keyAt(s) >= 0 && map.valueAt(s) == oldLocation) {
                        map.setValueAt(s, newLocation);
                        moved++;
                    }
                }
            }
        }
        for (int i = 0; i < moved; i++) {
            references.dropped(oldLocation);
            references.added(newLocation);
        }
        return moved;
    }

    /** Blocks with a head entry inside [first, first+count), for trims of large ranges. */
    public long[] headBlocksIn(long first, long count) {
        long[] found = new long[16];
        int n = 0;
        for (int s = 0; s < head.capacity(); s++) {
            long b = head.keyAt(s);
            if (b >= first && b - first < count) {
                if (n == found.length) {
                    found = java.util.Arrays.copyOf(found, n * 2);
                }
                found[n++] = b;
            }
        }
        java.util.Arrays.sort(found, 0, n);
        return java.util.Arrays.copyOf(found, n);
    }
}
