package dev.airlock.store.format;

import dev.airlock.store.io.StoreFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Defensive reading of segment files, shared by open (recovery) and fsck. */
public final class SegmentReader {
    private SegmentReader() {
    }

    /** A header, or why it is unusable. */
    public record Header(long segmentNumber, long nonce, long imageIdHi, long imageIdLo, long createdMillis,
            long nextSequence) {
    }

    /** Reads the header; returns null and sets nothing if the file is shorter than a header. */
    public static Header readHeader(StoreFile file, String[] problem) throws IOException {
        if (file.sizeBytes() < SegmentLayout.HEADER_BYTES) {
            problem[0] = "segment shorter than its header (" + file.sizeBytes() + " bytes)";
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(SegmentLayout.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(b, 0);
        String p = SegmentLayout.headerProblem(b);
        if (p != null) {
            problem[0] = p;
            return null;
        }
        return new Header(b.getLong(SegmentLayout.H_SEGMENT_NUMBER), b.getLong(SegmentLayout.H_NONCE),
                b.getLong(SegmentLayout.H_IMAGE_ID_HI), b.getLong(SegmentLayout.H_IMAGE_ID_LO),
                b.getLong(SegmentLayout.H_CREATED_MILLIS), b.getLong(SegmentLayout.H_NEXT_SEQUENCE));
    }

    /** A sealed segment's summary, or the problem with its footer and where it is. */
    public record Footer(SummaryTable summary, long summaryOffsetBytes, String problem, long problemOffsetBytes) {
        public boolean valid() {
            return problem == null;
        }
    }

    public static Footer readFooter(StoreFile file) throws IOException {
        long size = file.sizeBytes();
        long trailerAt = size - SegmentLayout.TRAILER_BYTES;
        if (trailerAt < SegmentLayout.HEADER_BYTES) {
            return new Footer(null, -1, "segment too short for a footer (" + size + " bytes)", Math.max(0, trailerAt));
        }
        ByteBuffer trailer = ByteBuffer.allocate(SegmentLayout.TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(trailer, trailerAt);
        String p = SummaryTable.trailerProblem(trailer, size);
        if (p != null) {
            return new Footer(null, -1, p, trailerAt);
        }
        int count = trailer.getInt(SegmentLayout.T_ENTRY_COUNT);
        long summaryAt = trailer.getLong(SegmentLayout.T_SUMMARY_OFFSET);
        ByteBuffer footer = ByteBuffer.allocate((int) SegmentLayout.footerBytes(count)).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(footer, summaryAt);
        SummaryTable table = SummaryTable.decodeSummary(footer, count);
        if (table == null) {
            return new Footer(null, summaryAt, "segment footer checksum mismatch", summaryAt);
        }
        for (int i = 0; i < count; i++) {
            long offset = table.recordOffsetBytes(i) & 0xffffffffL;
            if (offset < SegmentLayout.HEADER_BYTES || offset + RecordLayout.recordBytes(table.type(i)) > summaryAt
                    || offset % RecordLayout.ALIGNMENT_BYTES != 0) {
                return new Footer(null, summaryAt, "footer entry " + i + " points outside the records (offset "
                        + offset + ")", summaryAt + (long) i * SegmentLayout.SUMMARY_ENTRY_BYTES);
            }
        }
        return new Footer(table, summaryAt, null, -1);
    }

    /**
     * Result of scanning records from the header to {@code endBytes}. {@code validEndBytes} is where the
     * valid records stop. If {@code problem} is set, {@code syncedDataDamaged} says whether a later valid
     * record proves the bad bytes had been made durable (damage) rather than being a torn, unacknowledged tail.
     */
    public record Scan(SummaryTable summary, long validEndBytes, String problem, long problemOffsetBytes,
            boolean syncedDataDamaged) {
    }

    public static Scan scan(StoreFile file, long endBytes, long deviceBlockCount) throws IOException {
        if (endBytes > Integer.MAX_VALUE) {
            throw new IOException(file.path() + ": segment of " + endBytes + " bytes is larger than supported");
        }
        ByteBuffer b = ByteBuffer.allocate((int) endBytes).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(b, 0);
        SummaryTable table = new SummaryTable(64);
        int end = (int) endBytes;
        int pos = SegmentLayout.HEADER_BYTES;
        String problem = null;
        while (pos < end) {
            if (pos + RecordLayout.HEADER_BYTES > end) {
                problem = "truncated record header";
                break;
            }
            problem = RecordLayout.headerProblem(b, pos, deviceBlockCount);
            if (problem != null) {
                break;
            }
            int length = RecordLayout.totalBytes(b, pos);
            if (pos + length > end) {
                problem = "record extends past the end of the segment";
                break;
            }
            problem = RecordLayout.problem(b, pos, deviceBlockCount);
            if (problem != null) {
                break;
            }
            table.add(b.getLong(pos + RecordLayout.ID_HI_OFFSET), b.getLong(pos + RecordLayout.ID_LO_OFFSET),
                    b.getLong(pos + RecordLayout.SEQUENCE_OFFSET), b.getLong(pos + RecordLayout.BLOCK_INDEX_OFFSET),
                    b.getLong(pos + RecordLayout.BLOCK_COUNT_OFFSET), pos, RecordLayout.type(b, pos));
            pos += length;
        }
        if (problem == null) {
            return new Scan(table, pos, null, -1, false);
        }
        boolean damaged = false;
        for (int q = pos + RecordLayout.ALIGNMENT_BYTES; q + RecordLayout.HEADER_BYTES <= end;
                q += RecordLayout.ALIGNMENT_BYTES) {
            if (RecordLayout.headerProblem(b, q, deviceBlockCount) == null && q + RecordLayout.totalBytes(b, q) <= end
                    && RecordLayout.problem(b, q, deviceBlockCount) == null
                    && Integer.toUnsignedLong(b.getInt(q + RecordLayout.SYNCED_OFFSET_OFFSET)) > pos) {
                damaged = true;
                break;
            }
        }
        return new Scan(table, pos, problem, pos, damaged);
    }
}
