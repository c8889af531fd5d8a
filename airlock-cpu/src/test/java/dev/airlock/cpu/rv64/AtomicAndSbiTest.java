package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AtomicAndSbiTest {
    static final long RAM = HartHarness.RAM;

    @Test
    void lrScPairSucceedsOnceAndAmosReturnOldValues() {
        try (HartHarness h = new HartHarness()) {
            long addr = RAM + 0x1000;
            h.putLong(addr, 5);
            h.hart.x[11] = addr;
            h.hart.x[12] = 9;
            h.program(amo(0x02, true, 10, 11, 0), amo(0x03, true, 13, 11, 12), amo(0x03, true, 14, 11, 12),
                    amo(0x00, true, 15, 11, 12), amo(0x10, false, 16, 11, 0), amo(0x1C, true, 17, 11, 12));
            h.steps(6);
            assertEquals(5, h.x(10));
            assertEquals(0, h.x(13), "first SC succeeds");
            assertEquals(1, h.x(14), "second SC has no reservation");
            assertEquals(9, h.x(15));
            assertEquals(18, h.x(16), "amomin.w returned old 18");
            assertEquals(0, h.x(17), "amomaxu.d returned the 0 that amomin.w stored");
            assertEquals(9, h.getLong(addr), "amomaxu.d stored max(0, 9)");
        }
    }

    @Test
    void misalignedAmoTraps() {
        try (HartHarness h = new HartHarness()) {
            h.hart.x[11] = RAM + 0x1001;
            h.hart.mtvec = RAM + 0x400;
            h.program(amo(0x00, true, 10, 11, 0));
            h.steps(1);
            assertEquals(Trap.STORE_MISALIGNED, h.hart.mcause);
        }
    }

    @Test
    void sbiBaseProbeDebugConsoleAndShutdown() {
        try (HartHarness h = new HartHarness(true)) {
            Hart t = h.hart;
            t.reset(RAM, Hart.PRIV_S, 0, 0);
            byte[] text = "hello".getBytes(StandardCharsets.US_ASCII);
            h.mem.write(RAM + 0x800, text);
            // base: get_spec_version; probe TIME; DBCN write; SRST shutdown
            t.x[17] = 0x10; t.x[16] = 0;
            h.program(ECALL, ECALL, ECALL, ECALL);
            h.steps(1);
            assertEquals(0, t.x[10]);
            assertEquals(2L << 24, t.x[11]);
            t.x[17] = 0x10; t.x[16] = 3; t.x[10] = Sbi.EXT_TIME;
            h.steps(1);
            assertEquals(1, t.x[11]);
            t.x[17] = Sbi.EXT_DBCN; t.x[16] = 0; t.x[10] = text.length; t.x[11] = RAM + 0x800; t.x[12] = 0;
            h.steps(1);
            assertEquals("hello", h.console.toString(StandardCharsets.US_ASCII));
            assertEquals(5, t.x[11]);
            t.x[17] = Sbi.EXT_SRST; t.x[16] = 0; t.x[10] = 0; t.x[11] = 0;
            h.steps(1);
            assertEquals(0, h.resetType);
        }
    }

    @Test
    void sbiSetTimerRaisesSupervisorTimerInterrupt() {
        try (HartHarness h = new HartHarness(true)) {
            Hart t = h.hart;
            t.reset(RAM, Hart.PRIV_S, 0, 0);
            t.stvec = RAM + 0x600;
            t.mie = Csr.MIP_STIP;
            t.mstatus |= Csr.MSTATUS_SIE;
            t.x[17] = Sbi.EXT_TIME; t.x[16] = 0; t.x[10] = 1000;
            h.program(ECALL, addi(0, 0, 0), addi(0, 0, 0));
            h.steps(2);
            assertEquals(RAM + 8, t.pc);
            h.ticks = 1000;
            t.pollNow = true;
            h.steps(1);
            assertEquals(RAM + 0x600, t.pc);
            assertEquals(Long.MIN_VALUE | 5, t.scause);
        }
    }
}
