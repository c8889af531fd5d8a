package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** CSRs, trap entry and return, delegation, interrupts, and Sv39 translation with its faults. */
class PrivilegedTest {
    static final long RAM = HartHarness.RAM;

    @Test
    void csrReadModifyWriteAndReadOnlyCsrs() {
        try (HartHarness h = new HartHarness()) {
            h.program(addi(5, 0, 0x55), csrrw(0, Csr.MSCRATCH, 5), csrrs(10, Csr.MSCRATCH, 0),
                    addi(6, 0, 0x05), csrrc(11, Csr.MSCRATCH, 6), csrrs(12, Csr.MSCRATCH, 0),
                    csrrs(13, Csr.MISA, 0), csrrs(14, Csr.MHARTID, 0));
            h.steps(8);
            assertEquals(0x55, h.x(10));
            assertEquals(0x55, h.x(11));
            assertEquals(0x50, h.x(12));
            assertEquals(Csr.MISA_RV64GC, h.x(13));
            assertEquals(0, h.x(14));
            // A write to a read-only CSR is illegal.
            h.hart.mtvec = RAM + 0x400;
            h.load(h.hart.pc, csrrw(0, Csr.MHARTID, 5));
            h.steps(1);
            assertEquals(Trap.ILLEGAL_INSN, h.hart.mcause);
        }
    }

    @Test
    void userModeReadsTimeWhenTheHypervisorPlaysTheFirmware() {
        // As after OpenSBI: Linux without an SBI PMU never sets scounteren, and its vDSO reads time in U-mode.
        try (HartHarness h = new HartHarness(true)) {
            h.hart.reset(RAM, Hart.PRIV_U, 0, 0);
            h.ticks = 1234;
            h.program(csrrs(10, Csr.TIME, 0), csrrs(11, Csr.CYCLE, 0), csrrs(12, Csr.INSTRET, 0));
            h.steps(3);
            assertEquals(Hart.PRIV_U, h.hart.privilege());
            assertEquals(RAM + 12, h.hart.pc, "no trap");
            assertEquals(1234, h.x(10));
        }
    }

    @Test
    void satpIsWarlSoUnsupportedModesReadBackUnchanged() {
        try (HartHarness h = new HartHarness()) {
            h.hart.writeCsr(Csr.SATP, (10L << 60) | 0x80123); // Sv57: not implemented
            assertEquals(0, h.hart.readCsr(Csr.SATP));
            h.hart.writeCsr(Csr.SATP, (8L << 60) | 0x80123);
            assertEquals((8L << 60) | 0x80123, h.hart.readCsr(Csr.SATP));
        }
    }

    @Test
    void ecallFromUserDelegatedToSupervisorAndSretReturns() {
        try (HartHarness h = new HartHarness()) {
            Hart t = h.hart;
            t.medeleg = 1L << Trap.ECALL_U;
            t.stvec = RAM + 0x200;
            t.mepc = RAM + 0x100;
            t.mstatus = (t.mstatus & ~Csr.MSTATUS_MPP) | ((long) Hart.PRIV_U << Csr.MSTATUS_MPP_SHIFT);
            h.program(MRET);
            h.load(RAM + 0x100, ECALL);
            h.load(RAM + 0x200, csrrs(10, Csr.SCAUSE, 0), csrrs(11, Csr.SEPC, 0), SRET);
            h.steps(1);
            assertEquals(Hart.PRIV_U, t.privilege());
            h.steps(1);
            assertEquals(Hart.PRIV_S, t.privilege());
            assertEquals(RAM + 0x200, t.pc);
            assertEquals(0, t.mstatus & Csr.MSTATUS_SPP, "SPP records U");
            h.steps(3);
            assertEquals(Trap.ECALL_U, h.x(10));
            assertEquals(RAM + 0x100, h.x(11));
            assertEquals(Hart.PRIV_U, t.privilege());
        }
    }

    @Test
    void timerInterruptVectoredToMachineModeWhenEnabled() {
        try (HartHarness h = new HartHarness()) {
            Hart t = h.hart;
            t.mtvec = (RAM + 0x300) | 1; // vectored
            t.mie = Csr.MIP_MTIP;
            t.mstatus |= Csr.MSTATUS_MIE;
            h.program(addi(0, 0, 0), addi(0, 0, 0));
            t.setMtimecmp(100);
            h.ticks = 50;
            h.steps(1);
            assertEquals(RAM + 4, t.pc, "not yet due");
            h.ticks = 100;
            t.pollNow = true;
            h.steps(1);
            assertEquals(RAM + 0x300 + 4 * 7, t.pc);
            assertEquals(Long.MIN_VALUE | 7, t.mcause);
            assertEquals(0, t.mstatus & Csr.MSTATUS_MIE);
            assertTrue((t.mstatus & Csr.MSTATUS_MPIE) != 0);
        }
    }

    @Test
    void allOnesMtimecmpMeansNoTimer() {
        try (HartHarness h = new HartHarness()) {
            h.ticks = 5;
            h.hart.setMtimecmp(-1);
            h.program(addi(0, 0, 0));
            h.steps(1);
            assertEquals(0, h.hart.mip & Csr.MIP_MTIP, "an all-ones compare value is the far future, not the past");
            h.hart.mie = Csr.MIP_MTIP;
            assertEquals(Long.MAX_VALUE, h.hart.nextTimerDeadline());
        }
    }

    @Test
    void wfiWithNothingPendingLeavesTheRunLoop() {
        try (HartHarness h = new HartHarness()) {
            h.program(WFI, addi(10, 0, 1));
            assertEquals(Hart.EXIT_WFI, h.hart.run(10_000));
            assertEquals(RAM + 4, h.hart.pc);
        }
    }

    /** Builds an Sv39 table mapping VA 0x4000_0000.. (4 KiB pages) and runs S-mode code through it. */
    @Test
    void sv39WalkSetsAccessedDirtyAndFaultsOnMissingPermission() {
        try (HartHarness h = new HartHarness()) {
            Hart t = h.hart;
            long root = RAM + 0x10000, l1 = RAM + 0x11000, l0 = RAM + 0x12000;
            long code = RAM + 0x20000, data = RAM + 0x21000, ro = RAM + 0x22000;
            // VA 0x4000_0000: vpn2 = 1, vpn1 = 0, vpn0 = 0 (code), 1 (data), 2 (read-only)
            h.putLong(root + 8, ((l1 >>> 12) << 10) | 1);
            h.putLong(l1, ((l0 >>> 12) << 10) | 1);
            h.putLong(l0, ((code >>> 12) << 10) | 0b1011);       // V R X
            h.putLong(l0 + 8, ((data >>> 12) << 10) | 0b0111);   // V R W
            h.putLong(l0 + 16, ((ro >>> 12) << 10) | 0b0011);    // V R
            h.putLong(data, 42);
            // S-mode code: ld a0, 0(a1); sd a0, 8(a1); sd a0, 0(a2) -> store page fault
            h.load(code, ld(10, 11, 0), sd(10, 11, 8), sd(10, 12, 0));
            t.writeCsr(Csr.SATP, (8L << 60) | (root >>> 12));
            t.x[11] = 0x4000_1000L;
            t.x[12] = 0x4000_2000L;
            t.mtvec = RAM + 0x400;
            t.mepc = 0x4000_0000L;
            t.mstatus = (t.mstatus & ~Csr.MSTATUS_MPP) | ((long) Hart.PRIV_S << Csr.MSTATUS_MPP_SHIFT);
            h.program(MRET);
            h.steps(3);
            assertEquals(42, h.x(10));
            assertEquals(42, h.getLong(data + 8));
            assertEquals(0xc0, h.getLong(l0 + 8) & 0xc0, "A and D set on the data page");
            assertEquals(0x40, h.getLong(l0) & 0xc0, "A only on the code page");
            h.steps(1);
            assertEquals(Trap.STORE_PAGE_FAULT, t.mcause);
            assertEquals(0x4000_2000L, t.mtval);
            assertEquals(0x4000_0008L, t.mepc);
        }
    }

    @Test
    void supervisorCannotTouchUserPagesWithoutSum() {
        try (HartHarness h = new HartHarness()) {
            Hart t = h.hart;
            long root = RAM + 0x10000;
            // A 1 GiB gigapage at VA 0 -> PA 0x8000_0000 (user, RWX), and an identity gigapage for the code.
            h.putLong(root, ((RAM >>> 12) << 10) | 0b11111);
            h.putLong(root + 16, ((RAM >>> 12) << 10) | 0b01111);
            t.writeCsr(Csr.SATP, (8L << 60) | (root >>> 12));
            t.mtvec = RAM + 0x400;
            t.mepc = RAM + 0x100;
            t.mstatus = (t.mstatus & ~Csr.MSTATUS_MPP) | ((long) Hart.PRIV_S << Csr.MSTATUS_MPP_SHIFT);
            h.program(MRET);
            h.load(RAM + 0x100, ld(10, 0, 0x100), csrrs(0, Csr.SSTATUS, 5), ld(10, 0, 0x100));
            t.x[5] = Csr.MSTATUS_SUM;
            h.steps(2);
            assertEquals(Trap.LOAD_PAGE_FAULT, t.mcause);
            // Resume after the fault with SUM set: the same load now succeeds.
            t.mepc = RAM + 0x104;
            h.load(RAM + 0x400, MRET);
            t.mstatus = (t.mstatus & ~Csr.MSTATUS_MPP) | ((long) Hart.PRIV_S << Csr.MSTATUS_MPP_SHIFT);
            h.steps(3);
            assertEquals(Hart.PRIV_S, t.privilege());
            assertEquals(h.getLong(RAM + 0x100), h.x(10));
        }
    }

    /**
     * satp holds a 16-bit ASID: each address space's translations stay cached while another runs (here
     * a stale one proves it), global ones serve every space, and sfence.vma with an ASID drops that
     * space's own.
     */
    @Test
    void asidsKeepEachAddressSpacesTranslationsAcrossSwitches() {
        try (HartHarness h = new HartHarness()) {
            Hart t = h.hart;
            long rootA = RAM + 0x10000, l1A = RAM + 0x11000, l0A = RAM + 0x12000;
            long rootB = RAM + 0x13000, l1B = RAM + 0x14000, l0B = RAM + 0x15000;
            long pageA = RAM + 0x20000, pageB = RAM + 0x21000, pageC = RAM + 0x22000;
            for (long[] space : new long[][] {{rootA, l1A, l0A, pageA}, {rootB, l1B, l0B, pageB}}) {
                h.putLong(space[0] + 8, ((space[1] >>> 12) << 10) | 1);       // VA 0x4000_0000 ...
                h.putLong(space[1], ((space[2] >>> 12) << 10) | 1);
                h.putLong(space[2], ((space[3] >>> 12) << 10) | 0b0111);     // ... -> its own page, V R W
                h.putLong(space[0] + 16, ((RAM >>> 12) << 10) | 0x2f);      // code: identity gigapage, global
            }
            h.putLong(pageA, 111);
            h.putLong(pageB, 222);
            h.putLong(pageC, 333);
            long satpA = (8L << 60) | (1L << 44) | (rootA >>> 12), satpB = (8L << 60) | (2L << 44) | (rootB >>> 12);
            t.writeCsr(Csr.SATP, satpA);
            assertEquals(1, (t.satp >>> 44) & 0xffff, "the ASID reads back, so Linux uses them");
            t.x[11] = 0x4000_0000L;
            t.x[5] = satpB;
            t.x[6] = satpA;
            t.x[7] = 1;
            t.mepc = RAM + 0x100;
            t.mstatus = (t.mstatus & ~Csr.MSTATUS_MPP) | ((long) Hart.PRIV_S << Csr.MSTATUS_MPP_SHIFT);
            h.program(MRET);
            h.load(RAM + 0x100, ld(10, 11, 0), csrrw(0, Csr.SATP, 5), ld(12, 11, 0), csrrw(0, Csr.SATP, 6), ld(13, 11, 0),
                    csrrw(0, Csr.SATP, 5), csrrw(0, Csr.SATP, 6), ld(14, 11, 0), sfenceVma(0, 7), ld(15, 11, 0));
            h.steps(6);
            assertEquals(111, h.x(10));
            assertEquals(222, h.x(12), "each address space sees its own page");
            assertEquals(111, h.x(13));
            h.putLong(l0A, ((pageC >>> 12) << 10) | 0b0111); // remapped without a fence: A's cached entry stays
            h.steps(5);
            assertEquals(111, h.x(14), "A's translation outlived two switches");
            assertEquals(333, h.x(15), "sfence.vma x0, ASID 1 dropped it");
            assertEquals(Hart.PRIV_S, t.privilege());
        }
    }
}
