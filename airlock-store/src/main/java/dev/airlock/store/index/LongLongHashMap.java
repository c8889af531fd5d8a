package dev.airlock.store.index;

import java.util.Arrays;

/**
 * Open-addressing map from non-negative long keys to non-zero long values, linear probing with
 * backward-shift deletion. Holds block maps of millions of entries without boxing. A value of 0 means
 * "absent" in every method. Not thread-safe.
 */
public final class LongLongHashMap {
    private static final long EMPTY_KEY = -1;

    private long[] keys;
    private long[] values;
    private int mask;
    private int size;
    private int resizeAt;

    public LongLongHashMap(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expectedSize * 4L / 3 + 1)) - 1) << 1;
        allocate(capacity);
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY_KEY);
        values = new long[capacity];
        mask = capacity - 1;
        resizeAt = (int) (capacity * 0.75);
    }

    public int size() {
        return size;
    }

    public long get(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) {
                return values[i];
            }
            if (k == EMPTY_KEY) {
                return 0;
            }
            i = (i + 1) & mask;
        }
    }

    public boolean containsKey(long key) {
        return get(key) != 0;
    }

    /** Sets the value (non-zero) and returns the previous one, or 0. */
    public long put(long key, long value) {
        if (key < 0 || value == 0) {
            throw new IllegalArgumentException("key must be >= 0 and value non-zero: " + key + ", " + value);
        }
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) {
                long old = values[i];
                values[i] = value;
                return old;
            }
            if (k == EMPTY_KEY) {
                keys[i] = key;
                values[i] = value;
                if (++size >= resizeAt) {
                    grow();
                }
                return 0;
            }
            i = (i + 1) & mask;
        }
    }

    /** Removes a key and returns its value, or 0. */
    public long remove(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == EMPTY_KEY) {
                return 0;
            }
            if (k == key) {
                long old = values[i];
                shiftBack(i);
                size--;
                return old;
            }
            i = (i + 1) & mask;
        }
    }

    /** Slots, for iteration: {@code for (int s = 0; s < capacity(); s++) if (keyAt(s) >= 0) ...}. */
    public int capacity() {
        return keys.length;
    }

    public long keyAt(int slot) {
        return keys[slot];
    }

    public long valueAt(int slot) {
        return values[slot];
    }

    public void setValueAt(int slot, long value) {
        if (value == 0 || keys[slot] < 0) {
            throw new IllegalArgumentException("slot " + slot + " value " + value);
        }
        values[slot] = value;
    }

    private void shiftBack(int hole) {
        // Move later entries of the probe run into the hole so lookups never stop early.
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            long k = keys[i];
            if (k == EMPTY_KEY) {
                break;
            }
            int home = slot(k);
            boolean movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
            if (movable) {
                keys[hole] = k;
                values[hole] = values[i];
                hole = i;
            }
        }
        keys[hole] = EMPTY_KEY;
        values[hole] = 0;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        allocate(oldKeys.length * 2);
        size = 0;
        for (int s = 0; s < oldKeys.length; s++) {
            if (oldKeys[s] != EMPTY_KEY) {
                put(oldKeys[s], oldValues[s]);
            }
        }
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
