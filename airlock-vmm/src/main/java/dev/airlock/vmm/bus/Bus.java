package dev.airlock.vmm.bus;

import dev.airlock.memory.MmioHandler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The machine's MMIO bus: guest-physical windows, each owned by one {@link BusDevice}.
 *
 * <p>Devices are registered while the machine is assembled; harts then dispatch accesses inline.
 * Lookup is a binary search over the sorted window bases of an immutable table, published through a
 * volatile field, so the access path takes no lock and allocates nothing. An access is routed by its
 * first byte; a device sees offsets relative to its base.
 */
public final class Bus implements MmioHandler {

    /** One registered window, for diagnostics. */
    public record Mapping(String name, long baseGpa, long sizeBytes, BusDevice device) {
        public long endGpa() {
            return baseGpa + sizeBytes;
        }
    }

    /** Sorted by base; {@code endGpa[i]} is exclusive. Never mutated once published. */
    private record Table(long[] baseGpa, long[] endGpa, BusDevice[] devices, Mapping[] mappings) {}

    private static final VarHandle UNCLAIMED;

    static {
        try {
            UNCLAIMED = MethodHandles.lookup().findVarHandle(Bus.class, "unclaimedAccesses", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile Table table = new Table(new long[0], new long[0], new BusDevice[0], new Mapping[0]);
    @SuppressWarnings("unused") // updated through UNCLAIMED
    private volatile long unclaimedAccesses;

    /**
     * Claims {@code [baseGpa, baseGpa + sizeBytes)} for {@code device}.
     *
     * @throws IllegalArgumentException if the window is empty, does not fit below 2^63, or overlaps one already registered
     */
    public void register(String name, long baseGpa, long sizeBytes, BusDevice device) {
        registerAll(List.of(new Mapping(name, baseGpa, sizeBytes, device)));
    }

    /**
     * Claims every window of {@code windows} at once, building the lookup table once rather than per
     * window (a machine registers a dozen as it is built, once per clone); nothing is claimed if one fails.
     *
     * @throws IllegalArgumentException if a window is empty, does not fit below 2^63, or overlaps another
     */
    public synchronized void registerAll(List<Mapping> windows) {
        Table t = table;
        Mapping[] mappings = Arrays.copyOf(t.mappings, t.mappings.length + windows.size());
        int n = t.mappings.length;
        for (Mapping w : windows) {
            check(w, mappings, n);
            mappings[n++] = w;
        }
        Arrays.sort(mappings, BY_BASE);
        long[] bases = new long[mappings.length];
        long[] ends = new long[mappings.length];
        BusDevice[] devices = new BusDevice[mappings.length];
        for (int i = 0; i < mappings.length; i++) {
            bases[i] = mappings[i].baseGpa;
            ends[i] = mappings[i].endGpa();
            devices[i] = mappings[i].device;
        }
        table = new Table(bases, ends, devices, mappings);
    }

    private static final java.util.Comparator<Mapping> BY_BASE = (a, b) -> Long.compare(a.baseGpa, b.baseGpa);

    /** Throws if {@code w} is malformed or overlaps one of {@code claimed[0, count)}. */
    private static void check(Mapping w, Mapping[] claimed, int count) {
        String name = Objects.requireNonNull(w.name(), "name");
        Objects.requireNonNull(w.device(), "device");
        long baseGpa = w.baseGpa(), sizeBytes = w.sizeBytes();
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("bus device '" + name + "' needs a positive size, got " + sizeBytes);
        }
        long endGpa = baseGpa + sizeBytes;
        if (baseGpa < 0 || endGpa < 0) {
            // Guest-physical windows on this machine lie below 2^63; keeping them positive keeps the search signed.
            throw new IllegalArgumentException(String.format(
                    "bus device '%s' at 0x%x size 0x%x does not fit below 2^63", name, baseGpa, sizeBytes));
        }
        for (int i = 0; i < count; i++) {
            Mapping m = claimed[i];
            if (baseGpa < m.endGpa() && m.baseGpa < endGpa) {
                throw new IllegalArgumentException(String.format(
                        "bus device '%s' [0x%x, 0x%x) overlaps '%s' [0x%x, 0x%x)",
                        name, baseGpa, endGpa, m.name, m.baseGpa, m.endGpa()));
            }
        }
    }

    /** Index of the window holding {@code gpa} in {@code t}, or -1. */
    private static int indexOf(Table t, long gpa) {
        long[] bases = t.baseGpa;
        int lo = 0;
        int hi = bases.length - 1;
        // Find the last window whose base is <= gpa.
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (bases[mid] <= gpa) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi >= 0 && gpa < t.endGpa[hi] ? hi : -1;
    }

    @Override
    public boolean isMapped(long gpa) {
        return indexOf(table, gpa) >= 0;
    }

    @Override
    public long read(long gpa, int sizeBytes) {
        Table t = table;
        int i = indexOf(t, gpa);
        if (i < 0) {
            UNCLAIMED.getAndAdd(this, 1L);
            return 0;
        }
        return t.devices[i].read(gpa - t.baseGpa[i], sizeBytes);
    }

    @Override
    public void write(long gpa, int sizeBytes, long value) {
        Table t = table;
        int i = indexOf(t, gpa);
        if (i < 0) {
            UNCLAIMED.getAndAdd(this, 1L);
            return;
        }
        t.devices[i].write(gpa - t.baseGpa[i], sizeBytes, value);
    }

    /** Resets every registered device, in address order. */
    public void reset() {
        for (BusDevice d : table.devices) {
            d.reset();
        }
    }

    /** The registered windows in address order. */
    public List<Mapping> mappings() {
        return List.of(table.mappings);
    }

    /** Reads and writes that reached no device; the CPU normally faults before calling, so this counts stray calls. */
    public long unclaimedAccesses() {
        return unclaimedAccesses;
    }

    @Override
    public String toString() {
        List<String> lines = new ArrayList<>();
        for (Mapping m : table.mappings) {
            lines.add(String.format("[0x%x, 0x%x) %s", m.baseGpa, m.endGpa(), m.name));
        }
        return "Bus" + lines;
    }
}
