package dev.airlock.vmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Where a virtio-blk disk's bytes live: a raw image file today, the store later. Offsets and
 * lengths are in bytes; the device has already checked every range against {@link #sizeBytes()}.
 * Buffers are views of guest RAM, so a backend can move data without an extra copy.
 *
 * <p>Called from one device event-loop thread at a time; a backend may block.
 */
public interface BlockBackend extends AutoCloseable {
    /** The disk's size; the device shows {@code sizeBytes / 512} sectors. */
    long sizeBytes();

    /** A read-only backend is offered with VIRTIO_BLK_F_RO and never sees write, discard or writeZeroes. */
    boolean readOnly();

    /** Fills {@code dst} from {@code offsetBytes}. */
    void read(long offsetBytes, MemorySegment dst) throws IOException;

    /** Writes all of {@code src} at {@code offsetBytes}. */
    void write(long offsetBytes, MemorySegment src) throws IOException;

    /** Makes every completed write durable. */
    void flush() throws IOException;

    /** The guest no longer needs these bytes; what they read as afterwards is unspecified. */
    void discard(long offsetBytes, long lengthBytes) throws IOException;

    /** These bytes read as zero afterwards. */
    void writeZeroes(long offsetBytes, long lengthBytes) throws IOException;

    /** A short description for logs, e.g. the image path. */
    String describe();

    @Override
    void close() throws IOException;
}
