package dev.airlock.vmm.virtio.vsock;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import dev.airlock.vmm.io.UnixSocketServer;
import dev.airlock.vmm.io.UnixSockets;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A VM's vsock as a Unix socket, in Firecracker's "hybrid vsock" convention. A host program
 * connects to {@code path}, writes {@code CONNECT <port>\n} and reads {@code OK <hostport>\n};
 * from then on the socket is a stream to that guest port. A guest connecting to host (CID 2) port
 * P reaches whatever listens on the Unix socket {@code path_P}.
 */
public final class VsockUnixProxy implements AutoCloseable {
    /** "CONNECT 4294967295\n" is 19 bytes; anything longer is not a handshake. */
    private static final int MAX_LINE_BYTES = 64;
    /** How long the guest has to accept or refuse; a guest that never answers is not waited for forever. */
    private static final Duration ACCEPT_TIMEOUT = Duration.ofSeconds(10);

    private final VirtioVsock device;
    private final Path path;
    // Null until the socket is started; then the server, which binds it (now or in the background).
    private UnixSocketServer server;
    private boolean closed;

    private VsockUnixProxy(VirtioVsock device, Path path) {
        this.device = device;
        this.path = path;
        device.setHostConnector(this::connectHost);
    }

    /**
     * Listens on {@code path} (a stale socket file left by a dead VM is replaced) for connections
     * into {@code device}'s guest; the file exists when this returns.
     */
    public static VsockUnixProxy listen(VirtioVsock device, Path path) throws IOException {
        var proxy = new VsockUnixProxy(device, path);
        synchronized (proxy) {
            proxy.server = UnixSocketServer.start(path, "the vsock socket", proxy::handshake);
        }
        return proxy;
    }

    /**
     * The proxy for {@code device} at {@code path}, not listening yet: the guest's connections to the
     * host work at once, host clients only after {@link #listenInBackground}. A clone starts its guest
     * first and binds the socket after, off the path to its first instruction.
     */
    public static VsockUnixProxy unbound(VirtioVsock device, Path path) {
        return new VsockUnixProxy(device, path);
    }

    /**
     * An unbound proxy for the same device at {@code path}, which takes this one's place: how a clone
     * made ahead of time under a provisional name gets its real socket. This one must never have listened.
     */
    public VsockUnixProxy movedTo(Path path) {
        synchronized (this) {
            if (server != null || closed) throw new IllegalStateException("the proxy at " + this.path + " is bound or closed");
            closed = true;
        }
        return new VsockUnixProxy(device, path);
    }

    /** Starts binding the socket on a background thread, unless it is bound, binding or closed. */
    public synchronized void listenInBackground() {
        if (server == null && !closed) server = UnixSocketServer.startInBackground(path, "the vsock socket", this::handshake);
    }

    /**
     * Waits until host clients can connect (starting the bind if nobody has); false if the proxy was
     * closed first, so they never will.
     *
     * @throws IOException if the socket could not be bound, with a message for the user
     */
    public boolean awaitListening() throws IOException, InterruptedException {
        UnixSocketServer s;
        synchronized (this) {
            listenInBackground();
            if (closed) return false;
            s = server;
        }
        return s.awaitListening();
    }

    public Path path() { return path; }

    /** Guest → host: the Unix socket {@code path_PORT}, if something listens there. */
    private SocketChannel connectHost(int port) throws IOException {
        Path target = path().resolveSibling(path().getFileName() + "_" + Integer.toUnsignedString(port));
        if (!Files.exists(target)) return null;
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(target));
            return channel;
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    private void handshake(SocketChannel client) {
        try {
            String line = UnixSockets.readLine(client, MAX_LINE_BYTES);
            int port = parseConnect(line);
            if (port < 0) {
                reply(client, "ERR expected 'CONNECT <port>'\n");
                client.close();
                return;
            }
            VsockConnection c = device.connectToGuest(port, client);
            if (c == null) {
                reply(client, "ERR the guest's vsock driver is not running\n");
                client.close();
                return;
            }
            boolean accepted;
            try {
                accepted = c.established.get(ACCEPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                device.abandon(c);
                return;
            }
            if (!accepted) {
                client.close(); // nothing listens on that guest port: Firecracker just closes
                return;
            }
            reply(client, "OK " + Integer.toUnsignedString(c.hostPort) + "\n");
            c.startRelays();
        } catch (IOException e) {
            closeQuietly(client);
        } catch (InterruptedException e) {
            closeQuietly(client);
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            closeQuietly(client);
        }
    }

    /** The port of a {@code CONNECT <port>} line, or -1. */
    static int parseConnect(String line) {
        if (line == null || !line.startsWith("CONNECT ")) return -1;
        String number = line.substring("CONNECT ".length()).trim();
        if (number.isEmpty() || number.length() > 10 || !number.chars().allMatch(Character::isDigit)) return -1;
        long port = Long.parseLong(number);
        return port > 0xffff_ffffL ? -1 : (int) port;
    }

    private static void reply(SocketChannel client, String text) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (bb.hasRemaining()) client.write(bb);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        device.setHostConnector(port -> null);
        UnixSocketServer s;
        synchronized (this) {
            closed = true;
            s = server;
        }
        if (s != null) s.close();
    }
}
