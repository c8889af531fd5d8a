package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client's side of connecting: fake agents and a fake vsock proxy on Unix sockets. */
@Timeout(30)
class ClientHandshakeTest {

    @TempDir
    Path dir;

    interface Peer {
        void serve(SocketChannel connection) throws Exception;
    }

    /** Accepts one connection on a fresh Unix socket and runs {@code peer} on it. */
    private Path fakeServer(String name, Peer peer) throws IOException {
        Path socket = dir.resolve(name);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().start(() -> {
            try (server; SocketChannel connection = server.accept()) {
                peer.serve(connection);
            } catch (Exception ignored) {
                // the test sees the effect on the client
            }
        });
        return socket;
    }

    @Test
    void anAgentOfAnotherMajorVersionIsAVersionError() throws Exception {
        Path socket = fakeServer("v2.sock", connection -> {
            AgentRobustnessTest.read(connection);
            AgentRobustnessTest.write(connection, FrameCodec.encode(new Frame(FrameType.HELLO, 0,
                    Messages.agentHello(new AgentHello(2, 0, 4096, 4096, "agent from the future")))));
            Thread.sleep(1000);
        });
        var e = assertThrows(ProtocolVersionException.class, () -> AgentClient.connect(socket));
        assertTrue(e.getMessage().contains("speaks protocol version 2"), e.getMessage());
    }

    @Test
    void anAgentThatRejectsOurVersionIsAVersionError() throws Exception {
        Path socket = fakeServer("old.sock", connection -> {
            AgentRobustnessTest.read(connection);
            AgentRobustnessTest.write(connection, FrameCodec.encode(new Frame(FrameType.ERROR, 0,
                    Messages.error(new Messages.RemoteError(Errno.EPROTONOSUPPORT, "this agent speaks 0.9")))));
        });
        var e = assertThrows(ProtocolVersionException.class, () -> AgentClient.connect(socket));
        assertTrue(e.getMessage().contains("this agent speaks 0.9"), e.getMessage());
    }

    @Test
    void silenceIsUnreachableAfterTheTimeout() throws Exception {
        Path socket = fakeServer("silent.sock", connection -> Thread.sleep(5000));
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        var e = assertThrows(AgentUnreachableException.class,
                () -> AgentClient.open(channel, "silent agent", Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains("did not answer HELLO within 200 ms"), e.getMessage());
    }

    @Test
    void aMissingSocketIsUnreachable() {
        var e = assertThrows(AgentUnreachableException.class, () -> AgentClient.connect(dir.resolve("nothing.sock")));
        assertTrue(e.getMessage().contains("nothing.sock"), e.getMessage());
    }

    @Test
    void vsockProxyHandshakeThenTheAgentConversation() throws Exception {
        try (var agent = new RunningAgent(AgentBinaries.host(), dir)) {
            Path vmSocket = fakeServer("vm.vsock", connection -> {
                assertEquals("CONNECT 1024", readLine(connection));
                AgentRobustnessTest.write(connection, "OK 1073741824\n".getBytes(StandardCharsets.US_ASCII));
                try (SocketChannel guest = SocketChannel.open(UnixDomainSocketAddress.of(agent.socket))) {
                    Thread.ofVirtual().start(() -> pump(guest, connection));
                    pump(connection, guest);
                }
            });
            try (AgentClient client = AgentClient.connectVsock(vmSocket)) {
                assertEquals("through vsock\n", client.run("echo", "through vsock").stdoutText());
            }
        }
    }

    @Test
    void aRefusedVsockPortIsUnreachable() throws Exception {
        Path vmSocket = fakeServer("refusing.vsock", connection -> {
            readLine(connection);
            // Firecracker closes the connection when nothing listens on the guest port.
        });
        var e = assertThrows(AgentUnreachableException.class,
                () -> AgentClient.connectVsock(vmSocket, 1024, Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("refused a connection to guest vsock port 1024"), e.getMessage());
    }

    private static String readLine(SocketChannel channel) throws IOException {
        var line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (channel.read(one.clear()) > 0 && one.get(0) != '\n') {
            line.append((char) one.get(0));
        }
        return line.toString();
    }

    private static void pump(SocketChannel from, SocketChannel to) {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        try {
            while (from.read(buffer.clear()) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    to.write(buffer);
                }
            }
            to.shutdownOutput();
        } catch (IOException ignored) {
            // one side went away
        }
    }
}
