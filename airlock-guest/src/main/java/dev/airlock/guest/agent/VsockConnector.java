package dev.airlock.guest.agent;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reaches a guest vsock port through the VM's Unix socket, Firecracker's "hybrid vsock"
 * convention: connect, write {@code CONNECT <port>\n}, read {@code OK <hostport>\n}; from then on
 * the socket is the guest connection.
 */
public final class VsockConnector {

    /** Longest reply line we accept; "OK 4294967295\n" is 14 bytes. */
    private static final int MAX_REPLY_BYTES = 64;

    private VsockConnector() {}

    /**
     * Connects to guest {@code port} through the VM's vsock socket at {@code vmSocket}.
     *
     * @throws AgentUnreachableException when the socket is missing, the proxy refuses the port
     *     (nothing listens there yet), or it does not answer within {@code timeout}
     */
    public static SocketChannel connect(Path vmSocket, int port, Duration timeout) throws AgentUnreachableException {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw new AgentUnreachableException("cannot open a Unix socket: " + e.getMessage(), e);
        }
        // Blocking channel reads cannot time out, so the handshake runs on a virtual thread and
        // the channel is closed if it takes too long.
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            var handshake = executor.submit(() -> {
                channel.connect(UnixDomainSocketAddress.of(vmSocket));
                channel.write(ByteBuffer.wrap(("CONNECT " + Integer.toUnsignedString(port) + "\n")
                        .getBytes(StandardCharsets.US_ASCII)));
                return readLine(channel);
            });
            String reply;
            try {
                reply = handshake.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                closeQuietly(channel);
                handshake.cancel(true);
                throw new AgentUnreachableException("the vsock socket " + vmSocket + " did not answer CONNECT "
                        + port + " within " + timeout.toMillis() + " ms");
            } catch (ExecutionException e) {
                closeQuietly(channel);
                throw new AgentUnreachableException("cannot reach guest vsock port " + port + " through "
                        + vmSocket + ": " + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                closeQuietly(channel);
                Thread.currentThread().interrupt();
                throw new AgentUnreachableException("interrupted while connecting to " + vmSocket, e);
            }
            if (reply == null || !reply.startsWith("OK ")) {
                closeQuietly(channel);
                throw new AgentUnreachableException("the VM refused a connection to guest vsock port " + port
                        + " (" + (reply == null ? "the socket closed" : "it answered '" + reply + "'")
                        + "); is the agent running in the guest?");
            }
            return channel;
        }
    }

    /** One line without its newline, read a byte at a time so nothing past it is consumed; null at EOF. */
    private static String readLine(SocketChannel channel) throws IOException {
        var line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (line.length() < MAX_REPLY_BYTES) {
            one.clear();
            if (channel.read(one) < 0) {
                return line.isEmpty() ? null : line.toString();
            }
            char c = (char) (one.get(0) & 0xFF);
            if (c == '\n') {
                return line.toString();
            }
            line.append(c);
        }
        return line.toString();
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do with it
        }
    }
}
