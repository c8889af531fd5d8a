package dev.airlock.vmm.virtio.balloon;

import static dev.airlock.vmm.virtio.VirtioMmio.*;
import static dev.airlock.vmm.virtio.balloon.VirtioBalloon.*;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.in;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.balloon.VirtioBalloon.BalloonQueue;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioBalloonTest {
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final long PAGE = BALLOON_PAGE_BYTES;
    static final long RAM_BYTES = 4 << 20;

    final GuestMemory ram = TestRam.create(RAM_BYTES);
    final RecordingIrq irq = new RecordingIrq();
    /** Ranges the device said it changed, as {gpa, length}. */
    final List<long[]> written = new ArrayList<>();
    final GuestWriteListener listener = (gpa, len) -> written.add(new long[] {gpa, len});
    VirtioBalloon balloon;
    VirtioMmioTransport transport;
    FakeDriver d;
    RingWriter[] rings = new RingWriter[4];

    @AfterEach
    void close() {
        if (transport != null) transport.close();
        ram.close();
    }

    /** A balloon offering {@code offered}, brought up by a driver that accepts {@code accepted}. */
    void start(long offered, long accepted) {
        balloon = new VirtioBalloon(offered, listener);
        transport = new VirtioMmioTransport(balloon, ram, irq, DeviceEventLoop.inline(), listener);
        d = new FakeDriver(transport, ram);
        assertNotEquals(0, d.negotiate(Virtio.F_VERSION_1 | accepted) & Virtio.STATUS_FEATURES_OK);
        int queues = 2 + Long.bitCount(accepted & (F_STATS_VQ | F_PAGE_REPORTING));
        for (int q = 0; q < queues; q++) rings[q] = d.setupQueue(q, 64);
        d.driverOk();
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, transport.lastNeedsResetReason());
    }

    void startAll() {
        start(SUPPORTED_FEATURES, SUPPORTED_FEATURES);
    }

    /** The guest-physical address of page {@code i} counted down from the end of RAM, away from the rings. */
    long page(int i) {
        return ram.endGpa() - (i + 1) * PAGE;
    }

    static long pfn(long gpa) {
        return gpa >>> PFN_SHIFT;
    }

    void fill(long gpa, long length, byte value) {
        ram.segment().asSlice(gpa - ram.baseGpa(), length).fill(value);
    }

    boolean allZero(long gpa, long length) {
        byte[] b = ram.read(gpa, (int) length);
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    /** A buffer of le32 page numbers. */
    long pfnArray(long... pfns) {
        long buf = d.alloc(4L * pfns.length + 4, 16);
        for (int i = 0; i < pfns.length; i++) ram.segment().set(LE32, buf - ram.baseGpa() + 4L * i, (int) pfns[i]);
        return buf;
    }

    RingWriter.Used send(int queue, RingWriter.Buf... bufs) {
        rings[queue].addChain(bufs);
        d.notifyQueue(queue);
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, transport.lastNeedsResetReason());
        return rings[queue].pollUsed();
    }

    // ---------------------------------------------------------------- layout and config

    @Test
    void queueIndicesSkipAbsentQueues() {
        long all = SUPPORTED_FEATURES;
        assertEquals(0, queueIndex(BalloonQueue.INFLATE, 0));
        assertEquals(1, queueIndex(BalloonQueue.DEFLATE, 0));
        assertEquals(-1, queueIndex(BalloonQueue.STATS, 0));
        assertEquals(-1, queueIndex(BalloonQueue.REPORTING, 0));
        assertEquals(2, queueIndex(BalloonQueue.STATS, all));
        assertEquals(3, queueIndex(BalloonQueue.REPORTING, all));
        assertEquals(2, queueIndex(BalloonQueue.REPORTING, F_PAGE_REPORTING | F_DEFLATE_ON_OOM));
        assertEquals(4, new VirtioBalloon(GuestWriteListener.NONE).queueCount());
        assertEquals(3, new VirtioBalloon(F_PAGE_REPORTING, GuestWriteListener.NONE).queueCount());
        assertEquals(2, new VirtioBalloon(F_DEFLATE_ON_OOM, GuestWriteListener.NONE).queueCount());
        assertThrows(IllegalArgumentException.class, () -> new VirtioBalloon(F_FREE_PAGE_HINT, GuestWriteListener.NONE));
    }

    @Test
    void offersStatsDeflateOnOomAndReporting() {
        startAll();
        assertEquals(SUPPORTED_FEATURES, d.deviceFeatures() & ~Virtio.RESERVED_FEATURE_MASK);
        assertEquals(Virtio.DEVICE_ID_BALLOON, d.read(DEVICE_ID));
    }

    @Test
    void theTargetIsSetFromJavaWithAConfigChangeAndTheDriverWritesActual() {
        startAll();
        assertEquals(0, transport.read(CONFIG + CONFIG_NUM_PAGES, 4));
        balloon.setTargetPages(1000);
        assertEquals(1000, transport.read(CONFIG + CONFIG_NUM_PAGES, 4));
        assertNotEquals(0, d.read(INTERRUPT_STATUS) & Virtio.INTERRUPT_CONFIG_CHANGE);
        assertNotEquals(0, d.read(CONFIG_GENERATION));
        assertTrue(irq.level());
        d.ack();
        // The driver writes actual as one le32; the target is not the driver's to change.
        transport.write(CONFIG + CONFIG_ACTUAL, 4, 600);
        transport.write(CONFIG + CONFIG_NUM_PAGES, 4, 5);
        assertEquals(600, balloon.actualPages());
        assertEquals(1000, balloon.targetPages());
        assertEquals(1000L | 600L << 32, transport.read(CONFIG, 8));
        // Narrow and straddling writes touch only the bytes of actual they cover.
        transport.write(CONFIG + CONFIG_ACTUAL + 1, 1, 0x01);
        assertEquals(600 & 0xff | 0x100, balloon.actualPages());
        transport.write(CONFIG + 2, 4, 0xbeef_0000L);
        assertEquals(0xbeef, balloon.actualPages() & 0xffff);
        assertEquals(1000, balloon.targetPages());
        assertThrows(IllegalArgumentException.class, () -> balloon.setTargetPages(-1));
        assertThrows(IllegalArgumentException.class, () -> balloon.setTargetPages(1L << 32));
    }

    @Test
    void aTargetSetBeforeTheDriverRunsWaitsInConfigSpace() {
        balloon = new VirtioBalloon(listener);
        balloon.setTargetPages(77);
        transport = new VirtioMmioTransport(balloon, ram, irq, DeviceEventLoop.inline(), listener);
        assertEquals(77, transport.read(CONFIG + CONFIG_NUM_PAGES, 4));
        assertFalse(irq.level(), "no interrupt before the driver is up");
    }

    // ---------------------------------------------------------------- inflate and deflate

    @Test
    void inflateReleasesPagesWhichThenReadZeroAndDeflateGivesThemBack() {
        startAll();
        for (int i = 0; i < 8; i++) fill(page(i), PAGE, (byte) (0x40 + i));
        long residentBefore = ram.residentBytes();
        // Pages 0..2 are contiguous (one release); page 6 stands alone; page 1 is named twice.
        long buf = pfnArray(pfn(page(0)), pfn(page(6)), pfn(page(2)), pfn(page(1)), pfn(page(1)));
        written.clear();
        RingWriter.Used u = send(0, in(buf, 20));
        // Before the reads below, which map the host's zero page and count as resident again.
        assertEquals(residentBefore - 4 * PAGE, ram.residentBytes(), "four pages went back to the host");
        assertNotNull(u, "the inflate buffer comes back");
        assertEquals(0, u.lengthBytes());
        for (int i : new int[] {0, 1, 2, 6}) assertTrue(allZero(page(i), PAGE), "page " + i + " reads zero");
        for (int i : new int[] {3, 4, 5, 7}) assertEquals(0x40 + i, ram.read(page(i), 1)[0], "page " + i + " is untouched");
        assertEquals(4, balloon.balloonPages());
        assertEquals(5, balloon.pagesInflated());
        assertEquals(4 * PAGE, balloon.bytesReleased());
        assertEquals(0, balloon.rejectedEntries());
        assertEquals(2, written.size(), "one release per run, lowest address first");
        assertArrayEquals(new long[] {page(6), PAGE}, written.get(0));
        assertArrayEquals(new long[] {page(2), 3 * PAGE}, written.get(1));
        assertTrue(irq.level(), "the driver waits for the used buffer");

        d.ack();
        RingWriter.Used back = send(1, in(pfnArray(pfn(page(1)), pfn(page(6)), pfn(page(5))), 12));
        assertNotNull(back);
        assertEquals(2, balloon.balloonPages(), "page 5 was never in the balloon");
        assertEquals(3, balloon.pagesDeflated());
        assertEquals(0x45, ram.read(page(5), 1)[0], "deflate changes no memory");
    }

    @Test
    void theBitmapIsMadeAndSavedOnlyOnceAPageIsInTheBalloon() {
        startAll();
        assertEquals(24, balloon.saveState().length, "a balloon that never held a page saves no bitmap");
        send(0, in(pfnArray(pfn(page(0)), pfn(page(3))), 8));
        assertEquals(2, balloon.balloonPages());
        assertEquals(24 + 8 * (RAM_BYTES / PAGE / 64), balloon.saveState().length, "one bit per page of RAM");
        d.ack();
        send(1, in(pfnArray(pfn(page(3)), pfn(page(5))), 8));
        assertEquals(1, balloon.balloonPages(), "page 3 was in the balloon, page 5 never");
        send(1, in(pfnArray(pfn(page(0))), 4));
        assertEquals(24, balloon.saveState().length, "empty again: no bitmap");

        // A restored VM knows which pages its balloon holds.
        send(0, in(pfnArray(pfn(page(2))), 4));
        var restored = new VirtioBalloon(listener);
        var second = new VirtioMmioTransport(restored, ram, new RecordingIrq(), DeviceEventLoop.inline(), listener);
        try {
            second.restoreState(java.nio.ByteBuffer.wrap(transport.saveState()).order(ByteOrder.LITTLE_ENDIAN));
            assertEquals(1, restored.balloonPages());
            assertArrayEquals(balloon.saveState(), restored.saveState());
        } finally {
            second.close();
        }
    }

    @Test
    void hostilePageNumbersAreSkippedAndCounted() {
        startAll();
        fill(page(0), PAGE, (byte) 7);
        long below = pfn(ram.baseGpa()) - 1;
        long past = pfn(ram.endGpa());
        long buf = pfnArray(0, below, past, 0xffff_ffffL, pfn(page(0)), 0x8000_0000L);
        // 26 bytes: six entries and a torn half one.
        RingWriter.Used u = send(0, in(buf, 26));
        assertNotNull(u);
        assertEquals(5 + 1, balloon.rejectedEntries());
        assertEquals(1, balloon.balloonPages());
        assertEquals(PAGE, balloon.bytesReleased());
        assertTrue(allZero(page(0), PAGE));
        // Deflating junk is as harmless.
        assertNotNull(send(1, in(pfnArray(0xffff_ffffL, 3), 8)));
        assertEquals(1, balloon.balloonPages());
        // An empty request and one with only writable buffers do nothing.
        assertNotNull(send(0, out(d.alloc(64, 16), 64)));
        assertEquals(1, balloon.balloonPages());
    }

    @Test
    void aHugeInflateRequestIsCapped() {
        startAll();
        int n = MAX_PFNS_PER_REQUEST + 100;
        long[] pfns = new long[n];
        for (int i = 0; i < n; i++) pfns[i] = pfn(ram.baseGpa()) + (i % 512) + 256;
        long buf = pfnArray(pfns);
        assertNotNull(send(0, in(buf, 4 * n)));
        assertEquals(MAX_PFNS_PER_REQUEST, balloon.pagesInflated());
        assertEquals(100, balloon.rejectedEntries());
        assertEquals(512, balloon.balloonPages());
    }

    @Test
    void resetEmptiesTheBalloonAndActual() {
        startAll();
        send(0, in(pfnArray(pfn(page(0))), 4));
        transport.write(CONFIG + CONFIG_ACTUAL, 4, 1);
        balloon.setTargetPages(9);
        d.write(STATUS, 0);
        assertEquals(0, balloon.balloonPages());
        assertEquals(0, balloon.actualPages());
        assertEquals(9, balloon.targetPages(), "the target is the host's and survives");
    }

    // ---------------------------------------------------------------- statistics

    long statsBuffer(long[][] tagValues) {
        long buf = d.alloc(10L * tagValues.length, 16);
        writeStats(buf, tagValues);
        return buf;
    }

    void writeStats(long buf, long[][] tagValues) {
        long off = buf - ram.baseGpa();
        for (int i = 0; i < tagValues.length; i++) {
            ram.segment().set(LE16, off + 10L * i, (short) tagValues[i][0]);
            ram.segment().set(LE64, off + 10L * i + 2, tagValues[i][1]);
        }
    }

    @Test
    void statsRoundTrip() {
        startAll();
        assertEquals(BalloonStats.NONE, balloon.latestStats());
        long[][] first = {{BalloonStats.TAG_MEMFREE, 100 << 20}, {BalloonStats.TAG_MEMTOT, 512 << 20},
                {BalloonStats.TAG_MINFLT, 1234}, {99, 5}, {BalloonStats.TAG_AVAIL, 300 << 20}};
        long buf = statsBuffer(first);
        assertNull(send(2, in(buf, 50)), "the device keeps the stats buffer until it wants new numbers");
        BalloonStats s = balloon.latestStats();
        assertEquals(1, s.updates());
        assertEquals(100 << 20, s.freeBytes());
        assertEquals(512 << 20, s.totalBytes());
        assertEquals(300 << 20, s.availableBytes());
        assertEquals(1234, s.minorFaults());
        assertEquals(-1, s.swapInBytes(), "not reported");
        assertFalse(irq.level());

        balloon.requestStats();
        RingWriter.Used u = rings[2].pollUsed();
        assertNotNull(u, "a request hands the buffer back");
        assertEquals(0, u.lengthBytes());
        assertTrue(irq.level());
        d.ack();
        balloon.requestStats(); // nothing held now: nothing to hand back
        assertNull(rings[2].pollUsed());

        writeStats(buf, new long[][] {{BalloonStats.TAG_MEMFREE, 50 << 20}, {BalloonStats.TAG_SWAP_IN, 8}});
        assertNull(send(2, in(buf, 20)));
        s = balloon.latestStats();
        assertEquals(2, s.updates());
        assertEquals(50 << 20, s.freeBytes());
        assertEquals(8, s.swapInBytes());
        assertEquals(-1, s.totalBytes(), "each buffer is a full report");
    }

    @Test
    void aSecondStatsBufferReturnsTheFirstAndTornEntriesAreIgnored() {
        startAll();
        long a = statsBuffer(new long[][] {{BalloonStats.TAG_MEMFREE, 1}});
        long b = statsBuffer(new long[][] {{BalloonStats.TAG_MEMFREE, 2}, {BalloonStats.TAG_MEMTOT, 3}});
        assertNull(send(2, in(a, 10)));
        RingWriter.Used u = send(2, in(b, 15)); // one entry and a torn one
        assertNotNull(u);
        assertEquals(2, balloon.latestStats().freeBytes());
        assertEquals(-1, balloon.latestStats().totalBytes());
    }

    // ---------------------------------------------------------------- free page reporting

    @Test
    void reportedRangesAreReleasedAndTheBuffersReturned() {
        startAll();
        fill(page(15), 16 * PAGE, (byte) 0x5a);
        long before = ram.residentBytes();
        written.clear();
        // Linux hands ranges over as device-writable buffers.
        RingWriter.Used u = send(3, out(page(15), (int) (4 * PAGE)), out(page(7), (int) (2 * PAGE)));
        assertEquals(before - 6 * PAGE, ram.residentBytes());
        assertNotNull(u);
        assertEquals(0, u.lengthBytes(), "the device writes nothing into reported pages");
        assertTrue(allZero(page(15), 4 * PAGE));
        assertTrue(allZero(page(7), 2 * PAGE));
        assertEquals(0x5a, ram.read(page(11), 1)[0]);
        assertEquals(0x5a, ram.read(page(5), 1)[0]);
        assertEquals(6 * PAGE, balloon.bytesReported());
        assertEquals(6 * PAGE, balloon.bytesReleased());
        assertEquals(0, balloon.balloonPages(), "reported pages are not ballooned");
        assertEquals(2, written.size());
        assertArrayEquals(new long[] {page(15), 4 * PAGE}, written.get(0));
    }

    @Test
    void misalignedOrEmptyReportedRangesAreSkipped() {
        startAll();
        fill(page(3), 4 * PAGE, (byte) 1);
        RingWriter.Used u = send(3, in(page(1), (int) PAGE), out(page(3) + 8, (int) PAGE), out(page(3), 100),
                out(page(3), 0));
        assertNotNull(u);
        assertEquals(3, balloon.rejectedEntries());
        assertEquals(PAGE, balloon.bytesReported(), "a readable range counts too");
        assertEquals(1, ram.read(page(3), 1)[0]);
        assertTrue(allZero(page(1), PAGE));
    }

    @Test
    void aReportedRangeOutsideRamBreaksTheProtocol() {
        startAll();
        rings[3].addChain(out(ram.endGpa() - PAGE, (int) (2 * PAGE)));
        d.notifyQueue(3);
        assertNotEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertTrue(transport.firstNeedsResetReason().contains("outside guest RAM"), transport.firstNeedsResetReason());
        assertEquals(0, balloon.bytesReleased());
    }

    @Test
    void withoutStatsTheReportingQueueIsTwo() {
        start(SUPPORTED_FEATURES, F_PAGE_REPORTING | F_DEFLATE_ON_OOM);
        fill(page(0), PAGE, (byte) 3);
        assertNotNull(send(2, out(page(0), (int) PAGE)));
        assertEquals(PAGE, balloon.bytesReported());
        assertTrue(allZero(page(0), PAGE));
        balloon.requestStats(); // no stats queue: ignored
        d.notifyQueue(3); // not set up, no role: ignored
        assertEquals(0, d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void withoutReportingTheStatsQueueIsTwoAndThereIsNoThird() {
        start(F_STATS_VQ, F_STATS_VQ);
        assertEquals(3, transport.device().queueCount());
        assertNull(send(2, in(statsBuffer(new long[][] {{BalloonStats.TAG_MEMTOT, 42}}), 10)));
        assertEquals(42, balloon.latestStats().totalBytes());
    }
}
