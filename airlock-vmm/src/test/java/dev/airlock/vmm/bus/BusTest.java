package dev.airlock.vmm.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.vmm.testing.Allocations;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
    /** Remembers the last access and answers reads with offset + size. */
    static final class Probe implements BusDevice {
        long lastOffsetBytes = -1;
        int lastSizeBytes;
        long lastValue;
        int resets;

        @Override
        public long read(long offsetBytes, int sizeBytes) {
            lastOffsetBytes = offsetBytes;
            lastSizeBytes = sizeBytes;
            return offsetBytes + sizeBytes;
        }

        @Override
        public void write(long offsetBytes, int sizeBytes, long value) {
            lastOffsetBytes = offsetBytes;
            lastSizeBytes = sizeBytes;
            lastValue = value;
        }

        @Override
        public void reset() {
            resets++;
        }
    }

    @Test
    void dispatchesByAddressWithOffsetsRelativeToTheBase() {
        Bus bus = new Bus();
        Probe uart = new Probe();
        Probe plic = new Probe();
        bus.register("uart", 0x1000_0000L, 0x100, uart);
        bus.register("plic", 0x0C00_0000L, 0x60_0000, plic);

        assertEquals(0x14 + 4, bus.read(0x1000_0014L, 4));
        assertEquals(0x14, uart.lastOffsetBytes);
        bus.write(0x0C20_1004L, 4, 7);
        assertEquals(0x20_1004, plic.lastOffsetBytes);
        assertEquals(7, plic.lastValue);
        assertEquals(0x14, uart.lastOffsetBytes, "the UART saw only its own access");
    }

    @Test
    void windowsAreHalfOpen() {
        Bus bus = new Bus();
        bus.register("dev", 0x2000, 0x1000, new Probe());
        assertFalse(bus.isMapped(0x1FFF));
        assertTrue(bus.isMapped(0x2000));
        assertTrue(bus.isMapped(0x2FFF));
        assertFalse(bus.isMapped(0x3000));
        assertFalse(bus.isMapped(-1));
        assertFalse(bus.isMapped(Long.MAX_VALUE));
    }

    @Test
    void unclaimedAccessesReadZeroAndAreCounted() {
        Bus bus = new Bus();
        assertFalse(bus.isMapped(0x1000));
        assertEquals(0, bus.read(0x1000, 8));
        bus.write(0x1000, 8, -1);
        assertEquals(2, bus.unclaimedAccesses());
        bus.register("dev", 0x2000, 0x1000, new Probe());
        assertEquals(0, bus.read(0x3000, 4));
        assertEquals(3, bus.unclaimedAccesses());
    }

    @Test
    void overlapsAreRejectedNamingBothDevices() {
        Bus bus = new Bus();
        bus.register("uart", 0x1000_0000L, 0x100, new Probe());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bus.register("virtio0", 0x1000_00F0L, 0x1000, new Probe()));
        assertTrue(e.getMessage().contains("virtio0") && e.getMessage().contains("uart"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bus.register("inside", 0x1000_0010L, 0x10, new Probe()));
        assertThrows(IllegalArgumentException.class, () -> bus.register("around", 0x0FFF_0000L, 0x20_0000, new Probe()));
        // Adjacent windows are fine on either side.
        bus.register("below", 0x0FFF_FF00L, 0x100, new Probe());
        bus.register("above", 0x1000_0100L, 0x100, new Probe());
        assertEquals(3, bus.mappings().size());
    }

    @Test
    void badWindowsAreRejected() {
        Bus bus = new Bus();
        assertThrows(IllegalArgumentException.class, () -> bus.register("empty", 0x1000, 0, new Probe()));
        assertThrows(IllegalArgumentException.class, () -> bus.register("negative", 0x1000, -5, new Probe()));
        assertThrows(IllegalArgumentException.class, () -> bus.register("wraps", Long.MAX_VALUE - 4, 0x10, new Probe()));
        assertThrows(IllegalArgumentException.class, () -> bus.register("high", -0x1000L, 0x100, new Probe()));
        assertThrows(NullPointerException.class, () -> bus.register("null", 0x1000, 0x100, null));
    }

    @Test
    void registerAllClaimsEveryWindowOrNone() {
        Bus bus = new Bus();
        bus.register("uart", 0x1000, 0x100, new Probe());
        Probe a = new Probe(), b = new Probe();
        bus.registerAll(List.of(new Bus.Mapping("b", 0x3000, 0x100, b), new Bus.Mapping("a", 0x2000, 0x100, a)));
        bus.write(0x2010, 4, 7);
        bus.write(0x3020, 4, 9);
        assertEquals(7, a.lastValue);
        assertEquals(9, b.lastValue);
        assertEquals(List.of(0x1000L, 0x2000L, 0x3000L), bus.mappings().stream().map(Bus.Mapping::baseGpa).toList());
        // Two new windows overlapping each other, or one an old window: refused, and the good one not claimed either.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bus.registerAll(List.of(
                new Bus.Mapping("c", 0x5000, 0x100, new Probe()), new Bus.Mapping("d", 0x5080, 0x100, new Probe()))));
        assertTrue(e.getMessage().contains("'d'") && e.getMessage().contains("'c'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bus.registerAll(List.of(
                new Bus.Mapping("e", 0x6000, 0x100, new Probe()), new Bus.Mapping("f", 0x1080, 0x10, new Probe()))));
        assertEquals(3, bus.mappings().size());
        assertFalse(bus.isMapped(0x5000));
        assertFalse(bus.isMapped(0x6000));
    }

    @Test
    void registrationOrderDoesNotMatter() {
        Bus bus = new Bus();
        List<Probe> probes = new ArrayList<>();
        long[] bases = {0x9000, 0x1000, 0x5000, 0x3000, 0x7000};
        for (long base : bases) {
            Probe p = new Probe();
            probes.add(p);
            bus.register("dev@" + Long.toHexString(base), base, 0x800, p);
        }
        for (int i = 0; i < bases.length; i++) {
            bus.write(bases[i] + 0x10, 1, i);
            assertEquals(i, probes.get(i).lastValue);
            assertFalse(bus.isMapped(bases[i] + 0x800));
        }
        List<Long> order = bus.mappings().stream().map(Bus.Mapping::baseGpa).toList();
        assertEquals(List.of(0x1000L, 0x3000L, 0x5000L, 0x7000L, 0x9000L), order);
    }

    @Test
    void resetResetsEveryDevice() {
        Bus bus = new Bus();
        Probe a = new Probe();
        Probe b = new Probe();
        bus.register("a", 0x1000, 0x100, a);
        bus.register("b", 0x2000, 0x100, b);
        bus.reset();
        assertEquals(1, a.resets);
        assertEquals(1, b.resets);
    }

    @Test
    void dispatchAllocatesNothing() {
        Bus bus = new Bus();
        for (int i = 0; i < 12; i++) {
            bus.register("dev" + i, 0x1000_0000L + 0x1000L * i, 0x1000, new Probe());
        }
        long allocated = Allocations.bytesAllocatedBy(() -> {
            long sum = 0;
            for (int i = 0; i < 100_000; i++) {
                long gpa = 0x1000_0000L + (i % 13) * 0x1000L + 8;
                if (bus.isMapped(gpa)) {
                    sum += bus.read(gpa, 4);
                    bus.write(gpa, 4, sum);
                } else {
                    sum += bus.read(gpa, 4);
                }
            }
            if (sum == 42) {
                throw new AssertionError();
            }
        });
        assertTrue(allocated < 1024, "bus dispatch allocated " + allocated + " bytes");
    }
}
