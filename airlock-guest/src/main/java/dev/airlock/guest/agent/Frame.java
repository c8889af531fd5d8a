package dev.airlock.guest.agent;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One frame of the agent protocol: a type, the stream (request) it belongs to, and its payload.
 * {@code streamId} is an unsigned 32-bit value carried in an int.
 */
public record Frame(FrameType type, int streamId, byte[] payload) {

    public Frame {
        if (type == null || payload == null) {
            throw new NullPointerException("type and payload are required");
        }
    }

    public Frame(FrameType type, int streamId) {
        this(type, streamId, new byte[0]);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Frame that && type == that.type && streamId == that.streamId
                && Arrays.equals(payload, that.payload);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * type.hashCode() + streamId) + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        String shown = payload.length <= 32 ? HexFormat.of().formatHex(payload)
                : HexFormat.of().formatHex(payload, 0, 32) + "...";
        return type + "[stream " + Integer.toUnsignedString(streamId) + ", " + payload.length + " bytes " + shown + "]";
    }
}
