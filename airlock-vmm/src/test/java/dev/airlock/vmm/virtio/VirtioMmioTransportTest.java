package dev.airlock.vmm.virtio;

import static dev.airlock.vmm.virtio.VirtioMmio.*;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.testing.Allocations;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import dev.airlock.vmm.virtio.rng.VirtioRng;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The transport with real device threads: off-thread work, the allocation-free MMIO path, reset vs. work. */
class VirtioMmioTransportTest {
    final GuestMemory ram = TestRam.create(1 << 20);
    final RecordingIrq irq = new RecordingIrq();
    final DeviceEventLoop loop = DeviceEventLoop.start(1, "test-virtio");

    @AfterEach
    void close() {
        loop.close();
        ram.close();
    }

    static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    @Test
    void notifiedWorkRunsOnTheDeviceThreadAndRaisesTheInterrupt() throws Exception {
        try (VirtioMmioTransport t = new VirtioMmioTransport(new VirtioRng(new Random(3)), ram, irq, loop)) {
            FakeDriver d = new FakeDriver(t, ram);
            d.negotiateAll();
            RingWriter ring = d.setupQueue(0, 8);
            d.driverOk();
            long buf = d.alloc(32, 16);
            ring.addChain(out(buf, 32));
            d.notifyQueue(0);
            await(() -> ring.usedIdx() == 1, "the used buffer");
            await(irq::level, "the interrupt");
            assertEquals(Virtio.INTERRUPT_USED_BUFFER, d.read(INTERRUPT_STATUS));
        }
    }

    @Test
    void theMmioPathAllocatesNothing() throws Exception {
        try (VirtioMmioTransport t = new VirtioMmioTransport(new VirtioRng(new Random(4)), ram, irq, loop)) {
            FakeDriver d = new FakeDriver(t, ram);
            d.negotiateAll();
            d.setupQueue(0, 8);
            d.driverOk();
            Runnable hartAccesses = () -> {
                for (int i = 0; i < 5_000; i++) {
                    t.write(QUEUE_NOTIFY, 4, 0);
                    t.read(INTERRUPT_STATUS, 4);
                    t.write(INTERRUPT_ACK, 4, 1);
                    t.read(STATUS, 4);
                    t.read(CONFIG, 4);
                    t.read(DEVICE_FEATURES, 4);
                }
            };
            // The first rounds link method handles and compile; the steady state must allocate nothing.
            long bytes = -1;
            for (int round = 0; round < 5 && bytes != 0; round++) bytes = Allocations.bytesAllocatedBy(hartAccesses);
            assertEquals(0, bytes);
        }
    }

    @Test
    void resetWaitsForTheBatchInFlightAndTheDeviceSeesNoWorkAfterIt() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        SlowDevice dev = new SlowDevice(entered, release);
        try (VirtioMmioTransport t = new VirtioMmioTransport(dev, ram, irq, loop)) {
            FakeDriver d = new FakeDriver(t, ram);
            d.negotiateAll();
            d.setupQueue(0, 8);
            d.driverOk(); // activation kicks every ready queue once
            assertTrue(entered.await(5, TimeUnit.SECONDS));
            Thread resetter = Thread.ofPlatform().start(() -> d.write(STATUS, 0));
            Thread.sleep(50);
            assertTrue(resetter.isAlive(), "reset must wait for the batch in flight");
            release.countDown();
            resetter.join(5000);
            assertFalse(resetter.isAlive());
            assertEquals(1, dev.resets);
            d.notifyQueue(0);
            Thread.sleep(20);
            assertEquals(1, dev.runs, "no work after reset");
        }
    }

    @Test
    void aDeviceBugStopsOnlyThatDevice() throws Exception {
        VirtioDevice buggy = new SlowDevice(null, null) {
            @Override
            public boolean processQueue(int queueIndex) {
                throw new IllegalStateException("device bug (expected by the test)");
            }
        };
        try (VirtioMmioTransport t = new VirtioMmioTransport(buggy, ram, irq, loop)) {
            FakeDriver d = new FakeDriver(t, ram);
            d.negotiateAll();
            d.setupQueue(0, 8);
            d.driverOk();
            d.notifyQueue(0);
            await(() -> (t.status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0, "DEVICE_NEEDS_RESET");
            assertTrue(t.lastNeedsResetReason().contains("device bug"));
        }
    }

    @Test
    void eightByteAccessesSplitIntoTwoRegisters() {
        try (VirtioMmioTransport t = new VirtioMmioTransport(new VirtioRng(), ram, irq, loop)) {
            assertEquals((2L << 32) | MAGIC, t.read(MAGIC_VALUE, 8));
            assertEquals('v', t.read(MAGIC_VALUE, 1));
            assertEquals('i', t.read(MAGIC_VALUE + 1, 1));
            assertEquals(0, t.read(MAGIC_VALUE + 3, 2), "an access across two registers reads 0");
            t.write(QUEUE_SEL, 2, 5); // narrow register writes are ignored
            assertNotEquals(0, t.read(QUEUE_NUM_MAX, 4));
            assertEquals(0xffff_ffffL, t.read(SHM_LEN_LOW, 4), "no shared memory regions");
            assertEquals(0, t.read(-8, 4));
            assertEquals(0, t.read(0x2000, 4));
        }
    }

    /** A device whose first batch blocks until released. */
    static class SlowDevice implements VirtioDevice {
        final CountDownLatch entered, release;
        volatile int runs, resets;

        SlowDevice(CountDownLatch entered, CountDownLatch release) {
            this.entered = entered;
            this.release = release;
        }

        @Override public int deviceType() { return 42; }
        @Override public long deviceFeatures() { return 0; }
        @Override public int queueCount() { return 1; }
        @Override public int queueMaxSize(int queueIndex) { return 8; }
        @Override public int configSizeBytes() { return 0; }
        @Override public long readConfig(int offsetBytes, int sizeBytes) { return 0; }
        @Override public void activate(GuestMemory memory, List<VirtQueue> queues, long features, VirtioInterrupt interrupt) {}
        @Override public void reset() { resets++; }

        @Override
        public boolean processQueue(int queueIndex) {
            runs++;
            if (entered != null) entered.countDown();
            try {
                if (release != null) release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
    }
}
