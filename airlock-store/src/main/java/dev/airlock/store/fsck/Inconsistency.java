package dev.airlock.store.fsck;

import java.nio.file.Path;

/** One problem fsck found: the file, the byte offset where it starts, and what is wrong. */
public record Inconsistency(Path file, long offsetBytes, String problem) {
    @Override
    public String toString() {
        return file + " at offset " + offsetBytes + ": " + problem;
    }
}
