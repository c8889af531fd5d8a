package dev.airlock.store.format;

import java.nio.ByteBuffer;

/**
 * On-disk layout of one log record (little-endian). A WRITE carries one 4 KiB block as payload;
 * TRIM and ZERO carry none. Records start at multiples of 64 bytes, which lets recovery look for
 * valid records past a bad one.
 *
 * <pre>
 *  0       4       8               16              24              32              40              48      52      56      60      64
 *  +-------+---+---+---------------+---------------+---------------+---------------+---------------+-------+-------+-------+-------+
 *  | magic |typ|ver|   id (hi)     |   id (lo)     |   sequence    |  blockIndex   |  blockCount   |payload|synced |reservd| crc32c|
 *  |"ALRC" |   |+rs|               |               |               |               |               | bytes |offset |   0   |       |
 *  +-------+---+---+---------------+---------------+---------------+---------------+---------------+-------+-------+-------+-------+
 *  payload (payloadBytes)
 * </pre>
 *
 * crc32c covers bytes [0, 60) and the payload. {@code syncedOffset} is the segment's durable length when the
 * record was appended: recovery uses it to tell a torn, never-acknowledged tail from damage to synced data.
 */
public final class RecordLayout {
    private RecordLayout() {
    }

    public static final int MAGIC = 0x43524C41; // "ALRC" read as little-endian
    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = 64;
    public static final int ALIGNMENT_BYTES = 64;
    public static final int BLOCK_SIZE_BYTES = 4096;

    public static final int MAGIC_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int VERSION_OFFSET = 5;
    public static final int ID_HI_OFFSET = 8;
    public static final int ID_LO_OFFSET = 16;
    public static final int SEQUENCE_OFFSET = 24;
    public static final int BLOCK_INDEX_OFFSET = 32;
    public static final int BLOCK_COUNT_OFFSET = 40;
    public static final int PAYLOAD_BYTES_OFFSET = 48;
    public static final int SYNCED_OFFSET_OFFSET = 52;
    public static final int CRC_OFFSET = 60;

    public static int payloadBytes(RecordType type) {
        return type == RecordType.WRITE ? BLOCK_SIZE_BYTES : 0;
    }

    public static int recordBytes(RecordType type) {
        return HEADER_BYTES + payloadBytes(type);
    }

    /** Writes a header at {@code at}; the payload must already follow it, since the checksum covers both. */
    public static void encode(ByteBuffer buffer, int at, RecordType type, long idHi, long idLo, long sequence,
            long blockIndex, long blockCount, int syncedOffsetBytes) {
        int payloadBytes = payloadBytes(type);
        buffer.putInt(at + MAGIC_OFFSET, MAGIC);
        buffer.put(at + TYPE_OFFSET, (byte) type.code);
        buffer.put(at + VERSION_OFFSET, (byte) FORMAT_VERSION);
        buffer.putShort(at + 6, (short) 0);
        buffer.putLong(at + ID_HI_OFFSET, idHi);
        buffer.putLong(at + ID_LO_OFFSET, idLo);
        buffer.putLong(at + SEQUENCE_OFFSET, sequence);
        buffer.putLong(at + BLOCK_INDEX_OFFSET, blockIndex);
        buffer.putLong(at + BLOCK_COUNT_OFFSET, blockCount);
        buffer.putInt(at + PAYLOAD_BYTES_OFFSET, payloadBytes);
        buffer.putInt(at + SYNCED_OFFSET_OFFSET, syncedOffsetBytes);
        buffer.putInt(at + 56, 0);
        buffer.putInt(at + CRC_OFFSET, checksum(buffer, at, payloadBytes));
    }

    /** Rewrites the synced-offset field of a record being moved by cleaning, and its checksum. */
    public static void rewriteSyncedOffset(ByteBuffer buffer, int at, int syncedOffsetBytes) {
        buffer.putInt(at + SYNCED_OFFSET_OFFSET, syncedOffsetBytes);
        buffer.putInt(at + CRC_OFFSET, checksum(buffer, at, buffer.getInt(at + PAYLOAD_BYTES_OFFSET)));
    }

    public static int checksum(ByteBuffer buffer, int at, int payloadBytes) {
        return Crc32c.of(buffer, at, CRC_OFFSET, buffer, at + HEADER_BYTES, payloadBytes);
    }

    /**
     * Checks the header fields that do not need the payload. Returns null if plausible, else the problem.
     * {@code maxBlockIndex} is the device's block count.
     */
    public static String headerProblem(ByteBuffer buffer, int at, long blockCountOfDevice) {
        if (buffer.getInt(at + MAGIC_OFFSET) != MAGIC) {
            return "bad record magic";
        }
        int version = buffer.get(at + VERSION_OFFSET) & 0xff;
        if (version != FORMAT_VERSION) {
            return "unsupported record format version " + version;
        }
        RecordType type = RecordType.ofCode(buffer.get(at + TYPE_OFFSET) & 0xff);
        if (type == null) {
            return "unknown record type " + (buffer.get(at + TYPE_OFFSET) & 0xff);
        }
        if (buffer.getInt(at + PAYLOAD_BYTES_OFFSET) != payloadBytes(type)) {
            return "payload length " + buffer.getInt(at + PAYLOAD_BYTES_OFFSET) + " does not match record type " + type;
        }
        long first = buffer.getLong(at + BLOCK_INDEX_OFFSET);
        long count = buffer.getLong(at + BLOCK_COUNT_OFFSET);
        if (first < 0 || count < 1 || (type == RecordType.WRITE && count != 1) || first + count > blockCountOfDevice
                || first + count < 0) {
            return "block range " + first + "+" + count + " outside the device";
        }
        return null;
    }

    /** Full check including the checksum; the whole record must be in the buffer. Null if valid. */
    public static String problem(ByteBuffer buffer, int at, long blockCountOfDevice) {
        String headerProblem = headerProblem(buffer, at, blockCountOfDevice);
        if (headerProblem != null) {
            return headerProblem;
        }
        int payloadBytes = buffer.getInt(at + PAYLOAD_BYTES_OFFSET);
        if (buffer.getInt(at + CRC_OFFSET) != checksum(buffer, at, payloadBytes)) {
            return "record checksum mismatch";
        }
        return null;
    }

    public static RecordType type(ByteBuffer buffer, int at) {
        return RecordType.ofCode(buffer.get(at + TYPE_OFFSET) & 0xff);
    }

    public static int totalBytes(ByteBuffer buffer, int at) {
        return HEADER_BYTES + buffer.getInt(at + PAYLOAD_BYTES_OFFSET);
    }
}
