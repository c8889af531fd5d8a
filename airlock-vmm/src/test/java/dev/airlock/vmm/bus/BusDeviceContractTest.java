package dev.airlock.vmm.bus;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What every {@link BusDevice} promises, whatever it is: any read or write at any offset and size
 * returns normally, reads are zero-extended to their size, offsets the device does not implement read
 * 0 and ignore writes, and reset returns the device to its power-on state. Each device has a
 * subclass that says how to build it and which offsets are which.
 *
 * <p>Writes use a seeded random source; set {@code -Dairlock.test.seed=N} to replay a failure.
 */
public abstract class BusDeviceContractTest {
    protected static final long SEED = Long.getLong("airlock.test.seed", 0x5EED_A1E0L);
    private static final int[] SIZES = {1, 2, 4, 8};

    /** One register read for a state snapshot. */
    public record Reg(long offsetBytes, int sizeBytes) {}

    /** A fresh device at its power-on state. */
    protected abstract BusDevice newDevice();

    protected abstract long windowSizeBytes();

    /** Offsets the device does not implement: they must read 0 and ignore writes. */
    protected abstract long[] unimplementedOffsets();

    /**
     * Registers whose values make up the device's guest-visible state, read in this order for a
     * snapshot. Reading them must not change the state of a device at power-on.
     */
    protected abstract List<Reg> stateRegisters();

    /** Offsets to probe with every size; every offset of the window unless the window is large. */
    protected long[] probeOffsets() {
        long size = windowSizeBytes();
        if (size <= 0x1_0000) {
            long[] all = new long[(int) size];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return all;
        }
        // Large windows: the first 16 bytes and the last 8 of every 4 KiB page.
        List<Long> offsets = new ArrayList<>();
        for (long page = 0; page < size; page += 0x1000) {
            for (int i = 0; i < 16; i++) {
                offsets.add(page + i);
            }
            for (int i = 8; i > 0; i--) {
                offsets.add(page + 0x1000 - i);
            }
        }
        return offsets.stream().mapToLong(Long::longValue).toArray();
    }

    protected static long mask(int sizeBytes) {
        return sizeBytes == 8 ? -1L : (1L << (8 * sizeBytes)) - 1;
    }

    private List<Long> snapshot(BusDevice d) {
        List<Long> values = new ArrayList<>();
        for (Reg r : stateRegisters()) {
            values.add(d.read(r.offsetBytes(), r.sizeBytes()));
        }
        return values;
    }

    private void fuzzWrites(BusDevice d, Random random) {
        for (long off : probeOffsets()) {
            int size = SIZES[random.nextInt(SIZES.length)];
            d.write(off, size, random.nextLong());
        }
        for (Reg r : stateRegisters()) {
            d.write(r.offsetBytes(), r.sizeBytes(), random.nextLong());
        }
    }

    @Test
    void readsOfEveryOffsetAndSizeReturnZeroExtendedValues() {
        BusDevice d = newDevice();
        for (long off : probeOffsets()) {
            for (int size : SIZES) {
                long v = d.read(off, size);
                assertEquals(0, v & ~mask(size),
                        String.format("read of %d bytes at offset 0x%x returned 0x%x, wider than its size", size, off, v));
            }
        }
    }

    @Test
    void writesOfEveryOffsetAndSizeReturnNormally() {
        BusDevice d = newDevice();
        Random random = new Random(SEED);
        assertDoesNotThrow(() -> {
            for (long off : probeOffsets()) {
                for (int size : SIZES) {
                    d.write(off, size, random.nextLong());
                }
            }
            d.reset();
        }, "seed " + SEED);
    }

    @Test
    void unimplementedOffsetsReadZeroAndIgnoreWrites() {
        BusDevice d = newDevice();
        List<Long> before = snapshot(d);
        Random random = new Random(SEED);
        for (long off : unimplementedOffsets()) {
            for (int size : SIZES) {
                assertEquals(0, d.read(off, size), String.format("read of %d bytes at 0x%x", size, off));
                d.write(off, size, random.nextLong() | 1);
                assertEquals(0, d.read(off, size), String.format("read of %d bytes at 0x%x after a write", size, off));
            }
        }
        assertEquals(before, snapshot(d), "writes to unimplemented offsets changed the device's state; seed " + SEED);
    }

    @Test
    void resetRestoresPowerOnState() {
        BusDevice d = newDevice();
        List<Long> powerOn = snapshot(d);
        fuzzWrites(d, new Random(SEED));
        d.reset();
        assertEquals(powerOn, snapshot(d), "state after reset differs from power-on; seed " + SEED);
    }

    @Test
    void resetTwiceIsHarmless() {
        BusDevice d = newDevice();
        List<Long> powerOn = snapshot(d);
        d.reset();
        d.reset();
        assertEquals(powerOn, snapshot(d));
    }
}
