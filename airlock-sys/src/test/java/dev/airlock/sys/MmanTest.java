package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.util.Arrays;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MmanTest {
    @TempDir Path dir;

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

    @Test
    void aCloneIsBuiltInsideAReservationFromFileAndAnonymousRuns() throws IOException {
        int page = Mman.pageSizeBytes();
        // The template's memory file: 4 pages, each filled with its own page number + 1.
        byte[] template = new byte[4 * page];
        for (int p = 0; p < 4; p++) Arrays.fill(template, p * page, (p + 1) * page, (byte) (p + 1));
        Path file = Files.write(dir.resolve("template.ram"), template);

        MemorySegment ram = Mman.reserve(8L * page);
        long hva = ram.address();
        int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY);
        try {
            // Guest pages 0-2 are template pages 1-3, 3-5 were zero in the template, 6-7 are template pages 0-1.
            MemorySegment head = Mman.mapFilePrivateFixed(hva, 3L * page, fd, page);
            MemorySegment zeros = Mman.mapAnonymousFixed(hva + 3L * page, 3L * page);
            MemorySegment tail = Mman.mapFilePrivateFixed(hva + 6L * page, 2L * page, fd, 0);
            assertEquals(hva, head.address());
            assertEquals(hva + 3L * page, zeros.address());
            assertEquals(hva + 6L * page, tail.address());
            Fcntl.close(fd);
            fd = -1;

            MemorySegment view = ram.reinterpret(8L * page);
            byte[] expectedFirstBytes = {2, 3, 4, 0, 0, 0, 1, 2};
            for (int p = 0; p < 8; p++) {
                assertEquals(expectedFirstBytes[p], view.get(ValueLayout.JAVA_BYTE, (long) p * page), "guest page " + p);
                assertEquals(expectedFirstBytes[p], view.get(ValueLayout.JAVA_BYTE, (long) p * page + page - 1));
            }
            view.set(ValueLayout.JAVA_BYTE, 1L * page, (byte) 99);
            view.set(ValueLayout.JAVA_BYTE, 4L * page, (byte) 98);
            assertEquals(99, view.get(ValueLayout.JAVA_BYTE, 1L * page));
            assertEquals(98, view.get(ValueLayout.JAVA_BYTE, 4L * page));
            assertEquals(2, view.get(ValueLayout.JAVA_BYTE, 7L * page), "another mapping of the same file page is unaffected");
            assertArrayEquals(template, Files.readAllBytes(file), "copy-on-write never reaches the file");

            // MAP_FIXED over a written anonymous run gives fresh zeros.
            Mman.mapAnonymousFixed(hva + 3L * page, 3L * page);
            assertEquals(0, view.get(ValueLayout.JAVA_BYTE, 4L * page));
        } finally {
            if (fd >= 0) Fcntl.close(fd);
            Mman.munmap(ram);
        }
        // One munmap of the reservation released every mapping inside it.
        try (Arena arena = Arena.ofConfined()) {
            ErrnoException gone = assertThrows(ErrnoException.class, () -> Mman.mincore(hva, 8L * page, arena.allocate(8)));
            assertEquals(Errno.ENOMEM, gone.errno());
        }
    }

    @Test
    void fixedMappingsRefuseAddressesSizesAndOffsetsOffThePageGrid() {
        int page = Mman.pageSizeBytes();
        MemorySegment ram = Mman.reserve(4L * page);
        try {
            long hva = ram.address();
            assertThrows(IllegalArgumentException.class, () -> Mman.mapAnonymousFixed(hva + 1, page));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapAnonymousFixed(0, page));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapAnonymousFixed(hva, 0));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapAnonymousFixed(hva, page + 1));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapFilePrivateFixed(hva, page, 0, 100));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapFilePrivateFixed(hva, page, 0, -page));
            assertThrows(IllegalArgumentException.class, () -> Mman.mapFilePrivate(page, 0, 1));
            // A descriptor that is not open is the kernel's EBADF, typed.
            ErrnoException e = assertThrows(ErrnoException.class, () -> Mman.mapFilePrivateFixed(hva, page, -1, 0));
            assertEquals(Errno.EBADF, e.errno());
            assertEquals("mmap", e.syscall());
        } finally {
            Mman.munmap(ram);
        }
    }
}
