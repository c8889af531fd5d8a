package dev.airlock.vmm.virtio.vsock;

import static dev.airlock.vmm.virtio.vsock.VsockHeader.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioInterrupt;
import dev.airlock.vmm.virtio.queue.DescriptorChain;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A virtio socket device (virtio 1.x spec 5.10) implemented in the hypervisor: stream connections
 * between the guest (its own CID) and host sockets, with credit-based flow control. The host is
 * CID 2. Host programs reach it through {@link VsockUnixProxy}; guest connections to the host are
 * handed to a {@link HostConnector}.
 *
 * <p>Queue 0 carries packets to the guest, queue 1 packets from it; queue 2 holds event buffers the
 * device keeps until it has an event (a transport reset after a restore). Guest packets that break
 * the protocol (wrong CIDs, a length past the chain, more data than our credit allows) reset that
 * connection only.
 */
public final class VirtioVsock implements VirtioDevice {
    private static final Logger LOG = Logger.getLogger(VirtioVsock.class.getName());

    public static final long HOST_CID = 2;
    static final int RX = 0, TX = 1, EVENT = 2;
    static final int QUEUE_SIZE = 256;
    /** The largest payload in one packet, as Linux uses. */
    static final int MAX_PAYLOAD_BYTES = 64 << 10;
    static final int BATCH = 64;
    /** Where host-initiated connections take their local ports from, as Firecracker does. */
    private static final int FIRST_HOST_PORT = 1 << 30;

    /** Opens the host side of a connection the guest requests to host {@code port}; null refuses it. */
    @FunctionalInterface
    public interface HostConnector {
        SocketChannel connect(int port) throws IOException;
    }

    private final long guestCid;
    private volatile HostConnector hostConnector = port -> null;
    private final Map<Long, VsockConnection> connections = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Control> control = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<VsockConnection> sendable = new ConcurrentLinkedQueue<>();
    private final AtomicInteger nextHostPort = new AtomicInteger(FIRST_HOST_PORT);
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong bytesToGuest = new AtomicLong();
    private final AtomicLong bytesFromGuest = new AtomicLong();

    // Event-loop state.
    private final byte[] headerBytes = new byte[SIZE_BYTES];
    private final VsockHeader rxHeader = new VsockHeader();
    private final VsockHeader txHeader = new VsockHeader();
    private final java.util.function.ToLongFunction<DescriptorChain> txHandler = this::handleTx;
    private volatile VirtQueue rxQueue;
    private volatile VirtQueue txQueue;
    private volatile VirtQueue eventQueue;
    /** Set by a restore: the guest must hear of a transport reset (its connections are gone, its CID may differ). */
    private volatile boolean resetEventPending;
    private volatile VirtioInterrupt interrupt;
    /** A control packet popped from {@link #control} that found no receive buffer yet. */
    private Control heldControl;

    /** A header-only packet to the guest; {@code connection} supplies credit fields when present. */
    private record Control(int op, int flags, int hostPort, int guestPort, VsockConnection connection) {}

    /**
     * @param guestCid the guest's context ID, unique per VM among those a host program may reach (≥ 3)
     */
    public VirtioVsock(long guestCid) {
        if (guestCid < 3 || guestCid > 0xffff_fffeL) {
            throw new IllegalArgumentException("a guest CID must be between 3 and 4294967294, not " + guestCid);
        }
        this.guestCid = guestCid;
    }

    public long guestCid() { return guestCid; }

    /** Where connections the guest makes to the host go (by default: refused). */
    public void setHostConnector(HostConnector connector) {
        this.hostConnector = Objects.requireNonNull(connector, "connector");
    }

    public int connectionCount() { return connections.size(); }

    public long protocolErrors() { return protocolErrors.get(); }

    public long bytesToGuest() { return bytesToGuest.get(); }

    public long bytesFromGuest() { return bytesFromGuest.get(); }

    static long key(int hostPort, int guestPort) {
        return ((long) hostPort << 32) | Integer.toUnsignedLong(guestPort);
    }

    // ---------------------------------------------------------------- VirtioDevice

    @Override public int deviceType() { return Virtio.DEVICE_ID_VSOCK; }

    /** No feature bits: stream sockets are implied when VIRTIO_VSOCK_F_SEQPACKET is not offered. */
    @Override public long deviceFeatures() { return 0; }

    @Override public int queueCount() { return 3; }

    @Override public int queueMaxSize(int queueIndex) { return QUEUE_SIZE; }

    @Override public int configSizeBytes() { return 8; }

    @Override
    public long readConfig(int offsetBytes, int sizeBytes) {
        long shifted = guestCid >>> (8 * offsetBytes);
        return sizeBytes >= 8 ? shifted : shifted & ((1L << (8 * sizeBytes)) - 1);
    }

    @Override
    public void activate(GuestMemory memory, List<VirtQueue> queues, long driverFeatures, VirtioInterrupt interrupt) {
        this.rxQueue = queues.get(RX);
        this.txQueue = queues.get(TX);
        this.eventQueue = queues.get(EVENT);
        this.interrupt = interrupt;
    }

    /** Connections live on host sockets, which no snapshot can hold: nothing to save. */
    @Override
    public byte[] saveState() {
        return new byte[0];
    }

    /**
     * A restored guest had connections to a host that no longer exists, and may have been given
     * another CID (each clone has its own): a transport-reset event makes the driver drop its
     * connected sockets and read the CID again, as Firecracker does after a snapshot load.
     * Listening sockets stay, so the agent keeps accepting.
     */
    @Override
    public void restoreState(java.nio.ByteBuffer state) {
        resetEventPending = true;
        VirtioInterrupt irq = interrupt;
        if (irq != null) irq.requestProcessing(EVENT);
    }

    /** Sends the transport-reset event (virtio 1.x spec 5.10.6.7) into the guest's first event buffer. */
    private boolean sendResetEvent() {
        VirtQueue q = eventQueue;
        VirtioInterrupt irq = interrupt;
        if (!resetEventPending || q == null || irq == null || !q.isReady()) return false;
        DescriptorChain chain = q.pop();
        if (chain == null) return false; // the driver adds event buffers before DRIVER_OK; try again at its next notify
        resetEventPending = false;
        if (chain.writableBytes() < 4) {
            protocolErrors.incrementAndGet();
            q.addUsed(chain, 0);
        } else {
            chain.write(0, EVENT_TRANSPORT_RESET, 0, 4);
            q.addUsed(chain, 4);
        }
        if (q.needsNotification()) irq.signalUsedBuffers(EVENT);
        return false;
    }

    /** virtio_vsock_event.id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (0), little-endian. */
    private static final byte[] EVENT_TRANSPORT_RESET = {0, 0, 0, 0};

    @Override
    public void reset() {
        interrupt = null;
        rxQueue = null;
        txQueue = null;
        eventQueue = null;
        resetEventPending = false;
        // The guest driver is gone (rmmod, reboot): its connections are too.
        closeAll();
    }

    @Override
    public void close() {
        closeAll();
    }

    private void closeAll() {
        for (VsockConnection c : connections.values()) c.close(false);
        connections.clear();
        control.clear();
        sendable.clear();
        heldControl = null;
    }

    @Override
    public boolean processQueue(int queueIndex) {
        return switch (queueIndex) {
            case TX -> {
                VirtQueue q = txQueue;
                boolean more = q != null && q.drain(BATCH, txHandler, interrupt);
                // Answers (RESPONSE, RST, credit) wait in the control queue: send them now.
                fillRx();
                yield more;
            }
            case RX -> fillRx();
            // Event buffers stay with the device until there is an event.
            case EVENT -> sendResetEvent();
            default -> false;
        };
    }

    // ---------------------------------------------------------------- host side

    /**
     * Asks the guest for a connection to its {@code guestPort} on behalf of {@code channel}; null if
     * the driver is not active. The connection's {@link VsockConnection#established} completes true
     * once the guest accepts (then the caller starts its relays), false if it refuses or the device resets.
     */
    VsockConnection connectToGuest(int guestPort, SocketChannel channel) {
        VirtioInterrupt irq = interrupt;
        if (irq == null) return null;
        VsockConnection c;
        while (true) {
            int hostPort = nextHostPort.getAndIncrement();
            if (hostPort < FIRST_HOST_PORT) {
                nextHostPort.set(FIRST_HOST_PORT);
                continue;
            }
            c = new VsockConnection(this, hostPort, guestPort, channel, VsockConnection.State.CONNECTING);
            if (connections.putIfAbsent(c.key(), c) == null) break;
        }
        control.add(new Control(OP_REQUEST, 0, c.hostPort, guestPort, c));
        irq.requestProcessing(RX);
        return c;
    }

    /** Gives up on a host-initiated connection the guest did not answer. */
    void abandon(VsockConnection c) {
        reset(c);
    }

    /** A relay thread has data or end of file for the guest. */
    void markSendable(VsockConnection c) {
        synchronized (c) {
            if (c.queued || !c.hasSendable()) return;
            c.queued = true;
        }
        sendable.add(c);
        VirtioInterrupt irq = interrupt;
        if (irq != null) irq.requestProcessing(RX);
    }

    void sendCreditUpdate(VsockConnection c) {
        sendControl(new Control(OP_CREDIT_UPDATE, 0, c.hostPort, c.guestPort, c));
    }

    /** The host socket failed: the guest gets RST. */
    void hostFailed(VsockConnection c, String why) {
        boolean wasOpen;
        synchronized (c) {
            wasOpen = c.state != VsockConnection.State.CLOSED;
        }
        if (!wasOpen) return;
        LOG.fine(() -> c + ": " + why);
        reset(c);
    }

    private void sendControl(Control packet) {
        control.add(packet);
        VirtioInterrupt irq = interrupt;
        if (irq != null) irq.requestProcessing(RX);
    }

    // ---------------------------------------------------------------- guest → host

    private long handleTx(DescriptorChain chain) {
        if (chain.readableBytes() < SIZE_BYTES || chain.read(0, headerBytes, 0, SIZE_BYTES) < SIZE_BYTES) {
            protocolErrors.incrementAndGet();
            return 0;
        }
        VsockHeader h = txHeader;
        h.decode(headerBytes);
        long payload = Integer.toUnsignedLong(h.len);
        if (h.srcCid != guestCid && h.dstCid == HOST_CID && h.srcCid >= 3) {
            // A restored guest still has the template's CID until it has handled the transport-reset
            // event, and answers a connection it took before that under the old CID; the reset will
            // tear that connection down anyway. Failing it now lets the host connector retry at once
            // instead of waiting out its accept timeout.
            VsockConnection stale = connections.get(key(h.dstPort, h.srcPort));
            if (stale != null) {
                LOG.fine(() -> stale + ": answered under CID " + h.srcCid + " (before the guest handled the reset)");
                reset(stale);
                return 0;
            }
        }
        if (h.srcCid != guestCid || h.dstCid != HOST_CID || payload > MAX_PAYLOAD_BYTES
                || payload > chain.readableBytes() - SIZE_BYTES || (h.type != TYPE_STREAM && h.op != OP_RST)) {
            protocolErrors.incrementAndGet();
            LOG.fine(() -> "vsock: dropping a malformed packet from the guest: " + h);
            if (h.op != OP_RST && h.srcCid == guestCid) rst(h.dstPort, h.srcPort);
            return 0;
        }
        VsockConnection c = connections.get(key(h.dstPort, h.srcPort));
        if (c == null) {
            if (h.op == OP_REQUEST) acceptFromGuest(h);
            else if (h.op != OP_RST) rst(h.dstPort, h.srcPort);
            return 0;
        }
        switch (h.op) {
            case OP_RESPONSE -> {
                boolean ok;
                synchronized (c) {
                    ok = c.state == VsockConnection.State.CONNECTING;
                    if (ok) {
                        c.state = VsockConnection.State.ESTABLISHED;
                        c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
                    }
                }
                if (ok) c.established.complete(true);
                else reset(c);
            }
            case OP_RW -> {
                int n = (int) payload;
                boolean overrun;
                synchronized (c) {
                    c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
                    overrun = c.state != VsockConnection.State.ESTABLISHED || c.guestSendDone || n > c.toHost.free();
                    if (!overrun && n > 0) {
                        c.toHost.putFrom(chain, SIZE_BYTES, n);
                        c.notifyAll();
                    }
                }
                if (overrun) {
                    protocolErrors.incrementAndGet();
                    reset(c);
                } else {
                    bytesFromGuest.addAndGet(n);
                    markSendable(c); // new credit may let held data go
                }
            }
            case OP_CREDIT_UPDATE -> {
                synchronized (c) {
                    c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
                }
                markSendable(c);
            }
            case OP_CREDIT_REQUEST -> {
                synchronized (c) {
                    c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
                }
                control.add(new Control(OP_CREDIT_UPDATE, 0, c.hostPort, c.guestPort, c));
            }
            case OP_SHUTDOWN -> {
                boolean both = (h.flags & (SHUTDOWN_RCV | SHUTDOWN_SEND)) == (SHUTDOWN_RCV | SHUTDOWN_SEND);
                synchronized (c) {
                    c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
                    if ((h.flags & SHUTDOWN_SEND) != 0) c.guestSendDone = true;
                    c.notifyAll();
                }
                // A guest closing its socket waits for our RST (spec 5.10.6.6); what it sent still reaches the host.
                if (both) {
                    connections.remove(c.key(), c);
                    control.add(new Control(OP_RST, 0, c.hostPort, c.guestPort, null));
                    c.close(true);
                }
            }
            case OP_RST -> {
                connections.remove(c.key(), c);
                c.close(true);
            }
            case OP_REQUEST -> reset(c); // a second REQUEST on a live connection
            default -> {
                protocolErrors.incrementAndGet();
                reset(c);
            }
        }
        return 0;
    }

    private void acceptFromGuest(VsockHeader h) {
        SocketChannel channel;
        try {
            channel = hostConnector.connect(h.dstPort);
        } catch (IOException | RuntimeException e) {
            LOG.fine(() -> "vsock: the guest's connection to host port " + Integer.toUnsignedString(h.dstPort)
                    + " is refused: " + e.getMessage());
            channel = null;
        }
        if (channel == null) {
            rst(h.dstPort, h.srcPort);
            return;
        }
        var c = new VsockConnection(this, h.dstPort, h.srcPort, channel, VsockConnection.State.ESTABLISHED);
        c.updatePeerCredit(h.bufAlloc, h.fwdCnt);
        connections.put(c.key(), c);
        control.add(new Control(OP_RESPONSE, 0, c.hostPort, c.guestPort, c));
        c.startRelays();
    }

    /** Ends {@code c} at once: the guest gets RST (once, even if several threads give up on it together), the host socket closes. */
    private void reset(VsockConnection c) {
        if (connections.remove(c.key(), c)) sendControl(new Control(OP_RST, 0, c.hostPort, c.guestPort, null));
        c.close(false);
    }

    private void rst(int hostPort, int guestPort) {
        control.add(new Control(OP_RST, 0, hostPort, guestPort, null));
    }

    // ---------------------------------------------------------------- host → guest

    /** Fills receive buffers with control packets first, then data; returns true if the budget ran out. */
    private boolean fillRx() {
        VirtQueue q = rxQueue;
        VirtioInterrupt irq = interrupt;
        if (q == null || irq == null || !q.isReady()) return false;
        boolean more = false;
        int served = 0;
        try {
            while (true) {
                if (served == BATCH) {
                    more = true;
                    break;
                }
                Control ctl = heldControl != null ? heldControl : control.poll();
                heldControl = null;
                if (ctl != null) {
                    DescriptorChain chain = q.pop();
                    if (chain == null) {
                        heldControl = ctl;
                        break;
                    }
                    q.addUsed(chain, writeControl(chain, ctl));
                    served++;
                    continue;
                }
                VsockConnection c = sendable.peek();
                if (c == null) break;
                synchronized (c) {
                    if (!c.hasSendable()) {
                        sendable.poll();
                        c.queued = false;
                        continue;
                    }
                }
                DescriptorChain chain = q.pop();
                if (chain == null) break;
                q.addUsed(chain, writeData(chain, c));
                served++;
                // Round robin: a connection with more to send goes to the back.
                synchronized (c) {
                    if (sendable.peek() == c && c.hasSendable()) {
                        sendable.poll();
                        sendable.add(c);
                    }
                }
            }
        } finally {
            if (q.needsNotification()) irq.signalUsedBuffers(RX);
        }
        return more;
    }

    private long writeControl(DescriptorChain chain, Control ctl) {
        if (chain.writableBytes() < SIZE_BYTES) {
            protocolErrors.incrementAndGet();
            return 0;
        }
        VsockHeader h = header(ctl.hostPort, ctl.guestPort, ctl.op);
        h.flags = ctl.flags;
        VsockConnection c = ctl.connection;
        if (c != null) {
            synchronized (c) {
                h.fwdCnt = c.fwdCnt;
                c.reportedFwdCnt = c.fwdCnt;
            }
        }
        h.encode(headerBytes);
        chain.write(0, headerBytes, 0, SIZE_BYTES);
        return SIZE_BYTES;
    }

    private long writeData(DescriptorChain chain, VsockConnection c) {
        long room = chain.writableBytes() - SIZE_BYTES;
        if (room < 0) {
            protocolErrors.incrementAndGet();
            return 0;
        }
        VsockHeader h;
        synchronized (c) {
            int n = (int) Math.min(Math.min(c.toGuest.size(), c.peerCredit()), Math.min(room, MAX_PAYLOAD_BYTES));
            if (n == 0 && c.toGuest.size() == 0 && c.hostEof && !c.shutdownSent) {
                h = header(c.hostPort, c.guestPort, OP_SHUTDOWN);
                h.flags = SHUTDOWN_SEND;
                c.shutdownSent = true;
            } else {
                h = header(c.hostPort, c.guestPort, OP_RW);
                n = c.toGuest.takeInto(chain, SIZE_BYTES, n);
                h.len = n;
                c.txCnt += n;
                bytesToGuest.addAndGet(n);
                c.notifyAll(); // room for the reader
            }
            h.fwdCnt = c.fwdCnt;
            c.reportedFwdCnt = c.fwdCnt;
        }
        h.encode(headerBytes);
        chain.write(0, headerBytes, 0, SIZE_BYTES);
        return SIZE_BYTES + Integer.toUnsignedLong(h.len);
    }

    private VsockHeader header(int hostPort, int guestPort, int op) {
        VsockHeader h = rxHeader;
        h.srcCid = HOST_CID;
        h.dstCid = guestCid;
        h.srcPort = hostPort;
        h.dstPort = guestPort;
        h.len = 0;
        h.type = TYPE_STREAM;
        h.op = op;
        h.flags = 0;
        h.bufAlloc = VsockConnection.HOST_BUF_BYTES;
        h.fwdCnt = 0;
        return h;
    }
}
