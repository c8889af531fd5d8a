package dev.airlock.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFilesTest {
    @TempDir Path dir;

    @Test
    void stateSectionsRoundTrip() throws Exception {
        Path f = dir.resolve("vm.state");
        var sections = List.of(new StateFile.Section("HART", 0, new byte[] {1, 2, 3}),
                new StateFile.Section("HART", 1, new byte[0]), new StateFile.Section("PLIC", 0, new byte[300]));
        StateFile.write(f, sections);
        List<StateFile.Section> back = StateFile.read(f);
        assertEquals(3, back.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(sections.get(i).tag(), back.get(i).tag());
            assertEquals(sections.get(i).instance(), back.get(i).instance());
            assertArrayEquals(sections.get(i).payload(), back.get(i).payload());
        }
    }

    /** Every single flipped byte and every truncation is refused with the file's name and an offset. */
    @Test
    void everyCorruptionIsReportedWithFileAndOffset() throws Exception {
        Path f = dir.resolve("vm.state");
        StateFile.write(f, List.of(new StateFile.Section("HART", 0, new byte[64]), new StateFile.Section("CLNT", 0, new byte[16])));
        byte[] good = Files.readAllBytes(f);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x5a;
            Files.write(f, bad);
            var e = assertThrows(SnapshotFormatException.class, () -> StateFile.read(f), "flipped byte " + i);
            assertTrue(e.getMessage().startsWith(f.toString() + " at offset "), e.getMessage());
        }
        for (int n = 0; n < good.length; n++) {
            Files.write(f, java.util.Arrays.copyOf(good, n));
            assertThrows(SnapshotFormatException.class, () -> StateFile.read(f), "truncated to " + n);
        }
    }

    @Test
    void memoryRoundTripsWithZeroPagesAsHoles() throws Exception {
        long size = 8L << 20;
        try (GuestMemory ram = new GuestMemory(0x8000_0000L, size); GuestMemory back = new GuestMemory(0x8000_0000L, size)) {
            Random r = new Random(5);
            byte[] page = new byte[4096];
            for (int i = 0; i < 40; i++) {
                r.nextBytes(page);
                ram.write(0x8000_0000L + 4096L * r.nextInt((int) (size / 4096)), page);
            }
            Path f = dir.resolve("vm.mem");
            MemoryFile.Checksums sums = MemoryFile.write(ram, f);
            assertEquals(size, Files.size(f));
            assertTrue(sums.dataPages() <= 40 && sums.dataPages() > 30, "data pages " + sums.dataPages());
            Process du = new ProcessBuilder("du", "-B1", f.toString()).start();
            long allocated = Long.parseLong(new String(du.getInputStream().readAllBytes()).split("\\s+")[0]);
            assertTrue(allocated < size / 4, "zero pages must be holes: " + allocated + " bytes allocated");
            MemoryFile.Checksums decoded = MemoryFile.Checksums.decode(java.nio.ByteBuffer.wrap(sums.encode())
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN));
            MemoryFile.load(f, decoded, back);
            assertEquals(-1, ram.segment().mismatch(back.segment()));
        }
    }

    @Test
    void aDamagedOrTruncatedMemoryFileIsRefused() throws Exception {
        try (GuestMemory ram = new GuestMemory(0x8000_0000L, 4L << 20)) {
            ram.write(0x8000_0000L + (3L << 20), new byte[] {42});
            Path f = dir.resolve("vm.mem");
            MemoryFile.Checksums sums = MemoryFile.write(ram, f);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.seek(3L << 20);
                raf.write(43);
            }
            var e = assertThrows(SnapshotFormatException.class, () -> MemoryFile.verify(f, sums));
            assertEquals(2L << 20, e.offset(), e.getMessage());
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(1L << 20);
            }
            assertThrows(SnapshotFormatException.class, () -> MemoryFile.verify(f, sums));
        }
    }
}
