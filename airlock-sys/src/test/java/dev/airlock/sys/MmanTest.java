package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class MmanTest {
    @Test
    void anonymousMemoryReadsZeroAndDontneedZeroesAgain() {
        MemorySegment m = Mman.mapAnonymous(1 << 20);
        try {
            assertEquals(0L, m.get(ValueLayout.JAVA_LONG, 4096));
            m.set(ValueLayout.JAVA_LONG, 4096, 0x1234_5678_9abcL);
            assertEquals(0x1234_5678_9abcL, m.get(ValueLayout.JAVA_LONG, 4096));
            Mman.madvise(m.address() + 4096, 4096, Mman.MADV_DONTNEED);
            assertEquals(0L, m.get(ValueLayout.JAVA_LONG, 4096));
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void mincoreCountsTouchedPagesAndDontneedReleasesThem() {
        int page = Mman.pageSizeBytes();
        assertEquals(0, page & (page - 1), "page size " + page + " is a power of two");
        // 64 pages: too small for a transparent huge page, so each touch makes exactly one page resident.
        MemorySegment m = Mman.mapAnonymous(64L * page);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vector = arena.allocate(64);
            Mman.mincore(m.address(), m.byteSize(), vector);
            assertEquals(0, resident(vector));
            for (int p : new int[] {0, 7, 63}) m.set(ValueLayout.JAVA_BYTE, (long) p * page, (byte) 1);
            Mman.mincore(m.address(), m.byteSize(), vector);
            assertEquals(3, resident(vector));
            assertEquals(1, vector.get(ValueLayout.JAVA_BYTE, 7) & 1);
            Mman.madvise(m.address() + 7L * page, page, Mman.MADV_DONTNEED);
            Mman.mincore(m.address(), m.byteSize(), vector);
            assertEquals(2, resident(vector));
            assertEquals(0, vector.get(ValueLayout.JAVA_BYTE, 7) & 1);
            // A vector too short for the range is refused before the call.
            assertThrows(IllegalArgumentException.class, () -> Mman.mincore(m.address(), m.byteSize(), vector.asSlice(0, 63)));
            // An unaligned address is the kernel's EINVAL, typed.
            ErrnoException e = assertThrows(ErrnoException.class, () -> Mman.mincore(m.address() + 1, page, vector));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals("mincore", e.syscall());
        } finally {
            Mman.munmap(m);
        }
    }

    private static int resident(MemorySegment vector) {
        int n = 0;
        for (long i = 0; i < vector.byteSize(); i++) n += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
        return n;
    }

    @Test
    void errnoIsTypedAndNamed() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Mman.madvise(1, 4096, Mman.MADV_DONTNEED));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("madvise", e.syscall());
    }
}
