package dev.airlock.cpu.rv64;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Guest-controlled bytes never crash the host: random memory run as code, in M-mode and in S-mode
 * under a random page table and SBI, through the interpreter and the block translator, only ever
 * produces guest traps. Any Java exception escaping
 * {@link Hart#run} fails the test with its seed.
 */
class GuestBytesFuzzTest {
    static final long RAM = HartHarness.RAM;

    @Test
    void randomCodeOnlyEverTraps() {
        long seed = Long.getLong("airlock.test.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        long executed = 0;
        for (int round = 0; round < 40; round++) {
            boolean supervisor = round % 2 == 1;
            try (HartHarness h = new HartHarness(supervisor)) {
                byte[] junk = new byte[64 * 1024];
                rnd.nextBytes(junk);
                h.mem.write(RAM, junk);
                Hart t = h.hart;
                t.jit = round % 4 >= 2; // half the rounds through the block translator, translating at once
                t.jitThreshold = 0;
                t.jitAsync = false;
                if (supervisor) {
                    // Random satp pointing into the junk; random trap vectors; random registers.
                    t.reset(RAM + 2L * rnd.nextInt(1 << 15), Hart.PRIV_S, 0, 0);
                    t.writeCsr(Csr.SATP, (8L << 60) | ((RAM >>> 12) + rnd.nextInt(16)));
                    t.stvec = RAM + rnd.nextInt(1 << 16);
                } else {
                    t.pc = RAM + 2L * rnd.nextInt(1 << 15);
                }
                t.mtvec = RAM + rnd.nextInt(1 << 16);
                for (int r = 1; r < 32; r++) t.x[r] = rnd.nextInt(3) == 0 ? RAM + rnd.nextInt(1 << 20) : rnd.nextLong();
                try {
                    for (int slice = 0; slice < 20; slice++) {
                        h.ticks += 1000;
                        int exit = t.run(5_000);
                        if (exit == Hart.EXIT_HALT || exit == Hart.EXIT_STOPPED) break;
                        if (exit == Hart.EXIT_WFI) t.pollNow = true;
                    }
                } catch (RuntimeException e) {
                    throw new AssertionError("seed " + seed + " round " + round + ": " + t, e);
                }
                executed += t.instret();
            }
        }
        assertTrue(executed > 100_000, "the fuzzer must actually execute guest code, ran " + executed);
        assertTrue(BlockTranslator.failures == 0, "seed " + seed + ": a translation failed");
    }
}
