package dev.airlock.vmm.virtio.balloon;

import static dev.airlock.vmm.virtio.VirtioMmio.CONFIG;
import static dev.airlock.vmm.virtio.balloon.VirtioBalloon.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.RingWriter.Buf;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import net.jqwik.api.*;
import net.jqwik.api.statistics.Statistics;

/**
 * Random balloon traffic from a seeded driver: page-number arrays with pages in RAM, outside it
 * and torn, reported ranges aligned or not and sometimes running out of RAM, stats buffers of
 * random bytes, config writes and host requests in between. A model says which pages must have
 * been released; the property is that exactly those read as zero, no other memory changes, the
 * balloon's page count matches, and the only way the device stops is a protocol error found by
 * the queue (never an exception of its own). A failing seed reproduces exactly.
 */
class VirtioBalloonFuzzTest {
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int PAGES = 256;
    static final long PAGE = BALLOON_PAGE_BYTES;
    /** Rings and request buffers live below this page; canary pages up to VICTIM; the guest names only victims. */
    static final int SCRATCH_END = 64, VICTIM = 128;

    @Property
    void randomTrafficReleasesExactlyTheValidPagesAndNothingElse(@ForAll long seed) {
        Random rnd = new Random(seed);
        try (GuestMemory ram = TestRam.create(PAGES * PAGE)) {
            for (int p = SCRATCH_END; p < PAGES; p++) fillPage(ram, p, pattern(p));
            BitSet told = new BitSet(PAGES);
            GuestWriteListener listener = (gpa, len) -> {
                assertEquals(0, (gpa | len) & (PAGE - 1), "released ranges are page aligned");
                told.set((int) ((gpa - ram.baseGpa()) / PAGE), (int) ((gpa + len - ram.baseGpa()) / PAGE));
            };
            VirtioBalloon balloon = new VirtioBalloon(listener);
            VirtioMmioTransport t = new VirtioMmioTransport(balloon, ram, new RecordingIrq(), DeviceEventLoop.inline());
            try {
                FakeDriver d = new FakeDriver(t, ram);
                long accepted = rnd.nextBoolean() ? SUPPORTED_FEATURES : F_PAGE_REPORTING | F_DEFLATE_ON_OOM;
                assertNotEquals(0, d.negotiate(Virtio.F_VERSION_1 | Virtio.F_RING_INDIRECT_DESC | accepted)
                        & Virtio.STATUS_FEATURES_OK);
                int queues = 2 + Long.bitCount(accepted & (F_STATS_VQ | F_PAGE_REPORTING));
                RingWriter[] rings = new RingWriter[queues];
                for (int q = 0; q < queues; q++) rings[q] = d.setupQueue(q, 16);
                d.driverOk();

                BitSet released = new BitSet(PAGES);
                BitSet inBalloon = new BitSet(PAGES);
                boolean broken = false;
                int steps = 5 + rnd.nextInt(30);
                for (int step = 0; step < steps && !broken; step++) {
                    int q = rnd.nextInt(queues);
                    int queue = q < 2 ? q : q == queueIndex(BalloonQueue.STATS, accepted) ? 2 : 3;
                    switch (rnd.nextInt(10)) {
                        case 0 -> balloon.requestStats();
                        case 1 -> balloon.setTargetPages(rnd.nextInt(PAGES));
                        case 2 -> t.write(CONFIG + rnd.nextInt(CONFIG_SIZE_BYTES), 1, rnd.nextInt(256));
                        default -> { }
                    }
                    List<Buf> bufs = new ArrayList<>();
                    BitSet effect = new BitSet(PAGES);
                    boolean inRam = switch (queue) {
                        case 0, 1 -> pfnChain(rnd, d, ram, bufs, effect);
                        case 3 -> rangeChain(rnd, ram, bufs, effect);
                        default -> statsChain(rnd, d, ram, bufs);
                    };
                    assertTrue(d.alloc(0, 1) < ram.baseGpa() + SCRATCH_END * PAGE, "scratch area exhausted");
                    rings[q].addChain(bufs.toArray(Buf[]::new));
                    d.notifyQueue(q);
                    broken = (d.status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0;
                    if (broken) {
                        String why = t.firstNeedsResetReason();
                        assertFalse(why.startsWith("device failure"), "the device itself threw: " + why);
                        assertFalse(inRam, "a well-formed chain broke the protocol: " + why);
                        Statistics.label("outcome").collect("protocol error");
                        break;
                    }
                    assertTrue(inRam, "a chain out of RAM was accepted");
                    if (queue == 0) {
                        released.or(effect);
                        inBalloon.or(effect);
                    } else if (queue == 1) {
                        inBalloon.andNot(effect);
                    } else if (queue == 3) {
                        released.or(effect);
                    }
                }
                if (!broken) Statistics.label("outcome").collect("clean");
                Statistics.label("released").collect(released.isEmpty() ? "none" : "some");
                // Both endings must be common, or the test proves little about one of them.
                Statistics.label("outcome").coverage(c -> {
                    c.check("clean").percentage(p -> p > 30);
                    c.check("protocol error").percentage(p -> p > 2);
                });

                for (int p = SCRATCH_END; p < PAGES; p++) {
                    byte[] b = ram.read(ram.baseGpa() + p * PAGE, (int) PAGE);
                    boolean zero = allEqual(b, (byte) 0);
                    if (released.get(p)) {
                        assertTrue(zero, "page " + p + " was released but holds data");
                    } else {
                        assertTrue(allEqual(b, pattern(p)), "page " + p + " changed though nothing released it");
                    }
                }
                assertEquals(inBalloon.cardinality(), balloon.balloonPages());
                assertEquals(released, told, "the write listener hears of exactly the released pages");
            } finally {
                t.close();
            }
        }
    }

    /** Inflate or deflate: page numbers for victim pages, pages outside RAM, junk, a torn tail. */
    private static boolean pfnChain(Random rnd, FakeDriver d, GuestMemory ram, List<Buf> bufs, BitSet effect) {
        int n = 1 + rnd.nextInt(12);
        long basePfn = ram.baseGpa() >>> PFN_SHIFT;
        long buf = d.alloc(4L * n + 4, 4);
        for (int i = 0; i < n; i++) {
            long pfn = switch (rnd.nextInt(6)) {
                case 0 -> basePfn - 1 - rnd.nextInt(4);                      // just below RAM
                case 1 -> basePfn + PAGES + rnd.nextInt(4);                  // just past it
                case 2 -> outsideRam(rnd, basePfn);                          // anywhere else
                default -> basePfn + VICTIM + rnd.nextInt(PAGES - VICTIM);   // a victim page
            };
            ram.segment().set(LE32, buf - ram.baseGpa() + 4L * i, (int) pfn);
            if (pfn - basePfn >= VICTIM && pfn - basePfn < PAGES) effect.set((int) (pfn - basePfn));
        }
        int torn = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3) : 0;
        int len = 4 * n + torn;
        // Sometimes split the array across two descriptors at an arbitrary byte.
        if (len > 1 && rnd.nextBoolean()) {
            int cut = 1 + rnd.nextInt(len - 1);
            bufs.add(Buf.in(buf, cut));
            bufs.add(Buf.in(buf + cut, len - cut));
        } else {
            bufs.add(Buf.in(buf, len));
        }
        if (rnd.nextInt(5) == 0) bufs.add(Buf.out(d.alloc(16, 16), 16)); // ignored writable tail
        return true;
    }

    private static long outsideRam(Random rnd, long basePfn) {
        while (true) {
            long pfn = rnd.nextInt() & 0xffff_ffffL;
            if (pfn < basePfn || pfn >= basePfn + PAGES) return pfn;
        }
    }

    /** Free page reporting: ranges in victim pages, aligned or not, empty, or running out of RAM. */
    private static boolean rangeChain(Random rnd, GuestMemory ram, List<Buf> bufs, BitSet effect) {
        int n = 1 + rnd.nextInt(4);
        boolean inRam = true;
        boolean writable = rnd.nextInt(4) != 0;
        for (int i = 0; i < n; i++) {
            int first = VICTIM + rnd.nextInt(PAGES - VICTIM);
            int pages = 1 + rnd.nextInt(Math.min(8, PAGES - first));
            long gpa = ram.baseGpa() + first * PAGE;
            long len = pages * PAGE;
            switch (rnd.nextInt(8)) {
                case 0 -> gpa += 1 + rnd.nextInt((int) PAGE - 1);                  // unaligned start
                case 1 -> len -= 1 + rnd.nextInt((int) PAGE - 1);                  // unaligned length
                case 2 -> len = 0;                                                 // empty
                case 3 -> {
                    if (rnd.nextInt(12) == 0) {                                    // off the end of RAM
                        len = ram.endGpa() - gpa + PAGE;
                        inRam = false;
                    } else {
                        effect.set(first, first + pages);
                    }
                }
                default -> effect.set(first, first + pages);
            }
            // An unaligned or empty range is skipped, but it must still lie in RAM.
            if (gpa + len > ram.endGpa()) inRam = false;
            bufs.add(writable ? Buf.out(gpa, (int) len) : Buf.in(gpa, (int) len));
        }
        if (!inRam) effect.clear();
        return inRam;
    }

    /** A stats buffer of random bytes and length, torn entries included. */
    private static boolean statsChain(Random rnd, FakeDriver d, GuestMemory ram, List<Buf> bufs) {
        int len = rnd.nextInt(200);
        long buf = d.alloc(Math.max(len, 1), 2);
        byte[] junk = new byte[len];
        rnd.nextBytes(junk);
        for (int i = 0; i < len; i += 10) junk[i + 1 < len ? i + 1 : i] = 0; // tags mostly small
        ram.write(buf, junk);
        bufs.add(Buf.in(buf, len));
        return true;
    }

    private static byte pattern(int page) {
        return (byte) (page | 0x80);
    }

    private static void fillPage(GuestMemory ram, int page, byte value) {
        ram.segment().asSlice(page * PAGE, PAGE).fill(value);
    }

    private static boolean allEqual(byte[] b, byte value) {
        for (byte x : b) if (x != value) return false;
        return true;
    }
}
