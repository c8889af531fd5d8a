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
 * and guest CIDs are claimed in blocks, each by a symbolic link {@code cids/block-K} to the claiming
 * process's pid (see {@link #claimCid}).
 */
final class RuntimeDir {
    static final String ENV = "AIRLOCK_RUNTIME_DIR";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    /** CIDs 0-2 are reserved (hypervisor, local, host). */
    static final long FIRST_CID = 3;

    private final Path root;
    /** Made once per process and root: a clone's claim should cost one syscall, not a mkdir too. */
    private static final java.util.Set<Path> CID_DIRS_MADE = java.util.concurrent.ConcurrentHashMap.newKeySet();

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

    /**
     * Claims a free guest CID; the caller releases it with {@link #releaseCid}. CIDs are claimed from
     * the host in blocks of {@link #CID_BLOCK}, each by one symbolic link {@code cids/block-K} (CIDs
     * {@code FIRST_CID + K * CID_BLOCK} on) to the claiming process's pid: a process making clones one
     * after another then claims from memory, not with a file per clone (a link on a disk file system
     * cost a clone about 45 µs). A block stays this process's until it exits; a block whose process
     * died is taken over.
     */
    long claimCid() throws IOException {
        return cidBlocks().claim();
    }

    void releaseCid(long cid) {
        cidBlocks().release(cid);
    }

    /** Shared by every RuntimeDir of this process with the same root. */
    private CidBlocks cidBlocks() {
        CidBlocks b = cidBlocks;
        if (b == null) {
            cidBlocks = b = CID_BLOCKS.computeIfAbsent(root.resolve("cids").toAbsolutePath().normalize(), CidBlocks::new);
        }
        return b;
    }

    private volatile CidBlocks cidBlocks;

    /** CIDs per claimed block. */
    static final int CID_BLOCK = 64;
    private static final long CID_RANGE = 1_000_000;
    private static final long BLOCK_COUNT = CID_RANGE / CID_BLOCK;
    private static final java.util.Map<Path, CidBlocks> CID_BLOCKS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final Path PID = Path.of(Long.toString(ProcessHandle.current().pid()));

    /** This process's claimed blocks under one {@code cids} directory, and which of their CIDs are in use. */
    private static final class CidBlocks {
        private final Path dir;
        /** Bit (cid - FIRST_CID) set: a CID of one of our blocks that no VM uses. */
        private final java.util.BitSet free = new java.util.BitSet();
        /** Bit K set: cids/block-K is ours. */
        private final java.util.BitSet claimed = new java.util.BitSet();
        private long nextBlock;
        private boolean hooked;

        CidBlocks(Path dir) {
            this.dir = dir;
        }

        synchronized long claim() throws IOException {
            // After the last claim, as before blocks: a CID just released is not handed out again at once.
            int i = free.nextSetBit(lastClaimed + 1);
            if (i < 0) i = free.nextSetBit(0);
            if (i < 0) i = (int) (claimBlock() * CID_BLOCK);
            free.clear(i);
            lastClaimed = i;
            return FIRST_CID + i;
        }

        private int lastClaimed = -1;

        synchronized void release(long cid) {
            long i = cid - FIRST_CID;
            if (i >= 0 && i < CID_RANGE && claimed.get((int) (i / CID_BLOCK))) free.set((int) i);
        }

        private Path blockFile(long block) {
            return dir.resolve("block-" + block);
        }

        /** Claims the next free block on the host, makes its CIDs free here, and returns its number. */
        private long claimBlock() throws IOException {
            Files.createDirectories(dir);
            for (long n = 0; n < BLOCK_COUNT; n++) {
                long block = Math.floorMod(nextBlock + n, BLOCK_COUNT);
                if (claimed.get((int) block)) continue;
                Path link = blockFile(block);
                try {
                    Files.createSymbolicLink(link, PID);
                } catch (FileAlreadyExistsException e) {
                    // Taken, unless its process died without cleaning up.
                    if (!ownerAlive(link)) {
                        Files.deleteIfExists(link);
                        n--;
                    }
                    continue;
                }
                claimed.set((int) block);
                nextBlock = block + 1;
                free.set((int) (block * CID_BLOCK), (int) ((block + 1) * CID_BLOCK));
                if (!hooked) {
                    hooked = true;
                    Runtime.getRuntime().addShutdownHook(new Thread(this::releaseAll, "airlock-cid-release"));
                }
                return block;
            }
            throw new IOException("no free guest CID under " + dir);
        }

        /** At exit: our blocks go back to the host (a killed process's are taken over instead). */
        private synchronized void releaseAll() {
            for (int block = claimed.nextSetBit(0); block >= 0; block = claimed.nextSetBit(block + 1)) {
                try {
                    Files.deleteIfExists(blockFile(block));
                } catch (IOException ignored) {
                    // a stale claim is taken over by the next process that needs it
                }
            }
            claimed.clear();
            free.clear();
        }
    }

    /** Whether the process that claimed a block still runs: the claim links to its pid. */
    static boolean ownerAlive(Path claim) {
        try {
            long pid = Long.parseLong(Files.readSymbolicLink(claim).toString().strip());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return true; // unreadable, or not ours to judge: leave it alone
        }
    }
}
