package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Translated blocks never outlive a store to their page: the next fetch runs the new instruction. */
class TranslatorSelfModifyingCodeTest {
    static final long RAM = HartHarness.RAM;

    /** A block rewrites an instruction ahead of itself, in the same block, halfway through a hot loop. */
    // Hot after 1 instruction: the block's stores use the inline TLB path from its first run; a million: calls.
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"0, 2", "1, 3", "5, 7", "0, 1", "1, 1000000"})
    void storeAheadInTheRunningBlock(int threshold, int hotRuns) {
        int[] program = {
                addi(10, 10, -1),       //  0
                bne(10, 13, 8),         //  4: skip the store except when x10 == x13
                sw(6, 7, 16),           //  8: rewrite the instruction at 16
                addi(11, 11, 1),        // 12
                addi(12, 12, 1),        // 16: becomes addi x12, x12, 100
                bne(10, 0, -20),        // 20
                WFI,                    // 24
                jal(0, 0)};
        long[] x = runBoth(threshold, hotRuns, program, h -> {
            h.hart.x[10] = 100;
            h.hart.x[13] = 50;
            h.hart.x[6] = addi(12, 12, 100) & 0xffffffffL;
            h.hart.x[7] = RAM;
        });
        assertEquals(100, x[11]);
        assertEquals(49 + 51 * 100, x[12]);
    }

    /** Code on another page is called in a hot loop, rewritten from the caller, then fence.i. */
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"0, 2", "1, 3", "5, 7", "0, 1", "1, 1000000"})
    void storeFromAnotherPageThenFenceI(int threshold, int hotRuns) {
        long callee = RAM + 0x2000;
        int[] program = {
                jalr(1, 7, 0),          //  0: call the callee
                addi(10, 10, -1),       //  4
                bne(10, 13, 12),        //  8: rewrite once, when x10 == x13
                sw(6, 7, 4),            // 12: the callee's second instruction
                i(0, 0, 1, 0, 0x0f),    // 16: fence.i
                bne(10, 0, -20),        // 20
                WFI,                    // 24
                jal(0, 0)};
        long[] x = runBoth(threshold, hotRuns, program, h -> {
            h.load(callee, addi(11, 11, 1), addi(12, 12, 1), jalr(0, 1, 0));
            h.hart.x[10] = 100;
            h.hart.x[13] = 30;
            h.hart.x[6] = addi(12, 12, 1000) & 0xffffffffL;
            h.hart.x[7] = callee;
        });
        assertEquals(100, x[11]);
        assertEquals(70 + 30 * 1000, x[12]);
    }

    interface Setup { void apply(HartHarness h); }

    /** Runs the program to its WFI on the translator and on the reference interpreter; they must agree. */
    private static long[] runBoth(int threshold, int hotRuns, int[] program, Setup setup) {
        try (HartHarness jit = HartHarness.translating(threshold); HartHarness ref = HartHarness.reference()) {
            jit.hart.jitHotInstructions = hotRuns; // translated again with inlined memory access after these runs
            for (HartHarness h : new HartHarness[] {ref, jit}) {
                h.program(program);
                setup.apply(h);
                assertEquals(Hart.EXIT_WFI, h.runUntilWfi(100, 1000));
            }
            assertArrayEquals(ref.hart.x, jit.hart.x);
            assertEquals(ref.hart.pc, jit.hart.pc);
            assertEquals(ref.hart.instret(), jit.hart.instret());
            assertTrue(jit.hart.blockInstructions() > 100, "translated blocks must have run");
            assertTrue(jit.hart.code.invalidations() >= 1);
            return jit.hart.x.clone();
        }
    }
}
