package dev.airlock.store;

import java.nio.file.Path;

/** Bytes on disk failed a check (magic, version, length or checksum); says which file and where. */
public final class CorruptStoreException extends StoreException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long offsetBytes;
    private final String problem;

    public CorruptStoreException(Path file, long offsetBytes, String problem) {
        super(file + " at offset " + offsetBytes + ": " + problem);
        this.file = file;
        this.offsetBytes = offsetBytes;
        this.problem = problem;
    }

    public Path file() {
        return file;
    }

    public long offsetBytes() {
        return offsetBytes;
    }

    public String problem() {
        return problem;
    }
}
