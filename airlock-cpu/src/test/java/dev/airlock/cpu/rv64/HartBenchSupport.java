package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;

/** A hart running an endless checksum loop over 2 KiB of RAM, for benchmarks. */
public final class HartBenchSupport implements AutoCloseable {
    private final HartHarness harness = new HartHarness();

    private HartBenchSupport() {}

    /**
     * @param engine "interpreter" (predecoded fast path), "reference", "translator" (block translator; its
     *               hot loop soon runs as a HotBlock, C2 with inline TLB lookups) or "translator-warm" (the
     *               first tier only: loads and stores are calls, as in most blocks of a boot)
     */
    public static HartBenchSupport checksumLoop(String engine) {
        HartBenchSupport b = new HartBenchSupport();
        Hart h = b.harness.hart;
        h.referenceOnly = engine.equals("reference");
        h.jit = engine.startsWith("translator");
        if (engine.equals("translator-warm")) h.jitHotInstructions = Long.MAX_VALUE;
        long buffer = HartHarness.RAM + 0x10000;
        b.harness.program(
                ld(5, 11, 0),            // t0 = [a1]
                add(10, 10, 5),          // a0 += t0
                slli(6, 10, 3),          // t1 = a0 << 3
                r(0, 6, 10, 4, 10, 0x33),// a0 ^= t1
                sd(10, 11, 8),           // [a1 + 8] = a0
                addi(13, 13, 16),        // a3 += 16
                i(0x7f0, 13, 7, 13, 0x13), // a3 &= 0x7f0
                add(11, 14, 13),         // a1 = a4 + a3
                addi(12, 12, -1),        // a2--
                bne(12, 0, -36));        // loop
        h.x[11] = buffer;
        h.x[14] = buffer;
        h.x[12] = Long.MAX_VALUE;
        return b;
    }

    /** Runs about {@code instructions}; returns the run's exit code so JMH keeps the work alive. */
    public int run(int instructions) {
        return harness.hart.run(instructions);
    }

    @Override
    public void close() {
        harness.close();
    }
}
