package dev.airlock.store.format;

import java.util.HexFormat;

/** The 128-bit random identity of a log record; survives cleaning, so replicas can ask "have you got X?". */
public record RecordId(long hi, long lo) {

    public static RecordId parse(String hex32) {
        if (hex32.length() != 32) {
            throw new IllegalArgumentException("record id must be 32 hex digits: " + hex32);
        }
        return new RecordId(HexFormat.fromHexDigitsToLong(hex32, 0, 16),
                HexFormat.fromHexDigitsToLong(hex32, 16, 32));
    }

    @Override
    public String toString() {
        HexFormat hex = HexFormat.of();
        return hex.toHexDigits(hi) + hex.toHexDigits(lo);
    }
}
