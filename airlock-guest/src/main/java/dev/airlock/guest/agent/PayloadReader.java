package dev.airlock.guest.agent;

import java.nio.charset.StandardCharsets;

/** Reads a frame payload field by field; any overrun is an {@link AgentProtocolException}. */
final class PayloadReader {

    private final byte[] bytes;
    private final String what;
    private int position;

    /** {@code what} names the payload in error messages, e.g. "EXIT". */
    PayloadReader(byte[] bytes, String what) {
        this.bytes = bytes;
        this.what = what;
    }

    int u8() throws AgentProtocolException {
        need(1);
        return bytes[position++] & 0xFF;
    }

    int u16() throws AgentProtocolException {
        need(2);
        int value = (bytes[position] & 0xFF) << 8 | bytes[position + 1] & 0xFF;
        position += 2;
        return value;
    }

    /** An unsigned 32-bit value in an int. */
    int u32() throws AgentProtocolException {
        need(4);
        int value = (bytes[position] & 0xFF) << 24 | (bytes[position + 1] & 0xFF) << 16
                | (bytes[position + 2] & 0xFF) << 8 | bytes[position + 3] & 0xFF;
        position += 4;
        return value;
    }

    long u64() throws AgentProtocolException {
        long high = u32() & 0xFFFF_FFFFL;
        return high << 32 | u32() & 0xFFFF_FFFFL;
    }

    /** A u32 length and that many bytes. */
    byte[] bytes() throws AgentProtocolException {
        int length = u32();
        if (length < 0 || length > bytes.length - position) {
            throw malformed("a field of " + Integer.toUnsignedString(length) + " bytes overruns the payload");
        }
        byte[] field = new byte[length];
        System.arraycopy(bytes, position, field, 0, length);
        position += length;
        return field;
    }

    String string() throws AgentProtocolException {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /** A u32 count, checked against what could possibly fit in the rest of the payload. */
    int count(int bytesPerItemAtLeast) throws AgentProtocolException {
        int count = u32();
        if (count < 0 || (long) count * bytesPerItemAtLeast > bytes.length - position) {
            throw malformed("a count of " + Integer.toUnsignedString(count) + " items overruns the payload");
        }
        return count;
    }

    AgentProtocolException malformed(String why) {
        return new AgentProtocolException("malformed " + what + " payload: " + why);
    }

    private void need(int count) throws AgentProtocolException {
        if (bytes.length - position < count) {
            throw malformed("it ends after " + bytes.length + " bytes");
        }
    }
}
