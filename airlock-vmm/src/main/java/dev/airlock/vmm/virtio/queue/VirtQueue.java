package dev.airlock.vmm.virtio.queue;

import static dev.airlock.vmm.virtio.queue.SplitRing.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.VirtioInterrupt;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The device side of one split virtqueue (virtio 1.x spec 2.7) in guest RAM.
 *
 * <p>The transport {@link #enable enables} it with the layout the driver chose, after checking that
 * every ring lies in RAM; the device then {@link #pop pops} chains, serves them and
 * {@link #addUsed adds} them to the used ring. Every index and address the guest supplies is checked
 * before use; anything a correct driver never produces throws {@link VirtQueueException}.
 *
 * <p>Single-threaded: after enabling, only the device's event-loop thread touches it (the transport
 * serializes reset against processing).
 */
public final class VirtQueue {
    private final int index;
    private final int maxSize;
    private final DescriptorChain chain;

    private boolean ready;
    private int size;
    private GuestMemory memory;
    private MemorySegment descTable;
    private MemorySegment availRing;
    private MemorySegment usedRing;
    private boolean eventIdx;
    private boolean indirect;
    private GuestWriteListener writeListener = GuestWriteListener.NONE;

    /** Next avail slot to pop and next used slot to fill: free-running, kept in the low 16 bits. */
    private int nextAvail;
    private int nextUsed;
    /** {@code nextUsed} when the driver was last considered for a notification. */
    private int signalledUsed;
    private long chainsPopped;

    /**
     * @param maxSize the largest size the device accepts (a power of two, at most 32768); it also
     *                bounds the length of any chain, indirect tables included
     */
    public VirtQueue(int index, int maxSize) {
        if (maxSize < 1 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue max size must be a power of two up to 32768, not " + maxSize);
        }
        this.index = index;
        this.maxSize = maxSize;
        this.chain = new DescriptorChain(maxSize);
    }

    public int index() { return index; }

    public int maxSize() { return maxSize; }

    /** The size the driver chose; 0 until enabled. */
    public int size() { return size; }

    public boolean isReady() { return ready; }

    public long chainsPopped() { return chainsPopped; }

    /**
     * Checks the driver's layout and starts using it.
     *
     * @return null when enabled, else why the layout is invalid (the queue stays disabled)
     */
    public String enable(GuestMemory memory, int size, long descGpa, long availGpa, long usedGpa, boolean eventIdx,
                         boolean indirect, GuestWriteListener writeListener) {
        disable();
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            return "queue " + index + " size " + size + " is not a power of two between 1 and " + maxSize;
        }
        String bad = checkRing("descriptor table", memory, descGpa, descTableSizeBytes(size), DESC_ALIGN);
        if (bad == null) bad = checkRing("available ring", memory, availGpa, availSizeBytes(size), AVAIL_ALIGN);
        if (bad == null) bad = checkRing("used ring", memory, usedGpa, usedSizeBytes(size), USED_ALIGN);
        if (bad != null) return "queue " + index + ": " + bad;
        this.memory = memory;
        this.size = size;
        this.descTable = memory.slice(descGpa, descTableSizeBytes(size));
        this.availRing = memory.slice(availGpa, availSizeBytes(size));
        this.usedRing = memory.slice(usedGpa, usedSizeBytes(size));
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.writeListener = writeListener;
        writeListener.written(usedGpa, usedSizeBytes(size)); // the device writes the used ring from now on
        // The driver initializes the rings to zero; the device starts at index 0 (spec 2.7).
        nextAvail = 0;
        nextUsed = 0;
        signalledUsed = 0;
        ready = true;
        return null;
    }

    private static String checkRing(String what, GuestMemory memory, long gpa, long sizeBytes, int align) {
        if ((gpa & (align - 1)) != 0) {
            return String.format("%s at 0x%x is not %d-byte aligned", what, gpa, align);
        }
        if (!memory.contains(gpa) || sizeBytes > memory.endGpa() - gpa) {
            return String.format("%s at 0x%x+%d is outside guest RAM", what, gpa, sizeBytes);
        }
        return null;
    }

    /** Forgets the layout; pop() returns null until enabled again. */
    public void disable() {
        ready = false;
        size = 0;
        memory = null;
        descTable = availRing = usedRing = null;
        writeListener = GuestWriteListener.NONE;
    }

    /**
     * The next chain the driver made available, or null when there is none (or the queue is not
     * ready). The chain is reused by the next call.
     *
     * @throws VirtQueueException if the ring or the chain is malformed
     */
    public DescriptorChain pop() {
        if (!ready) return null;
        int pending = pendingCount();
        if (pending == 0 && eventIdx) {
            // Ask to be notified at the next buffer, then look once more: the driver may have added one
            // before it could see avail_event.
            usedRing.set(LE16, usedSizeBytes(size) - 2, (short) nextAvail);
            VarHandle.fullFence();
            pending = pendingCount();
        }
        if (pending == 0) return null;
        if (pending > size) {
            throw new VirtQueueException("queue " + index + ": available index is " + pending
                    + " ahead of the device, more than the queue size " + size);
        }
        int head = availRing.get(LE16, AVAIL_RING + 2L * (nextAvail & (size - 1))) & 0xffff;
        nextAvail = (nextAvail + 1) & 0xffff;
        if (head >= size) {
            throw new VirtQueueException("queue " + index + ": available ring names descriptor " + head
                    + " of a table of " + size);
        }
        chain.parse(memory, descTable, size, head, indirect);
        chainsPopped++;
        return chain;
    }

    /** Chains the driver has made available that the device has not popped. */
    private int pendingCount() {
        int availIdx = (short) LE16_ORDERED.getAcquire(availRing, (long) AVAIL_IDX) & 0xffff;
        return (availIdx - nextAvail) & 0xffff;
    }

    /**
     * Returns {@code chain} to the driver: {@code writtenBytes} is how much of its writable region
     * the device filled (from the start). Tells the {@link GuestWriteListener} which RAM changed.
     */
    public void addUsed(DescriptorChain chain, long writtenBytes) {
        addUsed(chain.headIndex(), writtenBytes);
        long left = Math.min(writtenBytes, chain.writableBytes());
        for (int i = chain.readableCount(); i < chain.count() && left > 0; i++) {
            long n = Math.min(left, chain.lengthBytes(i));
            writeListener.written(chain.gpa(i), n);
            left -= n;
        }
    }

    /** Puts descriptor {@code headIndex} in the used ring with length {@code writtenBytes}. */
    public void addUsed(int headIndex, long writtenBytes) {
        if (!ready) return;
        long slot = USED_RING + (long) USED_ELEM_SIZE_BYTES * (nextUsed & (size - 1));
        usedRing.set(LE32, slot, headIndex);
        usedRing.set(LE32, slot + 4, (int) Math.min(writtenBytes, 0xffff_ffffL));
        nextUsed = (nextUsed + 1) & 0xffff;
        // Release: the element (and the data the device wrote) is visible before the index that publishes it.
        LE16_ORDERED.setRelease(usedRing, (long) USED_IDX, (short) nextUsed);
    }

    /**
     * Whether the driver wants an interrupt for the used buffers added since the last call: with
     * VIRTIO_F_EVENT_IDX when the used index crossed used_event, otherwise unless the driver set
     * NO_INTERRUPT.
     */
    public boolean needsNotification() {
        if (!ready) return false;
        // The used index must be visible before we read the driver's suppression fields.
        VarHandle.fullFence();
        int old = signalledUsed;
        int now = nextUsed;
        signalledUsed = now;
        if (old == now) return false;
        if (eventIdx) {
            int usedEvent = availRing.get(LE16, availSizeBytes(size) - 2) & 0xffff;
            // vring_need_event: did [old, now) pass used_event? (spec 2.7.10)
            return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
        }
        return (availRing.get(LE16, AVAIL_FLAGS) & AVAIL_F_NO_INTERRUPT) == 0;
    }

    /** The device's ring positions, for a snapshot: next avail slot, next used slot, used index last signalled. */
    public int[] positions() {
        return new int[] {nextAvail, nextUsed, signalledUsed};
    }

    /**
     * Continues a saved queue after {@link #enable} put its layout back: the device takes up the
     * rings where it stopped instead of at zero, as the driver's rings in the restored RAM expect.
     */
    public void restorePositions(int nextAvail, int nextUsed, int signalledUsed) {
        if (!ready) throw new IllegalStateException("queue " + index + " is not enabled");
        this.nextAvail = nextAvail & 0xffff;
        this.nextUsed = nextUsed & 0xffff;
        this.signalledUsed = signalledUsed & 0xffff;
    }

    @Override
    public String toString() {
        return "VirtQueue[" + index + (ready ? ", size " + size + ", avail " + nextAvail + ", used " + nextUsed : ", disabled") + "]";
    }

    /**
     * Serves up to {@code budget} available chains with {@code handler}, which returns each chain's
     * used length, then interrupts the driver if it asked to be. Returns true when the budget ran out,
     * so the caller runs again later.
     */
    public boolean drain(int budget, java.util.function.ToLongFunction<DescriptorChain> handler, VirtioInterrupt interrupt) {
        boolean more = true;
        for (int served = 0; served < budget; served++) {
            DescriptorChain chain = pop();
            if (chain == null) {
                more = false;
                break;
            }
            addUsed(chain, handler.applyAsLong(chain));
        }
        if (needsNotification()) interrupt.signalUsedBuffers(index());
        return more;
    }
}
