package dev.airlock.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    @Test
    void mapsGuestPhysicalToHostAndRejectsOutside() {
        try (GuestMemory mem = new GuestMemory(0x8000_0000L, 1 << 20)) {
            assertEquals(-1, mem.hvaOf(0x7fff_ffffL));
            assertEquals(-1, mem.hvaOf(0x8010_0000L));
            long hva = mem.hvaOf(0x8000_1000L);
            HostMemory.ALL.set(HostMemory.I32, hva, 0xdeadbeef);
            assertArrayEquals(new byte[] {(byte) 0xef, (byte) 0xbe, (byte) 0xad, (byte) 0xde}, mem.read(0x8000_1000L, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> mem.write(0x800f_fffeL, new byte[4]));
        }
    }
}
