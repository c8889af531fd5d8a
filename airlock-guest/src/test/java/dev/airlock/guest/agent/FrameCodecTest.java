package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

    @Test
    void headerIsBigEndianLengthTypeStream() {
        byte[] bytes = FrameCodec.encode(new Frame(FrameType.STDOUT, 0x01020304, new byte[] {7, 8}));
        assertArrayEquals(new byte[] {0, 0, 0, 2, 0x12, 1, 2, 3, 4, 7, 8}, bytes);
    }

    @Test
    void everyTypeRoundTripsThroughDecodeAndRead() throws Exception {
        for (FrameType type : FrameType.values()) {
            var frame = new Frame(type, -5, new byte[] {1, 2, 3});
            byte[] bytes = FrameCodec.encode(frame);
            assertEquals(frame, FrameCodec.decode(ByteBuffer.wrap(bytes)));
            var channel = Channels.newChannel(new ByteArrayInputStream(bytes));
            ByteBuffer scratch = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
            assertEquals(frame, FrameCodec.read(channel, scratch));
            assertNull(FrameCodec.read(channel, scratch), "clean end of stream between frames");
        }
    }

    @Test
    void maximumPayloadIsAcceptedAndOneMoreIsNot() throws Exception {
        var frame = new Frame(FrameType.FILE_DATA, 1, new byte[FrameCodec.MAX_PAYLOAD_BYTES]);
        assertEquals(frame, FrameCodec.decode(ByteBuffer.wrap(FrameCodec.encode(frame))));
        ByteBuffer oversized = ByteBuffer.allocate(FrameCodec.HEADER_BYTES).putInt(FrameCodec.MAX_PAYLOAD_BYTES + 1)
                .put((byte) 0x21).putInt(1).flip();
        var e = assertThrows(AgentProtocolException.class, () -> FrameCodec.decode(oversized));
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> FrameCodec.encode(new Frame(FrameType.FILE_DATA, 1, new byte[FrameCodec.MAX_PAYLOAD_BYTES + 1])));
    }

    @Test
    void incompleteFramesWaitForMoreBytes() throws Exception {
        byte[] bytes = FrameCodec.encode(new Frame(FrameType.PING, 9, new byte[] {1, 2, 3, 4}));
        for (int cut = 0; cut < bytes.length; cut++) {
            ByteBuffer partial = ByteBuffer.wrap(bytes, 0, cut);
            assertNull(FrameCodec.decode(partial));
            assertEquals(0, partial.position(), "an incomplete frame consumes nothing");
        }
    }

    @Test
    void unknownTypeAndNegativeLengthAreRejected() {
        ByteBuffer unknown = ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 0x55, 0, 0, 0, 1});
        assertTrue(assertThrows(AgentProtocolException.class, () -> FrameCodec.decode(unknown)).getMessage()
                .contains("unknown frame type 0x55"));
        ByteBuffer negative = ByteBuffer.wrap(new byte[] {(byte) 0xFF, 0, 0, 0, 0x12, 0, 0, 0, 1});
        assertThrows(AgentProtocolException.class, () -> FrameCodec.decode(negative));
    }

    @Test
    void streamEndingInsideAFrameIsAProtocolError() {
        byte[] bytes = FrameCodec.encode(new Frame(FrameType.PONG, 1, new byte[10]));
        for (int cut : new int[] {1, 8, 9, 15}) {
            var channel = Channels.newChannel(new ByteArrayInputStream(bytes, 0, cut));
            assertThrows(AgentProtocolException.class,
                    () -> FrameCodec.read(channel, ByteBuffer.allocate(FrameCodec.HEADER_BYTES)));
        }
    }

    @Test
    void messagesRoundTrip() throws Exception {
        var hostHello = new Messages.HostHello(1, 0, 65536, "airlock-java");
        assertEquals(hostHello, Messages.parseHostHello(Messages.hostHello(hostHello)));
        var agentHello = new AgentHello(1, 3, 262144, 1 << 20, "airlock-agent 1.0");
        assertEquals(agentHello, Messages.parseAgentHello(Messages.agentHello(agentHello)));
        var exec = new ExecRequest(List.of("sh", "-c", "echo ünïcode"), Map.of("A", "1", "B", "x=y"), "/tmp", true, true);
        assertEquals(exec, Messages.parseExec(Messages.exec(exec)));
        assertEquals(1234, Messages.parseStarted(Messages.started(1234)));
        assertEquals(ExitStatus.exited(7), Messages.parseExit(Messages.exit(ExitStatus.exited(7))));
        assertEquals(ExitStatus.killedBy(9), Messages.parseExit(Messages.exit(ExitStatus.killedBy(9))));
        var error = new Messages.RemoteError(2, "cannot open /x: No such file or directory");
        assertEquals(error, Messages.parseError(Messages.error(error)));
        var window = new Messages.Window(Messages.CHANNEL_STDERR, 4096);
        assertEquals(window, Messages.parseWindow(Messages.window(window)));
        var signal = new Messages.Signal(15, true);
        assertEquals(signal, Messages.parseSignal(Messages.signal(signal)));
        var put = new Messages.FilePut(0755, "/usr/bin/tool");
        assertEquals(put, Messages.parseFilePut(Messages.filePut(put)));
        assertEquals("/etc/hostname", Messages.parseFileGet(Messages.fileGet("/etc/hostname")));
        assertEquals(10L << 20, Messages.parseByteCount(Messages.byteCount(10L << 20), "FILE_END"));
    }

    @Test
    void laterMinorVersionsMayAppendFields() throws Exception {
        byte[] exit = Messages.exit(ExitStatus.exited(3));
        byte[] longer = ByteBuffer.allocate(exit.length + 4).put(exit).putInt(42).array();
        assertEquals(ExitStatus.exited(3), Messages.parseExit(longer));
    }

    @Test
    void aDifferentMajorVersionIsAVersionError() {
        byte[] hello = Messages.agentHello(new AgentHello(2, 0, 4096, 4096, "future agent"));
        var e = assertThrows(ProtocolVersionException.class, () -> Messages.parseAgentHello(hello));
        assertTrue(e.getMessage().contains("speaks protocol version 2"), e.getMessage());
        // Only the major version is read: a future layout of the rest cannot confuse us.
        assertInstanceOf(ProtocolVersionException.class,
                assertThrows(AgentProtocolException.class, () -> Messages.parseAgentHello(new byte[] {0, 9})));
    }

    @Test
    void truncatedAndOverlongFieldsAreMalformed() {
        byte[] exec = Messages.exec(ExecRequest.of("true"));
        for (int cut = 0; cut < exec.length; cut++) {
            byte[] truncated = java.util.Arrays.copyOf(exec, cut);
            assertThrows(AgentProtocolException.class, () -> Messages.parseExec(truncated), "cut at " + cut);
        }
        byte[] hugeString = {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 'a'};
        assertThrows(AgentProtocolException.class, () -> Messages.parseFileGet(hugeString));
        byte[] hugeCount = ByteBuffer.allocate(12).putInt(0).putInt(0).putInt(Integer.MAX_VALUE).array();
        assertThrows(AgentProtocolException.class, () -> Messages.parseExec(hugeCount));
        assertThrows(AgentProtocolException.class, () -> Messages.parseExit(new byte[] {5, 0, 0, 0, 0}));
        assertThrows(AgentProtocolException.class, () -> Messages.parseWindow(new byte[] {7, 0, 0, 0, 1}));
    }

    @Test
    void requestsRejectWhatCannotTravel() {
        assertThrows(IllegalArgumentException.class, () -> ExecRequest.of());
        assertThrows(IllegalArgumentException.class, () -> ExecRequest.of("a\0b"));
        assertThrows(IllegalArgumentException.class, () -> ExecRequest.of("env").withEnv("A=B", "c"));
        assertThrows(IllegalArgumentException.class, () -> ExecRequest.of("env").withEnv("", "c"));
        assertThrows(IllegalArgumentException.class, () -> Messages.exec(ExecRequest.of("x".repeat(1 << 20))));
    }
}
