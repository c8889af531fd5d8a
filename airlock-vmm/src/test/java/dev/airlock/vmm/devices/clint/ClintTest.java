package dev.airlock.vmm.devices.clint;

import static dev.airlock.cpu.HartInterrupts.IRQ_M_SOFT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.vmm.testing.FakeHart;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ClintTest {
    private final FakeHart[] harts = FakeHart.harts(2);
    private final AtomicLong ticks = new AtomicLong(0x1_2345_6789L);
    private final Clint clint = new Clint(harts, ticks::get);

    @Test
    void msipDrivesTheHartsSoftwareInterrupt() {
        clint.write(4, 4, 1);
        assertTrue(harts[1].line(IRQ_M_SOFT));
        assertFalse(harts[0].line(IRQ_M_SOFT));
        assertEquals(1, clint.read(4, 4));
        assertEquals(0, clint.read(0, 4));
        clint.write(4, 4, 0xFFFF_FFFEL);
        assertFalse(harts[1].line(IRQ_M_SOFT), "only bit 0 counts");
        assertEquals(0, clint.read(4, 4));
    }

    @Test
    void mtimecmpIsTheHarts() {
        clint.write(0x4008, 8, 0x1122_3344_5566_7788L);
        assertEquals(0x1122_3344_5566_7788L, harts[1].mtimecmp());
        assertEquals(0x1122_3344_5566_7788L, clint.read(0x4008, 8));
        assertEquals(0x5566_7788L, clint.read(0x4008, 4));
        assertEquals(0x1122_3344L, clint.read(0x400C, 4));
        assertEquals(-1L, harts[0].mtimecmp(), "hart 0 untouched");
    }

    @Test
    void mtimecmpHalvesAreWritableSeparately() {
        // The RV32-style sequence: high half to all ones first, so no spurious interrupt in between.
        clint.write(0x4000, 4, 0xFFFF_FFFFL);
        clint.write(0x4004, 4, 0x0000_0002L);
        clint.write(0x4000, 4, 0x8000_0000L);
        assertEquals(0x2_8000_0000L, harts[0].mtimecmp());
    }

    @Test
    void mtimeReadsTheTimeBase() {
        assertEquals(0x1_2345_6789L, clint.read(0xBFF8, 8));
        assertEquals(0x2345_6789L, clint.read(0xBFF8, 4));
        assertEquals(0x1L, clint.read(0xBFFC, 4));
        ticks.addAndGet(10);
        assertEquals(0x1_2345_6793L, clint.read(0xBFF8, 8));
        clint.write(0xBFF8, 8, 0);
        assertEquals(0x1_2345_6793L, clint.read(0xBFF8, 8), "mtime writes are ignored");
    }

    @Test
    void registersOfAbsentHartsAndOddSizesAreIgnored() {
        clint.write(8, 4, 1);
        clint.write(0x4010, 8, 5);
        clint.write(0, 1, 1);
        clint.write(0x4000, 2, 5);
        clint.write(0x4004, 8, 5); // misaligned 64-bit
        assertFalse(harts[0].line(IRQ_M_SOFT));
        assertEquals(-1L, harts[0].mtimecmp());
        assertEquals(0, clint.read(8, 4));
        assertEquals(0, clint.read(0xBFF8, 2));
    }

    @Test
    void resetClearsMsip() {
        clint.write(0, 4, 1);
        clint.reset();
        assertFalse(harts[0].line(IRQ_M_SOFT));
        assertEquals(0, clint.read(0, 4));
    }
}
