package dev.airlock.vmm.virtio;

import static dev.airlock.vmm.virtio.Virtio.*;
import static dev.airlock.vmm.virtio.VirtioMmio.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.IrqLine;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import dev.airlock.vmm.virtio.queue.VirtQueueException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A virtio-mmio transport, version 2 (virtio 1.x spec 4.2): the registers in {@link VirtioMmio} in
 * front of one {@link VirtioDevice}, on one interrupt line.
 *
 * <p>Threads and locks. Register accesses come from hart threads and take this object's monitor
 * briefly. A queue notification takes no lock: it sets a bit and schedules the device's task on a
 * {@link DeviceEventLoop}, which later runs {@link VirtioDevice#processQueue} under {@code workLock}.
 * Reset and activation take {@code workLock} too, so they wait for a running batch and the device
 * never sees them concurrently with its work. Lock order: monitor, then {@code workLock}, then
 * {@code irqLock}; the event-loop thread never takes the monitor.
 *
 * <p>A driver that breaks the protocol (bad ring layout, malformed chain) sets
 * DEVICE_NEEDS_RESET: the device stops, the driver is told through a configuration-change
 * interrupt, and the first reason is logged; the rest of the VMM carries on.
 *
 * <p>{@link #close()} must run before the VM's guest memory is unmapped: it stops the device and
 * waits for any batch in flight, after which no thread of this transport touches guest RAM.
 */
public final class VirtioMmioTransport implements BusDevice, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(VirtioMmioTransport.class.getName());
    private static final VarHandle STATUS_FIELD;
    private static final VarHandle PENDING_FIELD;

    static {
        try {
            STATUS_FIELD = MethodHandles.lookup().findVarHandle(VirtioMmioTransport.class, "status", int.class);
            PENDING_FIELD = MethodHandles.lookup().findVarHandle(VirtioMmioTransport.class, "pendingQueues", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final IrqLine irq;
    private final GuestWriteListener writeListener;
    private final DeviceEventLoop.Task task;
    private final long offeredFeatures;
    private final int queueCount;
    private final VirtQueue[] queues;
    private final List<VirtQueue> queueList;
    private final Interrupt interrupt = new Interrupt();

    // Registers the driver writes, guarded by this object's monitor.
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private final int[] queueNum;
    private final long[] queueDescGpa;
    private final long[] queueDriverGpa;
    private final long[] queueDeviceGpa;
    private final boolean[] queueReady;

    /** Device status; updated by CAS because the event loop sets DEVICE_NEEDS_RESET concurrently. */
    private volatile int status;
    /** Written under {@code irqLock}; read lock-free by the driver's InterruptStatus reads. */
    private volatile int interruptStatus;
    private volatile int configGeneration;
    private final Object irqLock = new Object();

    private final ReentrantLock workLock = new ReentrantLock();
    /** Guarded by {@code workLock}. */
    private boolean activated;
    /** Queues notified and not yet processed, one bit each. */
    @SuppressWarnings("unused") // through PENDING_FIELD
    private volatile int pendingQueues;
    private volatile boolean closed;
    /** Set once a snapshot was taken: the VM is stopped for good and its devices must not change RAM. */
    private volatile boolean frozen;

    private final AtomicLong notifications = new AtomicLong();
    private final AtomicLong needsResetEvents = new AtomicLong();
    private volatile String firstNeedsResetReason;
    private volatile String lastNeedsResetReason;

    /**
     * @param device        the device behind this transport; the transport owns it from now on and closes it
     * @param memory        the VM's guest RAM, which the device's queues live in
     * @param irq           this slot's interrupt line
     * @param loop          where the device's queue work runs
     * @param writeListener told of every guest-RAM range the device writes (for the harts' decoded-code cache)
     */
    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, IrqLine irq, DeviceEventLoop loop,
                               GuestWriteListener writeListener) {
        this.device = Objects.requireNonNull(device, "device");
        this.memory = Objects.requireNonNull(memory, "memory");
        this.irq = Objects.requireNonNull(irq, "irq");
        this.writeListener = Objects.requireNonNull(writeListener, "writeListener");
        this.queueCount = device.queueCount();
        if (queueCount < 0 || queueCount > 32) {
            throw new IllegalArgumentException("a virtio-mmio device here has 0..32 queues, not " + queueCount);
        }
        this.offeredFeatures = (device.deviceFeatures() & ~RESERVED_FEATURE_MASK) | TRANSPORT_FEATURES;
        queues = new VirtQueue[queueCount];
        for (int i = 0; i < queueCount; i++) {
            queues[i] = new VirtQueue(i, device.queueMaxSize(i));
        }
        queueList = List.of(queues);
        queueNum = new int[queueCount];
        queueDescGpa = new long[queueCount];
        queueDriverGpa = new long[queueCount];
        queueDeviceGpa = new long[queueCount];
        queueReady = new boolean[queueCount];
        task = loop.newTask(this::runQueues);
    }

    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, IrqLine irq, DeviceEventLoop loop) {
        this(device, memory, irq, loop, GuestWriteListener.NONE);
    }

    public VirtioDevice device() { return device; }

    /** The feature bits offered to the driver. */
    public long offeredFeatures() { return offeredFeatures; }

    /** The device status register. */
    public int status() { return status; }

    /** QueueNotify writes seen. */
    public long notifications() { return notifications.get(); }

    /** How often the device went to DEVICE_NEEDS_RESET, and why (first and last reasons). */
    public long needsResetEvents() { return needsResetEvents.get(); }

    public String firstNeedsResetReason() { return firstNeedsResetReason; }

    public String lastNeedsResetReason() { return lastNeedsResetReason; }

    // ---------------------------------------------------------------- BusDevice (hart threads)

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        if (offsetBytes < 0 || offsetBytes >= WINDOW_SIZE_BYTES) return 0;
        int offset = (int) offsetBytes;
        if (offset >= CONFIG) {
            int configOffset = offset - CONFIG;
            if (sizeBytes > device.configSizeBytes() - configOffset) return 0;
            return device.readConfig(configOffset, sizeBytes) & mask(sizeBytes);
        }
        if (sizeBytes == 8) {
            // Two registers; no register read has side effects, so this is just two reads.
            return (read(offsetBytes, 4) & 0xffff_ffffL) | (read(offsetBytes + 4, 4) << 32);
        }
        int shift = (offset & 3) * 8;
        if ((offset & 3) + sizeBytes > 4) return 0;
        return (Integer.toUnsignedLong(readRegister(offset & ~3)) >>> shift) & mask(sizeBytes);
    }

    private synchronized int readRegister(int offset) {
        return switch (offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> VERSION_2;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> AIRLOCK_VENDOR_ID;
            case DEVICE_FEATURES -> deviceFeaturesSel == 0 ? (int) offeredFeatures
                    : deviceFeaturesSel == 1 ? (int) (offeredFeatures >>> 32) : 0;
            case QUEUE_NUM_MAX -> Integer.compareUnsigned(queueSel, queueCount) < 0 ? queues[queueSel].maxSize() : 0;
            case QUEUE_READY -> Integer.compareUnsigned(queueSel, queueCount) < 0 && queueReady[queueSel] ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus;
            case STATUS -> status;
            // No shared memory regions: their length reads as -1 (spec 4.2.2).
            case SHM_LEN_LOW, SHM_LEN_HIGH -> -1;
            case CONFIG_GENERATION -> configGeneration;
            default -> 0;
        };
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        if (offsetBytes < 0 || offsetBytes >= WINDOW_SIZE_BYTES) return;
        int offset = (int) offsetBytes;
        if (offset >= CONFIG) {
            int configOffset = offset - CONFIG;
            if (sizeBytes > device.configSizeBytes() - configOffset) return;
            device.writeConfig(configOffset, sizeBytes, value & mask(sizeBytes));
            return;
        }
        if (sizeBytes == 8) {
            write(offsetBytes, 4, value);
            write(offsetBytes + 4, 4, value >>> 32);
            return;
        }
        // The registers are 32-bit and the spec requires 32-bit accesses; narrower writes are ignored.
        if (sizeBytes != 4 || (offset & 3) != 0) return;
        int v = (int) value;
        if (offset == QUEUE_NOTIFY) {
            notify(v);
            return;
        }
        writeRegister(offset, v);
    }

    /** The MMIO fast path: no lock, no allocation. */
    private void notify(int queueIndex) {
        notifications.incrementAndGet();
        if (queueIndex < 0 || queueIndex >= queueCount) return;
        int unused = (int) PENDING_FIELD.getAndBitwiseOr(this, 1 << queueIndex);
        task.schedule();
    }

    private synchronized void writeRegister(int offset, int v) {
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = v;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = v;
            case DRIVER_FEATURES -> {
                // Features are fixed once FEATURES_OK is set (spec 3.1.1).
                if ((status & STATUS_FEATURES_OK) != 0) return;
                if (driverFeaturesSel == 0) {
                    driverFeatures = (driverFeatures & 0xffff_ffff_0000_0000L) | Integer.toUnsignedLong(v);
                } else if (driverFeaturesSel == 1) {
                    driverFeatures = (driverFeatures & 0xffff_ffffL) | ((long) v << 32);
                }
            }
            case QUEUE_SEL -> queueSel = v;
            case QUEUE_NUM -> { if (queueWritable()) queueNum[queueSel] = v; }
            case QUEUE_DESC_LOW -> { if (queueWritable()) queueDescGpa[queueSel] = low(queueDescGpa[queueSel], v); }
            case QUEUE_DESC_HIGH -> { if (queueWritable()) queueDescGpa[queueSel] = high(queueDescGpa[queueSel], v); }
            case QUEUE_DRIVER_LOW -> { if (queueWritable()) queueDriverGpa[queueSel] = low(queueDriverGpa[queueSel], v); }
            case QUEUE_DRIVER_HIGH -> { if (queueWritable()) queueDriverGpa[queueSel] = high(queueDriverGpa[queueSel], v); }
            case QUEUE_DEVICE_LOW -> { if (queueWritable()) queueDeviceGpa[queueSel] = low(queueDeviceGpa[queueSel], v); }
            case QUEUE_DEVICE_HIGH -> { if (queueWritable()) queueDeviceGpa[queueSel] = high(queueDeviceGpa[queueSel], v); }
            case QUEUE_READY -> setQueueReady(v == 1);
            case INTERRUPT_ACK -> acknowledge(v);
            case STATUS -> writeStatus(v);
            default -> { }
        }
    }

    /** A queue's layout registers are writable only while it is disabled and not past its selection. */
    private boolean queueWritable() {
        return Integer.compareUnsigned(queueSel, queueCount) < 0 && !queueReady[queueSel] && !closed;
    }

    private static long low(long old, int v) {
        return (old & 0xffff_ffff_0000_0000L) | Integer.toUnsignedLong(v);
    }

    private static long high(long old, int v) {
        return (old & 0xffff_ffffL) | ((long) v << 32);
    }

    private void setQueueReady(boolean ready) {
        if (Integer.compareUnsigned(queueSel, queueCount) >= 0 || closed) return;
        int q = queueSel;
        if (ready == queueReady[q]) return;
        workLock.lock();
        try {
            if (!ready) {
                queues[q].disable();
                queueReady[q] = false;
                return;
            }
            boolean eventIdx = (driverFeatures & F_RING_EVENT_IDX) != 0;
            boolean indirect = (driverFeatures & F_RING_INDIRECT_DESC) != 0;
            String bad = queues[q].enable(memory, queueNum[q], queueDescGpa[q], queueDriverGpa[q], queueDeviceGpa[q],
                    eventIdx, indirect, writeListener);
            if (bad != null) {
                interrupt.needsReset(bad);
                return;
            }
            queueReady[q] = true;
        } finally {
            workLock.unlock();
        }
    }

    private void acknowledge(int bits) {
        synchronized (irqLock) {
            int old = interruptStatus;
            int now = old & ~bits;
            interruptStatus = now;
            if (old != 0 && now == 0) irq.set(false);
        }
    }

    private void writeStatus(int v) {
        if (v == 0) {
            resetDevice();
            return;
        }
        int old = status;
        int next = v & ~STATUS_DEVICE_NEEDS_RESET;
        if ((next & STATUS_FEATURES_OK) != 0 && (old & STATUS_FEATURES_OK) == 0 && !featuresAcceptable()) {
            // Not setting FEATURES_OK is how a device refuses the driver's features (spec 3.1.1).
            next &= ~STATUS_FEATURES_OK;
        }
        setStatusPreservingNeedsReset(next);
        if ((next & STATUS_DRIVER_OK) != 0 && (old & STATUS_DRIVER_OK) == 0) {
            if ((next & STATUS_FEATURES_OK) == 0) {
                interrupt.needsReset("the driver set DRIVER_OK without FEATURES_OK");
                return;
            }
            activate();
        }
    }

    private boolean featuresAcceptable() {
        return (driverFeatures & ~offeredFeatures) == 0 && (driverFeatures & F_VERSION_1) != 0;
    }

    private void setStatusPreservingNeedsReset(int next) {
        int old;
        do {
            old = status;
        } while (!STATUS_FIELD.compareAndSet(this, old, next | (old & STATUS_DEVICE_NEEDS_RESET)));
    }

    private void activate() {
        workLock.lock();
        try {
            if (activated || closed) return;
            try {
                device.activate(memory, queueList, driverFeatures, interrupt);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "virtio device " + device.deviceType() + " failed to activate", e);
                interrupt.needsReset("the device failed to activate: " + e);
                return;
            }
            activated = true;
            int mask = 0;
            for (int q = 0; q < queueCount; q++) {
                if (queueReady[q]) mask |= 1 << q;
            }
            // Buffers added before DRIVER_OK were not to be used until now (spec 3.1.1).
            int unused = (int) PENDING_FIELD.getAndBitwiseOr(this, mask);
        } finally {
            workLock.unlock();
        }
        task.schedule();
    }

    /** Writing 0 to Status: everything back to power-on, after any batch in flight. */
    private void resetDevice() {
        workLock.lock();
        try {
            if (activated) {
                activated = false;
                try {
                    device.reset();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "virtio device " + device.deviceType() + " failed to reset", e);
                }
            }
            for (VirtQueue q : queues) q.disable();
            PENDING_FIELD.setVolatile(this, 0);
        } finally {
            workLock.unlock();
        }
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
        Arrays.fill(queueNum, 0);
        Arrays.fill(queueDescGpa, 0);
        Arrays.fill(queueDriverGpa, 0);
        Arrays.fill(queueDeviceGpa, 0);
        Arrays.fill(queueReady, false);
        configGeneration = 0;
        status = 0;
        synchronized (irqLock) {
            boolean wasRaised = interruptStatus != 0;
            interruptStatus = 0;
            if (wasRaised) irq.set(false);
        }
    }

    /** Machine reset: the device returns to power-on, as if the driver wrote 0 to Status. */
    @Override
    public synchronized void reset() {
        resetDevice();
    }

    /** Stops the device for good and closes it; idempotent. Call before guest RAM is unmapped. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            resetDevice();
            closed = true;
        }
        device.close();
    }

    // ---------------------------------------------------------------- snapshots

    /** Version of {@link #saveState}'s layout; a restore refuses others. */
    static final int STATE_VERSION = 1;

    /**
     * The transport's registers, each queue's layout and ring positions, and the device's own state,
     * for a snapshot of a stopped VM. It waits for a batch in flight, then freezes the device: no
     * queue work runs afterwards, so the saved RAM and these positions stay consistent.
     *
     * <pre>
     * u32 version | u32 device type | u32 status | u32 device features sel | u32 driver features sel
     * u64 driver features | u32 queue sel | u32 interrupt status | u32 config generation | u8 activated
     * u32 queue count | per queue: u32 num | u64 desc | u64 driver | u64 device | u8 ready
     *                              | u16 next avail | u16 next used | u16 signalled used
     * u32 device state bytes | device state
     * </pre>
     *
     * @throws IllegalStateException if the device cannot be saved (its message says which)
     */
    public byte[] saveState() {
        synchronized (this) {
            workLock.lock();
            try {
                byte[] deviceState = activated ? device.saveState() : new byte[0];
                frozen = true;
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * 9 + 8 + 1 + queueCount * (4 + 24 + 1 + 6) + 4 + deviceState.length)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putInt(STATE_VERSION).putInt(device.deviceType()).putInt(status).putInt(deviceFeaturesSel)
                        .putInt(driverFeaturesSel).putLong(driverFeatures).putInt(queueSel).putInt(interruptStatus)
                        .putInt(configGeneration).put((byte) (activated ? 1 : 0)).putInt(queueCount);
                for (int q = 0; q < queueCount; q++) {
                    b.putInt(queueNum[q]).putLong(queueDescGpa[q]).putLong(queueDriverGpa[q]).putLong(queueDeviceGpa[q])
                            .put((byte) (queueReady[q] ? 1 : 0));
                    int[] pos = queueReady[q] ? queues[q].positions() : new int[3];
                    for (int p : pos) b.putShort((short) p);
                }
                b.putInt(deviceState.length).put(deviceState);
                return b.array();
            } finally {
                workLock.unlock();
            }
        }
    }

    /**
     * Puts back what {@link #saveState} saved, on a fresh transport of the same device type in a
     * VM whose RAM already holds the snapshot's memory; then queues resume where they stopped and
     * the device gets its own state back. Call before the VM starts.
     *
     * @throws IllegalArgumentException if the state does not fit this transport (type, queues, a ring
     *     outside RAM, a version this build does not read)
     */
    public void restoreState(java.nio.ByteBuffer b) {
        synchronized (this) {
            if (activated || status != 0) throw new IllegalStateException("restore a transport before the guest uses it");
            int version = b.getInt();
            if (version != STATE_VERSION) throw new IllegalArgumentException("virtio transport state version " + version
                    + "; this build reads " + STATE_VERSION);
            int type = b.getInt();
            if (type != device.deviceType()) throw new IllegalArgumentException("the saved virtio device is type " + type
                    + " but this slot holds type " + device.deviceType());
            int savedStatus = b.getInt();
            deviceFeaturesSel = b.getInt();
            driverFeaturesSel = b.getInt();
            driverFeatures = b.getLong();
            queueSel = b.getInt();
            int savedInterrupts = b.getInt();
            configGeneration = b.getInt();
            boolean savedActivated = b.get() != 0;
            int savedQueues = b.getInt();
            if (savedQueues != queueCount) throw new IllegalArgumentException("the saved virtio device has " + savedQueues
                    + " queues; this one has " + queueCount);
            if ((driverFeatures & ~offeredFeatures) != 0) {
                throw new IllegalArgumentException("the saved driver features 0x" + Long.toHexString(driverFeatures)
                        + " are more than this device offers (0x" + Long.toHexString(offeredFeatures) + ")");
            }
            boolean eventIdx = (driverFeatures & F_RING_EVENT_IDX) != 0;
            boolean indirect = (driverFeatures & F_RING_INDIRECT_DESC) != 0;
            int readyMask = 0;
            for (int q = 0; q < queueCount; q++) {
                queueNum[q] = b.getInt();
                queueDescGpa[q] = b.getLong();
                queueDriverGpa[q] = b.getLong();
                queueDeviceGpa[q] = b.getLong();
                boolean ready = b.get() != 0;
                int nextAvail = b.getShort(), nextUsed = b.getShort(), signalled = b.getShort();
                if (!ready) continue;
                String bad = queues[q].enable(memory, queueNum[q], queueDescGpa[q], queueDriverGpa[q], queueDeviceGpa[q],
                        eventIdx, indirect, writeListener);
                if (bad != null) throw new IllegalArgumentException("saved " + bad);
                queues[q].restorePositions(nextAvail, nextUsed, signalled);
                queueReady[q] = true;
                readyMask |= 1 << q;
            }
            int deviceBytes = b.getInt();
            if (deviceBytes < 0 || deviceBytes > b.remaining()) {
                throw new IllegalArgumentException("the saved device state claims " + deviceBytes + " bytes; " + b.remaining() + " remain");
            }
            java.nio.ByteBuffer deviceState = b.slice(b.position(), deviceBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.position(b.position() + deviceBytes);
            status = savedStatus;
            workLock.lock();
            try {
                if (savedActivated) {
                    device.activate(memory, queueList, driverFeatures, interrupt);
                    activated = true;
                    device.restoreState(deviceState);
                    // Whatever the driver queued meanwhile is looked at once the VM runs: see resume().
                    int unused = (int) PENDING_FIELD.getAndBitwiseOr(this, readyMask);
                }
            } finally {
                workLock.unlock();
            }
            synchronized (irqLock) {
                interruptStatus = savedInterrupts;
                irq.set(savedInterrupts != 0);
            }
        }
    }

    /**
     * Serves what the driver of a restored device had queued when it was saved: called as its VM
     * starts, not by {@link #restoreState}, so a clone's restore does not wake the event loop (and
     * compete with the clone for a core) before the guest runs. Harmless on a device never restored.
     */
    public void resume() {
        boolean go;
        synchronized (this) {
            go = activated;
        }
        if (go) task.schedule();
    }

    // ---------------------------------------------------------------- event loop

    private void runQueues() {
        boolean again = false;
        workLock.lock();
        try {
            int pending = (int) PENDING_FIELD.getAndSet(this, 0);
            if (!activated || closed || frozen || (status & STATUS_DEVICE_NEEDS_RESET) != 0) return;
            while (pending != 0) {
                int q = Integer.numberOfTrailingZeros(pending);
                pending &= pending - 1;
                if (!queues[q].isReady()) continue;
                try {
                    if (device.processQueue(q)) {
                        int unused = (int) PENDING_FIELD.getAndBitwiseOr(this, 1 << q);
                        again = true;
                    }
                } catch (VirtQueueException e) {
                    interrupt.needsReset(e.getMessage());
                    return;
                } catch (RuntimeException e) {
                    // A device bug must not take down the loop or the VMM; this device stops instead.
                    LOG.log(Level.SEVERE, "virtio device " + device.deviceType() + " failed on queue " + q, e);
                    interrupt.needsReset("device failure on queue " + q + ": " + e);
                    return;
                }
            }
        } finally {
            workLock.unlock();
        }
        // A fairness budget ran out: go to the back of the loop's line instead of hogging it.
        if (again) task.schedule();
    }

    private static long mask(int sizeBytes) {
        return sizeBytes >= 8 ? -1L : (1L << (8 * sizeBytes)) - 1;
    }

    @Override
    public String toString() {
        return "VirtioMmioTransport[device " + device.deviceType() + ", status 0x" + Integer.toHexString(status) + "]";
    }

    /** The device's way back: used-buffer and config interrupts, and DEVICE_NEEDS_RESET. */
    private final class Interrupt implements VirtioInterrupt {
        @Override
        public void signalUsedBuffers(int queueIndex) {
            raise(INTERRUPT_USED_BUFFER);
        }

        @Override
        public void signalConfigChange() {
            configGeneration++;
            raise(INTERRUPT_CONFIG_CHANGE);
        }

        @Override
        public void needsReset(String reason) {
            long n = needsResetEvents.incrementAndGet();
            if (firstNeedsResetReason == null) firstNeedsResetReason = reason;
            lastNeedsResetReason = reason;
            int old;
            do {
                old = status;
                if ((old & STATUS_DEVICE_NEEDS_RESET) != 0) break;
            } while (!STATUS_FIELD.compareAndSet(VirtioMmioTransport.this, old, old | STATUS_DEVICE_NEEDS_RESET));
            if (n == 1) {
                LOG.warning("virtio device " + device.deviceType() + " needs reset: " + reason);
            } else {
                LOG.fine("virtio device " + device.deviceType() + " needs reset: " + reason);
            }
            raise(INTERRUPT_CONFIG_CHANGE);
        }

        @Override
        public void requestProcessing(int queueIndex) {
            if (queueIndex < 0 || queueIndex >= queueCount) return;
            int unused = (int) PENDING_FIELD.getAndBitwiseOr(VirtioMmioTransport.this, 1 << queueIndex);
            task.schedule();
        }

        private void raise(int bit) {
            synchronized (irqLock) {
                int old = interruptStatus;
                interruptStatus = old | bit;
                if (old == 0) irq.set(true);
            }
        }
    }
}
