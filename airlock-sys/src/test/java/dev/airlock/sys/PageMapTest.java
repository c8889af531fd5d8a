package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class PageMapTest {
    private static final int PAGE = Mman.pageSizeBytes();

    @Test
    void entryLayoutMatchesTheKernelDocument() {
        assertEquals(8, PageMapEntry.BYTES);
        assertEquals(0x007f_ffff_ffff_ffffL, PageMapEntry.PFN_MASK);
        assertEquals(0x8000_0000_0000_0000L, PageMapEntry.PRESENT);
        assertEquals(0x4000_0000_0000_0000L, PageMapEntry.SWAPPED);
        assertEquals(0x2000_0000_0000_0000L, PageMapEntry.FILE);
        assertEquals(0x0400_0000_0000_0000L, PageMapEntry.GUARD);
        assertEquals(0x0100_0000_0000_0000L, PageMapEntry.EXCLUSIVE);
        assertEquals(0x0080_0000_0000_0000L, PageMapEntry.SOFT_DIRTY);
        assertEquals(0x7f12_3456_7000L / 4096 * 8, PageMapEntry.fileOffset(0x7f12_3456_7000L, 4096));
        assertEquals(0x7f12_3456_7000L / 16384 * 8, PageMapEntry.fileOffset(0x7f12_3456_7000L, 16384));

        long privatePage = PageMapEntry.PRESENT | PageMapEntry.EXCLUSIVE | 0x12345;
        assertTrue(PageMapEntry.present(privatePage));
        assertTrue(PageMapEntry.exclusive(privatePage));
        assertFalse(PageMapEntry.fileOrSharedAnon(privatePage));
        assertEquals(0x12345, PageMapEntry.pfn(privatePage));
        assertEquals("present|anon|excl pfn=0x12345", PageMapEntry.describe(privatePage));

        long filePage = PageMapEntry.PRESENT | PageMapEntry.FILE | PageMapEntry.SOFT_DIRTY | PageMapEntry.PFN_MASK;
        assertTrue(PageMapEntry.fileOrSharedAnon(filePage));
        assertEquals(PageMapEntry.PFN_MASK, PageMapEntry.pfn(filePage));
        assertEquals("present|file|soft-dirty pfn=0x7fffffffffffff", PageMapEntry.describe(filePage));

        // A swapped page carries its swap location in the PFN bits, which are no frame number.
        long swappedPage = PageMapEntry.SWAPPED | PageMapEntry.EXCLUSIVE | (77L << PageMapEntry.SWAP_TYPE_BITS) | 1;
        assertFalse(PageMapEntry.present(swappedPage));
        assertTrue(PageMapEntry.swapped(swappedPage));
        assertEquals(0, PageMapEntry.pfn(swappedPage));
        assertEquals("swapped|anon|excl", PageMapEntry.describe(swappedPage));
        assertEquals("not-present|soft-dirty", PageMapEntry.describe(PageMapEntry.SOFT_DIRTY));
    }

    @Test
    void anonymousPagesReadAsZeroPageWrittenAsExclusiveUntouchedAsAbsent() {
        MemorySegment m = Mman.mapAnonymous(16L * PAGE);
        try (PageMap pageMap = PageMap.openSelf()) {
            assumeTrue(pageMap.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            m.get(ValueLayout.JAVA_BYTE, PAGE);
            m.set(ValueLayout.JAVA_BYTE, 2L * PAGE, (byte) 7);
            long[] e = new long[16];
            pageMap.read(m.address(), e, 0, 16);

            // Untouched: not present. Test the bit, not the entry: with CONFIG_MEM_SOFT_DIRTY (off on this
            // host) a new mapping's holes report soft-dirty.
            assertFalse(PageMapEntry.present(e[0]), PageMapEntry.describe(e[0]));
            // Read only: the shared zero page, anonymous and mapped by many.
            assertTrue(PageMapEntry.present(e[1]), PageMapEntry.describe(e[1]));
            assertFalse(PageMapEntry.fileOrSharedAnon(e[1]));
            assertFalse(PageMapEntry.exclusive(e[1]));
            assertEquals(pageMap.zeroPfn(), PageMapEntry.pfn(e[1]));
            // Written: a private frame of our own.
            assertTrue(PageMapEntry.present(e[2]) && PageMapEntry.exclusive(e[2]), PageMapEntry.describe(e[2]));
            assertFalse(PageMapEntry.fileOrSharedAnon(e[2]));
            assertNotEquals(0, PageMapEntry.pfn(e[2]));
            assertNotEquals(pageMap.zeroPfn(), PageMapEntry.pfn(e[2]));
            for (int p = 3; p < 16; p++) assertFalse(PageMapEntry.present(e[p]), "page " + p);

            assertEquals(e[2], pageMap.read(m.address() + 2L * PAGE));
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void withoutPfnsTheFlagsRemain() {
        MemorySegment m = Mman.mapAnonymous(4L * PAGE);
        try (PageMap hidden = PageMap.openSelfWithoutPfns(); PageMap full = PageMap.openSelf()) {
            assertFalse(hidden.pfnsVisible());
            assertEquals(-1, hidden.zeroPfn());
            m.get(ValueLayout.JAVA_BYTE, 0);
            m.set(ValueLayout.JAVA_BYTE, PAGE, (byte) 1);
            for (int p = 0; p < 3; p++) {
                long h = hidden.read(m.address() + (long) p * PAGE);
                long f = full.read(m.address() + (long) p * PAGE);
                assertEquals(0, h & PageMapEntry.PFN_MASK);
                assertEquals(f & ~PageMapEntry.PFN_MASK, h, "page " + p);
            }
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void bulkReadsSpanChunksAndLandAtTheOffset() {
        int pages = 20;
        MemorySegment m = Mman.mapAnonymous((long) pages * PAGE);
        int[] written = {0, 6, 7, 13, 19};
        try (PageMap smallChunks = PageMap.openSelf(7); PageMap oneChunk = PageMap.openSelf()) {
            for (int p : written) m.set(ValueLayout.JAVA_BYTE, (long) p * PAGE, (byte) 1);
            long[] a = new long[pages + 5];
            long[] b = new long[pages + 5];
            smallChunks.read(m.address(), a, 3, pages);
            oneChunk.read(m.address(), b, 3, pages);
            assertArrayEquals(b, a);
            assertEquals(0, a[0] | a[1] | a[2] | a[pages + 3] | a[pages + 4], "outside [offset, offset + count) is untouched");
            boolean[] present = new boolean[pages];
            for (int p = 0; p < pages; p++) present[p] = PageMapEntry.present(a[3 + p]);
            boolean[] expected = new boolean[pages];
            for (int p : written) expected[p] = true;
            assertArrayEquals(expected, present);
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void refusesUnalignedRangesAndSaysWhichFileFailed() {
        try (PageMap pageMap = PageMap.openSelf()) {
            long[] out = new long[4];
            assertThrows(IllegalArgumentException.class, () -> pageMap.read(PAGE + 1, out, 0, 1));
            assertThrows(IllegalArgumentException.class, () -> pageMap.read(-PAGE, out, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> pageMap.read(PAGE, out, 2, 3));
            // Beyond the user address space the kernel returns nothing.
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> pageMap.read(1L << 60, out, 0, 1));
            assertTrue(e.getMessage().contains("/proc/self/pagemap"), e.getMessage());
            pageMap.close();
            assertThrows(IllegalStateException.class, () -> pageMap.read(PAGE));
        }
    }

    @Test
    void frameFlagsTellTheZeroPageFromAnonymousMemory() {
        MemorySegment m = Mman.mapAnonymous(4L * PAGE);
        try (PageMap pageMap = PageMap.openSelf()) {
            assumeTrue(pageMap.pfnsVisible(), "frame numbers are hidden from this process (not root)");
            try (KPageFlags kpf = KPageFlags.openIfReadable().orElse(null)) {
                assumeTrue(kpf != null, "/proc/kpageflags is not readable (not root)");
                m.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                m.set(ValueLayout.JAVA_BYTE, PAGE, (byte) 1);
                long zero = kpf.flagsOf(pageMap.zeroPfn());
                assertTrue(KPageFlags.has(zero, KPageFlags.ZERO_PAGE), KPageFlags.describe(zero));
                long pfn0 = PageMapEntry.pfn(pageMap.read(m.address()));
                long pfn1 = PageMapEntry.pfn(pageMap.read(m.address() + PAGE));
                long anon = kpf.flagsOf(pfn0);
                assertTrue(KPageFlags.has(anon, KPageFlags.ANON) && KPageFlags.has(anon, KPageFlags.MMAP),
                        KPageFlags.describe(anon));
                assertFalse(KPageFlags.has(anon, KPageFlags.KSM) || KPageFlags.has(anon, KPageFlags.ZERO_PAGE));

                long[] pfns = {pfn0, pfn1, pageMap.zeroPfn(), pageMap.zeroPfn() + 1, pfn0};
                long[] batch = new long[pfns.length];
                kpf.flagsOf(pfns, pfns.length, batch);
                for (int i = 0; i < pfns.length; i++) {
                    // Flags such as REFERENCED/ACTIVE may move between reads; the kind of frame does not.
                    long stable = 1L << KPageFlags.ANON | 1L << KPageFlags.ZERO_PAGE | 1L << KPageFlags.KSM;
                    assertEquals(kpf.flagsOf(pfns[i]) & stable, batch[i] & stable, "pfn 0x" + Long.toHexString(pfns[i]));
                }
                assertEquals("ANON|KSM|ZERO_PAGE", KPageFlags.describe(1L << 12 | 1L << 21 | 1L << 24));
                assertEquals("none", KPageFlags.describe(0));
                UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> kpf.flagsOf(1L << 50));
                assertTrue(e.getMessage().contains("/proc/kpageflags"), e.getMessage());
            }
        } finally {
            Mman.munmap(m);
        }
    }
}
