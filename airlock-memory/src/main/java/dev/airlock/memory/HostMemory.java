package dev.airlock.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Access to host memory by host-virtual address (hva), the way a hypervisor's soft TLB holds it.
 * Guest frames may come from many mappings (RAM, a template file, the zero frame), so the CPU
 * addresses them all through one unbounded segment rather than one segment per mapping.
 * Only addresses the memory layer handed out may be used here.
 */
public final class HostMemory {
    public static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    public static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Aligned layouts, for atomics (VarHandle CAS needs natural alignment). */
    public static final ValueLayout.OfInt I32_ALIGNED = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_ALIGNED = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HostMemory() {}
}
