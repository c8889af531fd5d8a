package dev.airlock.vmm.virtio;

import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.balloon.VirtioBalloon;
import dev.airlock.vmm.virtio.rng.VirtioRng;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import dev.airlock.vmm.virtio.vsock.VirtioVsock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A transport saved from one VM and restored into another carries on where the first stopped. */
class VirtioSnapshotTest {
    final GuestMemory ram = TestRam.create(1 << 20);

    @AfterEach
    void close() {
        ram.close();
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void aRestoredQueueCarriesOnFromItsSavedPositions() {
        var first = new VirtioMmioTransport(new VirtioRng(new Random(1)), ram, new RecordingIrq(), DeviceEventLoop.inline());
        FakeDriver d = new FakeDriver(first, ram);
        d.negotiateAll();
        RingWriter ring = d.setupQueue(0, 8);
        d.driverOk();
        long buf = d.alloc(64, 16);
        for (int i = 0; i < 3; i++) ring.addChain(out(buf, 16));
        d.notifyQueue(0);
        for (int i = 0; i < 3; i++) assertNotNull(ring.pollUsed());
        int pendingHead = ring.addChain(out(buf + 16, 16)); // made available, not yet notified

        byte[] state = first.saveState();
        d.notifyQueue(0);
        assertEquals(3, ring.usedIdx(), "a saved transport is frozen: the VM it belonged to is stopped");

        RecordingIrq irq = new RecordingIrq();
        var second = new VirtioMmioTransport(new VirtioRng(new Random(2)), ram, irq, DeviceEventLoop.inline());
        second.restoreState(le(state));
        assertEquals(first.status(), second.status());
        assertNull(ring.pollUsed(), "nothing is served before the restored VM starts");
        second.resume();
        RingWriter.Used used = ring.pollUsed();
        assertNotNull(used, "the restored device serves what was left in the ring");
        assertEquals(pendingHead, used.id());
        assertEquals(4, ring.usedIdx(), "from the saved used index, not from zero");
        assertTrue(irq.level());
        first.close();
        second.close();
    }

    @Test
    void stateForAnotherDeviceOrVersionIsRefused() {
        var rng = new VirtioMmioTransport(new VirtioRng(new Random(1)), ram, new RecordingIrq(), DeviceEventLoop.inline());
        FakeDriver d = new FakeDriver(rng, ram);
        d.negotiateAll();
        d.setupQueue(0, 8);
        d.driverOk();
        byte[] state = rng.saveState();
        var balloon = new VirtioMmioTransport(new VirtioBalloon(GuestWriteListener.NONE), ram, new RecordingIrq(),
                DeviceEventLoop.inline());
        var e = assertThrows(IllegalArgumentException.class, () -> balloon.restoreState(le(state)));
        assertTrue(e.getMessage().contains("type"), e.getMessage());
        byte[] future = state.clone();
        future[0] = 9;
        var other = new VirtioMmioTransport(new VirtioRng(new Random(1)), ram, new RecordingIrq(), DeviceEventLoop.inline());
        assertThrows(IllegalArgumentException.class, () -> other.restoreState(le(future)));
        byte[] truncated = java.util.Arrays.copyOf(state, state.length - 6);
        var third = new VirtioMmioTransport(new VirtioRng(new Random(1)), ram, new RecordingIrq(), DeviceEventLoop.inline());
        assertThrows(RuntimeException.class, () -> third.restoreState(le(truncated)));
        rng.close();
        balloon.close();
        other.close();
        third.close();
    }

    @Test
    void aRestoredVsockTellsTheDriverItsTransportWasReset() {
        var first = new VirtioMmioTransport(new VirtioVsock(3), ram, new RecordingIrq(), DeviceEventLoop.inline());
        FakeDriver d = new FakeDriver(first, ram);
        d.negotiateAll();
        d.setupQueue(0, 8);
        d.setupQueue(1, 8);
        RingWriter event = d.setupQueue(2, 8);
        long eventBuf = d.alloc(8, 8);
        event.addChain(out(eventBuf, 8));
        d.driverOk();
        assertNull(event.pollUsed(), "no event before a restore");
        ram.write(eventBuf, new byte[] {(byte) 0xee, (byte) 0xee, (byte) 0xee, (byte) 0xee});
        byte[] state = first.saveState();

        VirtioVsock clone = new VirtioVsock(7);
        var second = new VirtioMmioTransport(clone, ram, new RecordingIrq(), DeviceEventLoop.inline());
        second.restoreState(le(state));
        RingWriter.Used used = event.pollUsed();
        assertNotNull(used, "the transport-reset event");
        assertEquals(4, used.lengthBytes());
        assertArrayEquals(new byte[4], ram.read(eventBuf, 4), "VIRTIO_VSOCK_EVENT_TRANSPORT_RESET is 0");
        assertEquals(7, second.read(VirtioMmio.CONFIG, 4), "the driver reads the clone's own CID");
        first.close();
        second.close();
    }
}
