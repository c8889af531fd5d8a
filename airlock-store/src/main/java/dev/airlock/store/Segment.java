package dev.airlock.store;

import dev.airlock.store.format.SummaryTable;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One segment file of an image's log. Readers {@link #retain()} it while reading so cleaning can drop it
 * from the table at any time; the file is closed and deleted when the last user releases an obsolete one.
 */
final class Segment {
    final long number;
    final long nonce;
    final Path path;
    final StoreFile file;
    private final StoreFileSystem fileSystem;

    /** The appender's write position (tail) or the end of records (sealed). Guarded by the append lock. */
    long appendOffsetBytes;
    /** Durable length of the tail, written into each record header. */
    volatile long syncedOffsetBytes;
    volatile boolean sealed;
    /** Records of the tail, kept for its footer and for findRecord; null once sealed. */
    SummaryTable tailSummary;

    // Guarded by the image's map lock.
    int column = -1;
    int recordCount;
    int liveRecords;

    private final AtomicInteger users = new AtomicInteger(1); // the segment table's own reference
    private volatile boolean obsolete;

    Segment(long number, long nonce, Path path, StoreFile file, StoreFileSystem fileSystem) {
        this.number = number;
        this.nonce = nonce;
        this.path = path;
        this.file = file;
        this.fileSystem = fileSystem;
    }

    void retain() {
        users.incrementAndGet();
    }

    void release() {
        if (users.decrementAndGet() == 0) {
            try {
                file.close();
                if (obsolete) {
                    fileSystem.deleteIfExists(path);
                }
            } catch (IOException e) {
                // The segment is already out of every map; a leftover file only holds dead records.
            }
        }
    }

    /** Drops the table's reference; the file goes once no reader holds it. */
    void retire(boolean delete) {
        obsolete = delete;
        release();
    }

    @Override
    public String toString() {
        return path.getFileName() + (sealed ? " (sealed)" : " (tail)");
    }
}
