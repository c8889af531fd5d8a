package dev.airlock.store.bloom;

import dev.airlock.store.format.Crc32c;
import dev.airlock.store.io.StoreFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.zip.CRC32C;

/**
 * Persistence of a {@link BloomMatrix} with the segment each column belongs to ({@code bloom.idx}).
 * The file is a cache: it may be stale or missing, and open rebuilds what it lacks from segment footers.
 *
 * <pre>
 *  0  magic "AIRLBLM\0" | 8 version u32 | 12 headerBytes u32 (64) | 16 rows u32 | 20 hashCount u32
 *  24 columnCapacity u32 | 28..60 zero | 60 crc32c of [0,60)
 *  64 column table: columnCapacity x 24 bytes: segmentNumber (-1 = free), segmentNonce, flags (bit 0 = sealed)
 *  .. bits: rows x (columnCapacity / 64) little-endian longs, row-major
 *  .. trailer 16 bytes: magic "AIRLBLE\0", crc32c of [64, trailer), 0
 * </pre>
 */
public final class BloomMatrixFile {
    private BloomMatrixFile() {
    }

    public static final String FILE_NAME = "bloom.idx";
    public static final long MAGIC = 0x004D4C424C524941L; // "AIRLBLM\0"
    public static final long END_MAGIC = 0x00454C424C524941L; // "AIRLBLE\0"
    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = 64;
    public static final int COLUMN_ENTRY_BYTES = 24;
    public static final int TRAILER_BYTES = 16;
    public static final long FLAG_SEALED = 1;

    /** A matrix and, per column, its segment number (-1 if free), nonce and flags. */
    public record Contents(BloomMatrix matrix, long[] columnSegment, long[] columnNonce, long[] columnFlags) {
    }

    private static final int CHUNK_BYTES = 1 << 20;

    public static void write(StoreFile file, Contents contents) throws IOException {
        BloomMatrix m = contents.matrix();
        int columns = m.columnCapacity();
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(0, MAGIC).putInt(8, FORMAT_VERSION).putInt(12, HEADER_BYTES).putInt(16, m.rows())
                .putInt(20, m.hashCount()).putInt(24, columns);
        header.putInt(60, Crc32c.of(header, 0, 60));
        file.writeFully(header, 0);

        CRC32C crc = new CRC32C();
        long position = HEADER_BYTES;
        ByteBuffer table = ByteBuffer.allocate(columns * COLUMN_ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < columns; c++) {
            boolean used = c < contents.columnSegment().length;
            table.putLong(used ? contents.columnSegment()[c] : -1);
            table.putLong(used ? contents.columnNonce()[c] : 0);
            table.putLong(used ? contents.columnFlags()[c] : 0);
        }
        table.flip();
        crc.update(table.duplicate());
        file.writeFully(table, position);
        position += (long) columns * COLUMN_ENTRY_BYTES;

        long[] words = m.words();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = CHUNK_BYTES / 8;
        for (int from = 0; from < words.length; from += perChunk) {
            int n = Math.min(perChunk, words.length - from);
            chunk.clear();
            chunk.asLongBuffer().put(words, from, n);
            chunk.limit(n * 8);
            crc.update(chunk.duplicate());
            file.writeFully(chunk, position);
            position += n * 8L;
        }
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        trailer.putLong(0, END_MAGIC).putInt(8, (int) crc.getValue()).putInt(12, 0);
        file.writeFully(trailer, position);
        file.truncate(position + TRAILER_BYTES);
    }

    /** Reads and verifies a Bloom file; throws {@link BloomFileException} with the offset of the first problem. */
    public static Contents read(StoreFile file) throws IOException {
        long sizeBytes = file.sizeBytes();
        if (sizeBytes < HEADER_BYTES + TRAILER_BYTES) {
            throw new BloomFileException(0, "bloom file too short (" + sizeBytes + " bytes)");
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(header, 0);
        if (header.getLong(0) != MAGIC) {
            throw new BloomFileException(0, "bad bloom file magic");
        }
        if (header.getInt(60) != Crc32c.of(header, 0, 60)) {
            throw new BloomFileException(60, "bloom file header checksum mismatch");
        }
        if (header.getInt(8) != FORMAT_VERSION) {
            throw new BloomFileException(8, "unsupported bloom file version " + header.getInt(8));
        }
        int rows = header.getInt(16);
        int hashCount = header.getInt(20);
        int columns = header.getInt(24);
        if (rows < 1 || hashCount < 1 || columns < 64 || (columns & 63) != 0) {
            throw new BloomFileException(16, "implausible bloom geometry rows=" + rows + " k=" + hashCount
                    + " columns=" + columns);
        }
        long wordCount = (long) rows * (columns >>> 6);
        long expected = HEADER_BYTES + (long) columns * COLUMN_ENTRY_BYTES + wordCount * 8 + TRAILER_BYTES;
        if (expected != sizeBytes || wordCount > Integer.MAX_VALUE - 16) {
            throw new BloomFileException(24, "bloom file is " + sizeBytes + " bytes, its geometry needs " + expected);
        }
        CRC32C crc = new CRC32C();
        ByteBuffer table = ByteBuffer.allocate(columns * COLUMN_ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(table, HEADER_BYTES);
        table.flip();
        crc.update(table.duplicate());
        long[] segment = new long[columns];
        long[] nonce = new long[columns];
        long[] flags = new long[columns];
        for (int c = 0; c < columns; c++) {
            segment[c] = table.getLong();
            nonce[c] = table.getLong();
            flags[c] = table.getLong();
        }
        BloomMatrix matrix = new BloomMatrix(rows, hashCount, columns);
        long[] words = matrix.words();
        long position = HEADER_BYTES + (long) columns * COLUMN_ENTRY_BYTES;
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = CHUNK_BYTES / 8;
        for (int from = 0; from < words.length; from += perChunk) {
            int n = Math.min(perChunk, words.length - from);
            chunk.clear().limit(n * 8);
            file.readFully(chunk, position);
            chunk.flip();
            crc.update(chunk.duplicate());
            LongBuffer longs = chunk.asLongBuffer();
            longs.get(words, from, n);
            position += n * 8L;
        }
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(trailer, position);
        if (trailer.getLong(0) != END_MAGIC) {
            throw new BloomFileException(position, "bad bloom file trailer magic");
        }
        if (trailer.getInt(8) != (int) crc.getValue()) {
            throw new BloomFileException(position + 8, "bloom file checksum mismatch");
        }
        return new Contents(matrix, segment, nonce, flags);
    }

    /** A damaged Bloom file; the caller adds the file name. */
    public static final class BloomFileException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long offsetBytes;

        public BloomFileException(long offsetBytes, String problem) {
            super(problem);
            this.offsetBytes = offsetBytes;
        }
    }
}
