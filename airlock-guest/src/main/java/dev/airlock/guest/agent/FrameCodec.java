package dev.airlock.guest.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * The frame layout of agent protocol 1. Every integer is big-endian.
 *
 * <pre>
 *  0               4     5               9
 *  +---------------+-----+---------------+---------------------------+
 *  | payload length| type|   stream id   | payload (length bytes)    |
 *  |   u32         | u8  |   u32         | at most 1 MiB             |
 *  +---------------+-----+---------------+---------------------------+
 * </pre>
 *
 * Decoding is defensive: a length over the limit or an unknown type is an
 * {@link AgentProtocolException}, never an allocation or a silent skip.
 */
public final class FrameCodec {

    public static final int HEADER_BYTES = 9;
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int STREAM_ID_OFFSET = 5;
    /** The largest payload either side may send (the agent repeats its limit in HELLO). */
    public static final int MAX_PAYLOAD_BYTES = 1 << 20;

    private FrameCodec() {}

    /** The header of {@code frame}, ready to be written before its payload. */
    public static ByteBuffer header(FrameType type, int streamId, int payloadBytes) {
        if (payloadBytes < 0 || payloadBytes > MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("a payload of " + payloadBytes + " bytes exceeds the "
                    + MAX_PAYLOAD_BYTES + "-byte frame limit");
        }
        return ByteBuffer.allocate(HEADER_BYTES).putInt(payloadBytes).put((byte) type.code()).putInt(streamId).flip();
    }

    /** The whole frame as bytes. */
    public static byte[] encode(Frame frame) {
        ByteBuffer header = header(frame.type(), frame.streamId(), frame.payload().length);
        byte[] bytes = new byte[HEADER_BYTES + frame.payload().length];
        header.get(bytes, 0, HEADER_BYTES);
        System.arraycopy(frame.payload(), 0, bytes, HEADER_BYTES, frame.payload().length);
        return bytes;
    }

    /**
     * Decodes one frame from the front of {@code buffer}, advancing past it; returns null (and
     * leaves the position alone) when the buffer does not yet hold the whole frame.
     *
     * @throws AgentProtocolException when the header is invalid, whatever follows it
     */
    public static Frame decode(ByteBuffer buffer) throws AgentProtocolException {
        if (buffer.remaining() < HEADER_BYTES) {
            return null;
        }
        int start = buffer.position();
        int length = buffer.getInt(start + LENGTH_OFFSET);
        FrameType type = checkHeader(length, buffer.get(start + TYPE_OFFSET) & 0xFF);
        if (buffer.remaining() - HEADER_BYTES < length) {
            return null;
        }
        int streamId = buffer.getInt(start + STREAM_ID_OFFSET);
        byte[] payload = new byte[length];
        buffer.position(start + HEADER_BYTES);
        buffer.get(payload);
        return new Frame(type, streamId, payload);
    }

    /**
     * Reads one frame from a blocking channel; returns null at a clean end of stream (between
     * frames).
     *
     * @throws AgentProtocolException for an invalid header or a stream that ends inside a frame
     */
    public static Frame read(ReadableByteChannel channel, ByteBuffer headerScratch) throws IOException {
        headerScratch.clear().limit(HEADER_BYTES);
        if (!readFully(channel, headerScratch, true)) {
            return null;
        }
        int length = headerScratch.getInt(LENGTH_OFFSET);
        FrameType type = checkHeader(length, headerScratch.get(TYPE_OFFSET) & 0xFF);
        int streamId = headerScratch.getInt(STREAM_ID_OFFSET);
        byte[] payload = new byte[length];
        readFully(channel, ByteBuffer.wrap(payload), false);
        return new Frame(type, streamId, payload);
    }

    private static FrameType checkHeader(int length, int typeCode) throws AgentProtocolException {
        if (length < 0 || length > MAX_PAYLOAD_BYTES) {
            throw new AgentProtocolException("frame payload of " + Integer.toUnsignedString(length)
                    + " bytes exceeds the limit of " + MAX_PAYLOAD_BYTES);
        }
        FrameType type = FrameType.ofCode(typeCode);
        if (type == null) {
            throw new AgentProtocolException(String.format("unknown frame type 0x%02x", typeCode));
        }
        return type;
    }

    /** Fills {@code buffer}; false if the stream ended before the first byte and that is allowed. */
    private static boolean readFully(ReadableByteChannel channel, ByteBuffer buffer, boolean endAllowedAtStart)
            throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                if (endAllowedAtStart && buffer.position() == 0) {
                    return false;
                }
                throw new AgentProtocolException("the connection ended in the middle of a frame");
            }
        }
        return true;
    }
}
