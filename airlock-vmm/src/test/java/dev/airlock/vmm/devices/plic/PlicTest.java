package dev.airlock.vmm.devices.plic;

import static dev.airlock.cpu.HartInterrupts.IRQ_M_EXT;
import static dev.airlock.cpu.HartInterrupts.IRQ_S_EXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.vmm.bus.IrqLine;
import dev.airlock.vmm.testing.Allocations;
import dev.airlock.vmm.testing.FakeHart;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class PlicTest {
    private final FakeHart[] harts = FakeHart.harts(2);
    private final Plic plic = new Plic(harts);

    private void priority(int src, int value) {
        plic.write(4L * src, 4, value);
    }

    private void enable(int ctx, int src) {
        long off = 0x2000 + 0x80L * ctx + 4L * (src / 32);
        plic.write(off, 4, plic.read(off, 4) | (1L << (src % 32)));
    }

    private void disable(int ctx, int src) {
        long off = 0x2000 + 0x80L * ctx + 4L * (src / 32);
        plic.write(off, 4, plic.read(off, 4) & ~(1L << (src % 32)));
    }

    private void threshold(int ctx, int value) {
        plic.write(0x20_0000 + 0x1000L * ctx, 4, value);
    }

    private int claim(int ctx) {
        return (int) plic.read(0x20_0004 + 0x1000L * ctx, 4);
    }

    private void complete(int ctx, int src) {
        plic.write(0x20_0004 + 0x1000L * ctx, 4, src);
    }

    private long pendingWord(int word) {
        return plic.read(0x1000 + 4L * word, 4);
    }

    /** Lines are made on first request; each source has one, and it drives its source. */
    @Test
    void aSourceLineIsMadeOnceAndDrivesItsSource() {
        IrqLine line = plic.source(95);
        assertSame(line, plic.source(95));
        priority(95, 1);
        enable(1, 95);
        line.set(true);
        assertTrue(harts[0].line(IRQ_S_EXT));
        assertEquals(95, claim(1));
        line.set(false);
        complete(1, 95);
        assertFalse(harts[0].line(IRQ_S_EXT));
        assertThrows(IllegalArgumentException.class, () -> plic.source(0));
        assertThrows(IllegalArgumentException.class, () -> plic.source(96));
    }

    @Test
    void aRaisedEnabledSourceInterruptsItsContextsHart() {
        priority(10, 1);
        enable(1, 10); // hart 0, S mode
        assertFalse(harts[0].line(IRQ_S_EXT));
        plic.setSourceLevel(10, true);
        assertTrue(harts[0].line(IRQ_S_EXT));
        assertFalse(harts[0].line(IRQ_M_EXT));
        assertFalse(harts[1].line(IRQ_S_EXT));
        assertEquals(10, claim(1));
        assertFalse(harts[0].line(IRQ_S_EXT), "claimed: nothing else pending");
        assertEquals(0, claim(1), "nothing left to claim");
    }

    @Test
    void contextsMapToHartAndPrivilege() {
        for (int src = 1; src <= 4; src++) {
            priority(src, 1);
            enable(src - 1, src);
        }
        plic.setSourceLevel(1, true);
        plic.setSourceLevel(2, true);
        plic.setSourceLevel(3, true);
        plic.setSourceLevel(4, true);
        assertTrue(harts[0].line(IRQ_M_EXT), "context 0");
        assertTrue(harts[0].line(IRQ_S_EXT), "context 1");
        assertTrue(harts[1].line(IRQ_M_EXT), "context 2");
        assertTrue(harts[1].line(IRQ_S_EXT), "context 3");
        assertEquals(3, claim(2));
        assertFalse(harts[1].line(IRQ_M_EXT));
        assertTrue(harts[1].line(IRQ_S_EXT));
    }

    @Test
    void claimPicksHighestPriorityThenLowestId() {
        for (int src : new int[] {5, 7, 40, 70}) {
            enable(1, src);
            plic.setSourceLevel(src, true);
        }
        priority(5, 2);
        priority(7, 3);
        priority(40, 3);
        priority(70, 1);
        assertEquals(7, claim(1));
        assertEquals(40, claim(1));
        assertEquals(5, claim(1));
        assertEquals(70, claim(1));
        assertEquals(0, claim(1));
    }

    @Test
    void thresholdMasksPrioritiesAtOrBelowIt() {
        priority(3, 2);
        enable(1, 3);
        plic.setSourceLevel(3, true);
        threshold(1, 2);
        assertFalse(harts[0].line(IRQ_S_EXT));
        assertEquals(0, claim(1));
        threshold(1, 1);
        assertTrue(harts[0].line(IRQ_S_EXT));
        threshold(1, 7); // Linux's "disabled" threshold
        assertFalse(harts[0].line(IRQ_S_EXT));
        assertEquals(7, plic.read(0x20_1000, 4));
    }

    @Test
    void priorityZeroNeverInterrupts() {
        enable(1, 9);
        plic.setSourceLevel(9, true);
        assertEquals(1L << 9, pendingWord(0), "pending regardless of priority");
        assertFalse(harts[0].line(IRQ_S_EXT));
        assertEquals(0, claim(1));
    }

    @Test
    void disabledSourcesStayPendingButDoNotInterrupt() {
        priority(33, 1);
        plic.setSourceLevel(33, true);
        assertEquals(1L << 1, pendingWord(1));
        assertFalse(harts[0].line(IRQ_S_EXT));
        enable(1, 33);
        assertTrue(harts[0].line(IRQ_S_EXT));
        disable(1, 33);
        assertFalse(harts[0].line(IRQ_S_EXT));
    }

    @Test
    void completionRearmsALevelThatIsStillHigh() {
        priority(10, 1);
        enable(1, 10);
        plic.setSourceLevel(10, true);
        assertEquals(10, claim(1));
        assertEquals(0, pendingWord(0), "claimed sources are not pending");
        complete(1, 10);
        assertEquals(1L << 10, pendingWord(0), "the device still asserts its line");
        assertTrue(harts[0].line(IRQ_S_EXT));
        assertEquals(10, claim(1));
        plic.setSourceLevel(10, false); // the driver serviced the device
        complete(1, 10);
        assertEquals(0, pendingWord(0));
        assertFalse(harts[0].line(IRQ_S_EXT));
    }

    @Test
    void aLevelDroppedBeforeTheClaimIsNoLongerPending() {
        priority(2, 1);
        enable(1, 2);
        plic.setSourceLevel(2, true);
        plic.setSourceLevel(2, false);
        assertFalse(harts[0].line(IRQ_S_EXT));
        assertEquals(0, claim(1));
    }

    @Test
    void completionOfASourceNotEnabledForTheContextIsIgnored() {
        priority(4, 1);
        enable(1, 4);
        plic.setSourceLevel(4, true);
        assertEquals(4, claim(1));
        complete(3, 4); // context 3 does not have source 4 enabled
        assertEquals(0, pendingWord(0), "still in service");
        // Linux unmasks briefly to complete a masked source, which is why the rule matters.
        disable(1, 4);
        complete(1, 4);
        assertEquals(0, pendingWord(0));
        enable(1, 4);
        complete(1, 4);
        assertEquals(1L << 4, pendingWord(0));
    }

    @Test
    void aClaimedSourceIsNotClaimedByAnotherContext() {
        priority(6, 1);
        enable(1, 6);
        enable(3, 6);
        plic.setSourceLevel(6, true);
        assertTrue(harts[0].line(IRQ_S_EXT));
        assertTrue(harts[1].line(IRQ_S_EXT));
        assertEquals(6, claim(3));
        assertFalse(harts[0].line(IRQ_S_EXT), "the other hart's line falls with the claim");
        assertEquals(0, claim(1));
    }

    @Test
    void registersKeepOnlyImplementedBits() {
        priority(1, 0xFFFF_FFFF);
        assertEquals(7, plic.read(4, 4));
        priority(0, 5);
        assertEquals(0, plic.read(0, 4), "source 0 does not exist");
        plic.write(0x2000, 4, 0xFFFF_FFFFL);
        assertEquals(0xFFFF_FFFEL, plic.read(0x2000, 4), "enable bit 0 is hardwired to 0");
        plic.write(0x2008, 4, 0xFFFF_FFFFL);
        assertEquals(0xFFFF_FFFFL, plic.read(0x2008, 4), "ids 64..95");
        threshold(0, 0xFF);
        assertEquals(7, plic.read(0x20_0000, 4));
        plic.write(0x1000, 4, 0xFFFF_FFFFL);
        assertEquals(0, pendingWord(0), "pending is read-only");
    }

    @Test
    void onlyAligned32BitAccessesCount() {
        priority(1, 3);
        assertEquals(0, plic.read(4, 8));
        assertEquals(0, plic.read(4, 2));
        assertEquals(0, plic.read(5, 4));
        plic.write(4, 8, 1);
        plic.write(4, 1, 1);
        assertEquals(3, plic.read(4, 4));
        assertEquals(5, plic.ignoredAccesses());
    }

    @Test
    void sourcesOutsideOneTo95AreWiringErrors() {
        assertThrows(IllegalArgumentException.class, () -> plic.source(0));
        assertThrows(IllegalArgumentException.class, () -> plic.source(96));
        assertThrows(IllegalArgumentException.class, () -> plic.setSourceLevel(-1, true));
        assertThrows(IllegalArgumentException.class, () -> new Plic(new FakeHart[0]));
    }

    @Test
    void sourceLinesDriveTheirSource() {
        IrqLine line = plic.source(95);
        priority(95, 1);
        enable(0, 95);
        line.set(true);
        assertTrue(harts[0].line(IRQ_M_EXT));
        assertEquals(1L << 31, pendingWord(2));
        line.set(false);
        assertFalse(harts[0].line(IRQ_M_EXT));
    }

    @Test
    void hartLinesAreToldOnlyOfChanges() {
        priority(10, 1);
        enable(1, 10);
        int before = harts[0].lineCalls();
        plic.setSourceLevel(10, true);
        plic.setSourceLevel(10, true);
        priority(10, 2);
        assertEquals(before + 1, harts[0].lineCalls());
    }

    @Test
    void resetClearsRegistersButKeepsInputLevels() {
        priority(10, 1);
        enable(1, 10);
        plic.setSourceLevel(10, true);
        assertEquals(10, claim(1));
        plic.reset();
        assertEquals(0, plic.read(40, 4));
        assertEquals(0, plic.read(0x2080, 4));
        assertEquals(1L << 10, pendingWord(0), "the device still drives its line; reset ended the claim");
        assertFalse(harts[0].line(IRQ_S_EXT));
    }

    @Test
    void linuxInitSequenceLeavesEverySourceMaskedAtPriorityOne() {
        // plic_probe: per context, disable 1..ndev and set priority 1; M-mode contexts get threshold 7.
        for (int ctx = 0; ctx < 4; ctx++) {
            for (int src = 1; src <= Plic.MAX_SOURCE_ID; src++) {
                disable(ctx, src);
                priority(src, 1);
            }
            threshold(ctx, ctx % 2 == 0 ? 7 : 0);
        }
        plic.setSourceLevel(10, true);
        for (FakeHart h : harts) {
            assertFalse(h.line(IRQ_S_EXT));
            assertFalse(h.line(IRQ_M_EXT));
        }
        enable(1, 10);
        assertTrue(harts[0].line(IRQ_S_EXT));
        enable(0, 10);
        assertFalse(harts[0].line(IRQ_M_EXT), "threshold 7 masks the M-mode context");
    }

    @Test
    void devicesOnOtherThreadsAreEachServicedUntilTheyLowerTheirLines() throws InterruptedException {
        // Few threads, and they yield: this host has two cores shared with other builds.
        int devices = 3;
        int rounds = 500;
        for (int src = 1; src <= devices; src++) {
            priority(src, 1 + src % 7);
            enable(1, src);
        }
        AtomicIntegerArray serviced = new AtomicIntegerArray(devices + 1);
        Thread[] threads = new Thread[devices];
        for (int d = 0; d < devices; d++) {
            int src = d + 1;
            threads[d] = new Thread(() -> {
                for (int r = 0; r < rounds; r++) {
                    plic.setSourceLevel(src, true);
                    while (serviced.get(src) <= r) {
                        Thread.yield();
                    }
                }
            });
            threads[d].start();
        }
        int total = 0;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (total < devices * rounds && System.nanoTime() < deadline) {
            int src = claim(1);
            if (src == 0) {
                Thread.yield();
                continue;
            }
            // The driver services the device, which lowers its line before completion.
            plic.setSourceLevel(src, false);
            serviced.incrementAndGet(src);
            complete(1, src);
            total++;
        }
        for (Thread t : threads) {
            t.join(5_000);
        }
        assertEquals(devices * rounds, total);
        assertEquals(0, pendingWord(0));
        assertFalse(harts[0].line(IRQ_S_EXT));
    }

    @Test
    void registerAccessesAllocateNothing() {
        HartInterrupts quiet = new HartInterrupts() {
            @Override public void setInterruptLine(int irq, boolean level) {}
            @Override public void setMtimecmp(long ticks) {}
            @Override public long mtimecmp() { return 0; }
        };
        Plic p = new Plic(new HartInterrupts[] {quiet, quiet});
        p.write(40, 4, 1);
        p.write(0x2080, 4, 1 << 10);
        long allocated = Allocations.bytesAllocatedBy(() -> {
            for (int i = 0; i < 50_000; i++) {
                p.setSourceLevel(10, true);
                long src = p.read(0x20_1004, 4);
                p.setSourceLevel(10, false);
                p.write(0x20_1004, 4, src);
                p.read(0x1000, 4);
            }
        });
        assertTrue(allocated < 1024, "PLIC accesses allocated " + allocated + " bytes");
    }

    /** A snapshot of the guest-programmed registers, restored into a new PLIC, reads back the same and drives the same lines. */
    @Test
    void stateSurvivesASaveAndRestore() {
        priority(10, 3);
        priority(11, 5);
        enable(1, 10);
        enable(1, 11);
        enable(3, 11);
        threshold(1, 2);
        plic.setSourceLevel(11, true);
        assertEquals(11, claim(1)); // 11 is now in service
        plic.setSourceLevel(10, true);
        byte[] saved = plic.saveState();

        FakeHart[] others = FakeHart.harts(2);
        Plic copy = new Plic(others);
        copy.restoreState(java.nio.ByteBuffer.wrap(saved).order(java.nio.ByteOrder.LITTLE_ENDIAN));
        copy.setSourceLevel(10, true); // devices drive their lines again after a restore
        copy.setSourceLevel(11, true);
        for (long off : new long[] {4L * 10, 4L * 11, 0x2000 + 0x80L, 0x2000 + 0x80L * 3, 0x20_0000 + 0x1000L}) {
            assertEquals(plic.read(off, 4), copy.read(off, 4), "register 0x" + Long.toHexString(off));
        }
        assertEquals(harts[0].line(IRQ_S_EXT), others[0].line(IRQ_S_EXT));
        assertEquals(10, (int) copy.read(0x20_0004 + 0x1000L, 4), "11 stays in service, so 10 is claimed next");
        assertThrows(IllegalArgumentException.class,
                () -> new Plic(FakeHart.harts(1)).restoreState(java.nio.ByteBuffer.wrap(saved).order(java.nio.ByteOrder.LITTLE_ENDIAN)));
    }
}
