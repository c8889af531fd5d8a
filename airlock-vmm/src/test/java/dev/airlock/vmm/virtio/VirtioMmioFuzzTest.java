package dev.airlock.vmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.blk.VirtioBlock;
import dev.airlock.vmm.virtio.rng.VirtioRng;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.InMemoryBackend;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.List;
import java.util.Random;
import net.jqwik.api.*;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Random register writes (mostly to real registers, with plausible ring addresses) against a
 * transport whose guest RAM is random bytes: whatever the driver does, no access throws, the
 * device either works or reports DEVICE_NEEDS_RESET, and InterruptStatus and the line agree.
 */
class VirtioMmioFuzzTest {
    static final int[] REGISTERS = {VirtioMmio.DEVICE_FEATURES_SEL, VirtioMmio.DRIVER_FEATURES, VirtioMmio.DRIVER_FEATURES_SEL,
            VirtioMmio.QUEUE_SEL, VirtioMmio.QUEUE_NUM, VirtioMmio.QUEUE_READY, VirtioMmio.QUEUE_NOTIFY,
            VirtioMmio.INTERRUPT_ACK, VirtioMmio.STATUS, VirtioMmio.QUEUE_DESC_LOW, VirtioMmio.QUEUE_DESC_HIGH,
            VirtioMmio.QUEUE_DRIVER_LOW, VirtioMmio.QUEUE_DRIVER_HIGH, VirtioMmio.QUEUE_DEVICE_LOW,
            VirtioMmio.QUEUE_DEVICE_HIGH, VirtioMmio.CONFIG, VirtioMmio.CONFIG + 8};
    static GuestMemory ram;

    @BeforeContainer
    static void map() {
        ram = TestRam.create(64 << 10);
    }

    @AfterContainer
    static void unmap() {
        ram.close();
    }

    record Op(int offset, int sizeBytes, long value) {}

    @Provide
    Arbitrary<Op> ops() {
        Arbitrary<Integer> offsets = Arbitraries.frequencyOf(
                Tuple.of(10, Arbitraries.of(java.util.Arrays.stream(REGISTERS).boxed().toList())),
                Tuple.of(1, Arbitraries.integers().between(0, 0xfff)));
        Arbitrary<Long> values = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(0, 16)),
                Tuple.of(3, Arbitraries.longs().between(TestRam.BASE_GPA, TestRam.BASE_GPA + (64 << 10))),
                Tuple.of(2, Arbitraries.of(1L, 3L, 7L, 11L, 15L, 0xffff_ffffL)),
                Tuple.of(1, Arbitraries.longs()));
        return Combinators.combine(offsets, Arbitraries.frequency(Tuple.of(8, 4), Tuple.of(1, 8), Tuple.of(1, 1)), values)
                .as(Op::new);
    }

    @Property
    void randomDriversNeverBreakTheTransport(@ForAll @Size(max = 80) List<@From("ops") Op> ops,
                                             @ForAll long ramSeed, @ForAll boolean block,
                                             @ForAll boolean setUp) {
        byte[] garbage = new byte[64 << 10];
        new Random(ramSeed).nextBytes(garbage);
        ram.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(garbage));
        RecordingIrq irq = new RecordingIrq();
        VirtioDevice device = block ? new VirtioBlock(new InMemoryBackend(16 << 10, false), "fuzz") : new VirtioRng(new Random(ramSeed));
        try (VirtioMmioTransport t = new VirtioMmioTransport(device, ram, irq, DeviceEventLoop.inline())) {
            // Often start from a working device with one queue over garbage rings, so the fuzz reaches processing.
            if (setUp) {
                FakeDriver d = new FakeDriver(t, ram);
                d.negotiateAll();
                long base = ram.baseGpa();
                d.setupQueueRaw(0, 8, base, base + 0x1000, base + 0x2000);
                // A few chains available, so the garbage descriptors get parsed rather than refused wholesale.
                ram.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0x1002, (short) Math.floorMod(ramSeed, 9));
                d.driverOk();
                d.notifyQueue(0);
            }
            for (Op op : ops) {
                t.write(op.offset(), op.sizeBytes(), op.value());
                t.read(op.offset(), op.sizeBytes());
                long interruptStatus = t.read(VirtioMmio.INTERRUPT_STATUS, 4);
                assertEquals(interruptStatus != 0, irq.level(), "InterruptStatus " + interruptStatus + " vs the line");
            }
            boolean needsReset = (t.status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0;
            Statistics.label("outcome").collect(needsReset ? "needs reset" : (t.status() & Virtio.STATUS_DRIVER_OK) != 0 ? "running" : "other");
        }
    }
}
