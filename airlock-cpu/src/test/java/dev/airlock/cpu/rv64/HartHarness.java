package dev.airlock.cpu.rv64;

import dev.airlock.cpu.TimeBase;
import dev.airlock.memory.GuestMemory;
import dev.airlock.memory.MmioHandler;
import java.io.ByteArrayOutputStream;

/** One hart over 1 MiB of RAM at 0x8000_0000, in M-mode, with a fake platform that records what happens. */
final class HartHarness implements Platform, AutoCloseable {
    static final long RAM = 0x8000_0000L;
    final GuestMemory mem = new GuestMemory(RAM, 1 << 20);
    final ByteArrayOutputStream console = new ByteArrayOutputStream();
    long ticks;
    int resetType = -1;
    final Hart hart;

    HartHarness() { this(false); }

    HartHarness(boolean sbi) { this(sbi, MmioHandler.NONE); }

    HartHarness(boolean sbi, MmioHandler mmio) {
        TimeBase time = () -> ticks;
        hart = new Hart(0, mem, new CodeCache(mem), mmio, time, this, sbi);
        hart.reset(RAM, Hart.PRIV_M, 0, 0);
    }

    /** Writes instructions at RAM start (or {@code gpa}) and returns the address after them. */
    long load(long gpa, int... insns) {
        for (int k = 0; k < insns.length; k++) {
            mem.write(gpa + 4L * k, new byte[] {(byte) insns[k], (byte) (insns[k] >>> 8),
                    (byte) (insns[k] >>> 16), (byte) (insns[k] >>> 24)});
        }
        return gpa + 4L * insns.length;
    }

    void program(int... insns) { load(RAM, insns); }

    void putLong(long gpa, long v) {
        byte[] b = new byte[8];
        for (int k = 0; k < 8; k++) b[k] = (byte) (v >>> (8 * k));
        mem.write(gpa, b);
    }

    long getLong(long gpa) {
        byte[] b = mem.read(gpa, 8);
        long v = 0;
        for (int k = 7; k >= 0; k--) v = (v << 8) | (b[k] & 0xff);
        return v;
    }

    void steps(int n) { for (int k = 0; k < n; k++) hart.singleStep(); }

    /** A harness that runs only the reference interpreter, to check the translator against. */
    static HartHarness reference() {
        HartHarness h = new HartHarness();
        h.hart.referenceOnly = true;
        return h;
    }

    /** A harness whose hart translates a head on its own thread once it has run {@code threshold} times. */
    static HartHarness translating(int threshold) {
        HartHarness h = new HartHarness();
        h.hart.jit = true;
        h.hart.jitThreshold = threshold;
        h.hart.jitAsync = false;
        return h;
    }

    /** Runs slices of {@code budget} instructions, at most {@code slices}, until the hart waits for an interrupt; returns its last exit. */
    int runUntilWfi(int slices, long budget) {
        int exit = -1;
        for (int slice = 0; slice < slices && exit != Hart.EXIT_WFI; slice++) exit = hart.run(budget);
        return exit;
    }

    long x(int r) { return hart.x[r]; }

    /** Asserts that a translated run left the architectural state the reference run did: registers, pc, instret, trap CSRs. */
    static void assertSameState(HartHarness ref, HartHarness jit) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(ref.hart.x, jit.hart.x);
        org.junit.jupiter.api.Assertions.assertEquals(ref.hart.pc, jit.hart.pc);
        org.junit.jupiter.api.Assertions.assertEquals(ref.hart.instret(), jit.hart.instret());
        org.junit.jupiter.api.Assertions.assertEquals(ref.hart.mepc, jit.hart.mepc);
        org.junit.jupiter.api.Assertions.assertEquals(ref.hart.mcause, jit.hart.mcause);
        org.junit.jupiter.api.Assertions.assertEquals(ref.hart.mtval, jit.hart.mtval);
    }

    @Override public Hart hart(int id) { return id == 0 ? hart : null; }
    @Override public int hartCount() { return 1; }
    @Override public void consoleWrite(int b) { console.write(b); }
    @Override public void systemReset(int type, int reason) { resetType = type; }
    @Override public void wake(Hart h) { }
    @Override public void close() { mem.close(); }
}
