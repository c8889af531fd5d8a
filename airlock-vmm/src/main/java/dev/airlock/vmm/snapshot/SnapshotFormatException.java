package dev.airlock.vmm.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/** A state or memory file that is not what Airlock wrote: names the file and the byte offset where it went wrong. */
public final class SnapshotFormatException extends IOException {
    private final Path file;
    private final long offset;

    public SnapshotFormatException(Path file, long offset, String problem) {
        super(file + " at offset " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    public Path file() { return file; }

    public long offset() { return offset; }
}
