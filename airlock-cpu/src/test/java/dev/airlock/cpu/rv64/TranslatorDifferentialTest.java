package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The block translator against the reference interpreter: random programs (integer ops with random
 * fields and illegal encodings, loads and stores, faulting loads, forward branches, compressed
 * halfwords, floating point and atomics run as helpers) loop a few times, so their blocks get hot and
 * are translated part way through, then stop at WFI. Both harts run through {@link Hart#run}; every
 * register, pc, instret, the trap CSRs and the data memory must agree. A failure names its seed:
 * rerun with {@code -Dairlock.test.seed=N}.
 */
class TranslatorDifferentialTest {
    static final long RAM = HartHarness.RAM, DATA = RAM + 0x8000, HANDLER = RAM + 0x7000;
    static final int PROGRAMS = 300, LENGTH = 120;
    // x29 counts the loop, x30 belongs to the trap handler, x31 points at the data.
    static final int LAST_FREE = 28;

    @Test
    void translatedBlocksAgreeWithTheReferenceInterpreter() {
        long seed = Long.getLong("airlock.test.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        long translatedInstructions = 0;
        int skipped = 0;
        for (int p = 0; p < PROGRAMS; p++) {
            int[] program = randomProgram(rnd);
            long[] init = new long[29];
            for (int r = 1; r < 29; r++) init[r] = rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(-64, 64);
            long[] fInit = new long[32];
            for (int r = 0; r < 32; r++) fInit[r] = rnd.nextLong();
            boolean fpOn = rnd.nextBoolean();
            int iterations = program.length > 20 ? 4 : rnd.nextInt(2, 400); // long enough to outlast a poll interval
            int threshold = new int[] {0, 1, 3}[rnd.nextInt(3)];
            int hotRuns = new int[] {1, 2, 1_000_000}[rnd.nextInt(3)];
            String where = "seed " + seed + " program " + p + " (threshold " + threshold + ", hot after " + hotRuns + " instructions)";
            try (HartHarness jit = new HartHarness(); HartHarness ref = new HartHarness()) {
                ref.hart.referenceOnly = true;
                jit.hart.jit = true;
                jit.hart.jitThreshold = threshold;
                jit.hart.jitHotInstructions = hotRuns;
                jit.hart.jitAsync = rnd.nextInt(4) == 0; // blocks then show up whenever the background thread is done
                boolean reachedWfi = true;
                for (HartHarness h : new HartHarness[] {ref, jit}) {
                    h.program(program);
                    h.load(HANDLER, csrrs(30, Csr.MEPC, 0), addi(30, 30, 4), csrrw(0, Csr.MEPC, 30), MRET);
                    h.hart.mtvec = HANDLER;
                    if (fpOn) h.hart.mstatus |= 1L << Csr.MSTATUS_FS_SHIFT;
                    System.arraycopy(init, 0, h.hart.x, 0, 29);
                    System.arraycopy(fInit, 0, h.hart.f, 0, 32);
                    h.hart.x[29] = iterations;
                    h.hart.x[31] = DATA + 0x800;
                    for (int k = 0; k < 512; k++) h.putLong(DATA + 8L * k, k * 0x9E3779B97F4A7C15L);
                    int exit = h.runUntilWfi(50, 1000);
                    if (h == ref && exit != Hart.EXIT_WFI) { // trap skips can land mid-instruction and loop
                        reachedWfi = false;
                        break;
                    }
                    assertEquals(Hart.EXIT_WFI, exit, where + ": the translated run must reach WFI as the reference did");
                }
                if (!reachedWfi) {
                    skipped++;
                    continue;
                }
                assertArrayEquals(ref.hart.x, jit.hart.x, where);
                assertArrayEquals(ref.hart.f, jit.hart.f, where);
                assertEquals(ref.hart.pc, jit.hart.pc, where);
                assertEquals(ref.hart.instret(), jit.hart.instret(), where + ": instret");
                assertEquals(ref.hart.mcause, jit.hart.mcause, where);
                assertEquals(ref.hart.mtval, jit.hart.mtval, where);
                assertEquals(ref.hart.mepc, jit.hart.mepc, where);
                assertArrayEquals(ref.mem.read(DATA, 4096), jit.mem.read(DATA, 4096), where);
                translatedInstructions += jit.hart.blockInstructions();
            }
        }
        assertTrue(skipped < PROGRAMS / 10, "too many programs that never stop: " + skipped);
        assertEquals(0, BlockTranslator.failures, "translations that failed");
        assertTrue(translatedInstructions > 10_000, "translated blocks must actually run: " + translatedInstructions);
    }

    /** A block that follows jumps backwards and forwards, with a fault behind a backward jump. */
    @Test
    void followedJumpsKeepTrapsPrecise() {
        int[] program = {
                jal(0, 16),             //  0: -> 16
                WFI,                    //  4
                ld(6, 7, 0),            //  8: x7 is not RAM: access fault, the handler skips it
                jal(0, 20),             // 12: -> 32
                addi(10, 10, 1),        // 16: a head (the branch below comes here)
                jal(0, -12),            // 20: -> 8, backwards: the fault is before the block's start
                addi(11, 11, 1),        // 24: never runs
                addi(11, 11, 1),        // 28: never runs
                addi(29, 29, -1),       // 32
                bne(29, 0, -20),        // 36: -> 16
                jal(0, -36)};           // 40: -> 4
        for (int threshold : new int[] {0, 1, 5}) {
            try (HartHarness jit = HartHarness.translating(threshold); HartHarness ref = HartHarness.reference()) {
                for (HartHarness h : new HartHarness[] {ref, jit}) {
                    h.program(program);
                    h.load(HANDLER, csrrs(30, Csr.MEPC, 0), addi(30, 30, 4), csrrw(0, Csr.MEPC, 30), MRET);
                    h.hart.mtvec = HANDLER;
                    h.hart.x[7] = 8;
                    h.hart.x[29] = 50;
                    assertEquals(Hart.EXIT_WFI, h.runUntilWfi(50, 1000));
                }
                assertArrayEquals(ref.hart.x, jit.hart.x, "threshold " + threshold);
                assertEquals(ref.hart.pc, jit.hart.pc);
                assertEquals(ref.hart.instret(), jit.hart.instret());
                assertEquals(ref.hart.mepc, jit.hart.mepc);
                assertEquals(50, jit.hart.x[10]);
                assertEquals(0, jit.hart.x[11]);
                assertTrue(jit.hart.blockInstructions() > 100, "translated blocks must have run");
            }
        }
    }

    /**
     * Hundreds of heads scattered over many pages and entered equally often all get translated once
     * past the threshold: heads are counted exactly, per page, so none keeps resetting another's count
     * (with a hashed table, some pair of them shares an entry, and both stay interpreted forever).
     */
    @Test
    void everyHeadEnteredOftenEnoughIsTranslated() {
        int heads = 200, iterations = 60, threshold = 20;
        // Distinct 16-byte slots in RAM after the first page, in a fixed random order: addi, then jal to the next.
        java.util.List<Long> slots = new java.util.ArrayList<>();
        for (long a = RAM + 0x1000; a < RAM + 0xf0000; a += 16) slots.add(a);
        java.util.Collections.shuffle(slots, new java.util.Random(42));
        try (HartHarness jit = new HartHarness()) {
            long[] head = new long[heads + 1];
            for (int k = 0; k <= heads; k++) head[k] = slots.get(k);
            jit.program(jal(0, (int) (head[0] - RAM)));
            for (int k = 0; k < heads; k++) jit.load(head[k], addi(10, 10, 1), jal(0, (int) (head[k + 1] - head[k] - 4)));
            // The last slot loops back to the first head until x29 runs out, then stops.
            long end = head[heads];
            jit.load(end, addi(29, 29, -1), beq(29, 0, 8), jal(0, (int) (head[0] - end - 8)), WFI);
            jit.hart.jit = true;
            jit.hart.jitThreshold = threshold;
            jit.hart.jitAsync = false;
            jit.hart.x[29] = iterations;
            assertEquals(Hart.EXIT_WFI, jit.runUntilWfi(100, 10_000));
            assertEquals((long) iterations * heads, jit.hart.x[10]);
            // A block follows the jumps into up to MAX_PAGES pages, so it may hold the next few heads too.
            assertTrue(jit.hart.code.blocksTranslated() >= heads / BlockTranslator.MAX_PAGES,
                    "blocks translated: " + jit.hart.code.blocksTranslated());
            // Each head runs interpreted for its first threshold + 1 entries at most, translated after.
            assertTrue(jit.hart.blockInstructions() >= 2L * heads * (iterations - threshold - 1),
                    "in blocks: " + jit.hart.blockInstructions());
        }
    }

    /**
     * A loop whose head is an instruction straddling two pages (no block can hold it) and whose body
     * runs on in the next page: the body gets a head of its own and runs translated.
     */
    @Test
    void codeAfterAnInstructionAcrossPagesIsTranslated() {
        int body = 40;
        long head = RAM + 0xffe;
        int[] loop = new int[body + 4];
        loop[0] = addi(11, 11, 1); // at 0xffe: its upper half is on the next page
        for (int k = 1; k <= body; k++) loop[k] = addi(10, 10, 1);
        loop[body + 1] = addi(29, 29, -1);
        loop[body + 2] = bne(29, 0, -4 * (body + 2));
        loop[body + 3] = WFI;
        for (int threshold : new int[] {0, 10}) {
            try (HartHarness jit = HartHarness.translating(threshold); HartHarness ref = HartHarness.reference()) {
                for (HartHarness h : new HartHarness[] {ref, jit}) {
                    h.program(jal(0, (int) (head - RAM)));
                    h.load(head, loop);
                    h.hart.x[29] = 200;
                    assertEquals(Hart.EXIT_WFI, h.runUntilWfi(50, 10_000));
                }
                assertArrayEquals(ref.hart.x, jit.hart.x, "threshold " + threshold);
                assertEquals(ref.hart.pc, jit.hart.pc);
                assertEquals(ref.hart.instret(), jit.hart.instret());
                assertEquals(200L * body, jit.hart.x[10]);
                assertTrue(jit.hart.blockInstructions() > 150L * body, "in blocks: " + jit.hart.blockInstructions());
            }
        }
    }

    /** The random body (short ones make one-block loops), then a loop back on x29, then WFI. */
    static int[] randomProgram(SplittableRandom rnd) {
        int length = rnd.nextBoolean() ? LENGTH : rnd.nextInt(2, 12);
        int[] p = new int[length + 4];
        for (int k = 0; k < length; k++) p[k] = randomInstruction(rnd, length - k);
        p[length] = addi(29, 29, -1);
        p[length + 1] = bne(29, 0, -4 * (length + 1));
        p[length + 2] = WFI;
        p[length + 3] = jal(0, 0);
        return p;
    }

    static int randomInstruction(SplittableRandom rnd, int remaining) {
        int rd = rnd.nextInt(1, LAST_FREE + 1), rs1 = rnd.nextInt(0, 30), rs2 = rnd.nextInt(0, 30);
        int any = rnd.nextInt();
        int forward = 4 * rnd.nextInt(1, Math.max(2, Math.min(remaining, 8)));
        return switch (rnd.nextInt(16)) {
            case 0, 1 -> (any & 0xfff00000) | (rs1 << 15) | (rnd.nextInt(8) << 12) | (rd << 7) | 0x13;
            case 2 -> (any & 0xfff00000) | (rs1 << 15) | (rnd.nextInt(8) << 12) | (rd << 7) | 0x1b;
            case 3, 4 -> r(rnd.nextInt(4) == 0 ? rnd.nextInt(128) : new int[] {0, 0x20, 1}[rnd.nextInt(3)],
                    rs2, rs1, rnd.nextInt(8), rd, 0x33);
            case 5 -> r(new int[] {0, 0x20, 1, 5}[rnd.nextInt(4)], rs2, rs1, rnd.nextInt(8), rd, 0x3b);
            case 6 -> (any & 0xfffff000) | (rd << 7) | (rnd.nextBoolean() ? 0x37 : 0x17);
            case 7 -> i(rnd.nextInt(-0x800, 0x7f8), 31, rnd.nextInt(8), rd, 0x03);      // loads (f3 7 illegal)
            case 8 -> s(rnd.nextInt(-0x800, 0x7f8), rs2, 31, rnd.nextInt(5), 0x23);     // stores (f3 4 illegal)
            case 9 -> b(forward, rs2, rs1, rnd.nextInt(8));                              // forward branch
            case 10 -> jal(rnd.nextBoolean() ? 0 : rd, forward);
            case 11 -> i(rnd.nextInt(-0x800, 0x800), rnd.nextInt(1, 29), rnd.nextInt(7), rd, 0x03); // may fault
            case 12 -> randomFp(rnd, rd, rs1, rs2);
            case 13 -> amo(new int[] {0x00, 0x01, 0x02, 0x03, 0x08, 0x1c}[rnd.nextInt(6)], rnd.nextBoolean(), rd, 31,
                    rnd.nextInt(0, 30));
            default -> randomCompressed(rnd) | (randomCompressed(rnd) << 16);
        };
    }

    /** A few double-precision ops, including ones that move values between x and f registers. */
    private static int randomFp(SplittableRandom rnd, int rd, int rs1, int rs2) {
        int frd = rnd.nextInt(32), frs1 = rnd.nextInt(32), frs2 = rnd.nextInt(32);
        return switch (rnd.nextInt(6)) {
            case 0 -> r(0x01, frs2, frs1, 7, frd, 0x53);       // fadd.d (dynamic rounding)
            case 1 -> r(0x09, frs2, frs1, 0, frd, 0x53);       // fmul.d rne
            case 2 -> r(0x71, 0, frs1, 0, rd, 0x53);           // fmv.x.d
            case 3 -> r(0x79, 0, rs1, 0, frd, 0x53);           // fmv.d.x
            case 4 -> r(0x51, frs2, frs1, 2, rd, 0x53);        // feq.d
            default -> i(8 * rnd.nextInt(-64, 64), 31, 3, frd, 0x07); // fld
        };
    }

    private static int randomCompressed(SplittableRandom rnd) {
        while (true) {
            int c = rnd.nextInt(0x10000);
            int quadrant = c & 3, f3 = c >>> 13;
            if (quadrant == 3) continue;
            if (quadrant == 1 && f3 >= 5) continue;                  // c.j / c.beqz / c.bnez: could loop backwards
            if (quadrant == 2 && f3 == 4) continue;                  // c.jr / c.jalr / c.mv / c.add: rd may hit x29-x31
            if (quadrant == 0 || (quadrant == 2 && f3 != 0)) continue; // memory forms use random bases
            int rd = (c >>> 7) & 31;
            if (rd > LAST_FREE || (quadrant == 1 && f3 == 4 && ((c >>> 7) & 7) + 8 > LAST_FREE)) continue;
            return c;
        }
    }
}
