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

    @Test
    void discardReleasesPagesThatThenReadZero() {
        try (GuestMemory mem = new GuestMemory(0x8000_0000L, 64 * GuestMemory.PAGE_SIZE)) {
            assertEquals(0, mem.residentBytes());
            for (int p = 0; p < 8; p++) mem.write(0x8000_0000L + p * GuestMemory.PAGE_SIZE + 5, new byte[] {42});
            assertEquals(8 * GuestMemory.PAGE_SIZE, mem.residentBytes());
            mem.discard(0x8000_2000L, 3 * GuestMemory.PAGE_SIZE);
            assertEquals(5 * GuestMemory.PAGE_SIZE, mem.residentBytes());
            assertArrayEquals(new byte[1], mem.read(0x8000_2005L, 1));
            assertArrayEquals(new byte[] {42}, mem.read(0x8000_1005L, 1));
            assertArrayEquals(new byte[] {42}, mem.read(0x8000_5005L, 1));
            // Reading the discarded page mapped the host's zero page, which mincore counts as resident.
            assertEquals(6 * GuestMemory.PAGE_SIZE, mem.residentBytes());
            mem.discard(0x8000_0000L, 0);
            assertEquals(6 * GuestMemory.PAGE_SIZE, mem.residentBytes());
        }
    }

    @Test
    void discardRefusesUnalignedOrOutsideRanges() {
        try (GuestMemory mem = new GuestMemory(0x8000_0000L, 16 * GuestMemory.PAGE_SIZE)) {
            long[][] bad = {
                    {0x8000_0001L, 4096}, {0x8000_0000L, 100}, {0x7fff_f000L, 8192}, {0x8000_f000L, 8192},
                    {0x8000_0000L, -4096}, {0x8000_0000L, Long.MIN_VALUE}, {Long.MAX_VALUE & ~0xfffL, 4096},
            };
            for (long[] r : bad) {
                assertThrows(IllegalArgumentException.class, () -> mem.discard(r[0], r[1]),
                        Long.toHexString(r[0]) + "+" + r[1]);
            }
        }
    }
}
