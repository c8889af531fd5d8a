package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Blocks that hold both sides of their branches and run on into the next page: loops stay inside one
 * block, and the translated run still agrees with the reference interpreter on every register, pc,
 * instret and trap CSR.
 */
class TranslatorRegionTest {
    static final long RAM = HartHarness.RAM, HANDLER = RAM + 0x7000;

    /**
     * A loop whose head is near the end of one page and whose branch goes to a tail in the next page,
     * which jumps back (the shape of a compiler's unrolled hash round), with a load there that faults
     * once: the whole loop runs as one block, and the fault is precise.
     */
    // A block takes in the next page only once the hart has fetched from it (it is in the fetch TLB): at
    // threshold 0 the first translation runs before that, and the loop joins up when it is translated hot.
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"1, 1", "1, 1000000", "0, 3", "20, 1000000"})
    void loopAcrossAPageBoundaryStaysInOneBlock(int threshold, int hotRuns) {
        long head = RAM + 0x1fe0;
        int iterations = 3000;
        long[][] x = runBoth(threshold, hotRuns, h -> {
            h.program(jal(0, (int) (head - RAM)));
            int[] loop = new int[8];
            for (int k = 0; k < 8; k++) loop[k] = addi(10, 10, 1); // 0x1fe0..0x1ffc
            h.load(head, loop);
            h.load(RAM + 0x2000,
                    addi(11, 11, 1),            // 0x2000: the next page
                    bne(29, 13, 8),             // 0x2004: skip the fault but once
                    ld(6, 0, 0),                // 0x2008: address 0 is not RAM: the handler skips it
                    addi(29, 29, -1),           // 0x200c
                    bne(29, 0, 0x30),           // 0x2010: -> 0x2040, the tail
                    WFI);                       // 0x2014
            h.load(RAM + 0x2040, addi(12, 12, 1), jal(0, (int) (head - (RAM + 0x2044))));
            h.hart.x[29] = iterations;
            h.hart.x[13] = iterations / 2;
        });
        long[] regs = x[0];
        assertEquals(8L * iterations, regs[10]);
        assertEquals(iterations, regs[11]);
        assertEquals(iterations - 1, regs[12]);
        // One block per slice of the run loop, not two or three per turn of the guest's loop.
        assertTrue(x[1][0] < iterations / 4, "blocks run: " + x[1][0]);
    }

    /**
     * The loop's instructions in the next page are rewritten halfway (a store from the first page, then
     * fence.i): the block translated with the old code must not run it again.
     */
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"0, 1", "0, 1000000", "5, 3"})
    void nextPageRewrittenIsNotRunStale(int threshold, int hotRuns) {
        long head = RAM + 0x1fe0;
        int iterations = 600;
        long[][] x = runBoth(threshold, hotRuns, h -> {
            h.program(jal(0, (int) (head - RAM)));
            h.load(head,
                    addi(10, 10, 1),            // 0x1fe0
                    bne(29, 13, 12),            // 0x1fe4: rewrite once, when x29 == x13
                    sw(6, 7, 0),                // 0x1fe8: the instruction at 0x2000
                    i(0, 0, 1, 0, 0x0f),        // 0x1fec: fence.i
                    addi(10, 10, 1),            // 0x1ff0
                    addi(10, 10, 1),
                    addi(10, 10, 1),
                    addi(10, 10, 1));           // 0x1ffc
            h.load(RAM + 0x2000,
                    addi(11, 11, 1),            // 0x2000: becomes addi x11, x11, 100
                    addi(29, 29, -1),           // 0x2004
                    bne(29, 0, -0x28),          // 0x2008: -> 0x1fe0
                    WFI);
            h.hart.x[29] = iterations;
            h.hart.x[13] = iterations / 2;
            h.hart.x[6] = addi(11, 11, 100) & 0xffffffffL;
            h.hart.x[7] = RAM + 0x2000;
        });
        assertEquals(iterations / 2 + 100L * (iterations / 2), x[0][11]);
    }

    /**
     * A loop that calls a function on another page (as a hash loop calls a byte swap): the call, the
     * function and the return stay inside one block. Once the function returns elsewhere (it bumps ra)
     * and faults: the block leaves at the return, and the fault is precise.
     */
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"1, 1", "1, 1000000", "0, 3", "20, 1000000"})
    void callAndReturnAcrossPagesStayInOneBlock(int threshold, int hotRuns) {
        long callee = RAM + 0x5000;
        int iterations = 3000;
        long[][] x = runBoth(threshold, hotRuns, h -> {
            h.program(
                    addi(10, 10, 1),            //  0
                    jal(1, (int) (callee - RAM - 4)), //  4: call
                    addi(12, 12, 1),            //  8: the return site, skipped once
                    addi(29, 29, -1),           // 12
                    bne(29, 0, -16),            // 16: -> 0
                    WFI);                       // 20
            h.load(callee,
                    addi(11, 11, 3),
                    bne(29, 13, 12),            // all but once: straight to the return
                    addi(1, 1, 4),              // return past the site
                    ld(6, 0, 0),                // and fault on the way
                    jalr(0, 1, 0));
            h.hart.x[29] = iterations;
            h.hart.x[13] = iterations / 2;
        });
        assertEquals(iterations, x[0][10]);
        assertEquals(3L * iterations, x[0][11]);
        assertEquals(iterations - 1, x[0][12]);
        assertTrue(x[1][0] < iterations / 4, "blocks run: " + x[1][0]);
    }

    /** An inner loop whose head is not the block's: it loops inside the block instead of leaving it each turn. */
    @ParameterizedTest(name = "threshold {0}, hot after {1} instructions")
    @CsvSource({"0, 1", "0, 1000000", "3, 2"})
    void innerLoopStaysInTheBlock(int threshold, int hotRuns) {
        int outer = 500, inner = 10;
        long[][] x = runBoth(threshold, hotRuns, h -> {
            h.program(
                    addi(12, 0, inner),         //  0: the outer loop
                    addi(11, 11, 1),            //  4: the inner loop
                    addi(12, 12, -1),           //  8
                    bne(12, 0, -8),             // 12: -> 4
                    addi(29, 29, -1),           // 16
                    bne(29, 0, -20),            // 20: -> 0
                    WFI);
            h.hart.x[29] = outer;
        });
        assertEquals((long) outer * inner, x[0][11]);
        assertTrue(x[1][0] < outer, "blocks run: " + x[1][0]);
    }

    interface Setup { void apply(HartHarness h); }

    /**
     * Runs the program to its WFI on the translator and on the reference interpreter, which must agree;
     * returns the translated run's registers and the number of blocks it ran.
     */
    private static long[][] runBoth(int threshold, int hotRuns, Setup setup) {
        try (HartHarness jit = HartHarness.translating(threshold); HartHarness ref = HartHarness.reference()) {
            jit.hart.jitHotInstructions = hotRuns;
            for (HartHarness h : new HartHarness[] {ref, jit}) {
                setup.apply(h);
                h.load(HANDLER, csrrs(30, Csr.MEPC, 0), addi(30, 30, 4), csrrw(0, Csr.MEPC, 30), MRET);
                h.hart.mtvec = HANDLER;
                assertEquals(Hart.EXIT_WFI, h.runUntilWfi(200, 1000));
            }
            HartHarness.assertSameState(ref, jit);
            assertEquals(0, BlockTranslator.failures, "translations that failed");
            assertTrue(jit.hart.blockInstructions() > jit.hart.instret() / 2,
                    "in blocks: " + jit.hart.blockInstructions() + " of " + jit.hart.instret());
            return new long[][] {jit.hart.x.clone(), {jit.hart.blocksRun()}};
        }
    }
}
