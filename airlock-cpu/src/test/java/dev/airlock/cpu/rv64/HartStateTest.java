package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class HartStateTest {
    /** A loop that keeps counters, stores them, and touches CSRs and FP, so a restore has much to get right. */
    private static void loadCounterProgram(HartHarness h) {
        h.program(
                lui(5, 0x80010),           // x5 = data page
                addi(1, 1, 1),             // loop: x1++
                add(2, 2, 1),              // x2 += x1
                mul(3, 2, 1),              // x3 = x2 * x1
                sd(2, 5, 0),
                sd(3, 5, 8),
                csrrw(6, 0x340, 1),        // mscratch <-> x1 (x6 gets the old)
                csrrs(7, 0x300, 0),        // read mstatus
                jal(0, -28));              // back to "x1++"
    }

    @Test
    void aRestoredHartContinuesExactlyAsTheOriginal() {
        try (HartHarness a = new HartHarness(); HartHarness b = new HartHarness()) {
            loadCounterProgram(a);
            a.hart.f[3] = 0x7ff8_0000_0000_0001L;
            a.steps(1000);
            byte[] saved = HartState.save(a.hart);
            // The copy gets RAM as the original has it now, and the hart's state.
            b.mem.write(HartHarness.RAM, a.mem.read(HartHarness.RAM, 1 << 20));
            HartState.restore(b.hart, ByteBuffer.wrap(saved));
            a.steps(5000);
            b.steps(5000);
            assertArrayEquals(a.hart.x, b.hart.x);
            assertArrayEquals(a.hart.f, b.hart.f);
            assertEquals(a.hart.pc, b.hart.pc);
            assertEquals(a.hart.instret(), b.hart.instret());
            assertEquals(a.getLong(0x8001_0000L), b.getLong(0x8001_0000L));
            assertEquals(a.getLong(0x8001_0008L), b.getLong(0x8001_0008L));
            assertArrayEquals(HartState.save(a.hart), HartState.save(b.hart), "every saved field agrees");
        }
    }

    @Test
    void damagedStateIsRefused() {
        try (HartHarness a = new HartHarness()) {
            byte[] saved = HartState.save(a.hart);
            byte[] wrongLayout = saved.clone();
            wrongLayout[0] = 9;
            assertThrows(IllegalArgumentException.class, () -> HartState.restore(a.hart, ByteBuffer.wrap(wrongLayout)));
            assertThrows(IllegalArgumentException.class,
                    () -> HartState.restore(a.hart, ByteBuffer.wrap(java.util.Arrays.copyOf(saved, saved.length - 1))));
            byte[] badPriv = saved.clone();
            ByteBuffer.wrap(badPriv).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(4 + 512 + 8, 2);
            assertThrows(IllegalArgumentException.class, () -> HartState.restore(a.hart, ByteBuffer.wrap(badPriv)));
        }
    }
}
