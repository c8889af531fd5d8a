package dev.airlock.vmm.virtio.vsock;

import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.in;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.ArrayDeque;
import java.util.Arrays;

/** A guest vsock driver for tests: keeps receive buffers posted, sends packets, collects what arrives. */
final class VsockDriver implements AutoCloseable {
    static final int RX_BUFFERS = 64;
    static final int RX_BUFFER_BYTES = 4096;

    final GuestMemory ram = TestRam.create(8 << 20);
    final RecordingIrq irq = new RecordingIrq();
    final VirtioVsock device;
    final VirtioMmioTransport transport;
    final FakeDriver driver;
    final RingWriter rx, tx, event;
    private final long[] rxBuffers = new long[RX_BUFFERS];
    private final long txBuffer;
    private final ArrayDeque<Packet> received = new ArrayDeque<>();

    record Packet(VsockHeader header, byte[] payload) {
        int op() { return header.op; }
    }

    VsockDriver(long cid) {
        device = new VirtioVsock(cid);
        transport = new VirtioMmioTransport(device, ram, irq, DeviceEventLoop.inline());
        driver = new FakeDriver(transport, ram);
        driver.negotiateAll();
        rx = driver.setupQueue(0, 128);
        tx = driver.setupQueue(1, 128);
        event = driver.setupQueue(2, 8);
        driver.driverOk();
        txBuffer = driver.alloc(VsockHeader.SIZE_BYTES + (64 << 10), 16);
        for (int i = 0; i < RX_BUFFERS; i++) {
            rxBuffers[i] = driver.alloc(RX_BUFFER_BYTES, 16);
        }
        synchronized (this) {
            for (long b : rxBuffers) postRx(b);
        }
        driver.notifyQueue(0);
    }

    private void postRx(long gpa) {
        int head = rx.writeChain(out(gpa, RX_BUFFER_BYTES));
        rx.publish(head);
    }

    /** Sends one packet on the transmit queue and lets the device process it. */
    synchronized void send(VsockHeader h, byte[] payload) {
        byte[] header = new byte[VsockHeader.SIZE_BYTES];
        h.len = payload.length;
        h.encode(header);
        ram.write(txBuffer, header);
        ram.write(txBuffer + VsockHeader.SIZE_BYTES, payload);
        tx.addChain(in(txBuffer, VsockHeader.SIZE_BYTES + payload.length));
        driver.notifyQueue(1);
        drainTxUsed();
    }

    /** Sends raw bytes as one readable buffer (for malformed packets). */
    synchronized void sendRaw(byte[] bytes) {
        ram.write(txBuffer, bytes);
        tx.addChain(in(txBuffer, Math.max(1, bytes.length)));
        driver.notifyQueue(1);
        drainTxUsed();
    }

    private void drainTxUsed() {
        while (tx.pollUsed() != null) {
            // the device is done with the buffer; this driver reuses one
        }
    }

    VsockHeader header(int op, int guestPort, int hostPort) {
        VsockHeader h = new VsockHeader();
        h.srcCid = device.guestCid();
        h.dstCid = VirtioVsock.HOST_CID;
        h.srcPort = guestPort;
        h.dstPort = hostPort;
        h.type = VsockHeader.TYPE_STREAM;
        h.op = op;
        h.bufAlloc = 256 << 10;
        return h;
    }

    /** The next packet the device delivered, waiting up to {@code millis}; null if none came. */
    Packet poll(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (true) {
            synchronized (this) {
                collect();
                if (!received.isEmpty()) return received.poll();
            }
            if (System.nanoTime() > deadline) return null;
            Thread.sleep(1);
        }
    }

    /** The next packet with {@code op}, skipping credit updates; fails after 5 s. */
    Packet expect(int op) throws InterruptedException {
        while (true) {
            Packet p = poll(5000);
            assertNotNull(p, "no " + VsockHeader.opName(op) + " packet within 5 s");
            if (p.op() == VsockHeader.OP_CREDIT_UPDATE && op != VsockHeader.OP_CREDIT_UPDATE) continue;
            assertEquals(VsockHeader.opName(op), VsockHeader.opName(p.op()), () -> "got " + p.header());
            return p;
        }
    }

    private void collect() {
        boolean any = false;
        for (RingWriter.Used u; (u = rx.pollUsed()) != null; ) {
            long gpa = rxBuffers[u.id() % RX_BUFFERS];
            for (int i = 0; i < RX_BUFFERS; i++) {
                if (descriptorAddress(u.id()) == rxBuffers[i]) gpa = rxBuffers[i];
            }
            byte[] raw = ram.read(gpa, Math.max(VsockHeader.SIZE_BYTES, u.lengthBytes()));
            VsockHeader h = new VsockHeader();
            h.decode(raw);
            received.add(new Packet(h, Arrays.copyOfRange(raw, VsockHeader.SIZE_BYTES,
                    VsockHeader.SIZE_BYTES + Integer.min(h.len, u.lengthBytes() - VsockHeader.SIZE_BYTES))));
            postRx(gpa);
            any = true;
        }
        if (any) driver.notifyQueue(0);
    }

    private long descriptorAddress(int index) {
        return ram.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, rx.descGpa - ram.baseGpa() + 16L * index);
    }

    @Override
    public void close() {
        transport.close();
        ram.close();
    }
}
