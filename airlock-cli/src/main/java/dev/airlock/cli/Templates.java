package dev.airlock.cli;

import dev.airlock.store.ImageStore;
import dev.airlock.store.StoreException;
import dev.airlock.sys.ErrnoException;
import dev.airlock.sys.Fcntl;
import dev.airlock.sys.Flock;
import dev.airlock.vmm.snapshot.Snapshot;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Templates on disk, one directory each under the root: a saved VM ({@link Snapshot}'s two files,
 * made read-only because clones map the memory file) and {@value #INFO_FILE}. The root is
 * {@code $AIRLOCK_TEMPLATES}, else {@code $XDG_DATA_HOME/airlock/templates}, else
 * {@code ~/.local/share/airlock/templates}; tests set {@code -Dairlock.templatesDir}.
 *
 * <p>A template is in use while any clone of it runs: each process with clones holds a shared
 * flock(2) lock on {@value #LOCK_FILE}, so {@link #delete} (which needs it exclusively) refuses, in
 * this process or any other. (flock, not fcntl record locks, which older versions took: the two do
 * not see each other, so those versions and this one must not share templates.)
 */
final class Templates {
    static final String INFO_FILE = "template.properties";
    static final String LOCK_FILE = "in-use.lock";

    private final Path root;
    /** Open templates of this process: one verified snapshot each, shared by all its clones. */
    private static final ConcurrentHashMap<Path, Template> OPEN = new ConcurrentHashMap<>();

    Templates(Path root) {
        this.root = root;
    }

    static Templates fromEnvironment() {
        String prop = System.getProperty("airlock.templatesDir");
        if (prop != null) return new Templates(Path.of(prop));
        String env = System.getenv("AIRLOCK_TEMPLATES");
        if (env != null && !env.isEmpty()) return new Templates(Path.of(env));
        String data = System.getenv("XDG_DATA_HOME");
        Path base = data != null && !data.isEmpty() ? Path.of(data) : Path.of(System.getProperty("user.home"), ".local", "share");
        return new Templates(base.resolve("airlock").resolve("templates"));
    }

    Path root() { return root; }

    Path dir(String name) { return root.resolve(name); }

    boolean exists(String name) {
        return Files.isRegularFile(dir(name).resolve(INFO_FILE));
    }

    /** What {@code template ls} shows. */
    record Info(String name, int cpus, long memoryMiB, String created, long storedBytes, String prepare) {}

    List<Info> list() throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        var out = new ArrayList<Info>();
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.sorted(Comparator.naturalOrder()).toList()) {
                Path info = d.resolve(INFO_FILE);
                if (!Files.isRegularFile(info)) continue;
                Properties p = readInfo(info);
                out.add(new Info(d.getFileName().toString(), Integer.parseInt(p.getProperty("cpus", "0")),
                        Long.parseLong(p.getProperty("memoryMiB", "0")), p.getProperty("created", "?"),
                        Long.parseLong(p.getProperty("storedBytes", "-1")), p.getProperty("prepare", "")));
            }
        }
        return out;
    }

    private static Properties readInfo(Path info) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(info)) {
            p.load(r);
        }
        return p;
    }

    /**
     * The template {@code name}, opened once per process: its state read and its memory file
     * verified the first time, then shared by every clone.
     *
     * @throws IOException with a message for the user if there is no such template or it is damaged
     */
    Template open(String name) throws IOException {
        if (!exists(name)) {
            throw new java.nio.file.NoSuchFileException(dir(name).toString(), null,
                    "no template '" + name + "'; make one with: airlock template create " + name);
        }
        Path d = dir(name).toAbsolutePath().normalize();
        Template t = OPEN.get(d);
        if (t != null) return t;
        synchronized (OPEN) {
            t = OPEN.get(d);
            if (t == null) {
                t = new Template(name, d, Snapshot.open(d), readInfo(d.resolve(INFO_FILE)));
                OPEN.put(d, t);
            }
            return t;
        }
    }

    /**
     * The disks as {@link Template#disks} reads them: a file's path with its size and mtime; a store
     * image's name (read-only), or {@code store:IMAGE@SNAPSHOT} and "rw" for a writable one, which
     * each clone gets a throwaway copy-on-write clone of.
     */
    static String describeDisks(List<MicroVm.Disk> disks) throws IOException {
        var lines = new ArrayList<String>();
        for (MicroVm.Disk d : disks) {
            lines.add(!d.inStore() ? d.path().toAbsolutePath() + "\t" + fingerprint(d.path())
                    : d.readOnly() ? d.path().toString() : d.path() + "\trw");
        }
        return String.join("\n", lines);
    }

    /** A disk line of {@link #describeDisks}: the disk, and a file's size and mtime as recorded ("" for a store disk). */
    private record StoredDisk(MicroVm.Disk disk, String fingerprint) {}

    private static List<StoredDisk> storedDisks(Properties info) {
        var out = new ArrayList<StoredDisk>();
        for (String line : info.getProperty("disks", "").split("\n")) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            boolean writable = f.length > 1 && f[1].equals("rw");
            out.add(new StoredDisk(new MicroVm.Disk(Path.of(f[0]), !writable), f.length >= 3 ? f[1] + "\t" + f[2] : ""));
        }
        return out;
    }

    /**
     * Snapshots each writable store disk as {@code snapshot}, for a template's clones to read through;
     * returns the disks with those as {@code store:IMAGE@SNAPSHOT}. Call once nothing writes them.
     */
    static List<MicroVm.Disk> freezeWritableDisks(List<MicroVm.Disk> disks, String snapshot) throws IOException {
        if (disks.stream().allMatch(d -> d.readOnly() || !d.inStore())) return disks; // most templates: no store to open
        var out = new ArrayList<MicroVm.Disk>();
        try (ImageStore store = ImageStore.open(StoreBlockBackend.defaultRoot())) { // opened once: opening reads its logs
            for (MicroVm.Disk d : disks) {
                if (d.readOnly() || !d.inStore()) {
                    out.add(d);
                    continue;
                }
                try {
                    store.snapshot(d.storeImage(), snapshot);
                } catch (StoreException e) {
                    throw new IOException("cannot snapshot disk " + d.path() + ": " + e.getMessage(), e);
                }
                out.add(d.frozenAs(snapshot));
            }
        } catch (StoreException e) {
            throw new IOException("image store " + StoreBlockBackend.defaultRoot() + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Deletes the store snapshots a template's writable disks were frozen in; refused while a clone of one exists. */
    private static void deleteDiskSnapshots(Properties info) throws IOException {
        List<MicroVm.Disk> frozen = storedDisks(info).stream().map(StoredDisk::disk)
                .filter(d -> !d.readOnly() && d.inStore() && d.storeSnapshot() != null).toList();
        if (frozen.isEmpty()) return;
        try (ImageStore store = ImageStore.open(StoreBlockBackend.defaultRoot())) { // opened once: opening reads its logs
            for (MicroVm.Disk d : frozen) {
                try {
                    if (store.exists(d.storeImage())) store.deleteSnapshot(d.storeImage(), d.storeSnapshot());
                } catch (StoreException e) {
                    throw new IOException("cannot delete the template's disk snapshot " + d.path() + ": " + e.getMessage(), e);
                }
            }
        } catch (StoreException e) {
            throw new IOException("image store " + StoreBlockBackend.defaultRoot() + ": " + e.getMessage(), e);
        }
    }

    /** Size and modification time, which tell whether a disk changed since a template was made with it. */
    private static String fingerprint(Path file) throws IOException {
        return Files.size(file) + "\t" + Files.getLastModifiedTime(file).toMillis();
    }

    /** A directory to build template {@code name} in; {@link #commit} makes it the template. */
    Path stagingDir(String name) throws IOException {
        Files.createDirectories(root);
        return Files.createTempDirectory(root, "." + name + ".partial-");
    }

    /**
     * Makes {@code staging} the template {@code name}: writes its info, makes the files read-only
     * (clones map them; a change would corrupt every clone), and renames it into place.
     */
    void commit(Path staging, String name, Properties info) throws IOException {
        try (Writer w = Files.newBufferedWriter(staging.resolve(INFO_FILE))) {
            info.store(w, "an Airlock template");
        }
        Files.createFile(staging.resolve(LOCK_FILE));
        for (String f : List.of(Snapshot.STATE_FILE, Snapshot.MEMORY_FILE, INFO_FILE)) {
            Files.setPosixFilePermissions(staging.resolve(f), PosixFilePermissions.fromString("r--r--r--"));
        }
        if (exists(name)) throw new IOException("template '" + name + "' appeared meanwhile; delete it first");
        try {
            Files.move(staging, dir(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(staging, dir(name));
        }
    }

    /**
     * Deletes template {@code name}, unless a clone of it runs in this process or another.
     *
     * @throws IOException saying why not, for the user
     */
    void delete(String name) throws IOException {
        Path d = dir(name);
        if (!exists(name)) throw new java.nio.file.NoSuchFileException(d.toString(), null, "no template '" + name + "'");
        Template open = OPEN.get(d.toAbsolutePath().normalize());
        if (open != null && open.users() > 0) {
            throw new IOException("template '" + name + "' is in use by " + open.users()
                    + " running clone(s) in this process; stop them first");
        }
        // flock locks belong to an open file: this exclusive one conflicts with any clone's shared
        // one, in this process or another. Our own lock file (kept open between clones) closes after.
        int fd;
        try {
            fd = Fcntl.open(d.resolve(LOCK_FILE).toString(), Fcntl.O_RDONLY);
        } catch (ErrnoException e) {
            throw new IOException("cannot open " + d.resolve(LOCK_FILE) + ": " + e.getMessage(), e);
        }
        try {
            if (!Flock.flock(fd, Flock.LOCK_EX | Flock.LOCK_NB)) {
                throw new IOException("template '" + name + "' is in use by running clones; stop them first (airlock ps lists them)");
            }
            deleteDiskSnapshots(readInfo(d.resolve(INFO_FILE))); // first: if refused, the template stays whole
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.toList()) {
                    if (!f.getFileName().toString().equals(LOCK_FILE)) Files.delete(f);
                }
            }
            Files.delete(d.resolve(LOCK_FILE));
        } finally {
            Fcntl.close(fd);
        }
        if (open != null) open.closeLockFile();
        Files.delete(d);
        if (open != null && OPEN.remove(d.toAbsolutePath().normalize(), open)) open.snapshot().close();
    }

    /** An open template: its verified snapshot and who in this process uses it. */
    static final class Template {
        private final String name;
        private final Path dir;
        private final Snapshot snapshot;
        private final Properties info;
        private int users;
        /** The in-use lock file, open from the first clone until the template is deleted; -1 before. */
        private int lockFd = -1;

        Template(String name, Path dir, Snapshot snapshot, Properties info) {
            this.name = name;
            this.dir = dir;
            this.snapshot = snapshot;
            this.info = info;
        }

        String name() { return name; }

        Path dir() { return dir; }

        Snapshot snapshot() { return snapshot; }

        Properties info() { return info; }

        /**
         * The disks its clones attach, in their slots: read-only files, checked to be the files the
         * template was made with (same size and modification time: the saved guest may cache their
         * blocks), read-only store images, and writable store disks as the snapshot the template froze,
         * of which each clone gets a throwaway clone.
         */
        List<MicroVm.Disk> disks() throws IOException {
            if (info.getProperty("disks", "").isBlank()) return List.of(); // most templates: nothing to parse or check per clone
            var out = new ArrayList<MicroVm.Disk>();
            for (StoredDisk s : storedDisks(info)) {
                Path path = s.disk().path();
                if (!s.disk().inStore()) {
                    if (!Files.isRegularFile(path)) {
                        throw new IOException("template '" + name + "' needs its disk " + path + ", which is gone");
                    }
                    if (s.fingerprint().isEmpty() || !fingerprint(path).equals(s.fingerprint())) {
                        throw new IOException("disk " + path + " changed since template '" + name
                                + "' was made; its clones would see stale data. Make the template again");
                    }
                }
                out.add(s.disk());
            }
            return out;
        }

        /** Whether its clones offer their own pages for content-based merging (template create --share-content). */
        boolean sharesContent() { return Boolean.parseBoolean(info.getProperty("shareContent", "false")); }

        synchronized int users() { return users; }

        /**
         * A clone starts using it: the first takes the shared in-use lock that {@link #delete} respects.
         * The lock file stays open between clones (until the template is deleted), so a process
         * making clones one after another pays for the lock, not for opening the file each time.
         */
        synchronized void acquire() {
            if (users++ > 0) return;
            try {
                if (lockFd < 0) lockFd = Fcntl.open(dir.resolve(LOCK_FILE).toString(), Fcntl.O_RDONLY);
                Flock.flock(lockFd, Flock.LOCK_SH); // waits only while a delete holds it exclusively
            } catch (ErrnoException e) {
                // Without the lock only another process's delete could miss us; say so, but run.
                System.err.println("airlock: cannot mark template '" + name + "' in use: " + e.getMessage());
            }
        }

        synchronized void release() {
            if (--users > 0 || lockFd < 0) return;
            try {
                Flock.flock(lockFd, Flock.LOCK_UN);
            } catch (ErrnoException ignored) {
                // the lock goes with the file when it is closed
            }
        }

        /** Closes the lock file, once no clone uses the template (it has been deleted). */
        synchronized void closeLockFile() {
            if (users > 0 || lockFd < 0) return;
            Fcntl.close(lockFd);
            lockFd = -1;
        }
    }
}
