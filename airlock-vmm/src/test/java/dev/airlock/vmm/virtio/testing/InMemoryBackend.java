package dev.airlock.vmm.virtio.testing;

import dev.airlock.vmm.virtio.blk.BlockBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** A block backend in a byte array, with counters, for request-level tests and fuzzing. */
public final class InMemoryBackend implements BlockBackend {
    public final byte[] bytes;
    private final boolean readOnly;
    public int flushes, discards, writes;
    public boolean failNextIo;

    public InMemoryBackend(int sizeBytes, boolean readOnly) {
        this.bytes = new byte[sizeBytes];
        this.readOnly = readOnly;
    }

    private void check(long offset, long length) throws IOException {
        if (failNextIo) {
            failNextIo = false;
            throw new IOException("injected failure");
        }
        if (offset < 0 || length < 0 || offset + length > bytes.length) {
            throw new AssertionError("device passed an unchecked range " + offset + "+" + length);
        }
    }

    @Override public long sizeBytes() { return bytes.length; }

    @Override public boolean readOnly() { return readOnly; }

    @Override
    public void read(long offsetBytes, MemorySegment dst) throws IOException {
        check(offsetBytes, dst.byteSize());
        MemorySegment.copy(MemorySegment.ofArray(bytes), offsetBytes, dst, 0, dst.byteSize());
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) throws IOException {
        if (readOnly) throw new AssertionError("write to a read-only backend");
        check(offsetBytes, src.byteSize());
        MemorySegment.copy(src, 0, MemorySegment.ofArray(bytes), offsetBytes, src.byteSize());
        writes++;
    }

    @Override public void flush() { flushes++; }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        if (readOnly) throw new AssertionError("discard on a read-only backend");
        check(offsetBytes, lengthBytes);
        discards++;
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        if (readOnly) throw new AssertionError("write-zeroes on a read-only backend");
        check(offsetBytes, lengthBytes);
        Arrays.fill(bytes, (int) offsetBytes, (int) (offsetBytes + lengthBytes), (byte) 0);
    }

    @Override public String describe() { return "memory"; }

    @Override public void close() {}
}
