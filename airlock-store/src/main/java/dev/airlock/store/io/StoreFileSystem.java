package dev.airlock.store.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Every file operation of the store goes through this interface, so tests can substitute a layer that
 * loses unsynced writes or tears them at a random byte when it "crashes".
 */
public interface StoreFileSystem {

    enum OpenMode { READ, READ_WRITE, CREATE_NEW }

    StoreFile open(Path path, OpenMode mode) throws IOException;

    boolean exists(Path path);

    boolean isDirectory(Path path);

    /** Entries of a directory, sorted by name; empty if it does not exist. */
    List<Path> list(Path directory) throws IOException;

    void createDirectories(Path directory) throws IOException;

    void deleteIfExists(Path path) throws IOException;

    /** Replaces {@code target} with {@code source} in one step (rename(2)). */
    void atomicMove(Path source, Path target) throws IOException;

    /** Makes creations, deletions and renames in {@code directory} durable. */
    void syncDirectory(Path directory) throws IOException;
}
