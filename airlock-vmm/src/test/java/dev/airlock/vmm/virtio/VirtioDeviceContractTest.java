package dev.airlock.vmm.virtio;

import static dev.airlock.vmm.virtio.VirtioMmio.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link VirtioDevice} behind a {@link VirtioMmioTransport} promises: the
 * {@link BusDeviceContractTest} rules for its register window, plus virtio's own (spec 3.1, 4.2):
 * identification, feature negotiation with VERSION_1 required, reset on writing 0 to Status, queue
 * setup and its validation, configuration-space bounds, and DEVICE_NEEDS_RESET for a driver that
 * breaks the protocol. Each device has a subclass saying how to build it.
 */
public abstract class VirtioDeviceContractTest extends BusDeviceContractTest {
    private final List<VirtioMmioTransport> opened = new ArrayList<>();
    protected final GuestMemory ram = TestRam.create(4 << 20);
    protected final RecordingIrq irq = new RecordingIrq();

    /** A fresh device. */
    protected abstract VirtioDevice newVirtioDevice();

    /** The device ID it must report. */
    protected abstract int expectedDeviceId();

    /** Whether the driver may write config byte {@code offsetBytes} (e.g. the balloon's {@code actual}); most are read-only. */
    protected boolean driverWritableConfigByte(int offsetBytes) {
        return false;
    }

    /**
     * A queue the device reads as soon as the driver notifies it. A receive queue (vsock's queue 0)
     * is only read when the device has something to deliver, so a bad chain there waits until then.
     */
    protected int eagerlyReadQueue() {
        return 0;
    }

    protected VirtioMmioTransport newTransport() {
        VirtioMmioTransport t = new VirtioMmioTransport(newVirtioDevice(), ram, irq, DeviceEventLoop.inline());
        opened.add(t);
        return t;
    }

    @AfterEach
    void closeAll() {
        for (VirtioMmioTransport t : opened) t.close();
        ram.close();
    }

    // ---------------------------------------------------------------- BusDeviceContractTest

    @Override
    protected BusDevice newDevice() {
        return newTransport();
    }

    @Override
    protected long windowSizeBytes() {
        return WINDOW_SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        // Holes in the register map whose 8-byte neighbourhood is holes or write-only registers too.
        return new long[] {0x018, 0x028, 0x03c, 0x048, 0x058, 0x05c, 0x068, 0x074, 0x078,
                0x088, 0x098, 0x0c0, 0x0c8, 0x0d0, 0x0e0, 0x0f0};
    }

    @Override
    protected List<Reg> stateRegisters() {
        List<Reg> regs = new ArrayList<>();
        for (int offset : new int[] {MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES, QUEUE_NUM_MAX,
                QUEUE_READY, INTERRUPT_STATUS, STATUS, CONFIG_GENERATION}) {
            regs.add(new Reg(offset, 4));
        }
        return regs;
    }

    // ---------------------------------------------------------------- identification

    @Test
    void identifiesAsVirtioMmioVersion2() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        assertEquals(MAGIC, d.read(MAGIC_VALUE));
        assertEquals(2, d.read(VERSION));
        assertEquals(expectedDeviceId(), d.read(DEVICE_ID));
        assertNotEquals(0, d.read(VENDOR_ID));
        assertEquals(0, d.status());
    }

    // ---------------------------------------------------------------- features

    @Test
    void offersVersion1AndTheRingFeatures() {
        long offered = new FakeDriver(newTransport(), ram).deviceFeatures();
        assertEquals(Virtio.TRANSPORT_FEATURES, offered & Virtio.TRANSPORT_FEATURES, Long.toHexString(offered));
        assertEquals(0, offered & Virtio.F_RING_PACKED, "packed rings are not implemented");
    }

    @Test
    void featuresOkSticksForAnOfferedSubsetWithVersion1() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        assertNotEquals(0, d.negotiate(Virtio.F_VERSION_1) & Virtio.STATUS_FEATURES_OK);
        assertNotEquals(0, d.negotiateAll() & Virtio.STATUS_FEATURES_OK);
    }

    @Test
    void featuresOkIsRefusedWithoutVersion1() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        long legacy = d.deviceFeatures() & ~Virtio.F_VERSION_1;
        assertEquals(0, d.negotiate(legacy) & Virtio.STATUS_FEATURES_OK);
    }

    @Test
    void featuresOkIsRefusedForUnofferedBits() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        long unoffered = ~d.deviceFeatures();
        long bit = Long.lowestOneBit(unoffered);
        assertEquals(0, d.negotiate(Virtio.F_VERSION_1 | bit) & Virtio.STATUS_FEATURES_OK, Long.toHexString(bit));
    }

    @Test
    void driverFeaturesAreFrozenOnceFeaturesOk() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        d.negotiate(Virtio.F_VERSION_1);
        // A later write of an unoffered bit must not make the accepted set invalid, nor change it.
        d.write(DRIVER_FEATURES_SEL, 1);
        d.write(DRIVER_FEATURES, 0xffff_ffffL);
        d.write(STATUS, d.status() | Virtio.STATUS_DRIVER_OK);
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertNotEquals(0, d.status() & Virtio.STATUS_DRIVER_OK);
    }

    @Test
    void driverOkWithoutFeaturesOkNeedsReset() {
        FakeDriver d = new FakeDriver(newTransport(), ram);
        d.write(STATUS, Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_DRIVER_OK);
        assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertNotEquals(0, d.read(INTERRUPT_STATUS) & Virtio.INTERRUPT_CONFIG_CHANGE);
        assertTrue(irq.level());
    }

    // ---------------------------------------------------------------- queues

    @Test
    void everyQueueHasAPowerOfTwoMaximumAndNoMoreQueuesExist() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        int n = t.device().queueCount();
        assertTrue(n >= 1);
        for (int q = 0; q < n; q++) {
            d.write(QUEUE_SEL, q);
            int max = d.read(QUEUE_NUM_MAX);
            assertTrue(max > 0 && Integer.bitCount(max) == 1 && max <= Virtio.MAX_QUEUE_SIZE, "queue " + q + " max " + max);
            assertEquals(0, d.read(QUEUE_READY));
        }
        d.write(QUEUE_SEL, n);
        assertEquals(0, d.read(QUEUE_NUM_MAX), "a queue past the last must not exist");
        d.write(QUEUE_READY, 1);
        assertEquals(0, d.read(QUEUE_READY));
    }

    @Test
    void queueSetupActivationAndAnEmptyNotifyWork() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        for (int q = 0; q < t.device().queueCount(); q++) {
            d.write(QUEUE_SEL, q);
            d.setupQueue(q, Math.min(16, d.read(QUEUE_NUM_MAX)));
            assertEquals(1, d.read(QUEUE_READY));
        }
        d.driverOk();
        for (int q = 0; q < t.device().queueCount(); q++) d.notifyQueue(q);
        d.notifyQueue(0xffff); // no such queue: ignored
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, t.lastNeedsResetReason());
        assertEquals(0, d.read(INTERRUPT_STATUS), "nothing was used, so nothing to signal");
    }

    @Test
    void aQueueSizeThatIsNotAPowerOfTwoNeedsReset() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        d.setupQueueRaw(0, 3, d.alloc(4096, 16), d.alloc(4096, 16), d.alloc(4096, 16));
        assertEquals(0, d.read(QUEUE_READY));
        assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertTrue(t.firstNeedsResetReason().contains("power of two"), t.firstNeedsResetReason());
    }

    @Test
    void aQueueLargerThanItsMaximumNeedsReset() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        d.write(QUEUE_SEL, 0);
        int max = d.read(QUEUE_NUM_MAX);
        d.setupQueueRaw(0, max * 2, d.alloc(1 << 20, 16), d.alloc(1 << 17, 16), d.alloc(1 << 20, 16));
        assertEquals(0, d.read(QUEUE_READY));
        assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void ringsOutsideRamOrMisalignedNeedReset() {
        long[][] layouts = {
                {0x1000, ram.baseGpa() + 0x1000, ram.baseGpa() + 0x2000},            // desc below RAM
                {ram.baseGpa(), ram.endGpa() - 2, ram.baseGpa() + 0x2000},           // avail runs off the end
                {ram.baseGpa(), ram.baseGpa() + 0x1000, -4L},                        // used wraps the address space
                {ram.baseGpa() + 8, ram.baseGpa() + 0x1000, ram.baseGpa() + 0x2000}, // desc not 16-aligned
                {ram.baseGpa(), ram.baseGpa() + 0x1001, ram.baseGpa() + 0x2000},     // avail not 2-aligned
                {ram.baseGpa(), ram.baseGpa() + 0x1000, ram.baseGpa() + 0x2002},     // used not 4-aligned
        };
        for (long[] l : layouts) {
            VirtioMmioTransport t = newTransport();
            FakeDriver d = new FakeDriver(t, ram);
            d.negotiateAll();
            d.setupQueueRaw(0, 8, l[0], l[1], l[2]);
            assertEquals(0, d.read(QUEUE_READY), t.toString());
            assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, java.util.Arrays.toString(l));
        }
    }

    // ---------------------------------------------------------------- reset

    @Test
    void writingZeroToStatusResetsEverything() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        d.setupQueue(0, 8);
        d.driverOk();
        d.write(STATUS, Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER); // garbage status: still not a reset
        d.write(STATUS, 0);
        assertEquals(0, d.status());
        d.write(QUEUE_SEL, 0);
        assertEquals(0, d.read(QUEUE_READY));
        assertEquals(0, d.read(INTERRUPT_STATUS));
        assertFalse(irq.level());
        // And the device can be brought up again from scratch.
        assertNotEquals(0, d.negotiateAll() & Virtio.STATUS_FEATURES_OK);
        d.setupQueue(0, 8);
        d.driverOk();
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, t.lastNeedsResetReason());
    }

    @Test
    void resetClearsDeviceNeedsResetAndLowersTheLine() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        d.setupQueueRaw(0, 3, ram.baseGpa(), ram.baseGpa() + 0x1000, ram.baseGpa() + 0x2000);
        assertTrue(irq.level());
        d.write(STATUS, 0);
        assertEquals(0, d.status());
        assertFalse(irq.level());
    }

    @Test
    void interruptAckLowersTheLineOnlyWhenNothingIsLeft() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.write(STATUS, Virtio.STATUS_DRIVER_OK); // protocol error: raises a config-change interrupt
        assertTrue(irq.level());
        d.write(INTERRUPT_ACK, Virtio.INTERRUPT_USED_BUFFER); // not the pending bit
        assertTrue(irq.level());
        d.write(INTERRUPT_ACK, Virtio.INTERRUPT_CONFIG_CHANGE);
        assertFalse(irq.level());
        assertEquals(0, d.read(INTERRUPT_STATUS));
    }

    // ---------------------------------------------------------------- config space

    @Test
    void configSpaceReadsAreConsistentAcrossSizesAndZeroPastTheEnd() {
        VirtioMmioTransport t = newTransport();
        int size = t.device().configSizeBytes();
        for (int off = 0; off + 4 <= size; off += 4) {
            long word = t.read(CONFIG + off, 4);
            long fromBytes = 0;
            for (int i = 3; i >= 0; i--) fromBytes = (fromBytes << 8) | t.read(CONFIG + off + i, 1);
            assertEquals(word, fromBytes, "config offset " + off);
            assertEquals(word & 0xffff, t.read(CONFIG + off, 2));
        }
        for (int off = size; off < size + 16; off++) {
            for (int s : new int[] {1, 2, 4, 8}) {
                assertEquals(0, t.read(CONFIG + off, s), "config read of " + s + " at " + off);
                t.write(CONFIG + off, s, -1L);
            }
        }
        // An access that starts inside and runs past the end is refused as a whole.
        if (size > 0) assertEquals(0, t.read(CONFIG + size - 1, 2));
        assertEquals(0, t.read(0x1000 - 1, 2));
    }

    @Test
    void configSpaceIgnoresWritesToReadOnlyFields() {
        VirtioMmioTransport t = newTransport();
        int size = t.device().configSizeBytes();
        long[] before = new long[size];
        for (int i = 0; i < size; i++) before[i] = t.read(CONFIG + i, 1);
        for (int i = 0; i + 4 <= size; i += 4) t.write(CONFIG + i, 4, 0xdead_beefL);
        for (int i = 0; i < size; i++) {
            if (!driverWritableConfigByte(i)) assertEquals(before[i], t.read(CONFIG + i, 1), "config byte " + i);
        }
        assertEquals(0, t.read(CONFIG_GENERATION, 4));
    }

    @Test
    void closeIsIdempotentAndLeavesTheDeviceReset() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        d.setupQueue(0, 8);
        d.driverOk();
        t.close();
        t.close();
        assertEquals(0, d.status());
        d.notifyQueue(0);
    }

    /** A chain the driver publishes that no correct driver would: the device must stop, not crash. */
    @Test
    void aMalformedChainNeedsResetAndStopsTheQueue() {
        VirtioMmioTransport t = newTransport();
        FakeDriver d = new FakeDriver(t, ram);
        d.negotiateAll();
        int q = eagerlyReadQueue();
        RingWriter ring = null;
        for (int i = 0; i <= q; i++) ring = d.setupQueue(i, 8);
        d.driverOk();
        long buf = d.alloc(64, 16);
        // Descriptor 0 points to itself.
        ring.writeDescriptor(0, buf, 64, dev.airlock.vmm.virtio.queue.SplitRing.DESC_F_NEXT
                | dev.airlock.vmm.virtio.queue.SplitRing.DESC_F_WRITE, 0);
        ring.publish(0);
        d.notifyQueue(q);
        assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertTrue(t.firstNeedsResetReason().contains("loops"), t.firstNeedsResetReason());
        assertEquals(1, t.needsResetEvents());
        assertNull(ring.pollUsed());
        d.notifyQueue(q); // stopped: no second report
        assertEquals(1, t.needsResetEvents());
    }
}
