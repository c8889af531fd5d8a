package dev.airlock.vmm.virtio.testing;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.queue.SplitRing;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The driver's side of one split virtqueue in a test's guest RAM: writes descriptors and the
 * available ring, reads the used ring, as Linux's virtio_ring would, plus raw writes for malformed cases.
 */
public final class RingWriter {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One buffer of a chain. */
    public record Buf(long gpa, int lengthBytes, boolean writable) {
        public static Buf in(long gpa, int len) { return new Buf(gpa, len, false); }    // device reads it
        public static Buf out(long gpa, int len) { return new Buf(gpa, len, true); }    // device writes it
    }

    /** An element of the used ring. */
    public record Used(int id, int lengthBytes) {}

    public final GuestMemory memory;
    public final int size;
    public final long descGpa, availGpa, usedGpa;
    private int nextFreeDesc;
    private int availIdx;
    private int lastSeenUsed;

    public RingWriter(GuestMemory memory, int size, long descGpa, long availGpa, long usedGpa) {
        this.memory = memory;
        this.size = size;
        this.descGpa = descGpa;
        this.availGpa = availGpa;
        this.usedGpa = usedGpa;
        memory.segment().asSlice(descGpa - memory.baseGpa(), SplitRing.descTableSizeBytes(size)).fill((byte) 0);
        memory.segment().asSlice(availGpa - memory.baseGpa(), SplitRing.availSizeBytes(size)).fill((byte) 0);
        memory.segment().asSlice(usedGpa - memory.baseGpa(), SplitRing.usedSizeBytes(size)).fill((byte) 0);
    }

    /** Lays the three rings out from {@code baseGpa}, which must be 16-byte aligned. */
    public static RingWriter at(GuestMemory memory, int size, long baseGpa) {
        long desc = baseGpa;
        long avail = desc + SplitRing.descTableSizeBytes(size);
        long used = (avail + SplitRing.availSizeBytes(size) + 3) & ~3L;
        return new RingWriter(memory, size, desc, avail, used);
    }

    /** Bytes the rings take from their base, for laying out buffers after them. */
    public static long footprintBytes(int size) {
        return SplitRing.descTableSizeBytes(size) + SplitRing.availSizeBytes(size) + 4 + SplitRing.usedSizeBytes(size);
    }

    private MemorySegment ram() { return memory.segment(); }

    private long off(long gpa) { return gpa - memory.baseGpa(); }

    public void writeDescriptor(long tableGpa, int index, long addr, int len, int flags, int next) {
        long at = off(tableGpa) + 16L * index;
        ram().set(LE64, at, addr);
        ram().set(LE32, at + 8, len);
        ram().set(LE16, at + 12, (short) flags);
        ram().set(LE16, at + 14, (short) next);
    }

    public void writeDescriptor(int index, long addr, int len, int flags, int next) {
        writeDescriptor(descGpa, index, addr, len, flags, next);
    }

    /** Writes {@code bufs} as a chain of descriptors taken from the table (wrapping), without publishing it. */
    public int writeChain(Buf... bufs) {
        int head = nextFreeDesc % size;
        for (int i = 0; i < bufs.length; i++) {
            int index = (nextFreeDesc + i) % size;
            int next = (nextFreeDesc + i + 1) % size;
            boolean last = i == bufs.length - 1;
            int flags = (last ? 0 : SplitRing.DESC_F_NEXT) | (bufs[i].writable() ? SplitRing.DESC_F_WRITE : 0);
            writeDescriptor(index, bufs[i].gpa(), bufs[i].lengthBytes(), flags, last ? 0 : next);
        }
        nextFreeDesc += bufs.length;
        return head;
    }

    /** Writes {@code bufs} as an indirect table at {@code tableGpa} and one descriptor pointing at it. */
    public int writeIndirectChain(long tableGpa, Buf... bufs) {
        for (int i = 0; i < bufs.length; i++) {
            boolean last = i == bufs.length - 1;
            int flags = (last ? 0 : SplitRing.DESC_F_NEXT) | (bufs[i].writable() ? SplitRing.DESC_F_WRITE : 0);
            writeDescriptor(tableGpa, i, bufs[i].gpa(), bufs[i].lengthBytes(), flags, last ? 0 : i + 1);
        }
        int head = nextFreeDesc % size;
        writeDescriptor(head, tableGpa, 16 * bufs.length, SplitRing.DESC_F_INDIRECT, 0);
        nextFreeDesc++;
        return head;
    }

    /** Puts {@code head} in the available ring and advances the index the device sees. */
    public void publish(int head) {
        ram().set(LE16, off(availGpa) + SplitRing.AVAIL_RING + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        setAvailIdx(availIdx);
    }

    public int addChain(Buf... bufs) {
        int head = writeChain(bufs);
        publish(head);
        return head;
    }

    public void setAvailIdx(int idx) {
        availIdx = idx & 0xffff;
        ram().set(LE16, off(availGpa) + SplitRing.AVAIL_IDX, (short) idx);
    }

    public void setAvailFlags(int flags) {
        ram().set(LE16, off(availGpa) + SplitRing.AVAIL_FLAGS, (short) flags);
    }

    /** used_event, at the end of the available ring. */
    public void setUsedEvent(int idx) {
        ram().set(LE16, off(availGpa) + SplitRing.availSizeBytes(size) - 2, (short) idx);
    }

    /** avail_event, at the end of the used ring, as the device left it. */
    public int availEvent() {
        return ram().get(LE16, off(usedGpa) + SplitRing.usedSizeBytes(size) - 2) & 0xffff;
    }

    public int usedIdx() {
        return ram().get(LE16, off(usedGpa) + SplitRing.USED_IDX) & 0xffff;
    }

    /** The next used element the driver has not seen, or null. */
    public Used pollUsed() {
        if (usedIdx() == lastSeenUsed) return null;
        long at = off(usedGpa) + SplitRing.USED_RING + 8L * (lastSeenUsed % size);
        lastSeenUsed = (lastSeenUsed + 1) & 0xffff;
        return new Used(ram().get(LE32, at), ram().get(LE32, at + 4));
    }
}
