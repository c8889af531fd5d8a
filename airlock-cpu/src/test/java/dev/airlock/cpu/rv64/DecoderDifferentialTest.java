package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The predecoded fast path against the reference interpreter: random instruction streams (integer
 * ops with random fields, illegal encodings included, loads/stores, forward branches, compressed
 * halfwords) run on two harts, one forced through {@link Hart#execute}; every register, the pc, the
 * trap CSRs and the data memory must agree after each program.
 */
class DecoderDifferentialTest {
    static final long RAM = HartHarness.RAM, DATA = RAM + 0x8000, HANDLER = RAM + 0x7000;
    static final int PROGRAMS = 300, LENGTH = 200;

    @Test
    void fastPathAgreesWithTheReferenceInterpreter() {
        long seed = Long.getLong("airlock.test.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int p = 0; p < PROGRAMS; p++) {
            int[] program = randomProgram(rnd);
            long[] init = new long[30];
            for (int r = 1; r < 30; r++) init[r] = rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(-64, 64);
            try (HartHarness fast = new HartHarness(); HartHarness ref = new HartHarness()) {
                ref.hart.referenceOnly = true;
                for (HartHarness h : new HartHarness[] {fast, ref}) {
                    h.program(program);
                    // Trap handler: skip the faulting instruction (by 4; both harts agree either way).
                    h.load(HANDLER, csrrs(30, Csr.MEPC, 0), addi(30, 30, 4), csrrw(0, Csr.MEPC, 30), MRET);
                    h.hart.mtvec = HANDLER;
                    System.arraycopy(init, 0, h.hart.x, 0, 30);
                    h.hart.x[31] = DATA + 0x800;
                    for (int k = 0; k < 512; k++) h.putLong(DATA + 8L * k, k * 0x9E3779B97F4A7C15L);
                    h.steps(LENGTH * 2);
                }
                String where = "seed " + seed + " program " + p;
                assertArrayEquals(ref.hart.x, fast.hart.x, where);
                assertEquals(ref.hart.pc, fast.hart.pc, where);
                assertEquals(ref.hart.mcause, fast.hart.mcause, where);
                assertEquals(ref.hart.mtval, fast.hart.mtval, where);
                assertArrayEquals(ref.mem.read(DATA, 4096), fast.mem.read(DATA, 4096), where);
            }
        }
    }

    private static int[] randomProgram(SplittableRandom rnd) {
        int[] p = new int[LENGTH + 1];
        for (int k = 0; k < LENGTH; k++) p[k] = randomInstruction(rnd, LENGTH - k);
        p[LENGTH] = jal(0, 0); // park at the end
        return p;
    }

    private static int randomInstruction(SplittableRandom rnd, int remaining) {
        int rd = rnd.nextInt(1, 30), rs1 = rnd.nextInt(0, 30), rs2 = rnd.nextInt(0, 30);
        int any = rnd.nextInt();
        return switch (rnd.nextInt(12)) {
            // OP-IMM / OP-IMM-32 / OP / OP-32 with random upper bits: exercises illegal shift and funct7 forms.
            case 0, 1 -> (any & 0xfff00000) | (rs1 << 15) | (rnd.nextInt(8) << 12) | (rd << 7) | 0x13;
            case 2 -> (any & 0xfff00000) | (rs1 << 15) | (rnd.nextInt(8) << 12) | (rd << 7) | 0x1b;
            case 3, 4 -> r(rnd.nextInt(4) == 0 ? rnd.nextInt(128) : new int[] {0, 0x20, 1}[rnd.nextInt(3)],
                    rs2, rs1, rnd.nextInt(8), rd, 0x33);
            case 5 -> r(new int[] {0, 0x20, 1, 5}[rnd.nextInt(4)], rs2, rs1, rnd.nextInt(8), rd, 0x3b);
            case 6 -> (any & 0xfffff000) | (rd << 7) | (rnd.nextBoolean() ? 0x37 : 0x17);
            case 7 -> i(rnd.nextInt(-0x800, 0x7f8), 31, rnd.nextInt(8), rd, 0x03);      // loads (f3 7 illegal)
            case 8 -> s(rnd.nextInt(-0x800, 0x7f8), rs2, 31, rnd.nextInt(5), 0x23);     // stores (f3 4 illegal)
            case 9 -> b(4 * rnd.nextInt(1, Math.max(2, Math.min(remaining, 8))), rs2, rs1, rnd.nextInt(8)); // forward branch
            case 10 -> jal(rnd.nextBoolean() ? 0 : rd, 4 * rnd.nextInt(1, Math.max(2, Math.min(remaining, 8))));
            default -> { // two compressed halfwords, avoiding the jump/branch quadrant-1 forms and stack-based stores
                int c1 = randomCompressed(rnd), c2 = randomCompressed(rnd);
                yield c1 | (c2 << 16);
            }
        };
    }

    private static int randomCompressed(SplittableRandom rnd) {
        while (true) {
            int c = rnd.nextInt(0x10000);
            int quadrant = c & 3, f3 = c >>> 13;
            if (quadrant == 3) continue;
            if (quadrant == 1 && f3 >= 5) continue;                  // c.j / c.beqz / c.bnez: could loop backwards
            if (quadrant == 2 && f3 == 4) continue;                  // c.jr / c.jalr / c.mv / c.add: rd may hit x30/x31
            if (quadrant == 0 || (quadrant == 2 && f3 != 0)) continue; // memory forms use random bases
            int rd = (c >>> 7) & 31;
            if (rd >= 30 || (quadrant == 1 && f3 == 4 && ((c >>> 7) & 7) + 8 >= 30)) continue;
            return c;
        }
    }
}
