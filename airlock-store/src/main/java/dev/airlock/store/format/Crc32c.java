package dev.airlock.store.format;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C helpers over buffer ranges without moving the caller's position. */
public final class Crc32c {
    private Crc32c() {
    }

    public static int of(ByteBuffer buffer, int fromIndex, int lengthBytes) {
        CRC32C crc = new CRC32C();
        crc.update(buffer.slice(fromIndex, lengthBytes));
        return (int) crc.getValue();
    }

    public static int of(ByteBuffer first, int firstFrom, int firstLength, ByteBuffer second, int secondFrom,
            int secondLength) {
        CRC32C crc = new CRC32C();
        crc.update(first.slice(firstFrom, firstLength));
        crc.update(second.slice(secondFrom, secondLength));
        return (int) crc.getValue();
    }
}
