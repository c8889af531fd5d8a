package dev.airlock.vmm.virtio.vsock;

import static dev.airlock.vmm.virtio.vsock.VsockHeader.*;
import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class VirtioVsockTest extends VsockHostFixture {
    /** A host program connects through the Unix socket; the guest accepts; bytes flow both ways; the guest closes. */
    @Test
    void hostConnectsThroughTheUnixSocket() throws Exception {
        Path socket = start();
        try (SocketChannel host = unix(socket)) {
            VsockDriver.Packet request = requestFromHost(host, 1024);
            assertEquals(7, request.header().dstCid);
            assertEquals(1024, request.header().dstPort);
            assertEquals(VirtioVsock.HOST_CID, request.header().srcCid);
            int hostPort = request.header().srcPort;
            guest.send(guest.header(OP_RESPONSE, 1024, hostPort), new byte[0]);
            assertConnected(host, hostPort);

            write(host, "ping");
            VsockDriver.Packet data = guest.expect(OP_RW);
            assertEquals("ping", new String(data.payload(), StandardCharsets.US_ASCII));

            guest.send(guest.header(OP_RW, 1024, hostPort), "pong".getBytes(StandardCharsets.US_ASCII));
            assertEquals("pong", read(host, 4));

            VsockHeader shutdown = guest.header(OP_SHUTDOWN, 1024, hostPort);
            shutdown.flags = SHUTDOWN_RCV | SHUTDOWN_SEND;
            guest.send(shutdown, new byte[0]);
            guest.expect(OP_RST);
            assertEquals("", read(host, 1), "the host side sees end of file");
            assertEquals(0, guest.device.connectionCount());
        }
    }

    /**
     * A restored guest that has not handled the transport reset yet answers under the template's CID:
     * the host's connection fails at once (its client retries) instead of waiting out the accept timeout.
     */
    @Test
    void anAnswerUnderAnotherCidFailsTheConnectionAtOnce() throws Exception {
        Path socket = start();
        try (SocketChannel host = unix(socket)) {
            VsockDriver.Packet request = requestFromHost(host, 1024);
            VsockHeader answer = guest.header(OP_RESPONSE, 1024, request.header().srcPort);
            answer.srcCid = 3; // the template's
            long t0 = System.nanoTime();
            guest.send(answer, new byte[0]);
            assertEquals("", read(host, 1), "the host socket closes");
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "closed well before the 10 s accept timeout");
            assertEquals(OP_RST, guest.expect(OP_RST).op());
        }
        try (SocketChannel host = unix(socket)) { // the retry, once the guest has its new CID
            acceptFromHost(host, 1024);
        }
    }

    @Test
    void aRefusedConnectionClosesTheHostSocket() throws Exception {
        Path socket = start();
        try (SocketChannel host = unix(socket)) {
            VsockDriver.Packet request = requestFromHost(host, 9);
            guest.send(guest.header(OP_RST, 9, request.header().srcPort), new byte[0]);
            assertEquals("", read(host, 1));
        }
        try (SocketChannel host = unix(socket)) {
            write(host, "HELLO\n");
            assertTrue(read(host, 64).startsWith("ERR"), "a bad handshake is answered, not hung");
        }
    }

    /** A clone's proxy: unbound at first (the guest may already reach the host), bound in the background, then used. */
    @Test
    void aProxyBoundInTheBackgroundServesOnceListening() throws Exception {
        guest = new VsockDriver(7);
        Path socket = dir.resolve("vm.sock");
        proxy = VsockUnixProxy.unbound(guest.device, socket);
        assertFalse(java.nio.file.Files.exists(socket), "nothing bound before listenInBackground");
        guest.send(guest.header(OP_REQUEST, 40000, 5000), new byte[0]);
        guest.expect(OP_RST); // the guest's connections to the host are served at once (nothing listens on 5000)
        proxy.listenInBackground();
        assertTrue(proxy.awaitListening());
        try (SocketChannel host = unix(socket)) {
            VsockDriver.Packet request = requestFromHost(host, 1024);
            assertEquals(1024, request.header().dstPort);
        }
        proxy.close();
        assertFalse(proxy.awaitListening(), "closed: never again");
        assertFalse(java.nio.file.Files.exists(socket));
    }

    /** The guest connects to host CID 2 port 5000: it reaches the Unix socket vm.sock_5000; nothing there means RST. */
    @Test
    void guestConnectsToTheHost() throws Exception {
        Path socket = start();
        guest.send(guest.header(OP_REQUEST, 40000, 5000), new byte[0]);
        guest.expect(OP_RST);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket.resolveSibling("vm.sock_5000")));
            guest.send(guest.header(OP_REQUEST, 40001, 5000), new byte[0]);
            try (SocketChannel accepted = server.accept()) {
                guest.expect(OP_RESPONSE);
                guest.send(guest.header(OP_RW, 40001, 5000), "from guest".getBytes(StandardCharsets.US_ASCII));
                assertEquals("from guest", read(accepted, 10));
                write(accepted, "from host");
                assertEquals("from host", new String(guest.expect(OP_RW).payload(), StandardCharsets.US_ASCII));
                accepted.shutdownOutput();
                VsockDriver.Packet end = guest.expect(OP_SHUTDOWN);
                assertEquals(SHUTDOWN_SEND, end.header().flags);
            }
        }
    }

    /** More data than the guest's credit allows waits until the guest reports it consumed some. */
    @Test
    void hostDataWaitsForGuestCredit() throws Exception {
        Path socket = start();
        try (SocketChannel host = unix(socket)) {
            int hostPort = requestFromHost(host, 1024).header().srcPort;
            VsockHeader response = guest.header(OP_RESPONSE, 1024, hostPort);
            response.bufAlloc = 1000;
            guest.send(response, new byte[0]);
            read(host, 3 + Integer.toUnsignedString(hostPort).length() + 1);
            write(host, "x".repeat(3000));
            int got = 0;
            for (VsockDriver.Packet p; (p = guest.poll(300)) != null; ) {
                if (p.op() == OP_RW) got += p.payload().length;
            }
            assertEquals(1000, got, "exactly the guest's buffer");
            VsockHeader credit = guest.header(OP_CREDIT_UPDATE, 1024, hostPort);
            credit.bufAlloc = 1000;
            credit.fwdCnt = 1000;
            guest.send(credit, new byte[0]);
            got = 0;
            for (VsockDriver.Packet p; (p = guest.poll(300)) != null; ) {
                if (p.op() == OP_RW) got += p.payload().length;
            }
            assertEquals(1000, got, "one more buffer's worth after the credit update");
        }
    }

    /** Packets with the wrong CIDs, lengths past the buffer, or unknown connections are refused, not trusted. */
    @Test
    void malformedPacketsAreRefused() throws Exception {
        start();
        VsockHeader wrongCid = guest.header(OP_REQUEST, 1, 2);
        wrongCid.srcCid = 99;
        guest.send(wrongCid, new byte[0]);
        guest.sendRaw(new byte[10]); // shorter than a header
        VsockHeader lying = guest.header(OP_RW, 1, 2);
        byte[] bytes = new byte[SIZE_BYTES];
        lying.len = 1 << 20;
        lying.encode(bytes);
        guest.sendRaw(bytes);
        guest.send(guest.header(OP_RW, 3, 4), "no such connection".getBytes(StandardCharsets.US_ASCII));
        assertTrue(guest.device.protocolErrors() >= 3, "counted: " + guest.device.protocolErrors());
        assertEquals(OP_RST, guest.expect(OP_RST).op());
        assertEquals(0, guest.transport.needsResetEvents(), "bad packets reset connections, not the device");
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void connectLinesAreParsedStrictly() {
        assertEquals(1024, VsockUnixProxy.parseConnect("CONNECT 1024"));
        assertEquals(-1, VsockUnixProxy.parseConnect("CONNECT"));
        assertEquals(-1, VsockUnixProxy.parseConnect("CONNECT -1"));
        assertEquals(-1, VsockUnixProxy.parseConnect("CONNECT 99999999999"));
        assertEquals(-1, VsockUnixProxy.parseConnect("connect 5"));
        assertEquals(-1, VsockUnixProxy.parseConnect(null));
        assertEquals((int) 4294967294L, VsockUnixProxy.parseConnect("CONNECT 4294967294"));
    }
}
