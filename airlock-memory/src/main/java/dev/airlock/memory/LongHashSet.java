package dev.airlock.memory;

import java.util.Arrays;

/**
 * A set of non-negative longs (host frame numbers) by open addressing with linear probing: one
 * primitive array, no boxing, and {@link #clear()} keeps the capacity so a pass over thousands of
 * VMs can reuse it. Not thread safe.
 */
final class LongHashSet {
    private static final long EMPTY = -1;
    private static final int MAX_CAPACITY = 1 << 30;

    private long[] slots;
    private int mask;
    private int size;
    private int resizeAt;

    LongHashSet(int expectedSize) {
        allocate(capacityFor(expectedSize));
    }

    /** Adds {@code key}; true when it was not there before. */
    boolean add(long key) {
        if (key < 0) throw new IllegalArgumentException("only non-negative keys: " + key);
        int i = index(key);
        for (long k; (k = slots[i]) != EMPTY; i = (i + 1) & mask) {
            if (k == key) return false;
        }
        slots[i] = key;
        if (++size > resizeAt) grow();
        return true;
    }

    boolean contains(long key) {
        if (key < 0) return false;
        for (int i = index(key); ; i = (i + 1) & mask) {
            long k = slots[i];
            if (k == key) return true;
            if (k == EMPTY) return false;
        }
    }

    int size() { return size; }

    /** Empties the set, keeping its capacity. */
    void clear() {
        Arrays.fill(slots, EMPTY);
        size = 0;
    }

    int capacity() { return slots.length; }

    private int index(long key) {
        long h = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    private void grow() {
        if (slots.length >= MAX_CAPACITY) throw new IllegalStateException("frame set is full at " + size + " frames");
        long[] old = slots;
        allocate(old.length * 2);
        for (long k : old) {
            if (k == EMPTY) continue;
            int i = index(k);
            while (slots[i] != EMPTY) i = (i + 1) & mask;
            slots[i] = k;
        }
    }

    private void allocate(int capacity) {
        slots = new long[capacity];
        Arrays.fill(slots, EMPTY);
        mask = capacity - 1;
        resizeAt = capacity / 2; // at most half full keeps linear probes short
    }

    private static int capacityFor(int expectedSize) {
        if (expectedSize < 0) throw new IllegalArgumentException("expected size " + expectedSize);
        long wanted = Math.max(16, (long) expectedSize * 2);
        return (int) Math.min(MAX_CAPACITY, Long.highestOneBit(wanted - 1) << 1);
    }
}
