package dev.airlock.vmm.snapshot;

import dev.airlock.memory.GuestMemory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Guest RAM saved as a raw image of the guest-physical range, one file byte per guest byte, with
 * every all-zero page left as a hole: zero pages cost no disk and, when a template's file is mapped
 * into clones, come back as the host's zero page. Its integrity travels separately, as a CRC32C
 * per {@value #CHUNK_BYTES}-byte chunk ({@link Checksums}, stored in the {@link StateFile}), because
 * the memory file itself is mapped, not parsed.
 */
public final class MemoryFile {
    public static final int CHUNK_BYTES = 2 << 20;
    static final int PAGE_BYTES = (int) GuestMemory.PAGE_SIZE;
    private static final byte[] ZERO_BYTES = new byte[PAGE_BYTES];
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(ZERO_BYTES);

    /** What a saved memory file should hold: its size, how many pages carry data, and a CRC32C per chunk. */
    public record Checksums(long sizeBytes, long dataPages, int[] chunkCrcs) {
        /** As a state-file section payload. */
        public byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(20 + 4 * chunkCrcs.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(sizeBytes).putLong(dataPages).putInt(chunkCrcs.length);
            for (int c : chunkCrcs) b.putInt(c);
            return b.array();
        }

        public static Checksums decode(ByteBuffer b) {
            long size = b.getLong();
            long data = b.getLong();
            int n = b.getInt();
            if (n < 0 || n != chunks(size) || b.remaining() < 4L * n) {
                throw new IllegalArgumentException("a memory checksum list of " + n + " chunks for " + size + " bytes");
            }
            int[] crcs = new int[n];
            for (int i = 0; i < n; i++) crcs[i] = b.getInt();
            return new Checksums(size, data, crcs);
        }
    }

    private MemoryFile() {}

    static int chunks(long sizeBytes) {
        return (int) ((sizeBytes + CHUNK_BYTES - 1) / CHUNK_BYTES);
    }

    /**
     * Writes {@code memory} to {@code file} (atomically, by rename), skipping zero pages, and returns
     * the checksums to keep with the VM's state. The guest must not run meanwhile.
     */
    public static Checksums write(GuestMemory memory, Path file) throws IOException {
        MemorySegment ram = memory.segment();
        long size = memory.sizeBytes();
        int[] crcs = new int[chunks(size)];
        long dataPages = 0;
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] page = new byte[PAGE_BYTES];
            for (int chunk = 0; chunk < crcs.length; chunk++) {
                CRC32C crc = new CRC32C();
                long end = Math.min(size, (long) (chunk + 1) * CHUNK_BYTES);
                for (long off = (long) chunk * CHUNK_BYTES; off < end; off += PAGE_BYTES) {
                    MemorySegment p = ram.asSlice(off, PAGE_BYTES);
                    if (p.mismatch(ZERO_PAGE) == -1) {
                        crc.update(ZERO_BYTES);
                        continue;
                    }
                    MemorySegment.copy(p, ValueLayout.JAVA_BYTE, 0, page, 0, PAGE_BYTES);
                    crc.update(page);
                    ByteBuffer bb = ByteBuffer.wrap(page);
                    while (bb.hasRemaining()) ch.write(bb, off + bb.position());
                    dataPages++;
                }
                crcs[chunk] = (int) crc.getValue();
            }
            ch.force(true);
        }
        // Holes to the end: the file is as long as RAM whatever its last page held.
        try (RandomAccessFile raf = new RandomAccessFile(temp.toFile(), "rw")) {
            raf.setLength(size);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new Checksums(size, dataPages, crcs);
    }

    /**
     * Zero gaps shorter than this (2 MiB) between data pages are mapped from the file with their
     * neighbours, so such a page reads as a zero page of the page cache, held once for every clone,
     * not as the host's single zero page. Each run costs every clone two host mappings and the time
     * to make them (a 256 MiB template has 25 runs at 16 pages, 5 at 512); the host allows 65,530
     * mappings per process, so this bounds how many clones fit in one.
     */
    static final int MIN_HOLE_PAGES = 512;

    /**
     * Checks {@code file} against {@code expected}: its length, then each chunk's CRC32C. Returns the
     * runs of pages holding data, as (first page, page count) pairs, with zero gaps shorter than
     * {@value #MIN_HOLE_PAGES} pages folded in; every other page of the file is zero.
     *
     * @throws SnapshotFormatException naming the first damaged chunk's offset
     */
    public static long[] verify(Path file, Checksums expected) throws IOException {
        long length = Files.size(file);
        if (length != expected.sizeBytes()) {
            throw new SnapshotFormatException(file, Math.min(length, expected.sizeBytes()), "memory file is " + length
                    + " bytes; its state file says " + expected.sizeBytes());
        }
        var runs = new java.util.ArrayList<long[]>();
        long runStart = -1, runEnd = -1;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES);
            MemorySegment seg = MemorySegment.ofBuffer(buf);
            for (int chunk = 0; chunk < expected.chunkCrcs().length; chunk++) {
                long off = (long) chunk * CHUNK_BYTES;
                buf.clear().limit((int) Math.min(CHUNK_BYTES, length - off));
                while (buf.hasRemaining()) {
                    if (ch.read(buf, off + buf.position()) < 0) throw new SnapshotFormatException(file, off + buf.position(), "truncated");
                }
                CRC32C crc = new CRC32C();
                crc.update(buf.flip());
                if ((int) crc.getValue() != expected.chunkCrcs()[chunk]) {
                    throw new SnapshotFormatException(file, off, "memory chunk " + chunk + " does not match its checksum");
                }
                for (int p = 0; p + PAGE_BYTES <= buf.limit(); p += PAGE_BYTES) {
                    if (seg.asSlice(p, PAGE_BYTES).mismatch(ZERO_PAGE) == -1) continue;
                    long page = (off + p) / PAGE_BYTES;
                    if (runEnd >= 0 && page - runEnd < MIN_HOLE_PAGES) {
                        runEnd = page + 1;
                    } else {
                        if (runEnd >= 0) runs.add(new long[] {runStart, runEnd - runStart});
                        runStart = page;
                        runEnd = page + 1;
                    }
                }
            }
        }
        if (runEnd >= 0) runs.add(new long[] {runStart, runEnd - runStart});
        long[] flat = new long[runs.size() * 2];
        for (int i = 0; i < runs.size(); i++) {
            flat[2 * i] = runs.get(i)[0];
            flat[2 * i + 1] = runs.get(i)[1];
        }
        return flat;
    }

    /**
     * Copies a verified memory file into {@code memory}, a fresh VM's RAM whose pages read as zero:
     * only pages holding data are written, so the rest never becomes resident.
     */
    public static void load(Path file, Checksums expected, GuestMemory memory) throws IOException {
        if (memory.sizeBytes() != expected.sizeBytes()) {
            throw new IOException("the saved memory is " + expected.sizeBytes() + " bytes but this VM has " + memory.sizeBytes());
        }
        verify(file, expected);
        copyInto(file, memory);
    }

    /** {@link #load} without the verification, for a file a {@link Snapshot} has verified already. */
    static void copyInto(Path file, GuestMemory memory) throws IOException {
        long size = memory.sizeBytes();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment ram = memory.segment();
            ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
            MemorySegment chunkSegment = MemorySegment.ofBuffer(chunk);
            for (long done = 0; done < size; done += CHUNK_BYTES) {
                int n = (int) Math.min(CHUNK_BYTES, size - done);
                chunk.clear().limit(n);
                while (chunk.hasRemaining()) {
                    if (ch.read(chunk, done + chunk.position()) < 0) throw new SnapshotFormatException(file, done, "truncated");
                }
                for (int off = 0; off < n; off += PAGE_BYTES) {
                    MemorySegment page = chunkSegment.asSlice(off, PAGE_BYTES);
                    if (page.mismatch(ZERO_PAGE) != -1) MemorySegment.copy(page, 0, ram, done + off, PAGE_BYTES);
                }
            }
        }
    }
}
