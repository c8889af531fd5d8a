package dev.airlock.memory;

import dev.airlock.sys.Fcntl;
import java.nio.file.Path;

/**
 * A template's saved guest RAM: a raw file, one file byte per guest byte, opened once and mapped
 * copy-on-write into every clone ({@link GuestMemory#fromTemplate}). Only its data runs are mapped
 * from the file; the rest of a clone's RAM is anonymous memory, whose pages read as the host's
 * single zero page until written. The host page cache holds the file's pages once for all clones.
 *
 * <p>The file must not change while clones map it (a template's files are read-only).
 */
public final class TemplateImage implements AutoCloseable {
    private final Path file;
    private final long sizeBytes;
    private final long[] dataRuns;
    private final int fd;
    /** Bit per page: set where a data run maps the file; made once, read by every clone's hart. */
    private final long[] dataPageBits;
    private volatile boolean closed;

    /**
     * @param dataRuns pairs of (first page, page count), ascending and disjoint: the pages mapped from
     *                 the file; every other page is zero
     */
    private TemplateImage(Path file, long sizeBytes, long[] dataRuns, int fd) {
        this.file = file;
        this.sizeBytes = sizeBytes;
        this.dataRuns = dataRuns;
        this.fd = fd;
        this.dataPageBits = new long[(int) (((sizeBytes >>> GuestMemory.PAGE_SHIFT) + 63) >>> 6)];
        for (int i = 0; i < dataRuns.length; i += 2) {
            for (long page = dataRuns[i]; page < dataRuns[i] + dataRuns[i + 1]; page++) {
                dataPageBits[(int) (page >>> 6)] |= 1L << page;
            }
        }
    }

    /** Opens {@code file} read-only; see the constructor for {@code dataRuns}. */
    public static TemplateImage open(Path file, long sizeBytes, long[] dataRuns) {
        long pages = sizeBytes >>> GuestMemory.PAGE_SHIFT;
        long end = 0;
        if ((dataRuns.length & 1) != 0) throw new IllegalArgumentException("data runs come in (page, count) pairs");
        for (int i = 0; i < dataRuns.length; i += 2) {
            if (dataRuns[i] < end || dataRuns[i + 1] <= 0 || dataRuns[i] + dataRuns[i + 1] > pages) {
                throw new IllegalArgumentException("data run " + i / 2 + " (" + dataRuns[i] + "+" + dataRuns[i + 1]
                        + ") is out of order or outside " + pages + " pages");
            }
            end = dataRuns[i] + dataRuns[i + 1];
        }
        int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY);
        return new TemplateImage(file, sizeBytes, dataRuns.clone(), fd);
    }

    public Path file() { return file; }

    public long sizeBytes() { return sizeBytes; }

    /** How many runs of data pages are mapped from the file (each costs a mapping per clone). */
    public int runCount() { return dataRuns.length / 2; }

    /** Pages mapped from the file. */
    public long dataPages() {
        long n = 0;
        for (int i = 1; i < dataRuns.length; i += 2) n += dataRuns[i];
        return n;
    }

    long[] runs() { return dataRuns; }

    /** Whether page {@code page} (from the start of RAM) is mapped from the file, not zero. */
    boolean mapsDataPage(int page) {
        return (dataPageBits[page >>> 6] & (1L << page)) != 0;
    }

    int fd() {
        if (closed) throw new IllegalStateException("template image " + file + " is closed");
        return fd;
    }

    /** Closes the file; clones mapped already keep their mappings. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Fcntl.close(fd);
    }
}
