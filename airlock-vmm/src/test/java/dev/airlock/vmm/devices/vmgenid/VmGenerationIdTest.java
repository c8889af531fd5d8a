package dev.airlock.vmm.devices.vmgenid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.vmm.bus.IrqLine;
import dev.airlock.vmm.testing.Allocations;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class VmGenerationIdTest {
    private static final long SEED = Long.getLong("airlock.test.seed", 0x5EED_A1E0L);

    /** Records the level and counts rising edges. */
    static final class Line implements IrqLine {
        volatile boolean level;
        int rises;

        @Override
        public synchronized void set(boolean level) {
            if (level && !this.level) {
                rises++;
            }
            this.level = level;
        }
    }

    private static byte[] id(int first) {
        byte[] id = new byte[16];
        for (int i = 0; i < 16; i++) {
            id[i] = (byte) (first + i);
        }
        return id;
    }

    private final Line irq = new Line();
    private final VmGenerationId device = new VmGenerationId(new Random(SEED), irq);

    /** The 16 bytes as the guest sees them through byte reads. */
    private byte[] guestBytes() {
        byte[] b = new byte[16];
        for (int i = 0; i < 16; i++) {
            b[i] = (byte) device.read(i, 1);
        }
        return b;
    }

    @Test
    void theFirstIdComesFromTheInjectedRandomSource() {
        byte[] expected = new byte[16];
        new Random(SEED).nextBytes(expected);
        assertArrayEquals(expected, device.generationId(), "seed " + SEED);
        assertArrayEquals(expected, guestBytes());
        assertFalse(irq.level, "a new device has nothing to announce");
        assertNotEquals(ByteBuffer.wrap(new VmGenerationId(new Random(SEED + 1), IrqLine.NONE).generationId()),
                ByteBuffer.wrap(device.generationId()), "different sources, different IDs");
    }

    @Test
    void readsOfEverySizeAndOffsetAreLittleEndianSlicesOfTheId() {
        device.newGeneration(id(0x10));
        assertEquals(0x10, device.read(0, 1));
        assertEquals(0x1F, device.read(15, 1));
        assertEquals(0x1312, device.read(2, 2));
        assertEquals(0x1716_1514L, device.read(4, 4));
        assertEquals(0x1716_1514_1312_1110L, device.read(0, 8));
        assertEquals(0x1F1E_1D1C_1B1A_1918L, device.read(8, 8));
        // Unaligned, as a byte-wise or misaligned memcpy may do.
        assertEquals(0x1211, device.read(1, 2));
        assertEquals(0x1817_1615_1413_1211L, device.read(1, 8));
        assertEquals(0x1A19_1817L, device.read(7, 4));
        // Past the end of the ID: zeros, never the next byte of anything.
        assertEquals(0x1F1E_1D1CL, device.read(12, 8));
        assertEquals(0x1F, device.read(15, 2));
        assertEquals(0, device.read(16, 8));
        assertEquals(0, device.read(-1, 1));
    }

    @Test
    void writesCannotChangeTheId() {
        byte[] before = device.generationId();
        for (int off = 0; off < 16; off++) {
            for (int size : new int[] {1, 2, 4, 8}) {
                device.write(off, size, -1L);
            }
        }
        assertArrayEquals(before, device.generationId());
        assertArrayEquals(before, guestBytes());
        assertEquals(0, irq.rises);
    }

    @Test
    void aNewGenerationRaisesTheLineUntilTheGuestReadsTheId() {
        byte[] old = device.generationId();
        device.newGeneration();
        assertTrue(irq.level, "the guest must be told");
        assertEquals(1, irq.rises);
        assertFalse(ByteBuffer.wrap(old).equals(ByteBuffer.wrap(device.generationId())), "a fresh random ID");
        byte[] seen = guestBytes(); // what Linux's handler does
        assertFalse(irq.level, "reading the ID acknowledges the notification");
        assertArrayEquals(device.generationId(), seen);
        device.read(0, 8);
        assertEquals(1, irq.rises, "further reads change nothing");
    }

    @Test
    void aChangeWhileTheGuestIsReadingIsAnnouncedAgain() {
        device.newGeneration(id(1));
        device.read(0, 8); // the handler has started copying
        device.newGeneration(id(2));
        assertTrue(irq.level, "the second change is pending when the handler completes");
        assertEquals(2, irq.rises);
        assertArrayEquals(id(2), guestBytes());
        assertFalse(irq.level);
    }

    @Test
    void changesBeforeTheGuestReadsMergeIntoOneNotification() {
        device.newGeneration(id(1));
        device.newGeneration(id(2));
        assertEquals(1, irq.rises, "the line is already high");
        assertArrayEquals(id(2), guestBytes(), "the guest sees the latest ID");
    }

    @Test
    void theSameIdAgainIsNoNewGeneration() {
        device.newGeneration(id(1));
        guestBytes();
        device.newGeneration(id(1));
        assertFalse(irq.level);
        assertEquals(1, irq.rises);
    }

    @Test
    void anIdMustBeSixteenBytes() {
        assertThrows(IllegalArgumentException.class, () -> device.newGeneration(new byte[15]));
        assertThrows(IllegalArgumentException.class, () -> device.newGeneration(new byte[17]));
    }

    @Test
    void resetKeepsTheIdAndDropsThePendingNotification() {
        device.newGeneration(id(5));
        device.reset();
        assertFalse(irq.level);
        assertArrayEquals(id(5), device.generationId(), "a reset machine is the same machine, not a copy");
    }

    @Test
    void stateRoundTripsWithTheIdAndThePendingNotification() {
        device.newGeneration(id(7));
        byte[] state = device.saveState();
        assertEquals(VmGenerationId.STATE_BYTES, state.length);

        Line otherIrq = new Line();
        VmGenerationId copy = new VmGenerationId(new Random(SEED + 1), otherIrq);
        copy.restoreState(ByteBuffer.wrap(state));
        assertArrayEquals(id(7), copy.generationId());
        assertTrue(otherIrq.level, "the guest had not read the new ID yet: the line is high again");
        assertArrayEquals(state, copy.saveState());

        guestBytes();
        Line quietIrq = new Line();
        VmGenerationId quiet = new VmGenerationId(new Random(SEED + 2), quietIrq);
        quiet.restoreState(ByteBuffer.wrap(device.saveState()));
        assertArrayEquals(id(7), quiet.generationId());
        assertFalse(quietIrq.level);
        // What a clone does after restoring its template's state.
        quiet.newGeneration();
        assertTrue(quietIrq.level);
        assertFalse(ByteBuffer.wrap(id(7)).equals(ByteBuffer.wrap(quiet.generationId())));
    }

    @Test
    void damagedStateIsRefused() {
        byte[] state = device.saveState();
        state[16] = 2;
        assertThrows(IllegalArgumentException.class, () -> device.restoreState(ByteBuffer.wrap(state)));
        assertThrows(BufferUnderflowException.class, () -> device.restoreState(ByteBuffer.wrap(new byte[16])));
    }

    @Test
    void readsAllocateNothing() {
        long allocated = Allocations.bytesAllocatedBy(() -> {
            for (int i = 0; i < 100_000; i++) {
                device.read(i & 15, 1 << (i & 3));
            }
        });
        assertTrue(allocated < 1024, "VM generation ID reads allocated " + allocated + " bytes");
    }
}
