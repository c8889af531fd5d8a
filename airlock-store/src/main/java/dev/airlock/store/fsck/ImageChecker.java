package dev.airlock.store.fsck;

import dev.airlock.store.bloom.BloomMatrix;
import dev.airlock.store.bloom.BloomMatrixFile;
import dev.airlock.store.format.ImageManifest;
import dev.airlock.store.format.RecordLayout;
import dev.airlock.store.format.RecordType;
import dev.airlock.store.format.SegmentLayout;
import dev.airlock.store.format.SegmentReader;
import dev.airlock.store.format.SummaryTable;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem;
import dev.airlock.store.io.StoreFileSystem.OpenMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Offline check of one image directory: manifest, every segment (header, every record's checksum,
 * footer and its agreement with the records) and the Bloom file (checksum, and that each column it
 * trusts holds every id of its segment). Reads only; never repairs.
 */
public final class ImageChecker {

    /** Problems (the image is damaged) and notes (expected after a crash, repaired on open). */
    public record Report(List<Inconsistency> problems, List<String> notes, int segmentCount, long recordCount) {
        public boolean clean() {
            return problems.isEmpty();
        }
    }

    private final StoreFileSystem fs;
    private final Path directory;
    private final List<Inconsistency> problems = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final Map<Long, SegmentFacts> sealedSegments = new HashMap<>();
    private long recordCount;

    private record SegmentFacts(long nonce, SummaryTable summary) {
    }

    private ImageChecker(StoreFileSystem fs, Path directory) {
        this.fs = fs;
        this.directory = directory;
    }

    public static Report check(StoreFileSystem fs, Path imageDirectory) throws IOException {
        ImageChecker checker = new ImageChecker(fs, imageDirectory);
        return checker.run();
    }

    private Report run() throws IOException {
        ImageManifest manifest = checkManifest(directory.resolve(ImageManifest.FILE_NAME), true);
        if (manifest != null && manifest.isClone()) {
            checkBase(manifest);
        }
        long deviceBlocks = manifest == null ? Long.MAX_VALUE / 4 : manifest.sizeBytes() / RecordLayout.BLOCK_SIZE_BYTES;
        List<Path> segmentFiles = new ArrayList<>();
        for (Path p : fs.list(directory)) {
            if (SegmentLayout.parseFileName(p.getFileName().toString()) >= 0) {
                segmentFiles.add(p);
            }
        }
        for (int i = 0; i < segmentFiles.size(); i++) {
            checkSegment(segmentFiles.get(i), i == segmentFiles.size() - 1, manifest, deviceBlocks);
        }
        checkBloom();
        return new Report(List.copyOf(problems), List.copyOf(notes), segmentFiles.size(), recordCount);
    }

    private void problem(Path file, long offsetBytes, String what) {
        problems.add(new Inconsistency(file, offsetBytes, what));
    }

    private ImageManifest checkManifest(Path path, boolean report) throws IOException {
        if (!fs.exists(path)) {
            if (report) {
                problem(path, 0, "image manifest is missing");
            }
            return null;
        }
        try (StoreFile file = fs.open(path, OpenMode.READ)) {
            ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(file.sizeBytes(), 16 << 20));
            file.readFully(bytes, 0);
            return ImageManifest.decode(bytes.flip());
        } catch (ImageManifest.ManifestException e) {
            if (report) {
                problem(path, e.offsetBytes, e.getMessage());
            }
            return null;
        }
    }

    /** A clone is only readable while its base image and base snapshot exist unchanged. */
    private void checkBase(ImageManifest manifest) throws IOException {
        Path path = directory.resolve(ImageManifest.FILE_NAME);
        Path baseManifestPath = directory.resolveSibling(manifest.baseImage()).resolve(ImageManifest.FILE_NAME);
        ImageManifest base = checkManifest(baseManifestPath, false);
        if (base == null) {
            problem(path, 0, "base image " + manifest.baseImage() + " is missing or unreadable");
            return;
        }
        boolean found = base.snapshots().stream().anyMatch(s -> s.name().equals(manifest.baseSnapshot())
                && s.sequence() == manifest.baseSequence());
        if (!found) {
            problem(path, 0, "base snapshot " + manifest.baseImage() + "@" + manifest.baseSnapshot()
                    + " (sequence " + manifest.baseSequence() + ") is missing");
        }
    }

    private void checkSegment(Path path, boolean newest, ImageManifest manifest, long deviceBlocks)
            throws IOException {
        long number = SegmentLayout.parseFileName(path.getFileName().toString());
        try (StoreFile file = fs.open(path, OpenMode.READ)) {
            String[] headerProblem = new String[1];
            SegmentReader.Header header = SegmentReader.readHeader(file, headerProblem);
            if (header == null) {
                if (newest && file.sizeBytes() <= SegmentLayout.HEADER_BYTES) {
                    notes.add(path + ": newest segment has no durable header (crash while creating it); "
                            + "removed on next open");
                } else {
                    problem(path, 0, headerProblem[0]);
                }
                return;
            }
            if (header.segmentNumber() != number) {
                problem(path, SegmentLayout.H_SEGMENT_NUMBER, "header says segment " + header.segmentNumber()
                        + " but the file name says " + number);
            }
            if (manifest != null && (header.imageIdHi() != manifest.imageIdHi()
                    || header.imageIdLo() != manifest.imageIdLo())) {
                problem(path, SegmentLayout.H_IMAGE_ID_HI, "segment belongs to a different image");
            }
            SegmentReader.Footer footer = SegmentReader.readFooter(file);
            if (footer.valid()) {
                checkSealedRecords(path, file, footer, deviceBlocks);
                sealedSegments.put(number, new SegmentFacts(header.nonce(), footer.summary()));
                return;
            }
            SegmentReader.Scan scan = SegmentReader.scan(file, file.sizeBytes(), deviceBlocks);
            recordCount += scan.summary().size();
            if (!newest) {
                problem(path, footer.problemOffsetBytes(), footer.problem() + " (a sealed segment must have one;"
                        + " the file may be truncated)");
                if (scan.problem() != null) {
                    problem(path, scan.problemOffsetBytes(), scan.problem());
                }
            } else if (scan.problem() != null) {
                if (scan.syncedDataDamaged()) {
                    problem(path, scan.problemOffsetBytes(), scan.problem() + " (later records prove it was durable)");
                } else {
                    notes.add(path + " at offset " + scan.problemOffsetBytes() + ": torn tail (" + scan.problem()
                            + "), never acknowledged; truncated on next open");
                }
            }
        }
    }

    /** Checks each record a valid footer lists, so every damaged record is reported, not just the first. */
    private void checkSealedRecords(Path path, StoreFile file, SegmentReader.Footer footer, long deviceBlocks)
            throws IOException {
        SummaryTable t = footer.summary();
        recordCount += t.size();
        ByteBuffer record = ByteBuffer.allocate(RecordLayout.HEADER_BYTES + RecordLayout.BLOCK_SIZE_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        long expectedOffset = SegmentLayout.HEADER_BYTES;
        for (int i = 0; i < t.size(); i++) {
            long offset = t.recordOffsetBytes(i) & 0xffffffffL;
            RecordType type = t.type(i);
            if (offset != expectedOffset) {
                problem(path, offset, "footer entry " + i + " is at offset " + offset + ", expected " + expectedOffset);
            }
            expectedOffset = offset + RecordLayout.recordBytes(type);
            record.clear().limit(RecordLayout.recordBytes(type));
            file.readFully(record, offset);
            String p = RecordLayout.problem(record, 0, deviceBlocks);
            if (p != null) {
                problem(path, offset, p);
                continue;
            }
            if (RecordLayout.type(record, 0) != type
                    || record.getLong(RecordLayout.ID_HI_OFFSET) != t.idHi(i)
                    || record.getLong(RecordLayout.ID_LO_OFFSET) != t.idLo(i)
                    || record.getLong(RecordLayout.SEQUENCE_OFFSET) != t.sequence(i)
                    || record.getLong(RecordLayout.BLOCK_INDEX_OFFSET) != t.blockIndex(i)
                    || record.getLong(RecordLayout.BLOCK_COUNT_OFFSET) != t.blockCount(i)) {
                problem(path, offset, "record does not match footer entry " + i);
            }
        }
        if (expectedOffset != footer.summaryOffsetBytes()) {
            problem(path, expectedOffset, "records end at " + expectedOffset + " but the footer starts at "
                    + footer.summaryOffsetBytes());
        }
    }

    private void checkBloom() throws IOException {
        Path path = directory.resolve(BloomMatrixFile.FILE_NAME);
        if (!fs.exists(path)) {
            notes.add(path + ": no Bloom file; rebuilt from segment footers on next open");
            return;
        }
        BloomMatrixFile.Contents contents;
        try (StoreFile file = fs.open(path, OpenMode.READ)) {
            contents = BloomMatrixFile.read(file);
        } catch (BloomMatrixFile.BloomFileException e) {
            problem(path, e.offsetBytes, e.getMessage() + " (rebuilt from footers on next open)");
            return;
        }
        BloomMatrix matrix = contents.matrix();
        for (int c = 0; c < contents.columnSegment().length; c++) {
            SegmentFacts facts = sealedSegments.get(contents.columnSegment()[c]);
            if (facts == null || facts.nonce() != contents.columnNonce()[c]
                    || (contents.columnFlags()[c] & BloomMatrixFile.FLAG_SEALED) == 0) {
                continue; // stale or unsealed columns are ignored by open, so they cannot mislead it
            }
            SummaryTable t = facts.summary();
            for (int i = 0; i < t.size(); i++) {
                if (!matrix.mayContain(c, t.idHi(i), t.idLo(i))) {
                    problem(path, BloomMatrixFile.HEADER_BYTES + (long) c * BloomMatrixFile.COLUMN_ENTRY_BYTES,
                            "column " + c + " (segment " + contents.columnSegment()[c] + ") lacks record "
                                    + Long.toHexString(t.idHi(i)) + Long.toHexString(t.idLo(i)));
                    break;
                }
            }
        }
    }
}
