package dev.airlock.store.fsck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.store.CorruptStoreException;
import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageStore;
import dev.airlock.store.StoreOptions;
import dev.airlock.store.bloom.BloomMatrixFile;
import dev.airlock.store.cli.ImageCommand;
import dev.airlock.store.format.RecordLayout;
import dev.airlock.store.format.SegmentLayout;
import dev.airlock.store.io.RealFileSystem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of damage fsck claims to find is planted in a real image and must be reported with file and offset. */
class ImageCheckerTest {
    @TempDir
    Path temp;

    private final StoreOptions options = StoreOptions.defaults().withSegmentSizeBytes(64 << 10)
            .withRandom(new SplittableRandom(1));
    private Path root;
    private Path imageDirectory;

    @BeforeEach
    void createImage() {
        root = temp.resolve("store");
        try (ImageStore store = ImageStore.open(root, options)) {
            DiskImage image = store.create("vm", 1 << 20);
            for (int b = 0; b < 60; b++) {
                byte[] data = new byte[4096];
                new SplittableRandom(b).nextBytes(data);
                image.write(b, data);
            }
            image.trim(10, 5);
            imageDirectory = store.imageDirectory("vm");
        }
    }

    private Path segment(long number) {
        return imageDirectory.resolve(SegmentLayout.fileName(number));
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x40);
        }
    }

    private static long footerOffset(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(f.length() - SegmentLayout.TRAILER_BYTES + SegmentLayout.T_SUMMARY_OFFSET);
            return Long.reverseBytes(f.readLong());
        }
    }

    private ImageChecker.Report check() throws IOException {
        return ImageChecker.check(RealFileSystem.INSTANCE, imageDirectory);
    }

    private String fsckOutput(int expectedCode) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = ImageCommand.run(new String[] {"fsck", "vm"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), root, options);
        assertEquals(expectedCode, code);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aHealthyImageIsClean() throws IOException {
        ImageChecker.Report report = check();
        assertTrue(report.clean(), report.problems().toString());
        assertTrue(report.segmentCount() > 3);
        fsckOutput(0);
    }

    @Test
    void flippedByteInARecordIsReportedAndNeverReturned() throws IOException {
        long offset = SegmentLayout.HEADER_BYTES + RecordLayout.HEADER_BYTES + 100; // payload of the first record
        flipByte(segment(0), offset);
        ImageChecker.Report report = check();
        assertEquals(1, report.problems().size(), report.problems().toString());
        Inconsistency p = report.problems().get(0);
        assertEquals(segment(0), p.file());
        assertEquals(SegmentLayout.HEADER_BYTES, p.offsetBytes());
        assertTrue(p.problem().contains("checksum"), p.problem());
        String out = fsckOutput(1);
        assertTrue(out.contains(segment(0).toString()) && out.contains("offset 128"), out);
        try (ImageStore store = ImageStore.open(root, options)) {
            DiskImage image = store.image("vm");
            CorruptStoreException e = assertThrows(CorruptStoreException.class, () -> image.read(0, new byte[4096]));
            assertEquals(segment(0), e.file());
            assertEquals(SegmentLayout.HEADER_BYTES, e.offsetBytes());
            byte[] other = new byte[4096];
            image.read(1, other); // other records stay readable
            byte[] expected = new byte[4096];
            new SplittableRandom(1).nextBytes(expected);
            assertArrayEquals(expected, other);
        }
    }

    @Test
    void badSegmentHeaderIsReported() throws IOException {
        flipByte(segment(1), SegmentLayout.H_CREATED_MILLIS);
        ImageChecker.Report report = check();
        assertEquals(1, report.problems().size(), report.problems().toString());
        assertEquals(segment(1), report.problems().get(0).file());
        assertEquals(0, report.problems().get(0).offsetBytes());
        assertTrue(report.problems().get(0).problem().contains("header checksum"));
        assertThrows(CorruptStoreException.class, () -> {
            try (ImageStore store = ImageStore.open(root, options)) {
                store.image("vm");
            }
        });
    }

    @Test
    void badFooterIsReported() throws IOException {
        long summaryAt = footerOffset(segment(2));
        flipByte(segment(2), summaryAt + 20);
        ImageChecker.Report report = check();
        assertFalse(report.clean());
        Inconsistency p = report.problems().get(0);
        assertEquals(segment(2), p.file());
        assertEquals(summaryAt, p.offsetBytes());
        assertTrue(p.problem().contains("footer"), p.problem());
    }

    @Test
    void truncatedSegmentIsReported() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(segment(1).toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        ImageChecker.Report report = check();
        assertFalse(report.clean());
        assertEquals(segment(1), report.problems().get(0).file());
        assertTrue(report.problems().get(0).problem().contains("truncated"), report.problems().toString());
    }

    @Test
    void corruptBloomFileIsReportedAndRebuiltOnOpen() throws IOException {
        Path bloom = imageDirectory.resolve(BloomMatrixFile.FILE_NAME);
        flipByte(bloom, bloom.toFile().length() / 2);
        ImageChecker.Report report = check();
        assertEquals(1, report.problems().size(), report.problems().toString());
        assertEquals(bloom, report.problems().get(0).file());
        assertTrue(report.problems().get(0).problem().contains("checksum"));
        try (ImageStore store = ImageStore.open(root, options)) {
            assertTrue(store.image("vm").bloomRebuiltOnOpen());
        }
        assertTrue(check().clean(), "close rewrote the Bloom file");
    }

    @Test
    void damagedManifestIsReported() throws IOException {
        Path manifest = imageDirectory.resolve("image.meta");
        flipByte(manifest, 20);
        ImageChecker.Report report = check();
        assertEquals(manifest, report.problems().get(0).file());
        assertTrue(report.problems().get(0).problem().contains("checksum"));
    }
}
