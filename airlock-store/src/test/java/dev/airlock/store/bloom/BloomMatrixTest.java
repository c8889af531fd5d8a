package dev.airlock.store.bloom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.store.TestStores;
import dev.airlock.store.io.FaultyFileSystem;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem.OpenMode;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BloomMatrixTest {
    private final long seed = TestStores.seed("BloomMatrixTest");

    @Test
    void measuredFalsePositiveRateIsWithinTwentyPercentOfTheory() {
        SplittableRandom random = new SplittableRandom(seed);
        int columns = 64;
        int idsPerColumn = 2_000;
        for (double target : new double[] {0.01, 0.05}) {
            BloomMatrix m = BloomMatrix.sized(target, idsPerColumn, columns);
            for (int c = 0; c < columns; c++) {
                for (int i = 0; i < idsPerColumn; i++) {
                    m.add(c, random.nextLong(), random.nextLong());
                }
            }
            long positives = 0;
            int queries = 40_000;
            long[] words = new long[m.wordsPerRow()];
            for (int q = 0; q < queries; q++) {
                m.candidates(random.nextLong(), random.nextLong(), words); // ids never added
                for (long w : words) {
                    positives += Long.bitCount(w);
                }
            }
            double measured = (double) positives / ((long) queries * columns);
            double theory = BloomMatrix.theoreticalFpr(m.rows(), m.hashCount(), idsPerColumn);
            System.out.printf("target %.3f: rows %d, k %d, theory %.5f, measured %.5f%n", target, m.rows(),
                    m.hashCount(), theory, measured);
            assertTrue(Math.abs(measured - theory) <= 0.2 * theory,
                    "measured " + measured + " vs theory " + theory + " (seed " + seed + ")");
        }
    }

    @Test
    void addedIdsAreAlwaysCandidatesAndCandidatesAgreeWithMayContain() {
        SplittableRandom random = new SplittableRandom(seed);
        BloomMatrix m = BloomMatrix.sized(0.01, 100, 64);
        m.ensureColumnCapacity(200); // grows past one word; existing bits must move with their rows
        long[][] ids = new long[200 * 50][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = new long[] {random.nextLong(), random.nextLong(), i % 200};
            m.add((int) ids[i][2], ids[i][0], ids[i][1]);
        }
        m.ensureColumnCapacity(1000);
        for (long[] id : ids) {
            long[] candidates = m.candidates(id[0], id[1]);
            assertTrue((candidates[(int) id[2] >>> 6] & (1L << id[2])) != 0);
            for (int c = 0; c < m.columnCapacity(); c++) {
                boolean inSet = (candidates[c >>> 6] & (1L << c)) != 0;
                assertEquals(m.mayContain(c, id[0], id[1]), inSet);
            }
        }
        m.clearColumn(5);
        for (long[] id : ids) {
            assertFalse(m.mayContain(5, id[0], id[1]));
            assertEquals(0, m.candidates(id[0], id[1])[0] & (1L << 5));
        }
    }

    @Test
    void fileRoundTripsAndDetectsDamage() throws Exception {
        FaultyFileSystem fs = new FaultyFileSystem(new SplittableRandom(seed));
        Path dir = Path.of("/mem/bloom");
        fs.createDirectories(dir);
        Path path = dir.resolve("bloom.idx");
        SplittableRandom random = new SplittableRandom(seed);
        BloomMatrix m = BloomMatrix.sized(0.01, 500, 128);
        for (int i = 0; i < 5000; i++) {
            m.add(random.nextInt(128), random.nextLong(), random.nextLong());
        }
        long[] segments = new long[128];
        long[] nonces = new long[128];
        long[] flags = new long[128];
        for (int c = 0; c < 128; c++) {
            segments[c] = c * 3;
            nonces[c] = random.nextLong();
            flags[c] = c % 2;
        }
        try (StoreFile f = fs.open(path, OpenMode.CREATE_NEW)) {
            BloomMatrixFile.write(f, new BloomMatrixFile.Contents(m, segments, nonces, flags));
        }
        BloomMatrixFile.Contents back;
        try (StoreFile f = fs.open(path, OpenMode.READ)) {
            back = BloomMatrixFile.read(f);
        }
        assertArrayEquals(m.words(), back.matrix().words());
        assertArrayEquals(segments, back.columnSegment());
        assertArrayEquals(nonces, back.columnNonce());
        assertArrayEquals(flags, back.columnFlags());
        byte[] bytes = fs.contents(path);
        bytes[bytes.length / 2] ^= 4;
        fs.replaceDurably(path, bytes);
        try (StoreFile f = fs.open(path, OpenMode.READ)) {
            BloomMatrixFile.BloomFileException e = assertThrows(BloomMatrixFile.BloomFileException.class,
                    () -> BloomMatrixFile.read(f));
            assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        }
    }
}
