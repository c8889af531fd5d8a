package dev.airlock.store.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * One open file of the store. All I/O is positional so readers and the single appender never share a
 * file position. Implementations must allow concurrent positional reads.
 */
public interface StoreFile extends AutoCloseable {

    Path path();

    /** Reads up to {@code dst.remaining()} bytes at {@code positionBytes}; returns -1 at end of file. */
    int read(ByteBuffer dst, long positionBytes) throws IOException;

    int write(ByteBuffer src, long positionBytes) throws IOException;

    long sizeBytes() throws IOException;

    void truncate(long sizeBytes) throws IOException;

    /** Makes every completed write durable (fdatasync: data, and metadata needed to read it back). */
    void force() throws IOException;

    @Override
    void close() throws IOException;

    default void readFully(ByteBuffer dst, long positionBytes) throws IOException {
        long position = positionBytes;
        while (dst.hasRemaining()) {
            int n = read(dst, position);
            if (n < 0) {
                throw new EOFException(path() + ": end of file at offset " + position
                        + " while reading " + dst.remaining() + " more bytes");
            }
            position += n;
        }
    }

    default void writeFully(ByteBuffer src, long positionBytes) throws IOException {
        long position = positionBytes;
        while (src.hasRemaining()) {
            position += write(src, position);
        }
    }
}
