package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Decoded code must never outlive a store to its page, on the same page or another. */
class CodeCacheTest {
    static final long RAM = HartHarness.RAM;

    @Test
    void storeIntoTheExecutingPageIsSeenByTheNextFetch() {
        try (HartHarness h = new HartHarness()) {
            h.hart.x[6] = addi(10, 0, 2) & 0xffffffffL;
            h.hart.x[7] = RAM;
            h.program(addi(10, 0, 1), sw(6, 7, 0), jal(0, -8));
            h.steps(1);
            assertEquals(1, h.x(10));
            h.steps(3); // store over the decoded addi, jump back, run the new one
            assertEquals(2, h.x(10));
        }
    }

    @Test
    void storeFromAnotherPageAndFenceIReplaceACompressedInstruction() {
        try (HartHarness h = new HartHarness()) {
            long target = RAM + 0x2000;
            h.mem.write(target, new byte[] {0x15, 0x45, 0x01, 0x00}); // c.li a0,5 ; c.nop
            h.load(target + 4, jalr(0, 1, 0));                         // ret
            h.hart.x[7] = target;
            h.hart.x[6] = addi(10, 0, 9) & 0xffffffffL;
            long main = h.load(RAM, jalr(1, 7, 0), sw(6, 7, 0), i(0, 0, 1, 0, 0x0f) /* fence.i */, jalr(1, 7, 0));
            h.steps(4);                 // call, c.li, c.nop, ret
            assertEquals(5, h.x(10));
            h.steps(5);                 // store a 4-byte addi over both halfwords, fence.i, call, addi, ret
            assertEquals(9, h.x(10));
            assertEquals(main, h.hart.pc);
        }
    }

    @Test
    void amoIntoACodePageInvalidatesToo() {
        try (HartHarness h = new HartHarness()) {
            h.hart.x[7] = RAM;
            // addi a0,x0,1 at RAM; amoadd.w adds (2 << 20), turning it into addi a0,x0,3
            h.hart.x[6] = 2L << 20;
            h.program(addi(10, 0, 1), amo(0x00, false, 0, 7, 6), jal(0, -8));
            h.steps(4);
            assertEquals(3, h.x(10));
            assertTrue(h.hart.code.invalidations() >= 1);
        }
    }

    @Test
    void deviceWritesDropDecodedCodeToo() {
        try (HartHarness h = new HartHarness()) {
            h.program(addi(10, 0, 1), jal(0, -4));
            h.steps(1);
            assertEquals(1, h.x(10));
            // A "device" rewrites the instruction behind the hart's back, then reports the write.
            h.load(RAM, addi(10, 0, 4));
            h.hart.code.invalidateRange(RAM, 4);
            h.steps(2);
            assertEquals(4, h.x(10));
        }
    }
}
