package dev.airlock.store.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The per-record summary of one segment, in parallel primitive arrays: what the footer stores and what
 * open replays. Growable; not thread-safe (the appender owns the tail's table).
 */
public final class SummaryTable {
    private long[] idHi;
    private long[] idLo;
    private long[] sequence;
    private long[] blockIndex;
    private long[] blockCount;
    private int[] recordOffsetBytes;
    private byte[] typeCode;
    private int size;

    public SummaryTable(int initialCapacity) {
        int capacity = Math.max(4, initialCapacity);
        idHi = new long[capacity];
        idLo = new long[capacity];
        sequence = new long[capacity];
        blockIndex = new long[capacity];
        blockCount = new long[capacity];
        recordOffsetBytes = new int[capacity];
        typeCode = new byte[capacity];
    }

    public void add(long idHi, long idLo, long sequence, long blockIndex, long blockCount, int recordOffsetBytes,
            RecordType type) {
        if (size == this.idHi.length) {
            int capacity = size * 2;
            this.idHi = Arrays.copyOf(this.idHi, capacity);
            this.idLo = Arrays.copyOf(this.idLo, capacity);
            this.sequence = Arrays.copyOf(this.sequence, capacity);
            this.blockIndex = Arrays.copyOf(this.blockIndex, capacity);
            this.blockCount = Arrays.copyOf(this.blockCount, capacity);
            this.recordOffsetBytes = Arrays.copyOf(this.recordOffsetBytes, capacity);
            this.typeCode = Arrays.copyOf(this.typeCode, capacity);
        }
        this.idHi[size] = idHi;
        this.idLo[size] = idLo;
        this.sequence[size] = sequence;
        this.blockIndex[size] = blockIndex;
        this.blockCount[size] = blockCount;
        this.recordOffsetBytes[size] = recordOffsetBytes;
        this.typeCode[size] = (byte) type.code;
        size++;
    }

    public int size() {
        return size;
    }

    public long idHi(int i) {
        return idHi[i];
    }

    public long idLo(int i) {
        return idLo[i];
    }

    public long sequence(int i) {
        return sequence[i];
    }

    public long blockIndex(int i) {
        return blockIndex[i];
    }

    public long blockCount(int i) {
        return blockCount[i];
    }

    public int recordOffsetBytes(int i) {
        return recordOffsetBytes[i];
    }

    public RecordType type(int i) {
        return RecordType.ofCode(typeCode[i]);
    }

    /** Index of the entry for a record id, or -1. */
    public int find(long hi, long lo) {
        for (int i = 0; i < size; i++) {
            if (idLo[i] == lo && idHi[i] == hi) {
                return i;
            }
        }
        return -1;
    }

    /** Footer bytes (summary entries then trailer) for a summary that starts at {@code summaryOffsetBytes}. */
    public ByteBuffer encodeFooter(long summaryOffsetBytes) {
        ByteBuffer b = ByteBuffer.allocate((int) SegmentLayout.footerBytes(size)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < size; i++) {
            int at = i * SegmentLayout.SUMMARY_ENTRY_BYTES;
            b.putLong(at, idHi[i]);
            b.putLong(at + 8, idLo[i]);
            b.putLong(at + 16, sequence[i]);
            b.putLong(at + 24, blockIndex[i]);
            b.putLong(at + 32, blockCount[i]);
            b.putInt(at + 40, recordOffsetBytes[i]);
            b.put(at + 44, typeCode[i]);
        }
        int t = size * SegmentLayout.SUMMARY_ENTRY_BYTES;
        b.putLong(t + SegmentLayout.T_MAGIC, SegmentLayout.TRAILER_MAGIC);
        b.putInt(t + SegmentLayout.T_VERSION, SegmentLayout.FORMAT_VERSION);
        b.putInt(t + SegmentLayout.T_ENTRY_COUNT, size);
        b.putLong(t + SegmentLayout.T_SUMMARY_OFFSET, summaryOffsetBytes);
        b.putInt(t + SegmentLayout.T_CRC, Crc32c.of(b, 0, t + SegmentLayout.T_CRC));
        return b;
    }

    /**
     * Checks a trailer (the last 32 bytes of a segment file of {@code fileSizeBytes}). Null if it is
     * plausible, else the problem; the summary checksum is checked by {@link #decodeSummary}.
     */
    public static String trailerProblem(ByteBuffer trailer, long fileSizeBytes) {
        if (trailer.getLong(SegmentLayout.T_MAGIC) != SegmentLayout.TRAILER_MAGIC) {
            return "no segment footer (bad trailer magic)";
        }
        if (trailer.getInt(SegmentLayout.T_VERSION) != SegmentLayout.FORMAT_VERSION) {
            return "unsupported footer version " + trailer.getInt(SegmentLayout.T_VERSION);
        }
        int count = trailer.getInt(SegmentLayout.T_ENTRY_COUNT);
        long summaryOffset = trailer.getLong(SegmentLayout.T_SUMMARY_OFFSET);
        if (count < 0 || summaryOffset < SegmentLayout.HEADER_BYTES
                || summaryOffset + SegmentLayout.footerBytes(count) != fileSizeBytes) {
            return "footer entry count " + count + " and summary offset " + summaryOffset
                    + " do not match the file size " + fileSizeBytes;
        }
        return null;
    }

    /**
     * Decodes a footer (summary entries followed by the trailer) or returns null if its checksum fails.
     */
    public static SummaryTable decodeSummary(ByteBuffer footer, int entryCount) {
        int t = entryCount * SegmentLayout.SUMMARY_ENTRY_BYTES;
        if (footer.getInt(t + SegmentLayout.T_CRC) != Crc32c.of(footer, 0, t + SegmentLayout.T_CRC)) {
            return null;
        }
        SummaryTable table = new SummaryTable(entryCount);
        for (int i = 0; i < entryCount; i++) {
            int at = i * SegmentLayout.SUMMARY_ENTRY_BYTES;
            RecordType type = RecordType.ofCode(footer.get(at + 44));
            if (type == null) {
                return null;
            }
            table.add(footer.getLong(at), footer.getLong(at + 8), footer.getLong(at + 16), footer.getLong(at + 24),
                    footer.getLong(at + 32), footer.getInt(at + 40), type);
        }
        return table;
    }
}
