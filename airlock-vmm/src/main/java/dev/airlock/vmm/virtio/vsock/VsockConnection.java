package dev.airlock.vmm.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;

/**
 * One stream connection between a guest port and a host socket, with the credit accounting of
 * virtio 1.x spec 5.10.6.3 in both directions.
 *
 * <p>Threads: the device's event loop moves bytes between the rings and guest queues; a reader
 * thread moves host socket → {@code toGuest}, a writer thread {@code toHost} → host socket. Both
 * are virtual threads, so a stalled host peer blocks nothing but its own connection. Every field
 * below is guarded by this object's monitor.
 */
final class VsockConnection {
    enum State { CONNECTING, ESTABLISHED, CLOSED }

    /** Our receive buffer, advertised to the guest as buf_alloc. */
    static final int HOST_BUF_BYTES = 256 << 10;
    static final int TO_GUEST_BYTES = 64 << 10;

    final VirtioVsock device;
    final int hostPort;
    final int guestPort;
    final SocketChannel channel;
    /** Completes true on the guest's RESPONSE, false on RST or close; only for host-initiated connections. */
    final CompletableFuture<Boolean> established = new CompletableFuture<>();

    State state;
    final ByteRing toHost = new ByteRing(HOST_BUF_BYTES);
    final ByteRing toGuest = new ByteRing(TO_GUEST_BYTES);
    /** Guest → host bytes written to the host socket, and the value the guest last saw. */
    int fwdCnt;
    int reportedFwdCnt;
    /** Host → guest bytes sent, and the guest's buffer as it last told us. */
    int txCnt;
    int peerBufAlloc;
    int peerFwdCnt;
    /** The host socket reached end of file; once toGuest drains the guest gets SHUTDOWN(SEND). */
    boolean hostEof;
    boolean shutdownSent;
    /** The guest will send no more: the writer half-closes the host socket once toHost drains. */
    boolean guestSendDone;
    /** In the device's ready queue. */
    boolean queued;
    /** The writer thread has ended (or never started), so nobody else will close the socket. */
    boolean writerGone = true;

    VsockConnection(VirtioVsock device, int hostPort, int guestPort, SocketChannel channel, State state) {
        this.device = device;
        this.hostPort = hostPort;
        this.guestPort = guestPort;
        this.channel = channel;
        this.state = state;
    }

    long key() { return VirtioVsock.key(hostPort, guestPort); }

    /** Bytes the guest can take now: its buffer minus what is in flight. */
    int peerCredit() {
        long inFlight = Integer.toUnsignedLong(txCnt - peerFwdCnt);
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(peerBufAlloc) - inFlight));
    }

    /** Whether the event loop has a data or SHUTDOWN packet to send for this connection. */
    boolean hasSendable() {
        if (state != State.ESTABLISHED) return false;
        return (toGuest.size() > 0 && peerCredit() > 0) || (hostEof && toGuest.size() == 0 && !shutdownSent);
    }

    void updatePeerCredit(int bufAlloc, int fwdCnt) {
        peerBufAlloc = bufAlloc;
        peerFwdCnt = fwdCnt;
    }

    /** Starts the relay threads; the connection is ESTABLISHED and, if host-initiated, the "OK" line is written. */
    void startRelays() {
        String name = "airlock-vsock " + Integer.toUnsignedString(hostPort) + "<->" + Integer.toUnsignedString(guestPort);
        synchronized (this) {
            writerGone = false;
        }
        Thread.ofVirtual().name(name + " reader").start(this::readLoop);
        Thread.ofVirtual().name(name + " writer").start(this::writeLoop);
    }

    private void readLoop() {
        byte[] buf = new byte[16 << 10];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        try {
            while (true) {
                int room;
                synchronized (this) {
                    while (toGuest.free() == 0 && state != State.CLOSED) wait();
                    if (state == State.CLOSED) return;
                    room = Math.min(toGuest.free(), buf.length);
                }
                bb.clear().limit(room);
                int n = channel.read(bb);
                synchronized (this) {
                    if (state == State.CLOSED) return;
                    if (n < 0) {
                        hostEof = true;
                    } else {
                        toGuest.put(buf, 0, n);
                    }
                }
                device.markSendable(this);
                if (n < 0) return;
            }
        } catch (IOException e) {
            device.hostFailed(this, "reading the host socket: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeLoop() {
        byte[] buf = new byte[64 << 10];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        try {
            while (true) {
                int n;
                synchronized (this) {
                    while (toHost.size() == 0 && !guestSendDone && state != State.CLOSED) wait();
                    if (toHost.size() == 0) {
                        // The guest is done sending or gone: pass end of file on to the host peer.
                        if (state == State.CLOSED) closeChannel();
                        else if (guestSendDone) channel.shutdownOutput();
                        return;
                    }
                    n = toHost.take(buf, 0, buf.length);
                    notifyAll();
                }
                bb.clear().limit(n);
                while (bb.hasRemaining()) channel.write(bb);
                boolean update;
                synchronized (this) {
                    fwdCnt += n;
                    // Tell the guest before it could stall: when the space it believes we have falls under
                    // one maximal packet. Data we send the guest carries fwd_cnt too, so chatty streams need no extra packets.
                    long believedUsed = Integer.toUnsignedLong(fwdCnt + toHost.size() - reportedFwdCnt);
                    update = state == State.ESTABLISHED && HOST_BUF_BYTES - believedUsed < VirtioVsock.MAX_PAYLOAD_BYTES;
                }
                if (update) device.sendCreditUpdate(this);
            }
        } catch (IOException e) {
            device.hostFailed(this, "writing the host socket: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (this) {
                writerGone = true;
            }
        }
    }

    /**
     * Ends the guest side. With {@code drain}, the writer first delivers what the guest already sent
     * and then closes the host socket (a guest that writes and closes loses nothing); without, the
     * socket closes now (reset, VM shutdown).
     */
    void close(boolean drain) {
        boolean closeNow;
        synchronized (this) {
            if (state == State.CLOSED) return;
            state = State.CLOSED;
            closeNow = !drain || toHost.size() == 0 || writerGone;
            notifyAll();
        }
        established.complete(false);
        if (closeNow) closeChannel();
    }

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing to do: the peer sees the socket end either way.
        }
    }

    @Override
    public String toString() {
        return "vsock " + Integer.toUnsignedString(hostPort) + "<->guest " + Integer.toUnsignedString(guestPort);
    }
}
