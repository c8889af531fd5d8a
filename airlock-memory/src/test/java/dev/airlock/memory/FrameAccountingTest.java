package dev.airlock.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.airlock.sys.Fcntl;
import dev.airlock.sys.Mman;
import dev.airlock.sys.PageMap;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrameAccountingTest {
    private static final int PAGE = Mman.pageSizeBytes();

    @TempDir Path dir;
    private final List<MemorySegment> mappings = new ArrayList<>();

    @AfterEach
    void unmap() {
        for (MemorySegment m : mappings) Mman.munmap(m);
    }

    @Test
    void anonymousPagesAreZeroWhenReadPrivateWhenWrittenAbsentWhenUntouched() {
        MemorySegment m = own(Mman.mapAnonymous(64L * PAGE));
        for (int p = 0; p < 10; p++) m.get(ValueLayout.JAVA_BYTE, (long) p * PAGE);
        for (int p = 10; p < 15; p++) m.set(ValueLayout.JAVA_BYTE, (long) p * PAGE, (byte) p);
        try (FrameAccounting accounting = FrameAccounting.open()) {
            assumeTrue(accounting.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            FrameUsage usage = accounting.classify(m.address(), m.byteSize());
            assertFrames(new FrameUsage(PAGE, 49, 10, 0, 0, 5, 0, true, 0), usage);
            assertEquals(5L * PAGE, usage.bytes(FrameKind.PRIVATE));
            assertEquals(15, usage.presentPages());
            assertEquals(64, usage.totalPages());
            assertEquals(FrameKind.ZERO, accounting.kindOf(m.address()));
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(m.address() + 10L * PAGE));
            assertEquals(FrameKind.NOT_PRESENT, accounting.kindOf(m.address() + 15L * PAGE));

            // Discarding a written page frees its frame; reading it again maps the zero page.
            Mman.madvise(m.address() + 10L * PAGE, PAGE, Mman.MADV_DONTNEED);
            assertEquals(FrameKind.NOT_PRESENT, accounting.kindOf(m.address() + 10L * PAGE));
            m.get(ValueLayout.JAVA_BYTE, 10L * PAGE);
            assertEquals(FrameKind.ZERO, accounting.kindOf(m.address() + 10L * PAGE));
            assertFrames(new FrameUsage(PAGE, 49, 11, 0, 0, 4, 0, true, 0), accounting.classify(m.address(), m.byteSize()));
        }
    }

    @Test
    void aPrivateFileMappingReadsTemplateFramesAndWritesPrivateCopiesUntilDiscarded() throws IOException {
        int filePages = 32;
        Path file = templateFile(filePages);
        MemorySegment m = own(mapPrivate(file, filePages));
        for (int p = 0; p < 8; p++) assertEquals(p + 1, m.get(ValueLayout.JAVA_BYTE, (long) p * PAGE));
        m.set(ValueLayout.JAVA_BYTE, 2L * PAGE, (byte) 99);
        m.set(ValueLayout.JAVA_BYTE, 3L * PAGE, (byte) 98);
        try (FrameAccounting accounting = FrameAccounting.open()) {
            assumeTrue(accounting.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            for (int p : new int[] {0, 1, 4, 5, 6, 7}) {
                assertEquals(FrameKind.TEMPLATE, accounting.kindOf(m.address() + (long) p * PAGE), "page " + p);
            }
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(m.address() + 2L * PAGE));
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(m.address() + 3L * PAGE));
            FrameUsage usage = accounting.classify(m.address(), m.byteSize());
            // A read fault maps the neighbouring page-cache pages too (the kernel's fault-around),
            // so untouched pages may already be template pages rather than absent.
            assertEquals(2, usage.privatePages(), usage.toString());
            assertEquals(0, usage.zeroPages() + usage.sharedPages(), usage.toString());
            assertEquals(filePages - 2, usage.templatePages() + usage.notPresentPages(), usage.toString());
            assertTrue(usage.templatePages() >= 6, usage.toString());
            System.out.println("after reading 8 of " + filePages + " file pages and writing 2: " + usage);

            // Discarding the private copy brings back the file's page.
            Mman.madvise(m.address() + 2L * PAGE, PAGE, Mman.MADV_DONTNEED);
            assertEquals(3, m.get(ValueLayout.JAVA_BYTE, 2L * PAGE));
            assertEquals(FrameKind.TEMPLATE, accounting.kindOf(m.address() + 2L * PAGE));
            assertEquals(1, accounting.classify(m.address(), m.byteSize()).privatePages());
        }
    }

    @Test
    void clonesOfOneTemplateHoldItsFramesOnceOnTheHost() throws IOException {
        int filePages = 16, zeroPages = 16;
        Path file = templateFile(filePages);
        // Two clones, each laid out as a clone's RAM is: the template file, then a run that was zero in it.
        MemorySegment a = own(cloneRam(file, filePages, zeroPages));
        MemorySegment b = own(cloneRam(file, filePages, zeroPages));
        for (MemorySegment ram : List.of(a, b)) {
            for (long off = 0; off < ram.byteSize(); off += PAGE) ram.get(ValueLayout.JAVA_BYTE, off);
        }
        for (int p : new int[] {1, 2, 3, 20}) a.set(ValueLayout.JAVA_BYTE, (long) p * PAGE, (byte) 0x41);
        for (int p : new int[] {2, 5, 6, 7, 8, 21, 22}) b.set(ValueLayout.JAVA_BYTE, (long) p * PAGE, (byte) 0x42);

        try (FrameAccounting accounting = FrameAccounting.open()) {
            assumeTrue(accounting.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            HostFrameTally tally = new HostFrameTally();
            FrameUsage usageA = accounting.classify(a.address(), a.byteSize(), tally);
            FrameUsage usageB = accounting.classify(b.address(), b.byteSize(), tally);
            assertFrames(new FrameUsage(PAGE, 0, 15, 13, 0, 4, 0, true, 0), usageA);
            assertFrames(new FrameUsage(PAGE, 0, 14, 11, 0, 7, 0, true, 0), usageB);
            HostFrameTotals totals = tally.totals();
            // Template page 2 was copied by both clones; the other 15 are mapped by at least one.
            assertEquals(new HostFrameTotals(PAGE, 2, 11, 15, 0, 1, 64, true), totals);
            assertEquals((11 + 15 + 1) * (long) PAGE, totals.hostBytesHeld());
            assertEquals((64 - 27) * (long) PAGE, totals.savedBytes());

            // A second pass with the same tally, cleared, gives the same answer.
            tally.clear();
            accounting.classify(a.address(), a.byteSize(), tally);
            accounting.classify(b.address(), b.byteSize(), tally);
            assertEquals(totals, tally.totals());
        }

        // Without root's frame numbers the per-clone counts stand, but nothing can be de-duplicated.
        try (FrameAccounting blind = new FrameAccounting(PageMap.openSelfWithoutPfns(), null)) {
            HostFrameTally tally = new HostFrameTally();
            assertFrames(new FrameUsage(PAGE, 0, 15, 13, 0, 4, 0, false, 0), blind.classify(a.address(), a.byteSize(), tally));
            blind.classify(b.address(), b.byteSize(), tally);
            HostFrameTotals totals = tally.totals();
            assertFalse(totals.exact());
            assertEquals(13 + 11, totals.templateFrames(), "an upper bound: every clone's template pages");
            assertEquals(11, totals.privateFrames());
        }
    }

    @Test
    void ksmMergedPagesAreSharedAndHeldOnceOnTheHost() throws InterruptedException {
        assumeTrue(KsmSettings.available(), "cannot switch KSM on: " + KsmSettings.DIR + " is not writable (not root?)");
        int pages = 64;
        MemorySegment a = own(Mman.mapAnonymous((long) pages * PAGE));
        MemorySegment b = own(Mman.mapAnonymous((long) pages * PAGE));
        // Page p of a and of b hold the same content, different from every other page's.
        for (MemorySegment m : List.of(a, b)) {
            for (long off = 0; off < m.byteSize(); off += Long.BYTES) {
                m.set(ValueLayout.JAVA_LONG, off, 0x5eed_0000_0000L + off / PAGE * 0x1_0001L + (off % PAGE));
            }
            Mman.madvise(m.address(), m.byteSize(), Mman.MADV_MERGEABLE);
        }
        try (FrameAccounting accounting = FrameAccounting.open()) {
            assumeTrue(accounting.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            assertFrames(new FrameUsage(PAGE, 0, 0, 0, 0, pages, 0, true, 0), accounting.classify(a.address(), a.byteSize()));

            FrameUsage usageA, usageB;
            long ksmBytesWhileMerged;
            long startNs = System.nanoTime();
            try (KsmSettings ignored = KsmSettings.enable(20_000, 10)) {
                do {
                    Thread.sleep(50);
                    usageA = accounting.classify(a.address(), a.byteSize());
                    usageB = accounting.classify(b.address(), b.byteSize());
                } while ((usageA.sharedPages() < pages || usageB.sharedPages() < pages)
                        && System.nanoTime() - startNs < 5_000_000_000L);
                ksmBytesWhileMerged = ProcessMemory.readSelf().ksmBytes();
            }
            long mergeMs = (System.nanoTime() - startNs) / 1_000_000;
            assumeTrue(usageA.sharedPages() == pages && usageB.sharedPages() == pages,
                    "KSM did not merge " + pages + " identical page pairs within 5 s: " + usageA + ", " + usageB);
            System.out.println("KSM merged " + pages + " page pairs in about " + mergeMs + " ms; smaps_rollup KSM "
                    + ksmBytesWhileMerged / 1024 + " kB");
            assertTrue(ksmBytesWhileMerged >= (long) pages * PAGE, "smaps_rollup KSM: " + ksmBytesWhileMerged);

            HostFrameTally tally = new HostFrameTally();
            accounting.classify(a.address(), a.byteSize(), tally);
            accounting.classify(b.address(), b.byteSize(), tally);
            assertEquals(new HostFrameTotals(PAGE, 2, 0, 0, pages, 0, 2L * pages, true), tally.totals());

            // Writing a merged page copies it out for the writer; the KSM frame is left mapped once,
            // by the other VM, which is then the only one holding it.
            a.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(a.address()));
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(b.address()));
            assertEquals(FrameKind.SHARED, accounting.kindOf(b.address() + PAGE));
            tally.clear();
            accounting.classify(a.address(), a.byteSize(), tally);
            accounting.classify(b.address(), b.byteSize(), tally);
            assertEquals(new HostFrameTotals(PAGE, 2, 2, 0, pages - 1, 0, 2L * pages, true), tally.totals());
        }
    }

    @Test
    void aWholeVmOf256MiBIsClassifiedInMilliseconds() {
        long sizeBytes = 256L << 20;
        MemorySegment m = own(Mman.mapAnonymous(sizeBytes));
        for (long off = 0; off < sizeBytes; off += 4L * PAGE) m.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
        for (long off = PAGE; off < sizeBytes; off += 2L * PAGE) m.get(ValueLayout.JAVA_BYTE, off);
        try (FrameAccounting accounting = FrameAccounting.open()) {
            HostFrameTally tally = new HostFrameTally();
            long bestNs = Long.MAX_VALUE;
            FrameUsage usage = null;
            for (int round = 0; round < 5; round++) {
                tally.clear();
                long t0 = System.nanoTime();
                usage = accounting.classify(m.address(), sizeBytes, tally);
                bestNs = Math.min(bestNs, System.nanoTime() - t0);
            }
            long pages = sizeBytes / PAGE;
            assertEquals(pages / 4, usage.privatePages());
            assertEquals(pages / 2, usage.zeroPages());
            assertEquals(pages / 4, usage.notPresentPages());
            System.out.printf("classified %d pages in %.2f ms (%.1f ns/page)%n", pages, bestNs / 1e6, (double) bestNs / pages);
            assertTrue(bestNs < 1_000_000_000L, "a 256 MiB VM took " + bestNs / 1_000_000 + " ms");
        }
    }

    @Test
    void refusesRangesOffThePageGrid() {
        try (FrameAccounting accounting = FrameAccounting.open()) {
            assertThrows(IllegalArgumentException.class, () -> accounting.classify(PAGE + 8, PAGE));
            assertThrows(IllegalArgumentException.class, () -> accounting.classify(PAGE, 100));
            assertThrows(IllegalArgumentException.class, () -> accounting.classify(PAGE, -PAGE));
            assertEquals(0, accounting.classify(PAGE, 0).totalPages());
        }
    }

    /** A file of {@code pages} pages, page p filled with the byte p + 1. */
    private Path templateFile(int pages) throws IOException {
        byte[] content = new byte[pages * PAGE];
        for (int p = 0; p < pages; p++) Arrays.fill(content, p * PAGE, (p + 1) * PAGE, (byte) (p + 1));
        return Files.write(dir.resolve("template-" + mappings.size() + ".ram"), content);
    }

    private static MemorySegment mapPrivate(Path file, int pages) {
        int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY);
        try {
            return Mman.mapFilePrivate((long) pages * PAGE, fd, 0);
        } finally {
            Fcntl.close(fd);
        }
    }

    private static MemorySegment cloneRam(Path file, int filePages, int zeroPages) {
        MemorySegment ram = Mman.reserve((long) (filePages + zeroPages) * PAGE);
        int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY);
        try {
            Mman.mapFilePrivateFixed(ram.address(), (long) filePages * PAGE, fd, 0);
            Mman.mapAnonymousFixed(ram.address() + (long) filePages * PAGE, (long) zeroPages * PAGE);
        } finally {
            Fcntl.close(fd);
        }
        return ram;
    }

    private MemorySegment own(MemorySegment mapping) {
        mappings.add(mapping);
        return mapping;
    }

    /** Equal in every count but the page tables, which depend on where the mapping landed. */
    private static void assertFrames(FrameUsage expected, FrameUsage actual) {
        assertEquals(expected, new FrameUsage(actual.pageSizeBytes(), actual.notPresentPages(), actual.zeroPages(),
                actual.templatePages(), actual.sharedPages(), actual.privatePages(), actual.swappedPages(),
                actual.pfnsVisible(), 0));
    }

    @Test
    void pageTablesAreCountedPerTwoMiBWithAPageMappedAndPerGiBAboveThem() {
        long twoMiB = 2L << 20;
        MemorySegment reserved = own(Mman.mapAnonymous(10 * twoMiB));
        long base = (reserved.address() + 8 * twoMiB - 1) & -(8 * twoMiB); // 8 MiB aligned: one GiB table above
        MemorySegment m = MemorySegment.ofAddress(base).reinterpret(4 * twoMiB);
        m.set(ValueLayout.JAVA_BYTE, 5L * PAGE, (byte) 1);
        m.set(ValueLayout.JAVA_BYTE, 9L * PAGE, (byte) 1);        // same 2 MiB as the first
        m.get(ValueLayout.JAVA_BYTE, twoMiB + 3L * PAGE);          // the zero page needs a table entry too
        m.set(ValueLayout.JAVA_BYTE, 3 * twoMiB + 7L * PAGE, (byte) 1);
        try (FrameAccounting accounting = FrameAccounting.open()) {
            FrameUsage usage = accounting.classify(m.address(), m.byteSize());
            assertEquals(3 + 1, usage.tablePages(), usage.toString());
            assertEquals(4 * 4096L, usage.tableBytes());
        }
    }
}
