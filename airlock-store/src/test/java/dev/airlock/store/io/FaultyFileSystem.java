package dev.airlock.store.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * An in-memory file layer that models what a power cut keeps. Each file has durable bytes plus the writes
 * and truncations made since its last force(). {@link #crash()} keeps, per file, a random prefix of those
 * pending operations, the last one possibly torn at a random byte, and drops the rest. Creations, renames
 * and deletions are treated as immediately durable (a simplification: the store syncs directories anyway).
 * {@link #armCrashAfterOperations} makes the n-th mutating call fail as if the machine had stopped there.
 */
public final class FaultyFileSystem implements StoreFileSystem {

    /** Thrown by every call once the simulated machine has "lost power". */
    public static final class SimulatedCrashException extends IOException {
        private static final long serialVersionUID = 1L;

        SimulatedCrashException(String operation) {
            super("simulated power loss during " + operation);
        }
    }

    private sealed interface Op permits Write, Truncate {
    }

    private record Write(long positionBytes, byte[] bytes) implements Op {
    }

    private record Truncate(long sizeBytes) implements Op {
    }

    private static final class Node {
        byte[] durable = new byte[0];
        byte[] current = new byte[0];
        final List<Op> pending = new ArrayList<>();
    }

    private final RandomGenerator random;
    private final Map<Path, Node> files = new HashMap<>();
    private final TreeSet<Path> directories = new TreeSet<>();
    private long operationsUntilCrash = -1;
    private boolean poweredOff;
    private long mutatingOperations;
    private long forces;
    private long forceDelayNanos;

    public FaultyFileSystem(RandomGenerator random) {
        this.random = random;
    }

    /** The {@code n}-th mutating call from now (1 = the next) fails and the machine stays off until crash(). */
    public synchronized void armCrashAfterOperations(long n) {
        operationsUntilCrash = n;
    }

    public synchronized void disarm() {
        operationsUntilCrash = -1;
    }

    public synchronized boolean poweredOff() {
        return poweredOff;
    }

    public synchronized long mutatingOperations() {
        return mutatingOperations;
    }

    /** Makes each force() take this long (outside the file system's lock), as a real disk flush does. */
    public synchronized void setForceDelayNanos(long nanos) {
        forceDelayNanos = nanos;
    }

    public synchronized long forces() {
        return forces;
    }

    /** Power cut and reboot: unsynced state is dropped or torn; the file system works again afterwards. */
    public synchronized void crash() {
        for (Node node : files.values()) {
            int keep = random.nextInt(node.pending.size() + 1);
            byte[] content = node.durable;
            for (int i = 0; i < keep; i++) {
                content = apply(content, node.pending.get(i));
            }
            if (keep < node.pending.size() && node.pending.get(keep) instanceof Write w && random.nextBoolean()) {
                int torn = random.nextInt(w.bytes().length + 1);
                content = apply(content, new Write(w.positionBytes(), Arrays.copyOf(w.bytes(), torn)));
            }
            node.durable = content;
            node.current = content.clone();
            node.pending.clear();
        }
        poweredOff = false;
        operationsUntilCrash = -1;
    }

    /** Test helper: the current bytes of a file. */
    public synchronized byte[] contents(Path path) {
        Node node = files.get(path);
        return node == null ? null : node.current.clone();
    }

    /** Test helper: overwrite a file's bytes durably (for corruption tests). */
    public synchronized void replaceDurably(Path path, byte[] bytes) {
        Node node = files.computeIfAbsent(path, p -> new Node());
        node.durable = bytes.clone();
        node.current = bytes.clone();
        node.pending.clear();
    }

    private static byte[] apply(byte[] content, Op op) {
        return switch (op) {
            case Write w -> {
                long end = w.positionBytes() + w.bytes().length;
                // In place when it fits: durable and current never share an array (force and crash copy).
                byte[] out = end > content.length ? Arrays.copyOf(content, (int) end) : content;
                System.arraycopy(w.bytes(), 0, out, (int) w.positionBytes(), w.bytes().length);
                yield out;
            }
            case Truncate t -> t.sizeBytes() < content.length ? Arrays.copyOf(content, (int) t.sizeBytes()) : content;
        };
    }

    private void mutate(String operation) throws IOException {
        checkPower(operation);
        mutatingOperations++;
        if (operationsUntilCrash > 0 && --operationsUntilCrash == 0) {
            poweredOff = true;
            throw new SimulatedCrashException(operation);
        }
    }

    private void checkPower(String operation) throws IOException {
        if (poweredOff) {
            throw new SimulatedCrashException(operation);
        }
    }

    @Override
    public synchronized StoreFile open(Path path, OpenMode mode) throws IOException {
        checkPower("open " + path);
        Node node = files.get(path);
        if (mode == OpenMode.CREATE_NEW) {
            if (node != null) {
                throw new FileAlreadyExistsException(path.toString());
            }
            mutate("create " + path);
            if (!directories.contains(path.getParent())) {
                throw new NoSuchFileException(path.getParent().toString());
            }
            node = new Node();
            files.put(path, node);
        } else if (node == null) {
            throw new NoSuchFileException(path.toString());
        }
        return new MemoryFile(path, mode == OpenMode.READ);
    }

    @Override
    public synchronized boolean exists(Path path) {
        return files.containsKey(path) || directories.contains(path);
    }

    @Override
    public synchronized boolean isDirectory(Path path) {
        return directories.contains(path);
    }

    @Override
    public synchronized List<Path> list(Path directory) throws IOException {
        checkPower("list " + directory);
        List<Path> entries = new ArrayList<>();
        for (Path p : files.keySet()) {
            if (directory.equals(p.getParent())) {
                entries.add(p);
            }
        }
        for (Path p : directories) {
            if (directory.equals(p.getParent())) {
                entries.add(p);
            }
        }
        entries.sort(null);
        return entries;
    }

    @Override
    public synchronized void createDirectories(Path directory) throws IOException {
        mutate("mkdir " + directory);
        for (Path p = directory; p != null; p = p.getParent()) {
            directories.add(p);
        }
    }

    @Override
    public synchronized void deleteIfExists(Path path) throws IOException {
        mutate("delete " + path);
        if (files.remove(path) == null && directories.contains(path)) {
            for (Path p : files.keySet()) {
                if (path.equals(p.getParent())) {
                    throw new IOException("directory not empty: " + path);
                }
            }
            directories.remove(path);
        }
    }

    @Override
    public synchronized void atomicMove(Path source, Path target) throws IOException {
        mutate("rename " + source);
        Node node = files.remove(source);
        if (node == null) {
            throw new NoSuchFileException(source.toString());
        }
        files.put(target, node);
    }

    @Override
    public synchronized void syncDirectory(Path directory) throws IOException {
        mutate("syncdir " + directory);
    }

    private final class MemoryFile implements StoreFile {
        private final Path path;
        private final boolean readOnly;
        private boolean closed;

        MemoryFile(Path path, boolean readOnly) {
            this.path = path;
            this.readOnly = readOnly;
        }

        private Node node() throws IOException {
            if (closed) {
                throw new IOException(path + " is closed");
            }
            Node node = files.get(path);
            if (node == null) {
                throw new NoSuchFileException(path + " (deleted while open)");
            }
            return node;
        }

        @Override
        public Path path() {
            return path;
        }

        @Override
        public int read(ByteBuffer dst, long positionBytes) throws IOException {
            synchronized (FaultyFileSystem.this) {
                checkPower("read " + path);
                byte[] content = node().current;
                if (positionBytes >= content.length) {
                    return dst.hasRemaining() ? -1 : 0;
                }
                int n = (int) Math.min(dst.remaining(), content.length - positionBytes);
                dst.put(content, (int) positionBytes, n);
                return n;
            }
        }

        @Override
        public int write(ByteBuffer src, long positionBytes) throws IOException {
            synchronized (FaultyFileSystem.this) {
                if (readOnly) {
                    throw new IOException(path + " is open read-only");
                }
                mutate("write " + path);
                Node node = node();
                byte[] bytes = new byte[src.remaining()];
                src.get(bytes);
                Write w = new Write(positionBytes, bytes);
                node.pending.add(w);
                node.current = apply(node.current, w);
                return bytes.length;
            }
        }

        @Override
        public long sizeBytes() throws IOException {
            synchronized (FaultyFileSystem.this) {
                checkPower("size " + path);
                return node().current.length;
            }
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            synchronized (FaultyFileSystem.this) {
                mutate("truncate " + path);
                Node node = node();
                Truncate t = new Truncate(sizeBytes);
                node.pending.add(t);
                node.current = apply(node.current, t);
            }
        }

        @Override
        public void force() throws IOException {
            long delayNanos;
            synchronized (FaultyFileSystem.this) {
                mutate("force " + path);
                Node node = node();
                forces++;
                node.durable = node.current.clone();
                node.pending.clear();
                delayNanos = forceDelayNanos;
            }
            if (delayNanos > 0) {
                // Like a disk flush: others keep writing meanwhile, which is what group commit exploits.
                java.util.concurrent.locks.LockSupport.parkNanos(delayNanos);
            }
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
