package dev.airlock.vmm.virtio.testing;

import static dev.airlock.vmm.virtio.VirtioMmio.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.queue.SplitRing;

/**
 * Drives a {@link VirtioMmioTransport} through its registers the way Linux's virtio_mmio does:
 * negotiation, queue setup, DRIVER_OK, notifications. Buffers come from a bump allocator in RAM.
 */
public final class FakeDriver {
    public final VirtioMmioTransport transport;
    public final GuestMemory memory;
    private long nextFreeGpa;

    public FakeDriver(VirtioMmioTransport transport, GuestMemory memory) {
        this.transport = transport;
        this.memory = memory;
        this.nextFreeGpa = memory.baseGpa();
    }

    public int read(int offset) {
        return (int) transport.read(offset, 4);
    }

    public void write(int offset, long value) {
        transport.write(offset, 4, value & 0xffff_ffffL);
    }

    public int status() { return read(STATUS); }

    public long deviceFeatures() {
        write(DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(read(DEVICE_FEATURES));
        write(DEVICE_FEATURES_SEL, 1);
        return low | (long) read(DEVICE_FEATURES) << 32;
    }

    /** ACKNOWLEDGE, DRIVER, the features, FEATURES_OK; returns the status read back. */
    public int negotiate(long features) {
        write(STATUS, 0);
        write(STATUS, Virtio.STATUS_ACKNOWLEDGE);
        write(STATUS, Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
        write(DRIVER_FEATURES_SEL, 0);
        write(DRIVER_FEATURES, features);
        write(DRIVER_FEATURES_SEL, 1);
        write(DRIVER_FEATURES, features >>> 32);
        write(STATUS, Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
        return status();
    }

    /** Negotiates everything offered. */
    public int negotiateAll() {
        return negotiate(deviceFeatures());
    }

    public long alloc(long sizeBytes, int align) {
        long gpa = (nextFreeGpa + align - 1) & -align;
        nextFreeGpa = gpa + sizeBytes;
        if (nextFreeGpa > memory.endGpa()) throw new IllegalStateException("test RAM exhausted");
        return gpa;
    }

    /** Sets up queue {@code index} with rings in fresh RAM and enables it. */
    public RingWriter setupQueue(int index, int size) {
        long desc = alloc(SplitRing.descTableSizeBytes(size), 16);
        long avail = alloc(SplitRing.availSizeBytes(size), 2);
        long used = alloc(SplitRing.usedSizeBytes(size), 4);
        RingWriter ring = new RingWriter(memory, size, desc, avail, used);
        write(QUEUE_SEL, index);
        write(QUEUE_NUM, size);
        write(QUEUE_DESC_LOW, desc);
        write(QUEUE_DESC_HIGH, desc >>> 32);
        write(QUEUE_DRIVER_LOW, avail);
        write(QUEUE_DRIVER_HIGH, avail >>> 32);
        write(QUEUE_DEVICE_LOW, used);
        write(QUEUE_DEVICE_HIGH, used >>> 32);
        write(QUEUE_READY, 1);
        return ring;
    }

    public void driverOk() {
        write(STATUS, status() | Virtio.STATUS_DRIVER_OK);
    }

    public void notifyQueue(int index) {
        write(QUEUE_NOTIFY, index);
    }

    public void ack() {
        write(INTERRUPT_ACK, read(INTERRUPT_STATUS));
    }

    /** Programs queue {@code index} with any layout, valid or not, and asks to enable it. */
    public void setupQueueRaw(int index, int size, long descGpa, long availGpa, long usedGpa) {
        write(QUEUE_SEL, index);
        write(QUEUE_NUM, size);
        write(QUEUE_DESC_LOW, descGpa);
        write(QUEUE_DESC_HIGH, descGpa >>> 32);
        write(QUEUE_DRIVER_LOW, availGpa);
        write(QUEUE_DRIVER_HIGH, availGpa >>> 32);
        write(QUEUE_DEVICE_LOW, usedGpa);
        write(QUEUE_DEVICE_HIGH, usedGpa >>> 32);
        write(QUEUE_READY, 1);
    }
}
