package dev.airlock.store;

/** Sorting of parallel primitive arrays, so replaying millions of summary entries boxes nothing. */
final class PrimitiveSort {
    private PrimitiveSort() {
    }

    /** Sorts {@code keys} ascending (stable) and permutes {@code values} alongside. */
    static void sortBy(long[] keys, long[] values) {
        int n = keys.length;
        boolean sorted = true;
        for (int i = 1; i < n && sorted; i++) {
            sorted = keys[i - 1] <= keys[i];
        }
        if (sorted) {
            return; // the common case: a log nobody has cleaned yet is already in order
        }
        long[] keyScratch = new long[n];
        long[] valueScratch = new long[n];
        for (int width = 1; width < n; width *= 2) {
            for (int lo = 0; lo < n; lo += 2 * width) {
                int mid = Math.min(lo + width, n);
                int hi = Math.min(lo + 2 * width, n);
                int i = lo;
                int j = mid;
                int k = lo;
                while (i < mid && j < hi) {
                    if (keys[j] < keys[i]) {
                        keyScratch[k] = keys[j];
                        valueScratch[k++] = values[j++];
                    } else {
                        keyScratch[k] = keys[i];
                        valueScratch[k++] = values[i++];
                    }
                }
                while (i < mid) {
                    keyScratch[k] = keys[i];
                    valueScratch[k++] = values[i++];
                }
                while (j < hi) {
                    keyScratch[k] = keys[j];
                    valueScratch[k++] = values[j++];
                }
            }
            System.arraycopy(keyScratch, 0, keys, 0, n);
            System.arraycopy(valueScratch, 0, values, 0, n);
        }
    }
}
