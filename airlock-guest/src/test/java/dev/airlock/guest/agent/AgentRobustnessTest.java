package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile input from raw sockets, against the agent built with AddressSanitizer and
 * UBSan: each bad connection gets an ERROR frame and is closed, the agent keeps serving others and
 * never trips a sanitizer.
 */
@Timeout(120)
class AgentRobustnessTest {

    private static final long BASE_SEED = Long.getLong("airlock.fuzz.seed", 0xA6E7L);

    @TempDir
    static Path dir;
    static RunningAgent agent;

    @BeforeAll
    static void start() throws Exception {
        agent = new RunningAgent(AgentBinaries.sanitized(), dir);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            String log = agent.log();
            agent.close();
            assertFalse(log.contains("AddressSanitizer") || log.contains("runtime error"), log);
        }
    }

    @Test
    void aMalformedFrameGetsAnErrorAndOthersAreStillServed() throws Exception {
        try (AgentClient bystander = agent.connect(); SocketChannel raw = rawConnection()) {
            hello(raw, 1);
            assertEquals(FrameType.HELLO, read(raw).type());
            write(raw, new byte[] {0, 0, 0, 0, 0x55, 0, 0, 0, 1});
            expectErrorThenClose(raw, Errno.EPROTO, "unexpected frame type 0x55");
            assertEquals("ok\n", bystander.run("echo", "ok").stdoutText());
            try (AgentClient second = agent.connect()) {
                assertTrue(second.ping().toMillis() < 5_000);
            }
        }
    }

    @Test
    void oversizedFrameIsRefusedBeforeItsPayloadArrives() throws Exception {
        try (SocketChannel raw = rawConnection()) {
            hello(raw, 1);
            read(raw);
            write(raw, ByteBuffer.allocate(9).putInt(FrameCodec.MAX_PAYLOAD_BYTES + 1).put((byte) 0x21).putInt(1).array());
            expectErrorThenClose(raw, Errno.EMSGSIZE, "exceeds the limit");
        }
    }

    @Test
    void anythingButHelloFirstIsRefused() throws Exception {
        try (SocketChannel raw = rawConnection()) {
            write(raw, FrameCodec.encode(new Frame(FrameType.PING, 1, new byte[0])));
            expectErrorThenClose(raw, Errno.EPROTO, "expected HELLO");
        }
    }

    @Test
    void anUnknownMajorVersionIsRefusedClearly() throws Exception {
        try (SocketChannel raw = rawConnection()) {
            hello(raw, 2);
            expectErrorThenClose(raw, Errno.EPROTONOSUPPORT, "protocol version 2.0 is not supported; this agent speaks 1.0");
        }
    }

    @Test
    void malformedPayloadsAndCreditOverrunsAreRefused() throws Exception {
        byte[][] bad = {
                FrameCodec.encode(new Frame(FrameType.EXEC, 1, new byte[] {0, 0, 0})),
                FrameCodec.encode(new Frame(FrameType.EXEC, 0, Messages.exec(ExecRequest.of("true")))),
                FrameCodec.encode(new Frame(FrameType.FILE_GET, 3, new byte[] {0, 0, 0, 9, 'x'})),
                FrameCodec.encode(new Frame(FrameType.WINDOW, 3, new byte[] {1})),
                FrameCodec.encode(new Frame(FrameType.STDOUT, 3, new byte[] {1})),
        };
        for (byte[] frame : bad) {
            try (SocketChannel raw = rawConnection()) {
                hello(raw, 1);
                read(raw);
                write(raw, frame);
                Frame error = read(raw);
                assertEquals(FrameType.ERROR, error.type());
                assertEquals(0, error.streamId());
                assertNull(read(raw), "then the agent closes the connection");
            }
        }
        try (SocketChannel raw = rawConnection()) {
            hello(raw, 1);
            int window = Messages.parseAgentHello(read(raw).payload()).stdinWindowBytes();
            write(raw, FrameCodec.encode(new Frame(FrameType.EXEC, 5,
                    Messages.exec(ExecRequest.of("sleep", "100").withStdin()))));
            assertEquals(FrameType.STARTED, read(raw).type());
            write(raw, FrameCodec.encode(new Frame(FrameType.STDIN, 5, new byte[window + 1])));
            expectErrorThenClose(raw, Errno.EBADMSG, "overruns its credit");
        }
    }

    @Test
    void randomGarbageNeverHurtsTheAgent() throws Exception {
        for (int i = 0; i < 60; i++) {
            long seed = BASE_SEED + i;
            var random = new SplittableRandom(seed);
            try (SocketChannel raw = rawConnection()) {
                if (random.nextBoolean()) {
                    hello(raw, 1);
                    read(raw);
                }
                byte[] garbage = new byte[1 + random.nextInt(200)];
                random.nextBytes(garbage);
                if (random.nextBoolean() && garbage.length >= 9) {
                    // A plausible header with a small length gets into the payload parsers.
                    garbage[0] = garbage[1] = garbage[2] = 0;
                    garbage[3] = (byte) random.nextInt(garbage.length - 8);
                    garbage[4] = (byte) FrameType.values()[random.nextInt(FrameType.values().length)].code();
                }
                write(raw, garbage);
                raw.shutdownOutput();
                // Whatever comes back must be well-formed frames, then the end.
                while (true) {
                    Frame frame;
                    try {
                        frame = read(raw);
                    } catch (AgentProtocolException e) {
                        throw new AssertionError("seed " + seed + ": the agent sent a malformed frame", e);
                    } catch (IOException e) {
                        break; // reset by the agent: fine
                    }
                    if (frame == null) {
                        break;
                    }
                }
            }
            assertTrue(agent.isAlive(), "seed " + seed + " killed the agent:\n" + agent.log());
        }
        try (AgentClient after = agent.connect()) {
            assertEquals("alive\n", after.run("echo", "alive").stdoutText());
        }
    }

    static SocketChannel rawConnection() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(agent.socket));
        return channel;
    }

    static void hello(SocketChannel raw, int major) throws IOException {
        write(raw, FrameCodec.encode(new Frame(FrameType.HELLO, 0,
                Messages.hostHello(new Messages.HostHello(major, 0, 65536, "raw test")))));
    }

    static void write(SocketChannel raw, byte[] bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            raw.write(buffer);
        }
    }

    static Frame read(SocketChannel raw) throws IOException {
        return FrameCodec.read(raw, ByteBuffer.allocate(FrameCodec.HEADER_BYTES));
    }

    static void expectErrorThenClose(SocketChannel raw, int errno, String messagePart) throws IOException {
        Frame frame = read(raw);
        assertNotNull(frame, "expected an ERROR frame before the close");
        assertEquals(FrameType.ERROR, frame.type(), frame.toString());
        assertEquals(0, frame.streamId());
        var error = Messages.parseError(frame.payload());
        assertEquals(errno, error.errno(), error.message());
        if (!error.message().contains(messagePart)) {
            fail("'" + error.message() + "' does not mention '" + messagePart + "'");
        }
        assertNull(read(raw), "the agent closes the connection after a fatal ERROR");
    }
}
