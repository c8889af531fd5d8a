package dev.airlock.vmm.virtio.queue;

import static dev.airlock.vmm.virtio.queue.SplitRing.*;

import dev.airlock.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One request popped from a {@link VirtQueue}: its descriptors, already walked and checked against
 * guest RAM, as a list of guest-physical buffers. The device-readable buffers come first
 * ({@code [0, readableCount)}), then the device-writable ones.
 *
 * <p>A flyweight: the queue reuses one instance, so a chain is valid only until the next
 * {@link VirtQueue#pop()}. Reading and writing go through offsets into the readable or writable
 * "region" (the buffers laid end to end), because the spec lets a driver split a header anywhere.
 */
public final class DescriptorChain {
    /**
     * Grown on demand up to {@link #capacity}: chains are a few buffers long, and an idle clone's
     * eight queues would otherwise hold 20 KiB of arrays sized for the longest chain allowed.
     */
    private long[] gpa;
    private int[] lengthBytes;
    private final int capacity;
    private int count;
    private int readableCount;
    private long readableBytes;
    private long writableBytes;
    private int headIndex;
    private GuestMemory memory;

    DescriptorChain(int capacity) {
        this.capacity = capacity;
        gpa = new long[Math.min(capacity, INITIAL_BUFFERS)];
        lengthBytes = new int[gpa.length];
    }

    private static final int INITIAL_BUFFERS = 4;

    /** The most buffers a chain may have. */
    public int capacity() { return capacity; }

    /** Descriptor index of the chain's head in the queue's table, which goes back in the used ring. */
    public int headIndex() { return headIndex; }

    public int count() { return count; }

    /** Buffers {@code [0, readableCount)} are device-readable, the rest device-writable. */
    public int readableCount() { return readableCount; }

    public long gpa(int i) { return gpa[checkIndex(i)]; }

    /** Length of buffer {@code i}, as an unsigned 32-bit value. */
    public long lengthBytes(int i) { return Integer.toUnsignedLong(lengthBytes[checkIndex(i)]); }

    public boolean isWritable(int i) { return checkIndex(i) >= readableCount; }

    public long readableBytes() { return readableBytes; }

    public long writableBytes() { return writableBytes; }

    /** Buffer {@code i} as a view of guest RAM, for zero-copy I/O. */
    public MemorySegment segment(int i) {
        return segment(i, 0, lengthBytes(i));
    }

    /**
     * A view of {@code lengthBytes} of buffer {@code i} from {@code offsetBytes} into it.
     */
    public MemorySegment segment(int i, long offsetBytes, long lengthBytes) {
        long len = lengthBytes(i);
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes > len - lengthBytes) {
            throw new IndexOutOfBoundsException("buffer " + i + " has " + len + " bytes");
        }
        // An empty buffer's address was never checked (nothing is accessed through it).
        if (lengthBytes == 0) return MemorySegment.NULL;
        return memory.slice(gpa[i] + offsetBytes, lengthBytes);
    }

    /**
     * Copies up to {@code length} bytes from the readable region at {@code offsetBytes} into {@code dst}.
     *
     * @return how many bytes were copied (fewer when the region ends first)
     */
    public int read(long offsetBytes, byte[] dst, int dstOffset, int length) {
        return copy(0, readableCount, offsetBytes, dst, dstOffset, length, false);
    }

    /**
     * Copies up to {@code length} bytes of {@code src} into the writable region at {@code offsetBytes}.
     *
     * @return how many bytes were copied (fewer when the region ends first)
     */
    public int write(long offsetBytes, byte[] src, int srcOffset, int length) {
        return copy(readableCount, count, offsetBytes, src, srcOffset, length, true);
    }

    /** Writes one byte into the writable region; false if the region is too short. */
    public boolean writeByte(long offsetBytes, byte value) {
        long at = offsetBytes;
        for (int i = readableCount; i < count; i++) {
            long len = Integer.toUnsignedLong(lengthBytes[i]);
            if (at < len) {
                memory.segment().set(ValueLayout.JAVA_BYTE, gpa[i] + at - memory.baseGpa(), value);
                return true;
            }
            at -= len;
        }
        return false;
    }

    private int copy(int from, int to, long offsetBytes, byte[] array, int arrayOffset, int length, boolean toGuest) {
        if (offsetBytes < 0 || length < 0 || arrayOffset < 0 || arrayOffset > array.length - length) {
            throw new IndexOutOfBoundsException("copy of " + length + " bytes at " + offsetBytes);
        }
        MemorySegment ram = memory.segment();
        long base = memory.baseGpa();
        long skip = offsetBytes;
        int done = 0;
        for (int i = from; i < to && done < length; i++) {
            long len = Integer.toUnsignedLong(lengthBytes[i]);
            if (skip >= len) {
                skip -= len;
                continue;
            }
            int n = (int) Math.min(len - skip, length - done);
            long ramOffset = gpa[i] + skip - base;
            if (toGuest) {
                MemorySegment.copy(array, arrayOffset + done, ram, ValueLayout.JAVA_BYTE, ramOffset, n);
            } else {
                MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, ramOffset, array, arrayOffset + done, n);
            }
            done += n;
            skip = 0;
        }
        return done;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("descriptor " + i + " of " + count);
        return i;
    }

    // ---------------------------------------------------------------- parsing (VirtQueue only)

    /**
     * Walks the chain starting at {@code head} in {@code table} (of {@code tableSize} entries),
     * following at most one indirect table, and checks every buffer against guest RAM.
     *
     * @throws VirtQueueException if the chain is malformed; the chain is then empty
     */
    void parse(GuestMemory memory, MemorySegment table, int tableSize, int head, boolean indirectAllowed) {
        this.memory = memory;
        this.headIndex = head;
        count = 0;
        readableCount = 0;
        readableBytes = 0;
        writableBytes = 0;
        try {
            walk(memory, table, tableSize, head, indirectAllowed);
        } catch (VirtQueueException e) {
            count = 0;
            readableCount = 0;
            readableBytes = 0;
            writableBytes = 0;
            throw e;
        }
    }

    private void walk(GuestMemory memory, MemorySegment table, int tableSize, int head, boolean indirectAllowed) {
        int index = head;
        boolean inIndirect = false;
        // A chain that visits more descriptors than its table holds must revisit one: a loop.
        int visited = 0;
        while (true) {
            if (index >= tableSize) {
                throw new VirtQueueException("descriptor index " + index + " is outside its table of " + tableSize
                        + (inIndirect ? " (indirect)" : ""));
            }
            if (++visited > tableSize) {
                throw new VirtQueueException("descriptor chain from head " + head + " loops");
            }
            long offset = (long) index * DESC_SIZE_BYTES;
            long addr = table.get(LE64_UNALIGNED, offset + DESC_ADDR);
            int len = table.get(LE32_UNALIGNED, offset + DESC_LEN);
            int flags = table.get(LE16_UNALIGNED, offset + DESC_FLAGS) & 0xffff;
            int next = table.get(LE16_UNALIGNED, offset + DESC_NEXT) & 0xffff;
            long lenBytes = Integer.toUnsignedLong(len);

            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirectAllowed) {
                    throw new VirtQueueException("indirect descriptor but VIRTIO_F_RING_INDIRECT_DESC was not negotiated");
                }
                if (inIndirect) {
                    throw new VirtQueueException("indirect descriptor inside an indirect table");
                }
                if ((flags & DESC_F_NEXT) != 0) {
                    throw new VirtQueueException("indirect descriptor also has NEXT set");
                }
                if (lenBytes == 0 || lenBytes % DESC_SIZE_BYTES != 0) {
                    throw new VirtQueueException("indirect table length " + lenBytes + " is not a positive multiple of 16");
                }
                long entries = lenBytes / DESC_SIZE_BYTES;
                if (entries > capacity() - count) {
                    throw new VirtQueueException("indirect table of " + entries + " descriptors makes the chain longer than "
                            + capacity());
                }
                if (!inRam(memory, addr, lenBytes)) {
                    throw new VirtQueueException(String.format("indirect table at 0x%x+%d is outside guest RAM", addr, lenBytes));
                }
                table = memory.slice(addr, lenBytes);
                tableSize = (int) entries;
                index = 0;
                visited = 0;
                inIndirect = true;
                continue;
            }
            if (!inRam(memory, addr, lenBytes)) {
                throw new VirtQueueException(String.format("buffer at 0x%x+%d is outside guest RAM", addr, lenBytes));
            }
            boolean writable = (flags & DESC_F_WRITE) != 0;
            if (!writable && count > readableCount) {
                throw new VirtQueueException("device-readable buffer after a device-writable one");
            }
            if (count == capacity()) {
                throw new VirtQueueException("descriptor chain longer than " + capacity());
            }
            if (count == gpa.length) {
                gpa = java.util.Arrays.copyOf(gpa, Math.min(capacity, 2 * count));
                lengthBytes = java.util.Arrays.copyOf(lengthBytes, gpa.length);
            }
            gpa[count] = addr;
            lengthBytes[count] = len;
            count++;
            if (writable) {
                writableBytes += lenBytes;
            } else {
                readableCount++;
                readableBytes += lenBytes;
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return;
            }
            index = next;
        }
    }

    /** Whether {@code [gpa, gpa + lengthBytes)} lies in RAM; an empty buffer is never touched, so any address does. */
    static boolean inRam(GuestMemory memory, long gpa, long lengthBytes) {
        if (lengthBytes == 0) return true;
        return memory.contains(gpa) && lengthBytes <= memory.endGpa() - gpa;
    }
}
