package dev.airlock.vmm;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.cpu.TimeBase;
import dev.airlock.cpu.rv64.CodeCache;
import dev.airlock.cpu.rv64.Hart;
import dev.airlock.cpu.rv64.Platform;
import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.boot.BootException;
import dev.airlock.vmm.boot.KernelImage;
import dev.airlock.vmm.bus.Bus;
import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.IrqLine;
import dev.airlock.vmm.devices.AddressMap;
import dev.airlock.vmm.devices.clint.Clint;
import dev.airlock.vmm.devices.plic.Plic;
import dev.airlock.vmm.devices.power.PowerControl;
import dev.airlock.vmm.devices.power.TestFinisher;
import dev.airlock.vmm.devices.uart.Uart16550;
import dev.airlock.vmm.devices.vmgenid.VmGenerationId;
import dev.airlock.vmm.fdt.MachineDeviceTree;
import dev.airlock.vmm.fdt.MachineLayout;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.sched.HartTask;
import dev.airlock.cpu.rv64.HartState;
import dev.airlock.vmm.snapshot.MemoryFile;
import dev.airlock.vmm.snapshot.Snapshot;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import java.io.OutputStream;
import dev.airlock.vmm.snapshot.SnapshotFormatException;
import dev.airlock.vmm.snapshot.StateFile;
import java.nio.BufferUnderflowException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One virtual machine on the "airlock" RISC-V platform: RAM at 0x8000_0000, a PLIC, a CLINT, an
 * NS16550A console, a test finisher for bare-metal programs, a VM generation ID, and virtio-mmio slots. A Linux guest
 * enters in S-mode with the hypervisor serving SBI; an ELF program enters in M-mode.
 */
public final class Vm implements AutoCloseable, Platform, PowerControl {
    private static final Logger LOG = Logger.getLogger(Vm.class.getName());

    public static final long RAM_BASE = AddressMap.RAM_GPA;
    /** RV64GC as Debian needs it, plus Sstc, which the hart implements so timer ticks need no SBI call. */
    static final List<String> ISA_EXTENSIONS = java.util.stream.Stream.concat(
            MachineLayout.DEFAULT_ISA_EXTENSIONS.stream(), java.util.stream.Stream.of("sstc")).toList();

    /** One for the process: seeding a SecureRandom per VM costs a clone more than the rest of its setup. */
    private static final HostEntropy ENTROPY = HostEntropy.urandom();

    private final VmConfig config;
    private final GuestMemory ram;
    private final Bus bus = new Bus();
    private final Hart[] harts;
    private final HartTask[] tasks;
    private final Uart16550 uart;
    private final Plic plic;
    private final VmGenerationId vmGenerationId;
    private final CodeCache code;
    private final SlotDevice[] virtioSlots = new SlotDevice[AddressMap.VIRTIO_MMIO_SLOTS];
    private final ConsoleTap console;
    private final TimeBase.Resumable time = new TimeBase.Resumable();
    private final CountDownLatch allHalted;
    private final long startNanos = System.nanoTime();
    private volatile VmResult.Outcome outcome;
    private volatile String reason;
    private volatile int exitCode = -1;
    private volatile boolean started;
    private Clint clint;
    /** Set by {@link #restore}: start() then resumes every hart that was running instead of booting hart 0. */
    private boolean restored;
    /** The clock of the snapshot restored; start() carries on from it, however long the VM waited in between. */
    private long restoredTicks;
    /** The snapshot whose memory this VM's RAM maps, if it was made by {@link #forSnapshot}. */
    private Snapshot memoryFrom;

    /** The machine around {@code ram}, which it owns from now on; nothing is loaded and nothing runs. */
    private Vm(VmConfig config, HartPool pool, GuestMemory ram, boolean linux) {
        this.config = config;
        this.ram = ram;
        this.console = new ConsoleTap(config.console(), this::onPanic);
        harts = new Hart[config.cpus()];
        tasks = new HartTask[config.cpus()];
        code = new CodeCache(ram);
        for (int i = 0; i < harts.length; i++) {
            harts[i] = new Hart(i, ram, code, bus, time, this, linux);
            tasks[i] = new HartTask(harts[i], pool, time, this::onHartHalted, this::onHartCrashed);
        }
        allHalted = new CountDownLatch(harts.length);
        HartInterrupts[] lines = harts;
        Plic plic = new Plic(lines);
        uart = new Uart16550(console, plic.source(AddressMap.UART_IRQ));
        clint = new Clint(lines, time);
        vmGenerationId = new VmGenerationId(ENTROPY, plic.source(AddressMap.VMGENID_IRQ));
        this.plic = plic;
        var windows = new ArrayList<Bus.Mapping>(5 + AddressMap.VIRTIO_MMIO_SLOTS);
        windows.add(new Bus.Mapping("plic", AddressMap.PLIC_GPA, Plic.SIZE_BYTES, plic));
        windows.add(new Bus.Mapping("clint", AddressMap.CLINT_GPA, Clint.SIZE_BYTES, clint));
        windows.add(new Bus.Mapping("uart", AddressMap.UART_GPA, Uart16550.SIZE_BYTES, uart));
        windows.add(new Bus.Mapping("finisher", AddressMap.TEST_FINISHER_GPA, 0x1000, new TestFinisher(this)));
        windows.add(new Bus.Mapping("vmgenid", AddressMap.VMGENID_GPA, VmGenerationId.SIZE_BYTES, vmGenerationId));
        for (int slot = 0; slot < AddressMap.VIRTIO_MMIO_SLOTS; slot++) {
            virtioSlots[slot] = new SlotDevice();
            windows.add(new Bus.Mapping(VIRTIO_SLOT_NAMES[slot], AddressMap.VIRTIO_MMIO_GPA
                    + slot * AddressMap.VIRTIO_MMIO_SIZE_BYTES, AddressMap.VIRTIO_MMIO_SIZE_BYTES, virtioSlots[slot]));
        }
        bus.registerAll(windows); // one table for the dozen windows, built once per VM (per clone)
    }

    private static final String[] VIRTIO_SLOT_NAMES = java.util.stream.IntStream.range(0, AddressMap.VIRTIO_MMIO_SLOTS)
            .mapToObj(slot -> "virtio" + slot).toArray(String[]::new);

    /** Builds a VM from its config and loads its kernel, initrd and device tree; nothing runs until {@link #start}. */
    public static Vm create(VmConfig config, HartPool pool) throws BootException {
        if (config.kernel() == null) throw new BootException("no kernel given; pass one with --kernel");
        KernelImage kernel = KernelImage.load(config.kernel(), RAM_BASE);
        boolean linux = kernel.kind() == KernelImage.Kind.LINUX_IMAGE;
        Vm vm = new Vm(config, pool, new GuestMemory(RAM_BASE, config.memoryBytes()), linux);
        try {
            vm.loadAndPlaceHarts(kernel, linux);
        } catch (BootException | RuntimeException e) {
            vm.ram.close();
            throw e;
        }
        return vm;
    }

    /**
     * A VM of {@code snapshot}'s shape whose RAM is the snapshot's memory, mapped copy-on-write:
     * nothing is loaded. Attach the same virtio devices as the saved VM had, then {@link #restore}
     * it and {@link #start} it.
     */
    public static Vm forSnapshot(Snapshot snapshot, OutputStream console, HartPool pool) throws IOException {
        GuestMemory ram = snapshot.mapMemory(RAM_BASE);
        Vm vm = new Vm(new VmConfig(snapshot.cpus(), snapshot.memoryBytes(), null, null, "", console), pool, ram, true);
        vm.memoryFrom = snapshot;
        return vm;
    }

    private void loadAndPlaceHarts(KernelImage kernel, boolean linux) throws BootException {
        long ramEnd = ram.endGpa();
        for (KernelImage.Segment s : kernel.segments()) {
            if (s.gpa() < RAM_BASE) {
                throw new BootException("the kernel has a segment at 0x" + Long.toHexString(s.gpa())
                        + ", below guest RAM at 0x" + Long.toHexString(RAM_BASE) + "; link it at 0x80000000");
            }
            if (!ram.contains(s.gpa()) || s.gpa() + s.memSizeBytes() > ramEnd) {
                throw new BootException("the kernel needs guest memory up to 0x" + Long.toHexString(s.gpa() + s.memSizeBytes())
                        + " but RAM ends at 0x" + Long.toHexString(ramEnd) + "; give the VM more --memory");
            }
        }
        try (FileChannel in = FileChannel.open(kernel.file(), StandardOpenOption.READ)) {
            for (KernelImage.Segment s : kernel.segments()) {
                // Straight from the file into guest RAM: no heap copy of a 31 MB kernel.
                ByteBuffer dst = ram.slice(s.gpa(), s.fileBytes()).asByteBuffer();
                long pos = s.fileOffset();
                while (dst.hasRemaining()) {
                    int n = in.read(dst, pos);
                    if (n < 0) throw new BootException("kernel " + kernel.file() + " is truncated; pass a complete file with --kernel");
                    pos += n;
                }
            }
        } catch (IOException e) {
            throw new BootException("cannot read kernel " + kernel.file() + ": " + e.getMessage());
        }
        if (!linux) {
            harts[0].reset(kernel.entryGpa(), Hart.PRIV_M, 0, 0);
            return;
        }
        long initrdStart = 0, initrdEnd = 0;
        byte[] initrd = config.initrd();
        // The device tree sits 2 MiB-aligned near the top of RAM; the initrd goes above the kernel, as QEMU does.
        long dtbGpa = (ramEnd - (1L << 20)) & ~((2L << 20) - 1);
        if (initrd != null) {
            long kernelEnd = (kernel.endGpa() + 0xfffff) & ~0xfffffL;
            initrdStart = Math.max(kernelEnd, kernel.entryGpa() + Math.min(config.memoryBytes() / 2, 128L << 20));
            initrdStart = (initrdStart + 0xfff) & ~0xfffL;
            if (initrdStart + initrd.length > dtbGpa) initrdStart = (dtbGpa - initrd.length) & ~0xfffL;
            if (initrdStart < kernelEnd) {
                throw new BootException("kernel and initrd (" + (initrd.length >> 20) + " MiB) do not fit in "
                        + (config.memoryBytes() >> 20) + " MiB of guest memory; give the VM more --memory");
            }
            ram.write(initrdStart, initrd);
            initrdEnd = initrdStart + initrd.length;
        }
        byte[] seed = new byte[32];
        ENTROPY.nextBytes(seed);
        List<Long> virtio = new ArrayList<>();
        for (int slot = 0; slot < AddressMap.VIRTIO_MMIO_SLOTS; slot++) virtio.add(AddressMap.virtioMmioGpa(slot));
        byte[] dtb = MachineDeviceTree.build(new MachineLayout(harts.length, RAM_BASE, config.memoryBytes(),
                config.cmdline(), initrdStart, initrdEnd, seed, virtio, MachineLayout.DEFAULT_ISA, ISA_EXTENSIONS, false, false));
        if (dtb.length > (1 << 20)) throw new IllegalStateException("device tree larger than its 1 MiB slot");
        ram.write(dtbGpa, dtb);
        harts[0].reset(kernel.entryGpa(), Hart.PRIV_S, 0, dtbGpa);
    }

    /** Starts the boot hart (secondaries wait for SBI HSM hart_start), or after {@link #restore} every hart that was running. */
    public synchronized void start() {
        if (started) throw new IllegalStateException("VM already started");
        started = true;
        if (!restored) {
            tasks[0].wake();
            return;
        }
        // A clone made ahead of time (a pool's) must not see the time it waited as time that passed.
        time.resumeAt(restoredTicks);
        for (HartTask t : tasks) t.wake(); // a hart that was stopped stays so: wake() checks its HSM state
        // After the harts, so the first instruction does not wait on the device loop's wake-ups.
        for (SlotDevice slot : virtioSlots) {
            if (slot.device instanceof VirtioMmioTransport t) t.resume();
        }
    }

    /**
     * {@link System#nanoTime()} when the first of this VM's harts began its first slice after
     * {@link #start}, or 0 if none has yet: the end of "start to first guest instruction".
     */
    public long firstSliceNanos() {
        long first = 0;
        for (HartTask t : tasks) {
            long n = t.firstSliceNanos();
            if (n != 0 && (first == 0 || n - first < 0)) first = n;
        }
        return first;
    }

    /** Wall time this VM's harts have spent in their slices so far (the rest they waited or were queued). */
    public long hartRunNanos() {
        long n = 0;
        for (HartTask t : tasks) n += t.runNanos();
        return n;
    }

    // ---------------------------------------------------------------- snapshots

    /**
     * Saves this VM to {@code dir} ({@link Snapshot#STATE_FILE} and {@link Snapshot#MEMORY_FILE})
     * after it has been stopped and before it is closed: harts, CLINT, PLIC, UART, every virtio
     * transport with its queues and device state, and RAM with zero pages as holes.
     *
     * @throws IllegalStateException if the VM still runs or a device cannot be saved (a disk, today)
     */
    public void snapshot(Path dir) throws IOException {
        if (!hasEnded()) throw new IllegalStateException("stop the VM before saving it");
        var sections = new ArrayList<StateFile.Section>();
        sections.add(Snapshot.machineSection(harts.length, ram.sizeBytes(), time.ticks()));
        // Devices first: saving one freezes it, so RAM cannot change under the memory file.
        for (int slot = 0; slot < virtioSlots.length; slot++) {
            BusDevice d = virtioSlots[slot].device;
            if (d == EMPTY_SLOT) continue;
            if (!(d instanceof VirtioMmioTransport t)) throw new IllegalStateException("virtio slot " + slot + " holds " + d
                    + ", which cannot be saved");
            sections.add(new StateFile.Section(VIRTIO_TAG, slot, t.saveState()));
        }
        for (Hart h : harts) {
            sections.add(new StateFile.Section("HART", h.hartId(), HartState.save(h)));
        }
        sections.add(new StateFile.Section("CLNT", 0, clint.saveState()));
        sections.add(new StateFile.Section("PLIC", 0, plic.saveState()));
        sections.add(new StateFile.Section("UART", 0, uart.saveState()));
        sections.add(new StateFile.Section("VGID", 0, vmGenerationId.saveState()));
        Files.createDirectories(dir);
        var memory = MemoryFile.write(ram, dir.resolve(Snapshot.MEMORY_FILE));
        sections.add(Snapshot.memorySection(memory));
        StateFile.write(dir.resolve(Snapshot.STATE_FILE), sections);
    }

    static final String VIRTIO_TAG = "VIRT";

    /** Restores the snapshot in {@code dir} into this freshly created VM; see {@link #restore(Snapshot)}. */
    public void restore(Path dir) throws IOException {
        restore(Snapshot.open(dir));
    }

    /**
     * Replaces this VM's fresh state with {@code snapshot}'s, before {@link #start}: memory (unless
     * this VM maps it already), harts, CLINT, PLIC, UART, the virtio devices in the same slots, and
     * the clock, which carries on from the saved time when the VM is started.
     *
     * @throws SnapshotFormatException for a damaged or unfitting section, naming the state file
     * @throws IOException if the snapshot does not fit this VM (CPUs, memory, devices)
     */
    public synchronized void restore(Snapshot snapshot) throws IOException {
        if (started) throw new IllegalStateException("restore before start()");
        Path stateFile = snapshot.stateFile();
        if (snapshot.cpus() != harts.length || snapshot.memoryBytes() != ram.sizeBytes()) {
            throw new IOException(stateFile + " holds a VM with " + snapshot.cpus() + " CPUs and " + (snapshot.memoryBytes() >> 20)
                    + " MiB; this one has " + harts.length + " and " + (ram.sizeBytes() >> 20) + " MiB");
        }
        for (int slot = 0; slot < virtioSlots.length; slot++) {
            boolean here = virtioSlots[slot].device != EMPTY_SLOT, saved = snapshot.has(VIRTIO_TAG, slot);
            if (here != saved) {
                throw new IOException(stateFile + (saved ? " has a virtio device in slot " + slot + " but this VM has none there"
                        : " has no virtio device in slot " + slot + " but this VM has one there"));
            }
        }
        try {
            if (memoryFrom != snapshot) {
                // Drop what the fresh VM loaded (kernel, device tree): the snapshot's holes must read as zeros.
                ram.discard(ram.baseGpa(), ram.sizeBytes());
                snapshot.copyMemoryInto(ram);
                code.invalidateRange(ram.baseGpa(), ram.sizeBytes());
            }
            for (Hart h : harts) HartState.restore(h, snapshot.section("HART", h.hartId()).buffer());
            clint.restoreState(snapshot.section("CLNT", 0).payload());
            plic.restoreState(snapshot.section("PLIC", 0).buffer());
            uart.restoreState(snapshot.section("UART", 0).buffer());
            // Older snapshots have none: the guest then never saw the device and keeps the fresh ID.
            if (snapshot.has("VGID", 0)) vmGenerationId.restoreState(snapshot.section("VGID", 0).buffer());
            for (int slot = 0; slot < virtioSlots.length; slot++) {
                if (virtioSlots[slot].device instanceof VirtioMmioTransport t) {
                    t.restoreState(snapshot.section(VIRTIO_TAG, slot).buffer());
                }
            }
        } catch (IllegalArgumentException | BufferUnderflowException e) {
            throw new SnapshotFormatException(stateFile, 0, "a section does not fit this VM: " + e.getMessage());
        }
        time.resumeAt(snapshot.ticks());
        restoredTicks = snapshot.ticks();
        restored = true;
    }

    /** Waits for the guest to end, or stops it at the timeout. */
    public VmResult await(Duration timeout) throws InterruptedException {
        if (!allHalted.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            stop(VmResult.Outcome.TIMEOUT, "the guest ran past its " + timeout.toSeconds() + " s time limit");
            allHalted.await();
        }
        uart.flush();
        long insns = 0;
        for (Hart h : harts) insns += h.instret();
        VmResult.Outcome o = outcome == null ? VmResult.Outcome.STOPPED : outcome;
        return new VmResult(o, reason, exitCode, console.tail(), insns, System.nanoTime() - startNanos);
    }

    /** Whether the guest has ended (powered off, crashed, or stopped) and {@link #await} would return at once. */
    public boolean hasEnded() {
        return allHalted.getCount() == 0;
    }

    /** Waits up to {@code timeout} for the guest to end on its own, without stopping it; true if it ended. */
    public boolean awaitEnd(Duration timeout) throws InterruptedException {
        return allHalted.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Stops every hart; the first recorded outcome wins. */
    public void stop(VmResult.Outcome why, String detail) {
        synchronized (this) {
            if (outcome == null) {
                outcome = why;
                reason = detail;
            }
        }
        for (HartTask t : tasks) t.halt();
    }

    /**
     * Puts a virtio-mmio transport in slot {@code slot} (0..7) before {@link #start}. Every slot is in the
     * device tree; an empty one answers as virtio device ID 0, which the guest driver skips.
     */
    public synchronized void attachVirtio(int slot, BusDevice transport) {
        if (started) throw new IllegalStateException("attach virtio devices before start()");
        if (slot < 0 || slot >= virtioSlots.length) throw new IllegalArgumentException("no virtio slot " + slot);
        if (virtioSlots[slot].device != EMPTY_SLOT) throw new IllegalStateException("virtio slot " + slot + " is taken");
        virtioSlots[slot].device = transport;
    }

    /** Guest RAM a device wrote (DMA): harts must drop any code they decoded from it. */
    public GuestWriteListener deviceWriteListener() {
        return code::invalidateRange;
    }

    /** The interrupt line of a virtio slot (PLIC source slot + 1). */
    public IrqLine virtioIrq(int slot) {
        return plic.source(AddressMap.virtioMmioIrq(slot));
    }

    /** The bus's view of a virtio window: empty until a transport is attached. */
    private static final class SlotDevice implements BusDevice {
        volatile BusDevice device = EMPTY_SLOT;

        @Override public long read(long offsetBytes, int sizeBytes) { return device.read(offsetBytes, sizeBytes); }
        @Override public void write(long offsetBytes, int sizeBytes, long value) { device.write(offsetBytes, sizeBytes, value); }
        @Override public void reset() { device.reset(); }
    }

    /** virtio-mmio magic "virt", version 2, device ID 0: "no device here". */
    private static final BusDevice EMPTY_SLOT = new BusDevice() {
        @Override public long read(long offsetBytes, int sizeBytes) {
            return switch ((int) offsetBytes) {
                case 0x000 -> 0x74726976L;
                case 0x004 -> 2;
                case 0x00c -> 0x554d4551L; // vendor id, as QEMU's empty slots report
                default -> 0;
            };
        }
        @Override public void write(long offsetBytes, int sizeBytes, long value) { }
    };

    /**
     * Gives the VM a new random generation ID and tells the guest, whose kernel then reseeds its RNG:
     * call it on each VM restored from a snapshot that others may also have been restored from.
     */
    public void newGeneration() {
        vmGenerationId.newGeneration();
    }

    /** Bytes typed at the guest's console. */
    public void consoleInput(byte[] data) {
        uart.receive(data);
    }

    public GuestMemory memory() { return ram; }

    /**
     * Bytes of the Java arrays that grow with what the guest runs: its code cache (decoded code,
     * blocks and head counts that are its own, not its template's) and its harts' registers and TLBs.
     * The machine's other objects, a few tens of KiB per VM, are not counted.
     */
    public long javaBytes() {
        long bytes = code.retainedBytes();
        for (Hart h : harts) bytes += h.retainedBytes();
        return bytes;
    }

    /** Where the guest's console output goes, as configured. */
    public OutputStream consoleOutput() { return config.console(); }

    // ---------------------------------------------------------------- Platform (called by harts)

    @Override
    public Hart hart(int hartId) {
        return hartId >= 0 && hartId < harts.length ? harts[hartId] : null;
    }

    @Override
    public int hartCount() { return harts.length; }

    @Override
    public void consoleWrite(int b) { console.write(b); }

    @Override
    public void systemReset(int type, int reasonCode) {
        if (type == 0) powerOff(exitCode < 0 ? 0 : exitCode);
        else reset();
    }

    @Override
    public void wake(Hart hart) {
        // Before start() an interrupt (a restored clone's new generation ID) only marks the hart: start() runs it.
        if (started) tasks[hart.hartId()].wake();
    }

    // ---------------------------------------------------------------- PowerControl (finisher, SBI SRST)

    @Override
    public void powerOff(int code) {
        exitCode = code;
        stop(console.panicked() ? VmResult.Outcome.PANIC : VmResult.Outcome.POWEROFF,
                console.panicked() ? "the guest kernel panicked" : "the guest powered off");
    }

    @Override
    public void reset() {
        stop(console.panicked() ? VmResult.Outcome.PANIC : VmResult.Outcome.REBOOT,
                console.panicked() ? "the guest kernel panicked" : "the guest rebooted");
    }

    private void onPanic() {
        // Give the kernel a moment to print its backtrace, then stop even if it hangs instead of rebooting.
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(2000);
            } catch (InterruptedException ignored) {
                return;
            }
            stop(VmResult.Outcome.PANIC, "the guest kernel panicked");
        });
    }

    private void onHartHalted() {
        allHalted.countDown();
    }

    private void onHartCrashed(Throwable t) {
        LOG.log(Level.SEVERE, "emulator failure in a hart; stopping this VM only", t);
        stop(VmResult.Outcome.STOPPED, "emulator failure: " + t);
        allHalted.countDown();
    }

    /** Stops the VM if needed and frees its memory once no hart can touch it. */
    @Override
    public void close() throws InterruptedException {
        if (started) {
            stop(VmResult.Outcome.STOPPED, "closed by the host");
            allHalted.await();
        }
        for (SlotDevice slot : virtioSlots) {
            // Device threads may be mid-request in guest RAM: stop them before it is unmapped.
            if (slot.device instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "closing a virtio device", e);
                }
            }
        }
        ram.close();
    }
}
