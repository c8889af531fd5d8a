package dev.airlock.vmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A disk that is a raw image file, read and written with positional I/O straight to and from guest RAM. */
public final class RawImageBackend implements BlockBackend {
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long sizeBytes;

    private RawImageBackend(Path path, FileChannel channel, boolean readOnly, long sizeBytes) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.sizeBytes = sizeBytes;
    }

    /**
     * Opens {@code image}; its size is fixed for the life of the backend. A tail shorter than a
     * sector is not visible to the guest.
     *
     * @throws IOException whose message is one line for the user: which file, what is wrong, what to do
     */
    public static RawImageBackend open(Path image, boolean readOnly) throws IOException {
        if (Files.isDirectory(image)) {
            throw new IOException("disk image " + image + " is a directory; pass a raw image file");
        }
        FileChannel channel;
        try {
            channel = readOnly
                    ? FileChannel.open(image, StandardOpenOption.READ)
                    : FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new IOException("disk image " + image + " does not exist; pass an existing raw image file", e);
        } catch (AccessDeniedException e) {
            throw new IOException("disk image " + image + " cannot be opened for " + (readOnly ? "reading" : "writing")
                    + (readOnly ? "; check its permissions" : "; attach it read-only (PATH,ro) or fix its permissions"), e);
        }
        try {
            long size = channel.size();
            if (size < BlockRequest.SECTOR_SIZE_BYTES) {
                throw new IOException("disk image " + image + " holds " + size + " bytes, less than one 512-byte sector");
            }
            return new RawImageBackend(image, channel, readOnly, size);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() { return path; }

    @Override public long sizeBytes() { return sizeBytes; }

    @Override public boolean readOnly() { return readOnly; }

    @Override
    public void read(long offsetBytes, MemorySegment dst) throws IOException {
        ByteBuffer buffer = dst.asByteBuffer();
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, offsetBytes + buffer.position());
            if (n < 0) throw new IOException(path + " ended at " + (offsetBytes + buffer.position()) + "; was it truncated?");
        }
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) throws IOException {
        ByteBuffer buffer = src.asByteBuffer();
        while (buffer.hasRemaining()) {
            channel.write(buffer, offsetBytes + buffer.position());
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) channel.force(false);
    }

    /** A hint only: punching a hole needs fallocate(2), which the sys layer does not offer yet. */
    @Override
    public void discard(long offsetBytes, long lengthBytes) {}

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        long done = 0;
        while (done < lengthBytes) {
            ByteBuffer zeroes = ZEROES.duplicate();
            zeroes.limit((int) Math.min(zeroes.capacity(), lengthBytes - done));
            while (zeroes.hasRemaining()) {
                done += channel.write(zeroes, offsetBytes + done);
            }
        }
    }

    @Override
    public String describe() {
        return path + (readOnly ? " (read-only)" : "");
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
