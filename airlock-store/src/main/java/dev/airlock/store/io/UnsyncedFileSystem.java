package dev.airlock.store.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * A file system whose syncs do nothing, for throwaway images: a clone's disk that is deleted when the
 * VM ends has nothing to keep across a host crash, so waiting for the disk (about 30 ms to make one
 * and 10 ms to delete it here) buys nothing, as with QEMU's {@code -snapshot}. Never for an image
 * anyone keeps: everything else of the store's crash safety rests on those syncs.
 */
public final class UnsyncedFileSystem implements StoreFileSystem {
    private final StoreFileSystem inner;

    public UnsyncedFileSystem(StoreFileSystem inner) {
        this.inner = inner;
    }

    @Override
    public StoreFile open(Path path, OpenMode mode) throws IOException {
        StoreFile f = inner.open(path, mode);
        return new StoreFile() {
            @Override public Path path() { return f.path(); }

            @Override public int read(ByteBuffer dst, long positionBytes) throws IOException { return f.read(dst, positionBytes); }

            @Override public int write(ByteBuffer src, long positionBytes) throws IOException { return f.write(src, positionBytes); }

            @Override public long sizeBytes() throws IOException { return f.sizeBytes(); }

            @Override public void truncate(long sizeBytes) throws IOException { f.truncate(sizeBytes); }

            @Override public void force() { }

            @Override public void close() throws IOException { f.close(); }
        };
    }

    @Override public boolean exists(Path path) { return inner.exists(path); }

    @Override public boolean isDirectory(Path path) { return inner.isDirectory(path); }

    @Override public List<Path> list(Path directory) throws IOException { return inner.list(directory); }

    @Override public void createDirectories(Path directory) throws IOException { inner.createDirectories(directory); }

    @Override public void deleteIfExists(Path path) throws IOException { inner.deleteIfExists(path); }

    @Override public void atomicMove(Path source, Path target) throws IOException { inner.atomicMove(source, target); }

    @Override public void syncDirectory(Path directory) { }
}
