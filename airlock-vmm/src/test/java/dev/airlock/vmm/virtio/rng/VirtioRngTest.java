package dev.airlock.vmm.virtio.rng;

import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.in;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioRngTest {
    final GuestMemory ram = TestRam.create(1 << 20);
    final RecordingIrq irq = new RecordingIrq();
    VirtioMmioTransport transport;

    @AfterEach
    void close() {
        if (transport != null) transport.close();
        ram.close();
    }

    @Test
    void fillsEveryWritableByteFromTheEntropySource() {
        transport = new VirtioMmioTransport(new VirtioRng(new Random(1)), ram, irq, DeviceEventLoop.inline());
        FakeDriver d = new FakeDriver(transport, ram);
        assertNotEquals(0, d.negotiateAll() & Virtio.STATUS_FEATURES_OK);
        RingWriter ring = d.setupQueue(0, 8);
        d.driverOk();
        long a = d.alloc(64, 16), b = d.alloc(64, 16);
        ring.addChain(in(a, 8), out(a + 8, 24), out(b, 40));
        d.notifyQueue(0);
        RingWriter.Used u = ring.pollUsed();
        assertEquals(64, u.lengthBytes());
        assertArrayEquals(new byte[8], ram.read(a, 8), "readable bytes are left alone");
        byte[] expected = new byte[4096];
        new Random(1).nextBytes(expected);
        assertArrayEquals(java.util.Arrays.copyOf(expected, 24), ram.read(a + 8, 24));
        assertTrue(irq.level());
        d.ack();
        assertFalse(irq.level());
    }

    @Test
    void hugeRequestsAreCapped() {
        transport = new VirtioMmioTransport(new VirtioRng(new Random(2)), ram, irq, DeviceEventLoop.inline());
        FakeDriver d = new FakeDriver(transport, ram);
        d.negotiateAll();
        RingWriter ring = d.setupQueue(0, 8);
        d.driverOk();
        long big = d.alloc(256 << 10, 4096);
        ring.addChain(out(big, 256 << 10));
        d.notifyQueue(0);
        assertEquals(VirtioRng.MAX_REQUEST_BYTES, ring.pollUsed().lengthBytes());
    }

    @Test
    void theHostSourceWorks() {
        VirtioRng rng = new VirtioRng();
        assertEquals(Virtio.DEVICE_ID_ENTROPY, rng.deviceType());
        assertEquals(0, rng.configSizeBytes());
    }
}
