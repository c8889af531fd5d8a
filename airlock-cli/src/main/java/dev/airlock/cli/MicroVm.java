package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.AgentUnreachableException;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import dev.airlock.memory.FrameAccounting;
import dev.airlock.memory.FrameKind;
import dev.airlock.memory.FrameUsage;
import dev.airlock.store.StoreException;
import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.boot.BootException;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.balloon.VirtioBalloon;
import dev.airlock.vmm.virtio.blk.BlockBackend;
import dev.airlock.vmm.virtio.blk.RawImageBackend;
import dev.airlock.vmm.virtio.blk.VirtioBlock;
import dev.airlock.vmm.virtio.rng.VirtioRng;
import dev.airlock.vmm.virtio.vsock.VirtioVsock;
import dev.airlock.vmm.virtio.vsock.VsockUnixProxy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A VM with Airlock's standard devices, as {@code run} and {@code start} use it: disks in virtio slots
 * 0.. (/dev/vda, /dev/vdb, …), then virtio-rng, virtio-balloon (with free page reporting, so memory
 * the guest frees returns to the host) and virtio-vsock, reachable through a Unix socket under the
 * {@link RuntimeDir}, where {@code airlock exec} finds it by name.
 */
final class MicroVm implements AutoCloseable {
    /**
     * Kernel modules /init loads: the virtio transport, rng, the balloon (free pages go back to the
     * host) and vsock for the agent.
     */
    static final List<String> AGENT_MODULES = List.of("virtio_mmio", "virtio-rng", "virtio_balloon",
            "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport");
    /** Added when disks are attached: the block driver, and ext4 with the crc32c it finds at mount time. */
    static final List<String> DISK_MODULES = List.of("virtio_blk", "crc32c_generic", "ext4");

    /** Slots taken besides disks: rng, balloon, vsock. */
    static final int FIXED_DEVICES = 3;

    /**
     * A disk as {@code --disk} names it: a raw file, a store image ({@code store:NAME}), or a throwaway
     * clone of a store snapshot ({@code store:NAME@SNAPSHOT}, writable).
     */
    record Disk(Path path, boolean readOnly) {
        static final String STORE = "store:";

        static Disk parse(String text) throws UsageException {
            boolean ro = text.endsWith(",ro");
            String p = ro ? text.substring(0, text.length() - 3) : text;
            if (p.isEmpty()) throw new UsageException("--disk takes IMAGE or IMAGE,ro");
            return new Disk(Path.of(p), ro);
        }

        boolean inStore() { return path.toString().startsWith(STORE); }

        /** NAME of a store disk. */
        String storeImage() {
            String spec = storeSpec();
            int at = spec.indexOf('@');
            return at > 0 ? spec.substring(0, at) : spec;
        }

        /** SNAPSHOT of {@code store:NAME@SNAPSHOT}, or null. */
        String storeSnapshot() {
            String spec = storeSpec();
            int at = spec.indexOf('@');
            return at > 0 ? spec.substring(at + 1) : null;
        }

        /** {@code NAME} or {@code NAME@SNAPSHOT}: what follows {@code store:}. */
        private String storeSpec() { return path.toString().substring(STORE.length()); }

        /** This store image as a template froze it: each clone writes a throwaway clone of {@code snapshot}. */
        Disk frozenAs(String snapshot) { return new Disk(Path.of(path + "@" + snapshot), false); }
    }

    /** The kernel (the user's, else Debian's) and the agent's initramfs, with the disk modules if there are disks. */
    record BootFiles(Path kernel, byte[] initrd) {
        static BootFiles forAgent(RunCommand.Options o) throws dev.airlock.guest.assets.GuestAssetException {
            var assets = dev.airlock.guest.assets.GuestAssets.open(dev.airlock.guest.assets.GuestAssets.defaultCacheDir(),
                    dev.airlock.guest.assets.ProgressListener.stderr());
            return new BootFiles(o.kernel() != null ? o.kernel() : assets.kernelImage(),
                    assets.agentInitramfs(modules(!o.disks().isEmpty())));
        }
    }

    static List<String> modules(boolean disks) {
        var all = new ArrayList<>(AGENT_MODULES);
        if (disks) all.addAll(1, DISK_MODULES);
        return List.copyOf(all);
    }

    // Replaced together by resetToTemplate(); everything else about the VM stays.
    private volatile Vm vm;
    private volatile VsockUnixProxy proxy;
    private volatile VirtioBalloon balloon;
    private final RuntimeDir runtime;
    private final String name;
    private final long cid;
    private final HartPool pool;
    private final DeviceEventLoop devices;
    private final long startedNanos = System.nanoTime();
    /** The template this VM was cloned from, held in use until it closes; null for a booted VM. */
    private final Templates.Template template;
    /** Where the time of {@link #clone} went; null for a booted VM. */
    private final ClonePhases phases;

    /**
     * {@link System#nanoTime()} at the steps of {@link #clone}: its call, the template marked in use,
     * RAM mapped and the machine built ({@link Vm#forSnapshot}), devices attached, state restored (with
     * the new generation ID), and clone's return. The vsock socket is bound later, in the background,
     * after {@link #start}.
     */
    record ClonePhases(long startNanos, long lockedNanos, long mappedNanos, long attachedNanos, long restoredNanos,
                       long returnedNanos) {}

    private MicroVm(Vm vm, RuntimeDir runtime, String name, long cid, VsockUnixProxy proxy, VirtioBalloon balloon,
                    Templates.Template template, HartPool pool, DeviceEventLoop devices, ClonePhases phases) {
        this.vm = vm;
        this.phases = phases;
        this.pool = pool;
        this.devices = devices;
        this.template = template; // acquired by clone()
        this.balloon = balloon;
        this.runtime = runtime;
        this.name = name;
        this.cid = cid;
        this.proxy = proxy;
    }

    /**
     * Creates the VM and attaches its devices (not started yet).
     *
     * @throws BootException for a bad kernel or initrd, IOException for a disk or socket problem, both
     *     with a message fit for the user; nothing is left behind
     */
    static MicroVm create(VmConfig config, List<Disk> disks, String name, RuntimeDir runtime, HartPool pool,
                          DeviceEventLoop devices) throws BootException, IOException {
        return withDevices(Vm.create(config, pool), disks, name, runtime, pool, devices, null, 0, 0, 0);
    }

    /**
     * A clone of {@code template}: a VM whose RAM maps the template's memory copy-on-write, with the
     * template's devices in the same slots (rng, balloon, vsock with its own new CID), restored to the
     * saved state and reseeded; not started yet.
     */
    static MicroVm clone(Templates.Template template, String name, RuntimeDir runtime, HartPool pool,
                         DeviceEventLoop devices, java.io.OutputStream console) throws IOException {
        long t0 = System.nanoTime();
        // In use before its memory is mapped, so another process's 'template rm' cannot slip in between.
        template.acquire();
        boolean ok = false;
        try {
            long locked = System.nanoTime();
            List<Disk> disks = template.disks();
            Vm vm = Vm.forSnapshot(template.snapshot(), console, pool);
            MicroVm m = withDevices(vm, disks, name, runtime, pool, devices, template, t0, locked, System.nanoTime());
            ok = true;
            return m;
        } catch (BootException e) {
            throw new IOException(e.getMessage(), e);
        } finally {
            if (!ok) template.release();
        }
    }

    private static MicroVm withDevices(Vm vm, List<Disk> disks, String name, RuntimeDir runtime, HartPool pool,
                                       DeviceEventLoop devices, Templates.Template template, long startNanos,
                                       long lockedNanos, long mappedNanos) throws BootException, IOException {
        long cid = -1;
        boolean ok = false;
        try {
            cid = runtime.claimCid();
            Path socket = freeSocket(runtime, name);
            Attached a = attach(vm, disks, cid, socket, devices, template);
            ok = true;
            ClonePhases phases = template == null ? null
                    : new ClonePhases(startNanos, lockedNanos, mappedNanos, a.attachedNanos(), a.restoredNanos(), System.nanoTime());
            return new MicroVm(vm, runtime, name, cid, a.proxy(), a.balloon(), template, pool, devices, phases);
        } finally {
            if (!ok) {
                if (cid >= 0) runtime.releaseCid(cid);
                try {
                    vm.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The vsock socket path of a VM named {@code name}, unless a running VM has that name already. */
    private static Path freeSocket(RuntimeDir runtime, String name) throws IOException {
        Path socket = runtime.vsockSocket(name);
        if (Files.exists(socket) && socketAlive(socket)) {
            throw new IOException("a VM named '" + name + "' is already running (" + socket
                    + "); pick another --name or stop it with: airlock stop " + name);
        }
        return socket;
    }

    /**
     * This clone, made ahead of time by a {@link ClonePool} under a provisional name and not started,
     * as {@code name} with its console going to {@code console}; this object must not be used after.
     *
     * @throws IOException if a running VM has that name (this clone stays as it was)
     */
    MicroVm claim(String name, java.io.OutputStream console) throws IOException {
        if (!(vm.consoleOutput() instanceof ConsoleSwitch sw)) {
            throw new IllegalStateException(this.name + " was not made to be claimed (its console is fixed)");
        }
        Path socket = freeSocket(runtime, name);
        sw.to(console);
        return new MicroVm(vm, runtime, name, cid, proxy.movedTo(socket), balloon, template, pool, devices, phases);
    }

    private record Attached(VsockUnixProxy proxy, VirtioBalloon balloon, long attachedNanos, long restoredNanos) {}

    /**
     * Attaches the standard devices and restores {@code template} if there is one; the vsock socket
     * is only named here, {@link #start} binds it. On failure closes what it opened (the caller closes the VM).
     */
    private static Attached attach(Vm vm, List<Disk> disks, long cid, Path socket, DeviceEventLoop devices,
                                   Templates.Template template) throws BootException, IOException {
        VsockUnixProxy proxy = null;
        VirtioBalloon balloon;
        boolean ok = false;
        try {
            int slot = 0;
            for (Disk d : disks) {
                vm.attachVirtio(slot, new VirtioMmioTransport(new VirtioBlock(openDisk(d), "airlock-disk" + slot),
                        vm.memory(), vm.virtioIrq(slot), devices, vm.deviceWriteListener()));
                slot++;
            }
            vm.attachVirtio(slot, new VirtioMmioTransport(new VirtioRng(), vm.memory(), vm.virtioIrq(slot), devices,
                    vm.deviceWriteListener()));
            slot++;
            balloon = new VirtioBalloon(vm.deviceWriteListener());
            vm.attachVirtio(slot, new VirtioMmioTransport(balloon, vm.memory(), vm.virtioIrq(slot), devices,
                    vm.deviceWriteListener()));
            slot++;
            var vsock = new VirtioVsock(cid);
            vm.attachVirtio(slot, new VirtioMmioTransport(vsock, vm.memory(), vm.virtioIrq(slot), devices,
                    vm.deviceWriteListener()));
            long attachedNanos = System.nanoTime();
            if (template != null) {
                if (template.sharesContent()) vm.memory().offerForMerging();
                vm.restore(template.snapshot());
                // Every clone starts with the template's kernel RNG state: a new generation ID makes the
                // guest's vmgenid driver reseed it before the clone's first instruction runs.
                vm.newGeneration();
            }
            long restoredNanos = System.nanoTime();
            proxy = VsockUnixProxy.unbound(vsock, socket);
            ok = true;
            return new Attached(proxy, balloon, attachedNanos, restoredNanos);
        } finally {
            if (!ok && proxy != null) proxy.close();
        }
    }

    /**
     * Puts a clone back to its template while it runs: the guest's state is the template's again
     * and every private frame is freed, while its name, CID and sockets stay. The running VM is
     * stopped and a fresh clone takes its place, which costs what a clone costs; connections to
     * the old guest are reset.
     *
     * @throws IllegalStateException if this VM was booted, not cloned
     */
    synchronized void resetToTemplate() throws IOException, InterruptedException {
        if (template == null) throw new IllegalStateException(name + " was booted, not cloned from a template; nothing to reset to");
        Vm old = vm;
        proxy.close();
        old.stop(VmResult.Outcome.STOPPED, "reset to template " + template.name());
        old.awaitEnd(Duration.ofSeconds(30));
        Vm fresh = Vm.forSnapshot(template.snapshot(), old.consoleOutput(), pool);
        try {
            Attached a = attach(fresh, template.disks(), cid, runtime.vsockSocket(name), devices, template);
            vm = fresh;
            proxy = a.proxy();
            balloon = a.balloon();
        } catch (BootException e) {
            fresh.close();
            throw new IOException(e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            fresh.close();
            throw e;
        } finally {
            old.close();
        }
        fresh.start();
        proxy.listenInBackground();
    }

    /**
     * Waits for the guest to end, across {@link #resetToTemplate} (which ends one VM and starts the
     * next under the same name); stops it at the timeout.
     */
    VmResult await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Vm current = vm;
            VmResult r = current.await(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            synchronized (this) {
                if (vm == current) return r;
            }
        }
    }

    private static BlockBackend openDisk(Disk d) throws IOException {
        try {
            if (!d.inStore()) return RawImageBackend.open(d.path(), d.readOnly());
            String snapshot = d.storeSnapshot();
            if (snapshot == null) return StoreBlockBackend.open(StoreBlockBackend.defaultRoot(), d.storeImage(), d.readOnly());
            if (d.readOnly()) {
                throw new IOException("--disk " + d.path() + ",ro: a snapshot is served as a writable throwaway clone; drop ,ro");
            }
            // How a template's clones get their own disk.
            return StoreBlockBackend.openDisposableClone(StoreBlockBackend.defaultRoot(), d.storeImage(), snapshot);
        } catch (StoreException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Whether something answers on the socket (a live VM), as opposed to a file a dead one left. */
    private static boolean socketAlive(Path socket) {
        try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            return ch.connect(java.net.UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false;
        }
    }

    Vm vm() { return vm; }

    VirtioBalloon balloon() { return balloon; }

    /** Where the time of {@link #clone} went; null for a booted VM. */
    ClonePhases clonePhases() { return phases; }

    String name() { return name; }

    long cid() { return cid; }

    /** Where the vsock socket is, or will be once {@link #awaitVsockSocket} returns. */
    Path vsockSocket() { return proxy.path(); }

    /**
     * The vsock socket, once host clients can connect to it; if the VM is being reset (its socket
     * closed and about to be bound again) or closed, returns at once and the caller's connect retries or fails.
     *
     * @throws IOException if it could not be bound, with a message for the user
     */
    Path awaitVsockSocket() throws IOException, InterruptedException {
        VsockUnixProxy p = proxy;
        p.awaitListening();
        return p.path();
    }

    /**
     * Starts the guest, then binds its vsock socket in the background: the first guest instruction
     * does not wait for the socket's syscalls. Nobody outside can miss the socket meanwhile: this
     * process announces a VM (and answers for it) only after {@link #awaitVsockSocket} or
     * {@link #connectAgent}, which wait for it.
     */
    void start() {
        vm.start();
        proxy.listenInBackground();
    }

    /** What {@code airlock ps} shows: the VM's size and what its memory really costs the host now, page by page. */
    VmStatus status() {
        long instructions = 0;
        for (int i = 0; i < vm.hartCount(); i++) instructions += vm.hart(i).instret();
        long[] process = VmStatus.processRssPss();
        FrameUsage u;
        try (FrameAccounting accounting = FrameAccounting.open()) {
            u = accounting.classify(vm.memory().segment().address(), vm.memory().sizeBytes());
        }
        long resident = u.bytes(FrameKind.PRIVATE) + u.bytes(FrameKind.TEMPLATE) + u.bytes(FrameKind.SHARED);
        return new VmStatus(name, ProcessHandle.current().pid(), cid, vm.hartCount(), vm.memory().sizeBytes(),
                template == null ? "" : template.name(), resident, u.bytes(FrameKind.PRIVATE), u.bytes(FrameKind.TEMPLATE),
                u.bytes(FrameKind.SHARED), u.bytes(FrameKind.ZERO), u.bytes(FrameKind.NOT_PRESENT),
                balloon.actualPages() * VirtioBalloon.BALLOON_PAGE_BYTES,
                balloon.bytesReported(), instructions, (System.nanoTime() - startedNanos) / 1_000_000, process[0], process[1],
                u.tableBytes(), vm.javaBytes());
    }

    private static final Duration MAX_REQUEST_WAIT = Duration.ofMinutes(2);

    /**
     * Waits for the guest agent, retrying while the guest boots, until the timeout or the VM's end.
     * Its requests may then wait as long as the connection could (10 s to 2 min): a clone among a
     * hundred on two cores answers slowly.
     */
    AgentClient connectAgent(Duration timeout) throws AgentException, InterruptedException {
        Vm current = vm;
        Duration request = Collections.max(List.of(AgentClient.DEFAULT_TIMEOUT, Collections.min(List.of(timeout, MAX_REQUEST_WAIT))));
        Path socket;
        try {
            socket = awaitVsockSocket();
        } catch (IOException e) {
            throw new AgentUnreachableException(e.getMessage(), e);
        }
        return AgentClient.awaitVsock(socket, timeout, current::hasEnded, request);
    }

    @Override
    public void close() throws InterruptedException {
        try {
            proxy.close();
            vm.close();
        } finally {
            if (template != null) template.release();
            runtime.releaseCid(cid);
            try {
                Files.deleteIfExists(runtime.vmDir(name));
            } catch (IOException ignored) {
                // not empty (someone put files there) or already gone: harmless
            }
        }
    }
}
