package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void errnoIsTypedAndNamed() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Mman.madvise(1, 4096, Mman.MADV_DONTNEED));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("madvise", e.syscall());
    }
}
