package dev.airlock.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.sys.Mman;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ProcessMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void parsesTheRollupInBytes() {
        String text = """
                56054122f000-7fff1b0a5000 ---p 00000000 00:00 0                          [rollup]
                Rss:                1652 kB
                Pss:                 476 kB
                Pss_Dirty:           116 kB
                Pss_Anon:            116 kB
                Pss_File:            360 kB
                Pss_Shmem:             0 kB
                Shared_Clean:       1440 kB
                Shared_Dirty:          0 kB
                Private_Clean:        96 kB
                Private_Dirty:       116 kB
                Referenced:         1652 kB
                Anonymous:           116 kB
                KSM:                   8 kB
                LazyFree:              0 kB
                AnonHugePages:      2048 kB
                ShmemPmdMapped:        0 kB
                FilePmdMapped:         0 kB
                Swap:                  4 kB
                SwapPss:               4 kB
                Locked:                0 kB
                """;
        ProcessMemory m = ProcessMemory.parse(text, "sample");
        assertEquals(1652 * 1024, m.rssBytes());
        assertEquals(476 * 1024, m.pssBytes());
        assertEquals(360 * 1024, m.pssFileBytes());
        assertEquals(1440 * 1024, m.sharedCleanBytes());
        assertEquals(116 * 1024, m.privateDirtyBytes());
        assertEquals(8 * 1024, m.ksmBytes());
        assertEquals(2048 * 1024, m.anonHugePagesBytes());
        assertEquals(4 * 1024, m.swapPssBytes());
        // An older kernel's rollup without Pss_Dirty or KSM still parses; the missing fields read 0.
        ProcessMemory old = ProcessMemory.parse("Rss: 8 kB\nPss: 4 kB\n", "old");
        assertEquals(0, old.ksmBytes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProcessMemory.parse("Rss: 8 kB\n", "broken-file"));
        assertTrue(e.getMessage().contains("broken-file"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProcessMemory.parse("Rss: x kB\nPss: 4 kB\n", "bad"));
        assertTrue(e.getMessage().contains("bad line 1"), e.getMessage());
    }

    @Test
    void rssGrowsByWrittenPagesButNotByReadZeroPages() {
        long sizeBytes = 64 * MIB;
        int page = Mman.pageSizeBytes();
        MemorySegment m = Mman.mapAnonymous(sizeBytes);
        try (FrameAccounting accounting = FrameAccounting.open()) {
            ProcessMemory before = ProcessMemory.readSelf();
            long sum = 0;
            for (long off = 0; off < sizeBytes; off += page) sum += m.get(ValueLayout.JAVA_BYTE, off);
            assertEquals(0, sum);
            ProcessMemory afterRead = ProcessMemory.readSelf();
            for (long off = 0; off < sizeBytes; off += page) m.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
            ProcessMemory afterWrite = ProcessMemory.readSelf();
            FrameUsage usage = accounting.classify(m.address(), sizeBytes);

            // The JVM allocates alongside us, so allow it 16 MiB of noise in either direction.
            long readGrowth = afterRead.rssBytes() - before.rssBytes();
            long writeGrowth = afterWrite.rssBytes() - afterRead.rssBytes();
            assertTrue(readGrowth < 16 * MIB, "reading maps the zero page, which Rss leaves out: grew " + readGrowth);
            assertTrue(writeGrowth > sizeBytes - 16 * MIB, "writing 64 MiB grew Rss by " + writeGrowth);
            long dirtyGrowth = afterWrite.privateDirtyBytes() - afterRead.privateDirtyBytes();
            assertTrue(dirtyGrowth > sizeBytes - 16 * MIB, "Private_Dirty grew by " + dirtyGrowth);
            assertTrue(afterWrite.anonymousBytes() - afterRead.anonymousBytes() > sizeBytes - 16 * MIB);
            assertEquals(sizeBytes, usage.bytes(FrameKind.PRIVATE), usage.toString());
        } finally {
            Mman.munmap(m);
        }
    }
}
