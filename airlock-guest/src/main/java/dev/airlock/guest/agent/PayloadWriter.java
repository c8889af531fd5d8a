package dev.airlock.guest.agent;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds a frame payload field by field, big-endian. */
final class PayloadWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream(64);

    PayloadWriter u8(int value) {
        out.write(value);
        return this;
    }

    PayloadWriter u16(int value) {
        out.write(value >>> 8);
        out.write(value);
        return this;
    }

    PayloadWriter u32(int value) {
        out.write(value >>> 24);
        out.write(value >>> 16);
        out.write(value >>> 8);
        out.write(value);
        return this;
    }

    PayloadWriter u64(long value) {
        return u32((int) (value >>> 32)).u32((int) value);
    }

    PayloadWriter bytes(byte[] field) {
        u32(field.length);
        out.writeBytes(field);
        return this;
    }

    PayloadWriter string(String field) {
        return bytes(field.getBytes(StandardCharsets.UTF_8));
    }

    byte[] toByteArray() {
        byte[] payload = out.toByteArray();
        if (payload.length > FrameCodec.MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("the request needs " + payload.length + " bytes, over the "
                    + FrameCodec.MAX_PAYLOAD_BYTES + "-byte frame limit (too many or too long arguments?)");
        }
        return payload;
    }
}
