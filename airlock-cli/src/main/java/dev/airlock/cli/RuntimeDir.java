package dev.airlock.cli;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where running VMs are found by name: {@code $AIRLOCK_RUNTIME_DIR}, else
 * {@code $XDG_RUNTIME_DIR/airlock}, else {@code /tmp/airlock-$USER}. Each VM has
 * {@code vms/NAME/} holding its vsock Unix socket ({@code vsock.sock}, Firecracker's convention),
 * and each guest CID in use is claimed by creating {@code cids/N}.
 */
final class RuntimeDir {
    static final String ENV = "AIRLOCK_RUNTIME_DIR";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    /** CIDs 0-2 are reserved (hypervisor, local, host). */
    static final long FIRST_CID = 3;

    private final Path root;

    RuntimeDir(Path root) {
        this.root = root;
    }

    static RuntimeDir fromEnvironment() {
        String property = System.getProperty("airlock.runtimeDir"); // tests
        if (property != null && !property.isBlank()) return new RuntimeDir(Path.of(property));
        String explicit = System.getenv(ENV);
        if (explicit != null && !explicit.isBlank()) return new RuntimeDir(Path.of(explicit));
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isBlank()) return new RuntimeDir(Path.of(xdg, "airlock"));
        return new RuntimeDir(Path.of("/tmp", "airlock-" + System.getProperty("user.name", "user")));
    }

    Path root() { return root; }

    static void checkName(String name) throws UsageException {
        if (!NAME.matcher(name).matches()) {
            throw new UsageException("'" + name + "' is not a usable VM name: use 1-63 letters, digits, '.', '_' or '-',"
                    + " starting with a letter or digit");
        }
    }

    Path vmDir(String name) { return root.resolve("vms").resolve(name); }

    Path vsockSocket(String name) { return vmDir(name).resolve("vsock.sock"); }

    /** Where {@code airlock start} answers STATUS and STOP (see {@link VmControl}). */
    Path controlSocket(String name) { return vmDir(name).resolve("control.sock"); }

    /** Claims the lowest free guest CID; the caller releases it with {@link #releaseCid}. */
    long claimCid() throws IOException {
        Path cids = Files.createDirectories(root.resolve("cids"));
        // Start after this process's last claim: a process making thousands of clones must not probe
        // every CID it holds each time. Wrapping around finds the ones released meanwhile.
        long start = nextCid.get();
        for (long n = 0; n < CID_RANGE; n++) {
            long cid = FIRST_CID + Math.floorMod(start - FIRST_CID + n, CID_RANGE);
            Path claim = cids.resolve(Long.toString(cid));
            try {
                Files.writeString(claim, ProcessHandle.current().pid() + "\n", java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
                nextCid.set(cid + 1);
                return cid;
            } catch (FileAlreadyExistsException e) {
                // Taken, unless its process died without cleaning up.
                if (!ownerAlive(claim)) {
                    Files.deleteIfExists(claim);
                    n--;
                }
            }
        }
        throw new IOException("no free guest CID under " + cids);
    }

    private static final long CID_RANGE = 1_000_000;
    private static final java.util.concurrent.atomic.AtomicLong nextCid = new java.util.concurrent.atomic.AtomicLong(FIRST_CID);

    void releaseCid(long cid) {
        try {
            Files.deleteIfExists(root.resolve("cids").resolve(Long.toString(cid)));
        } catch (IOException ignored) {
            // a stale claim is reclaimed by the next claimCid
        }
    }

    private static boolean ownerAlive(Path claim) {
        try {
            long pid = Long.parseLong(Files.readString(claim).strip());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return true; // being written right now, or unreadable: leave it alone
        }
    }
}
