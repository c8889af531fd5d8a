package dev.airlock.vmm.virtio.vsock;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A {@link VsockDriver} guest behind a real Unix-socket proxy, and the host-side socket chores its tests share. */
abstract class VsockHostFixture {
    @TempDir Path dir;
    VsockDriver guest;
    VsockUnixProxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) proxy.close();
        if (guest != null) guest.close();
    }

    /** Starts a guest with CID 7 and its proxy; returns the VM's vsock socket. */
    Path start() throws IOException {
        guest = new VsockDriver(7);
        Path socket = dir.resolve("vm.sock");
        proxy = VsockUnixProxy.listen(guest.device, socket);
        return socket;
    }

    static SocketChannel unix(Path path) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(path));
        return c;
    }

    static void write(SocketChannel c, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) c.write(b);
    }

    /** The host program asks for guest port {@code port}; returns the REQUEST the guest then gets. */
    VsockDriver.Packet requestFromHost(SocketChannel host, int port) throws IOException, InterruptedException {
        write(host, "CONNECT " + port + "\n");
        return guest.expect(VsockHeader.OP_REQUEST);
    }

    /** The host program connects to guest port {@code port} and the guest accepts; returns the host's port. */
    int acceptFromHost(SocketChannel host, int port) throws IOException, InterruptedException {
        int hostPort = requestFromHost(host, port).header().srcPort;
        guest.send(guest.header(VsockHeader.OP_RESPONSE, port, hostPort), new byte[0]);
        assertConnected(host, hostPort);
        return hostPort;
    }

    /** Asserts that the host's CONNECT was answered OK with {@code hostPort}. */
    static void assertConnected(SocketChannel host, int hostPort) throws IOException {
        String ok = "OK " + Integer.toUnsignedString(hostPort) + "\n";
        org.junit.jupiter.api.Assertions.assertEquals(ok, read(host, ok.length()));
    }

    /** Up to {@code n} bytes, fewer only at end of file. */
    static String read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && c.read(b) >= 0) {
            // until n bytes or EOF
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }
}
