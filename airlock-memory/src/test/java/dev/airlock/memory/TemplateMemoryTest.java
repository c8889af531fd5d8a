package dev.airlock.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A clone's RAM mapped from a template file: copy-on-write, zero runs as the zero page, discard. */
class TemplateMemoryTest {
    static final long BASE = 0x8000_0000L;
    static final int PAGES = 64;
    static final long PAGE = GuestMemory.PAGE_SIZE;

    /** Pages 2..5 and 40 hold their page number in every byte; the rest is a hole. */
    static Path templateFile(Path dir) throws Exception {
        Path file = dir.resolve("vm.mem");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int p : new int[] {2, 3, 4, 5, 40}) {
                byte[] page = new byte[(int) PAGE];
                java.util.Arrays.fill(page, (byte) p);
                ch.write(ByteBuffer.wrap(page), p * PAGE);
            }
            ch.truncate(PAGES * PAGE);
            if (ch.size() < PAGES * PAGE) ch.write(ByteBuffer.allocate(1), PAGES * PAGE - 1);
        }
        return file;
    }

    static byte at(GuestMemory m, int page, int offset) {
        return m.read(BASE + page * PAGE + offset, 1)[0];
    }

    @Test
    void aCloneReadsTheTemplateWritesPrivatelyAndDiscardsToTheZeroPage(@TempDir Path dir) throws Exception {
        Path file = templateFile(dir);
        byte[] before = Files.readAllBytes(file);
        try (TemplateImage image = TemplateImage.open(file, PAGES * PAGE, new long[] {2, 4, 40, 1});
             GuestMemory a = GuestMemory.fromTemplate(BASE, image);
             GuestMemory b = GuestMemory.fromTemplate(BASE, image);
             FrameAccounting accounting = FrameAccounting.open()) {
            assertEquals(2, image.runCount());
            assertEquals(5, image.dataPages());
            assertEquals(3, at(a, 3, 100));
            assertEquals(40, at(a, 40, 4095));
            assertEquals(0, at(a, 20, 0));
            assertEquals(FrameKind.TEMPLATE, accounting.kindOf(a.hvaOf(BASE + 3 * PAGE)));
            assertEquals(FrameKind.ZERO, accounting.kindOf(a.hvaOf(BASE + 20 * PAGE)), "a hole reads as the host's zero page");

            a.write(BASE + 3 * PAGE, new byte[] {99});
            a.write(BASE + 20 * PAGE, new byte[] {77});
            assertEquals(99, at(a, 3, 0));
            assertEquals(3, at(b, 3, 0), "a clone's write is its own");
            assertEquals(0, at(b, 20, 0));
            assertEquals(FrameKind.PRIVATE, accounting.kindOf(a.hvaOf(BASE + 3 * PAGE)));
            assertArrayEquals(before, Files.readAllBytes(file), "the template file never changes");

            // Freed memory comes back as the zero page, even over template data.
            a.discard(BASE + 2 * PAGE, 2 * PAGE);
            assertEquals(0, at(a, 2, 0));
            assertEquals(0, at(a, 3, 0));
            assertEquals(4, at(a, 4, 0));
            assertEquals(FrameKind.ZERO, accounting.kindOf(a.hvaOf(BASE + 3 * PAGE)));
        }
    }

    @Test
    void badRunsAreRefused(@TempDir Path dir) throws Exception {
        Path file = templateFile(dir);
        long size = PAGES * PAGE;
        assertThrows(IllegalArgumentException.class, () -> TemplateImage.open(file, size, new long[] {2}));
        assertThrows(IllegalArgumentException.class, () -> TemplateImage.open(file, size, new long[] {4, 2, 2, 1}));
        assertThrows(IllegalArgumentException.class, () -> TemplateImage.open(file, size, new long[] {60, 8}));
        assertThrows(IllegalArgumentException.class, () -> TemplateImage.open(file, size, new long[] {1, 0}));
    }

    @Test
    void untouchedTemplatePagesAreReportedAsTheTemplatesOnceTheCheckIsCompiled(@TempDir Path dir) throws Exception {
        int pages = 32768; // enough calls for HotSpot to compile the check, which once dropped its touch of the page
        Path file = dir.resolve("big.mem");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1}), (long) pages * PAGE - 1); // sparse: reads as zeros from the file
        }
        try (TemplateImage image = TemplateImage.open(file, (long) pages * PAGE, new long[] {0, pages});
             GuestMemory clone = GuestMemory.fromTemplate(BASE, image)) {
            int notTemplate = 0;
            for (int i = 0; i < pages; i++) {
                if (!clone.mapsTemplateFrame(clone.hvaOf(BASE + (long) i * PAGE))) notTemplate++;
            }
            assertEquals(0, notTemplate, "pages of the template's file that the clone never touched before");
        }
    }

    @Test
    void aCloneKnowsWhichPagesStillHoldTheTemplatesFramesWithoutAskingTheKernel(@TempDir Path dir) throws Exception {
        Path file = templateFile(dir);
        try (TemplateImage image = TemplateImage.open(file, PAGES * PAGE, new long[] {2, 4, 40, 1});
             GuestMemory a = GuestMemory.fromTemplate(BASE, image);
             GuestMemory own = new GuestMemory(BASE, PAGES * PAGE)) {
            for (int p = 0; p < PAGES; p++) {
                boolean data = (p >= 2 && p <= 5) || p == 40;
                assertEquals(data, a.templateFrameIntact(p), "page " + p + ": only the template's data pages");
                assertEquals(data, a.mapsTemplateFrame(a.hvaOf(BASE + p * PAGE)), "page " + p + ": the kernel agrees");
                assertFalse(own.templateFrameIntact(p), "RAM of its own has no template frames");
            }
            a.write(BASE + 3 * PAGE + 7, new byte[] {1});
            assertFalse(a.templateFrameIntact(3));
            assertFalse(a.mapsTemplateFrame(a.hvaOf(BASE + 3 * PAGE)), "the kernel copied the page too");
            assertTrue(a.noteWritten(BASE + 4 * PAGE + 100, 2 * PAGE), "pages 4 and 5 held template frames until now");
            assertFalse(a.noteWritten(BASE + 4 * PAGE, PAGE), "a page is marked once");
            assertFalse(a.noteWritten(BASE + 20 * PAGE, PAGE), "a hole never held a template frame");
            assertFalse(a.templateFrameIntact(6), "past the range: untouched and no data");
            a.discard(BASE + 40 * PAGE, PAGE);
            assertFalse(a.templateFrameIntact(40), "a discarded page reads as zero, not as the template's");
            assertTrue(a.templateFrameIntact(2), "a page nothing wrote is still the template's");
            assertTrue(a.mapsTemplateFrame(a.hvaOf(BASE + 2 * PAGE)));
        }
    }
}
