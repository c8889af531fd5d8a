package dev.airlock.store.bloom;

import java.util.Arrays;

/**
 * Bloom filters of many segments stored bit-sliced: row r holds bit r of every segment's filter, one
 * {@code long} covering 64 segments (columns). "Which segments may hold id X" is the AND of the k rows X
 * hashes to, i.e. k * columns/64 word operations, instead of probing one filter per segment.
 *
 * <pre>
 *            column (segment slot) →   0..63      64..127    ...
 *  row 0        bits[0 * wordsPerRow + 0]  [.. + 1]   ...
 *  row 1        bits[1 * wordsPerRow + 0]  ...
 *  ...
 *  row m-1
 * </pre>
 *
 * Row indexes come from the 128-bit id by double hashing (Kirsch and Mitzenmacher): g_i = h1 + i * h2.
 * Not thread-safe; the owning image guards it with its map lock.
 */
public final class BloomMatrix {
    private static final double LN2 = Math.log(2);

    private final int rows;
    private final int hashCount;
    private int wordsPerRow;
    private long[] bits;

    public BloomMatrix(int rows, int hashCount, int columnCapacity) {
        if (rows < 1 || hashCount < 1) {
            throw new IllegalArgumentException("rows and hashCount must be positive: " + rows + ", " + hashCount);
        }
        this.rows = rows;
        this.hashCount = hashCount;
        this.wordsPerRow = Math.max(1, (columnCapacity + 63) >>> 6);
        this.bits = new long[Math.multiplyExact(rows, wordsPerRow)];
    }

    /** A matrix whose columns each hold {@code expectedIdsPerColumn} ids at false-positive rate {@code fpr}. */
    public static BloomMatrix sized(double fpr, long expectedIdsPerColumn, int columnCapacity) {
        int rows = optimalRows(fpr, expectedIdsPerColumn);
        return new BloomMatrix(rows, optimalHashCount(rows, expectedIdsPerColumn), columnCapacity);
    }

    /** m = -n ln p / (ln 2)^2. */
    public static int optimalRows(double fpr, long expectedIds) {
        if (!(fpr > 0 && fpr < 1) || expectedIds < 1) {
            throw new IllegalArgumentException("need 0 < fpr < 1 and expectedIds >= 1: " + fpr + ", " + expectedIds);
        }
        double m = Math.ceil(-expectedIds * Math.log(fpr) / (LN2 * LN2));
        return (int) Math.min(Integer.MAX_VALUE - 64, Math.max(64, m));
    }

    /** k = (m / n) ln 2, at least one. */
    public static int optimalHashCount(int rows, long expectedIds) {
        return (int) Math.max(1, Math.round((double) rows / expectedIds * LN2));
    }

    /** The textbook false-positive rate (1 - e^(-kn/m))^k of one column holding {@code ids} ids. */
    public static double theoreticalFpr(int rows, int hashCount, long ids) {
        return Math.pow(1 - Math.exp(-(double) hashCount * ids / rows), hashCount);
    }

    public int rows() {
        return rows;
    }

    public int hashCount() {
        return hashCount;
    }

    public int wordsPerRow() {
        return wordsPerRow;
    }

    public int columnCapacity() {
        return wordsPerRow << 6;
    }

    /** Grows (by doubling) so that column {@code columns - 1} exists. */
    public void ensureColumnCapacity(int columns) {
        if (columns <= columnCapacity()) {
            return;
        }
        int newWords = wordsPerRow;
        while ((newWords << 6) < columns) {
            newWords *= 2;
        }
        long[] grown = new long[Math.multiplyExact(rows, newWords)];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(bits, r * wordsPerRow, grown, r * newWords, wordsPerRow);
        }
        bits = grown;
        wordsPerRow = newWords;
    }

    public void add(int column, long idHi, long idLo) {
        checkColumn(column);
        long h1 = mix(idLo);
        long h2 = mix(idHi) | 1;
        int word = column >>> 6;
        long mask = 1L << column;
        for (int i = 0; i < hashCount; i++) {
            bits[row(h1 + i * h2) * wordsPerRow + word] |= mask;
        }
    }

    public boolean mayContain(int column, long idHi, long idLo) {
        checkColumn(column);
        long h1 = mix(idLo);
        long h2 = mix(idHi) | 1;
        int word = column >>> 6;
        long mask = 1L << column;
        for (int i = 0; i < hashCount; i++) {
            if ((bits[row(h1 + i * h2) * wordsPerRow + word] & mask) == 0) {
                return false;
            }
        }
        return true;
    }

    /** Columns that may hold the id, as a bit set of {@link #wordsPerRow()} words (bit c = column c). */
    public long[] candidates(long idHi, long idLo) {
        long[] result = new long[wordsPerRow];
        candidates(idHi, idLo, result);
        return result;
    }

    /**
     * Allocation-free form: ANDs the id's k rows into {@code dst} (at least {@link #wordsPerRow()} long) and
     * returns whether any column is set.
     */
    public boolean candidates(long idHi, long idLo, long[] dst) {
        long h1 = mix(idLo);
        long h2 = mix(idHi) | 1;
        int words = wordsPerRow;
        System.arraycopy(bits, row(h1) * words, dst, 0, words);
        long any = 0;
        for (int i = 1; i < hashCount; i++) {
            int base = row(h1 + i * h2) * words;
            any = 0;
            for (int w = 0; w < words; w++) {
                long v = dst[w] & bits[base + w];
                dst[w] = v;
                any |= v;
            }
            if (any == 0) {
                Arrays.fill(dst, words, dst.length, 0);
                return false;
            }
        }
        if (hashCount == 1) {
            for (int w = 0; w < words; w++) {
                any |= dst[w];
            }
        }
        Arrays.fill(dst, words, dst.length, 0);
        return any != 0;
    }

    public void clearColumn(int column) {
        checkColumn(column);
        int word = column >>> 6;
        long keep = ~(1L << column);
        for (int r = 0; r < rows; r++) {
            bits[r * wordsPerRow + word] &= keep;
        }
    }

    /** The backing words, row-major; for persistence and tests. */
    long[] words() {
        return bits;
    }

    public BloomMatrix copy() {
        BloomMatrix copy = new BloomMatrix(rows, hashCount, columnCapacity());
        System.arraycopy(bits, 0, copy.bits, 0, bits.length);
        return copy;
    }

    private int row(long hash) {
        // Lemire's multiply-shift range reduction: unbiased enough and avoids a division.
        return (int) Math.unsignedMultiplyHigh(hash, rows);
    }

    private void checkColumn(int column) {
        if (column < 0 || column >= columnCapacity()) {
            throw new IndexOutOfBoundsException("column " + column + " of " + columnCapacity());
        }
    }

    /** SplitMix64's finalizer: ids are random in production, but tests and replicas may hand us structured ones. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
