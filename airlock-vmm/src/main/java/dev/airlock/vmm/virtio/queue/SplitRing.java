package dev.airlock.vmm.virtio.queue;

import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Layout of a split virtqueue in guest memory (virtio 1.x spec 2.7). All fields little-endian.
 *
 * <pre>
 * Descriptor table (align 16), size entries of 16 bytes:
 *   +0 le64 addr   +8 le32 len   +12 le16 flags (NEXT=1, WRITE=2, INDIRECT=4)   +14 le16 next
 *
 * Available ring (align 2), written by the driver:
 *   +0 le16 flags (NO_INTERRUPT=1)  +2 le16 idx  +4 le16 ring[size]  +4+2*size le16 used_event
 *
 * Used ring (align 4), written by the device:
 *   +0 le16 flags (NO_NOTIFY=1)  +2 le16 idx  +4 {le32 id, le32 len}[size]  +4+8*size le16 avail_event
 * </pre>
 *
 * Indices are free-running 16-bit counters; a slot is {@code idx % size}, which is why the size of a
 * split queue is a power of two.
 */
public final class SplitRing {
    private SplitRing() {}

    public static final int DESC_SIZE_BYTES = 16;
    public static final int DESC_ADDR = 0;
    public static final int DESC_LEN = 8;
    public static final int DESC_FLAGS = 12;
    public static final int DESC_NEXT = 14;

    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;

    public static final int AVAIL_FLAGS = 0;
    public static final int AVAIL_IDX = 2;
    public static final int AVAIL_RING = 4;
    public static final int AVAIL_F_NO_INTERRUPT = 1;

    public static final int USED_FLAGS = 0;
    public static final int USED_IDX = 2;
    public static final int USED_RING = 4;
    public static final int USED_ELEM_SIZE_BYTES = 8;
    public static final int USED_F_NO_NOTIFY = 1;

    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;

    public static long descTableSizeBytes(int queueSize) {
        return (long) DESC_SIZE_BYTES * queueSize;
    }

    /** flags, idx, ring and used_event. */
    public static long availSizeBytes(int queueSize) {
        return AVAIL_RING + 2L * queueSize + 2;
    }

    /** flags, idx, ring and avail_event. */
    public static long usedSizeBytes(int queueSize) {
        return USED_RING + (long) USED_ELEM_SIZE_BYTES * queueSize + 2;
    }

    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE16_UNALIGNED = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32_UNALIGNED = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64_UNALIGNED = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Ring indices are read with acquire and written with release: they publish the entries before them. */
    static final VarHandle LE16_ORDERED = LE16.varHandle();
}
