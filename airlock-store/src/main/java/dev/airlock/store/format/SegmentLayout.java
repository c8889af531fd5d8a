package dev.airlock.store.format;

import java.nio.ByteBuffer;

/**
 * On-disk layout of a segment file {@code seg-<number, 16 hex>.log} (little-endian).
 *
 * <pre>
 *  +---------------------+  0
 *  | header (128 bytes)  |  magic "AIRLSEG\0", version, headerBytes, segmentNumber, nonce, imageId, createdMillis,
 *  |                     |  nextSequenceAtCreation, reserved, crc32c of [0,124)
 *  +---------------------+  128
 *  | record | record ... |  see RecordLayout; each starts at a multiple of 64
 *  +---------------------+  summaryOffset           (only once sealed)
 *  | summary entries     |  48 bytes each: idHi, idLo, sequence, blockIndex, blockCount, recordOffset(u32), type(u8), 0,0,0
 *  +---------------------+
 *  | trailer (32 bytes)  |  magic "AIRLFTR\0", version, entryCount, summaryOffset(u64), crc32c(summary + trailer[0,24)), 0
 *  +---------------------+  end of file
 * </pre>
 *
 * The summary lets open rebuild the block map and the Bloom matrix from a few KiB per segment instead
 * of reading every record. Only the newest (unsealed) segment has no trailer and is scanned.
 */
public final class SegmentLayout {
    private SegmentLayout() {
    }

    public static final long HEADER_MAGIC = 0x004745534C524941L; // "AIRLSEG\0" read as little-endian
    public static final long TRAILER_MAGIC = 0x005254464C524941L; // "AIRLFTR\0"
    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = 128;
    public static final int SUMMARY_ENTRY_BYTES = 48;
    public static final int TRAILER_BYTES = 32;

    public static final int H_MAGIC = 0;
    public static final int H_VERSION = 8;
    public static final int H_HEADER_BYTES = 12;
    public static final int H_SEGMENT_NUMBER = 16;
    public static final int H_NONCE = 24;
    public static final int H_IMAGE_ID_HI = 32;
    public static final int H_IMAGE_ID_LO = 40;
    public static final int H_CREATED_MILLIS = 48;
    public static final int H_NEXT_SEQUENCE = 56;
    public static final int H_CRC = 124;

    public static final int T_MAGIC = 0;
    public static final int T_VERSION = 8;
    public static final int T_ENTRY_COUNT = 12;
    public static final int T_SUMMARY_OFFSET = 16;
    public static final int T_CRC = 24;

    public static String fileName(long segmentNumber) {
        return String.format("seg-%016x.log", segmentNumber);
    }

    /** The segment number in a file name, or -1 if the name is not a segment's. */
    public static long parseFileName(String name) {
        if (name.length() != 24 || !name.startsWith("seg-") || !name.endsWith(".log")) {
            return -1;
        }
        try {
            return Long.parseUnsignedLong(name.substring(4, 20), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public static ByteBuffer encodeHeader(long segmentNumber, long nonce, long imageIdHi, long imageIdLo,
            long createdMillis, long nextSequence) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(H_MAGIC, HEADER_MAGIC);
        b.putInt(H_VERSION, FORMAT_VERSION);
        b.putInt(H_HEADER_BYTES, HEADER_BYTES);
        b.putLong(H_SEGMENT_NUMBER, segmentNumber);
        b.putLong(H_NONCE, nonce);
        b.putLong(H_IMAGE_ID_HI, imageIdHi);
        b.putLong(H_IMAGE_ID_LO, imageIdLo);
        b.putLong(H_CREATED_MILLIS, createdMillis);
        b.putLong(H_NEXT_SEQUENCE, nextSequence);
        b.putInt(H_CRC, Crc32c.of(b, 0, H_CRC));
        return b;
    }

    /** Null if the header is valid, else what is wrong with it. */
    public static String headerProblem(ByteBuffer b) {
        if (b.getLong(H_MAGIC) != HEADER_MAGIC) {
            return "bad segment header magic";
        }
        if (b.getInt(H_CRC) != Crc32c.of(b, 0, H_CRC)) {
            return "segment header checksum mismatch";
        }
        if (b.getInt(H_VERSION) != FORMAT_VERSION) {
            return "unsupported segment format version " + b.getInt(H_VERSION);
        }
        if (b.getInt(H_HEADER_BYTES) != HEADER_BYTES) {
            return "segment header length " + b.getInt(H_HEADER_BYTES) + " is not " + HEADER_BYTES;
        }
        return null;
    }

    public static long footerBytes(int entryCount) {
        return (long) entryCount * SUMMARY_ENTRY_BYTES + TRAILER_BYTES;
    }
}
