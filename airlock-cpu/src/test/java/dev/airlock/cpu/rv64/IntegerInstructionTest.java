package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class IntegerInstructionTest {
    private static long run(int... program) {
        try (HartHarness h = new HartHarness()) {
            h.program(program);
            h.steps(program.length);
            return h.x(10);
        }
    }

    @Test
    void immediatesAndUpperImmediates() {
        assertEquals(-1, run(addi(10, 0, -1)));
        assertEquals(0xffff_ffff_8000_0000L, run(lui(10, 0x80000)));
        assertEquals(HartHarness.RAM + 0x1000, run(auipc(10, 1)));
        assertEquals(0x7fff_ffffL, run(lui(10, 0x80000), addiw(10, 10, -1)));
        assertEquals(1, run(addi(11, 0, -5), i(-4, 11, 2, 10, 0x13)));          // slti -5 < -4
        assertEquals(0, run(addi(11, 0, -5), i(4, 11, 3, 10, 0x13)));           // sltiu: huge < 4 is false
    }

    @Test
    void shifts64And32() {
        assertEquals(1L << 63, run(addi(10, 0, 1), slli(10, 10, 63)));
        assertEquals(-1L, run(addi(10, 0, 1), slli(10, 10, 63), srai(10, 10, 63)));
        assertEquals(1L, run(addi(10, 0, 1), slli(10, 10, 63), srli(10, 10, 63)));
        // sraiw of 0x80000000 by 31 sign-extends to -1; srliw gives 1
        assertEquals(-1L, run(lui(10, 0x80000), i(0x400 | 31, 10, 5, 10, 0x1b)));
        assertEquals(1L, run(lui(10, 0x80000), i(31, 10, 5, 10, 0x1b)));
        // sllw uses only the low 5 bits of rs2 and sign-extends the 32-bit result
        assertEquals(0xffff_ffff_8000_0000L, run(addi(10, 0, 1), addi(11, 0, 63), r(0, 11, 10, 1, 10, 0x3b)));
    }

    @Test
    void multiplyAndDivideEdgeCases() {
        // div by zero gives -1, rem by zero gives the dividend, MIN / -1 overflows to MIN with rem 0
        assertEquals(-1, run(addi(11, 0, 7), mulDiv(4, 10, 11, 0)));
        assertEquals(-1, run(addi(11, 0, 7), mulDiv(5, 10, 11, 0)));
        assertEquals(7, run(addi(11, 0, 7), mulDiv(6, 10, 11, 0)));
        assertEquals(Long.MIN_VALUE, run(addi(11, 0, 1), slli(11, 11, 63), addi(12, 0, -1), mulDiv(4, 10, 11, 12)));
        assertEquals(0, run(addi(11, 0, 1), slli(11, 11, 63), addi(12, 0, -1), mulDiv(6, 10, 11, 12)));
        assertEquals(-3, run(addi(11, 0, -7), addi(12, 0, 2), mulDiv(4, 10, 11, 12)));   // rounds toward zero
        assertEquals(-1, run(addi(11, 0, -7), addi(12, 0, 2), mulDiv(6, 10, 11, 12)));   // sign of dividend
        // mulh/mulhu/mulhsu of -1 and -1
        assertEquals(0, run(addi(11, 0, -1), mulDiv(1, 10, 11, 11)));
        assertEquals(-2, run(addi(11, 0, -1), mulDiv(3, 10, 11, 11)));
        assertEquals(-1, run(addi(11, 0, -1), mulDiv(2, 10, 11, 11)));
        // divw: 32-bit MIN / -1 = MIN sign-extended; divuw by zero = all ones
        assertEquals(Integer.MIN_VALUE, run(lui(11, 0x80000), addi(12, 0, -1), mulDivW(4, 10, 11, 12)));
        assertEquals(-1, run(addi(11, 0, 5), mulDivW(5, 10, 11, 0)));
        assertEquals(6, run(addi(11, 0, 2), addi(12, 0, 3), mul(10, 11, 12)));
    }

    @Test
    void branchesAndJumpsLinkAndLand() {
        // beq taken skips one instruction
        assertEquals(0, run(beq(0, 0, 8), addi(10, 0, 1), addi(0, 0, 0)));
        assertEquals(1, run(bne(0, 0, 8), addi(10, 0, 1)));
        assertEquals(0, run(addi(11, 0, -1), blt(11, 0, 8), addi(10, 0, 5), addi(0, 0, 0))); // taken: skips a0 = 5
        try (HartHarness h = new HartHarness()) {
            h.program(jal(1, 8), addi(10, 0, 1), jalr(5, 1, 4));
            h.steps(2);
            assertEquals(HartHarness.RAM + 4, h.x(1));
            assertEquals(HartHarness.RAM + 12, h.x(5));
            assertEquals(HartHarness.RAM + 8, h.hart.pc); // jalr to ra+4 = RAM+8
        }
    }

    @Test
    void x0StaysZero() {
        assertEquals(0, run(addi(0, 0, 5), add(10, 0, 0)));
    }

    @Test
    void loadsStoresAndMisalignedAccessAcrossPages() {
        try (HartHarness h = new HartHarness()) {
            long data = HartHarness.RAM + 0x1ffd; // an 8-byte access crossing a page boundary
            h.hart.x[11] = data;
            h.program(addi(12, 0, -2), sd(12, 11, 0), ld(10, 11, 0), lbu(13, 11, 0), lw(14, 11, 4));
            h.steps(5);
            assertEquals(-2, h.x(10));
            assertEquals(0xfe, h.x(13));
            assertEquals(0xffffffffL, h.getLong(data + 4) & 0xffffffffL);
            assertEquals(-1, h.x(14));
            assertEquals(-2, h.getLong(data));
        }
    }

    @Test
    void compressedInstructionsRunWithTwoBytePc() {
        try (HartHarness h = new HartHarness()) {
            // c.li a0,5 ; c.addi a0,3 ; then a 4-byte addi at offset 4
            h.mem.write(HartHarness.RAM, new byte[] {0x15, 0x45, 0x0d, 0x05});
            h.load(HartHarness.RAM + 4, addi(10, 10, 100));
            h.steps(3);
            assertEquals(108, h.x(10));
            assertEquals(HartHarness.RAM + 8, h.hart.pc);
        }
    }

    @Test
    void illegalInstructionTrapsWithTheBits() {
        try (HartHarness h = new HartHarness()) {
            h.program(addi(5, 0, 0x100), 0xffffffff);
            h.hart.mtvec = HartHarness.RAM + 0x100;
            h.steps(2);
            assertEquals(Trap.ILLEGAL_INSN, h.hart.mcause);
            assertEquals(0xffffffffL, h.hart.mtval);
            assertEquals(HartHarness.RAM + 4, h.hart.mepc);
            assertEquals(HartHarness.RAM + 0x100, h.hart.pc);
        }
    }
}
