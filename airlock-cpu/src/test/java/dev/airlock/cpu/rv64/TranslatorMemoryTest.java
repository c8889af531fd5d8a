package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.memory.MmioHandler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loads and stores of translated blocks, in both tiers (calls, and the hot tier's inline TLB lookup),
 * against the reference interpreter: page faults on a TLB miss inside a block, a read-only alias that
 * hits the read TLB but faults on write, and MMIO reached from a block.
 */
class TranslatorMemoryTest {
    static final long RAM = HartHarness.RAM, DATA = RAM + 0x8800, HANDLER = RAM + 0x7000, ROOT = RAM + 0x10000;
    static final long MMIO = 0x1000_0000L, UNMAPPED_VA = 0x4000_0000L, READ_ONLY_ALIAS = 0xC000_0000L;

    /** Sv39 in S-mode: RAM identity-mapped read/write, aliased read-only at 0xC000_0000; 0x4000_0000 unmapped. */
    @ParameterizedTest(name = "hot after {0}")
    @ValueSource(ints = {1, 3, 1_000_000})
    void pageFaultsInsideABlockAreExact(int hotRuns) {
        int[] program = {
                ld(5, 31, 0),           //  0: data, read TLB hit after the first fill
                add(10, 10, 5),         //  4
                ld(6, 7, 0),            //  8: unmapped: load page fault, the handler skips it
                sd(10, 31, 8),          // 12
                ld(8, 9, 16),           // 16: the read-only alias: reads fine
                add(10, 10, 8),         // 20
                sd(10, 9, 0),           // 24: ... and faults on write
                addi(29, 29, -1),       // 28
                bne(29, 0, -32),        // 32
                WFI,
                jal(0, 0)};
        Outcome o = runBoth(hotRuns, MmioHandler.NONE, program, h -> {
            h.putLong(ROOT + 2 * 8, ((RAM >>> 12) << 10) | 0xcf);            // V R W X A D, gigapage
            h.putLong(ROOT + 3 * 8, ((RAM >>> 12) << 10) | 0x43);            // V R A: read only
            h.hart.reset(RAM, Hart.PRIV_S, 0, 0);
            h.hart.satp = (8L << 60) | (ROOT >>> 12);
            h.hart.flushTlb();
            h.hart.updateCtx();
            h.hart.x[7] = UNMAPPED_VA + 0x123;
            h.hart.x[9] = READ_ONLY_ALIAS + (DATA - RAM);
            h.hart.x[29] = 300;
            h.hart.x[31] = DATA;
        });
        assertEquals(2 * 300, o.x[28], "two faults per turn reached the handler");
        assertEquals(Trap.STORE_PAGE_FAULT, o.mcause);
        assertEquals(READ_ONLY_ALIAS + (DATA - RAM), o.mtval);
        assertEquals(RAM + 24 + 4, o.mepc, "the faulting store, moved past by the handler");
    }

    /** A device register read and written from a block: every access reaches the device, in order. */
    @ParameterizedTest(name = "hot after {0}")
    @ValueSource(ints = {1, 3, 1_000_000})
    void mmioFromABlockReachesTheDevice(int hotRuns) {
        int[] program = {
                lw(5, 7, 0),            //  0
                add(10, 10, 5),         //  4
                sd(10, 7, 8),           //  8
                lbu(6, 7, 3),           // 12
                add(10, 10, 6),         // 16
                sb(6, 7, 1),            // 20
                sd(10, 31, 0),          // 24: RAM in between
                addi(29, 29, -1),       // 28
                bne(29, 0, -32),        // 32
                WFI,
                jal(0, 0)};
        Outcome o = runBoth(hotRuns, null, program, h -> {
            h.hart.x[7] = MMIO + 0x40;
            h.hart.x[29] = 300;
            h.hart.x[31] = DATA;
        });
        assertEquals(4 * 300, o.deviceLog.size() / 3, "every access reached the device");
    }

    /** A device that answers reads with a running counter and logs every access. */
    static final class Device implements MmioHandler {
        final List<Long> log = new ArrayList<>();
        long counter = 0x1234_5678_9abcL;

        @Override public boolean isMapped(long gpa) { return gpa >= MMIO && gpa < MMIO + 0x1000; }

        @Override public long read(long gpa, int sizeBytes) {
            log.add(gpa);
            log.add((long) sizeBytes);
            counter = counter * 0x9E3779B97F4A7C15L + 1;
            long v = sizeBytes == 8 ? counter : counter & ((1L << (8 * sizeBytes)) - 1);
            log.add(v);
            return v;
        }

        @Override public void write(long gpa, int sizeBytes, long value) {
            log.add(gpa | 1L << 40);
            log.add((long) sizeBytes);
            log.add(value);
        }
    }

    record Outcome(long[] x, long mcause, long mtval, long mepc, List<Long> deviceLog) {}

    interface Setup { void apply(HartHarness h); }

    /** Runs the program to its WFI translated and on the reference interpreter; they must agree. */
    private static Outcome runBoth(int hotRuns, MmioHandler noDevice, int[] program, Setup setup) {
        Device refDevice = new Device(), jitDevice = new Device();
        try (HartHarness jit = new HartHarness(false, noDevice == null ? jitDevice : noDevice);
             HartHarness ref = new HartHarness(false, noDevice == null ? refDevice : noDevice)) {
            ref.hart.referenceOnly = true;
            jit.hart.jit = true;
            jit.hart.jitThreshold = 1;
            jit.hart.jitAsync = false;
            jit.hart.jitHotInstructions = hotRuns;
            for (HartHarness h : new HartHarness[] {ref, jit}) {
                h.program(program);
                // M-mode handler: count the trap in x28, skip the instruction.
                h.load(HANDLER, addi(28, 28, 1), csrrs(30, Csr.MEPC, 0), addi(30, 30, 4), csrrw(0, Csr.MEPC, 30), MRET);
                h.hart.mtvec = HANDLER;
                for (int k = 0; k < 64; k++) h.putLong(DATA + 8L * k, k * 0x9E3779B97F4A7C15L);
                setup.apply(h);
                assertEquals(Hart.EXIT_WFI, h.runUntilWfi(100, 1000));
            }
            HartHarness.assertSameState(ref, jit);
            assertArrayEquals(ref.mem.read(DATA, 512), jit.mem.read(DATA, 512));
            assertEquals(refDevice.log, jitDevice.log);
            assertTrue(jit.hart.blockInstructions() > 1000, "translated blocks must have run");
            return new Outcome(jit.hart.x.clone(), jit.hart.mcause, jit.hart.mtval, jit.hart.mepc, jitDevice.log);
        }
    }
}
