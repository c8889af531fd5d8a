package dev.airlock.vmm.virtio.queue;

import static dev.airlock.vmm.virtio.queue.SplitRing.*;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.in;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The split ring against hand-written rings in real guest RAM, well-formed and malformed. */
class VirtQueueTest {
    static final int SIZE = 8;
    final GuestMemory ram = TestRam.create(1 << 20);
    final long base = ram.baseGpa();
    final long bufs = base + 0x10000; // buffers live above the rings
    final List<long[]> written = new ArrayList<>();
    final GuestWriteListener listener = (gpa, len) -> written.add(new long[] {gpa, len});
    RingWriter ring = RingWriter.at(ram, SIZE, base);
    VirtQueue queue = new VirtQueue(0, SIZE);

    @AfterEach
    void close() {
        ram.close();
    }

    void enable(boolean eventIdx, boolean indirect) {
        assertNull(queue.enable(ram, SIZE, ring.descGpa, ring.availGpa, ring.usedGpa, eventIdx, indirect, listener));
    }

    VirtQueueException malformed() {
        return assertThrows(VirtQueueException.class, queue::pop);
    }

    @Test
    void popsAChainOfReadableThenWritableBuffers() {
        enable(false, false);
        int head = ring.addChain(in(bufs, 16), in(bufs + 16, 512), out(bufs + 1024, 1));
        DescriptorChain c = queue.pop();
        assertNotNull(c);
        assertEquals(head, c.headIndex());
        assertEquals(3, c.count());
        assertEquals(2, c.readableCount());
        assertEquals(528, c.readableBytes());
        assertEquals(1, c.writableBytes());
        assertEquals(bufs + 16, c.gpa(1));
        assertEquals(512, c.lengthBytes(1));
        assertTrue(c.isWritable(2));
        assertNull(queue.pop());
    }

    @Test
    void readAndWriteCrossBufferBoundaries() {
        enable(false, false);
        ram.write(bufs, new byte[] {1, 2, 3});
        ram.write(bufs + 100, new byte[] {4, 5, 6});
        ring.addChain(in(bufs, 3), in(bufs + 100, 3), out(bufs + 200, 2), out(bufs + 300, 4));
        DescriptorChain c = queue.pop();
        byte[] got = new byte[6];
        assertEquals(5, c.read(1, got, 0, 6));
        assertArrayEquals(new byte[] {2, 3, 4, 5, 6, 0}, got);
        assertEquals(6, c.write(0, new byte[] {9, 8, 7, 6, 5, 4, 3}, 0, 7));
        assertArrayEquals(new byte[] {9, 8}, ram.read(bufs + 200, 2));
        assertArrayEquals(new byte[] {7, 6, 5, 4}, ram.read(bufs + 300, 4));
        assertTrue(c.writeByte(5, (byte) 42));
        assertFalse(c.writeByte(6, (byte) 42));
        assertEquals(42, ram.read(bufs + 303, 1)[0]);
    }

    @Test
    void usedRingGetsHeadAndLengthAndTheListenerHearsOfWrittenRam() {
        enable(false, false);
        assertEquals(1, written.size(), "the used ring, which the device writes from now on");
        assertEquals(ring.usedGpa, written.get(0)[0]);
        assertEquals(SplitRing.usedSizeBytes(SIZE), written.get(0)[1]);
        written.clear();
        int head = ring.addChain(in(bufs, 16), out(bufs + 100, 8), out(bufs + 200, 8));
        DescriptorChain c = queue.pop();
        queue.addUsed(c, 12);
        RingWriter.Used u = ring.pollUsed();
        assertEquals(new RingWriter.Used(head, 12), u);
        assertEquals(2, written.size());
        assertArrayEquals(new long[] {bufs + 100, 8}, written.get(0));
        assertArrayEquals(new long[] {bufs + 200, 4}, written.get(1));
        assertTrue(queue.needsNotification());
        assertFalse(queue.needsNotification(), "nothing new since the last notification");
    }

    @Test
    void indirectTablesAreFollowedAlsoAfterDirectDescriptors() {
        enable(false, true);
        long table = bufs + 0x4000;
        ring.addChain(in(bufs, 1)); // occupy descriptor 0 so the head is not 0
        queue.pop();
        int head = ring.writeIndirectChain(table, in(bufs, 16), out(bufs + 64, 64), out(bufs + 128, 1));
        ring.publish(head);
        DescriptorChain c = queue.pop();
        assertEquals(head, c.headIndex());
        assertEquals(3, c.count());
        assertEquals(1, c.readableCount());
        // One direct readable descriptor, then an indirect one (spec: zero or more direct, then one indirect).
        ring.writeDescriptor(table, 0, bufs + 500, 4, DESC_F_WRITE, 0);
        ring.writeDescriptor(5, bufs, 16, DESC_F_NEXT, 6);
        ring.writeDescriptor(6, table, 16, DESC_F_INDIRECT | DESC_F_WRITE, 0); // WRITE on it is ignored
        ring.publish(5);
        c = queue.pop();
        assertEquals(2, c.count());
        assertEquals(1, c.readableCount());
        assertEquals(bufs + 500, c.gpa(1));
    }

    @Test
    void wrapsAroundTheSixteenBitIndices() {
        enable(false, false);
        for (int i = 0; i < 70_000; i++) {
            ring.addChain(out(bufs, 4));
            DescriptorChain c = queue.pop();
            assertNotNull(c, "pop " + i);
            queue.addUsed(c, 4);
            assertNotNull(ring.pollUsed());
        }
        assertEquals(70_000 & 0xffff, ring.usedIdx());
        assertNull(queue.pop());
    }

    @Test
    void eventIdxPublishesAvailEventAndHonoursUsedEvent() {
        enable(true, false);
        assertNull(queue.pop());
        assertEquals(0, ring.availEvent(), "device asks to be told at the next buffer");
        ring.addChain(out(bufs, 4));
        ring.addChain(out(bufs, 4));
        ring.addChain(out(bufs, 4));
        ring.setUsedEvent(1); // interrupt me when the used index passes 1, i.e. after the 2nd buffer
        queue.addUsed(queue.pop(), 4);
        assertFalse(queue.needsNotification());
        queue.addUsed(queue.pop(), 4);
        assertTrue(queue.needsNotification());
        queue.addUsed(queue.pop(), 4);
        assertFalse(queue.needsNotification());
        assertNull(queue.pop());
        assertEquals(3, ring.availEvent());
    }

    @Test
    void noInterruptFlagSuppressesNotificationsWithoutEventIdx() {
        enable(false, false);
        ring.setAvailFlags(AVAIL_F_NO_INTERRUPT);
        ring.addChain(out(bufs, 4));
        queue.addUsed(queue.pop(), 4);
        assertFalse(queue.needsNotification());
    }

    @Test
    void enableRefusesBadLayouts() {
        assertNotNull(queue.enable(ram, 6, ring.descGpa, ring.availGpa, ring.usedGpa, false, false, listener));
        assertNotNull(queue.enable(ram, 16, ring.descGpa, ring.availGpa, ring.usedGpa, false, false, listener));
        assertNotNull(queue.enable(ram, 0, ring.descGpa, ring.availGpa, ring.usedGpa, false, false, listener));
        assertNotNull(queue.enable(ram, SIZE, ram.endGpa() - 64, ring.availGpa, ring.usedGpa, false, false, listener));
        assertNotNull(queue.enable(ram, SIZE, ring.descGpa, ring.availGpa, Long.MAX_VALUE - 3, false, false, listener));
        assertNotNull(queue.enable(ram, SIZE, ring.descGpa + 4, ring.availGpa, ring.usedGpa, false, false, listener));
        assertFalse(queue.isReady());
        assertNull(queue.pop());
    }

    // ---------------------------------------------------------------- malformed rings and chains

    @Test
    void aLoopIsMalformed() {
        enable(false, false);
        ring.writeDescriptor(0, bufs, 4, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, bufs, 4, DESC_F_NEXT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("loops"));
    }

    @Test
    void aSelfLoopInAnIndirectTableIsMalformed() {
        enable(false, true);
        long table = bufs + 0x4000;
        ring.writeDescriptor(table, 0, bufs, 4, DESC_F_NEXT, 1);
        ring.writeDescriptor(table, 1, bufs, 4, DESC_F_NEXT, 1);
        ring.writeDescriptor(0, table, 32, DESC_F_INDIRECT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("loops"));
    }

    @Test
    void aNextIndexOutsideTheTableIsMalformed() {
        enable(false, false);
        ring.writeDescriptor(0, bufs, 4, DESC_F_NEXT, SIZE);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("outside its table"));
    }

    @Test
    void buffersOutsideRamAreMalformed() {
        long[][] cases = {
                {ram.endGpa(), 1},             // just past the end
                {ram.endGpa() - 4, 8},         // runs off the end
                {ram.baseGpa() - 4096, 16},    // below RAM
                {-16, 32},                     // wraps the address space
                {bufs, 0xffff_ffffL},          // a 4 GiB length
        };
        for (long[] c : cases) {
            ring = RingWriter.at(ram, SIZE, base);
            queue = new VirtQueue(0, SIZE);
            enable(false, false);
            ring.writeDescriptor(0, c[0], (int) c[1], 0, 0);
            ring.publish(0);
            assertTrue(malformed().getMessage().contains("outside guest RAM"), java.util.Arrays.toString(c));
        }
    }

    @Test
    void zeroLengthBuffersAreAllowedAnywhere() {
        enable(false, false);
        ring.writeDescriptor(0, -1L, 0, DESC_F_WRITE, 0);
        ring.publish(0);
        DescriptorChain c = queue.pop();
        assertEquals(1, c.count());
        assertEquals(0, c.writableBytes());
        assertEquals(0, c.segment(0).byteSize());
        assertEquals(0, c.write(0, new byte[4], 0, 4));
    }

    @Test
    void indirectWithoutTheFeatureIsMalformed() {
        enable(false, false);
        ring.writeDescriptor(0, bufs + 0x4000, 16, DESC_F_INDIRECT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("not negotiated"));
    }

    @Test
    void indirectInsideIndirectIsMalformed() {
        enable(false, true);
        long table = bufs + 0x4000;
        ring.writeDescriptor(table, 0, table, 16, DESC_F_INDIRECT, 0);
        ring.writeDescriptor(0, table, 16, DESC_F_INDIRECT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("inside an indirect table"));
    }

    @Test
    void indirectWithNextIsMalformed() {
        enable(false, true);
        ring.writeDescriptor(0, bufs + 0x4000, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("NEXT"));
    }

    @Test
    void indirectTablesOfZeroOrRaggedLengthAreMalformed() {
        for (int len : new int[] {0, 8, 17}) {
            ring = RingWriter.at(ram, SIZE, base);
            queue = new VirtQueue(0, SIZE);
            enable(false, true);
            ring.writeDescriptor(0, bufs + 0x4000, len, DESC_F_INDIRECT, 0);
            ring.publish(0);
            assertTrue(malformed().getMessage().contains("multiple of 16"), "length " + len);
        }
    }

    @Test
    void indirectTableOutsideRamIsMalformed() {
        enable(false, true);
        ring.writeDescriptor(0, ram.endGpa() - 16, 32, DESC_F_INDIRECT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("outside guest RAM"));
    }

    @Test
    void aChainLongerThanTheQueueIsMalformed() {
        enable(false, true);
        long table = bufs + 0x4000;
        for (int i = 0; i <= SIZE; i++) ring.writeDescriptor(table, i, bufs, 4, i < SIZE ? DESC_F_NEXT : 0, i + 1);
        ring.writeDescriptor(0, table, 16 * (SIZE + 1), DESC_F_INDIRECT, 0);
        ring.publish(0);
        assertTrue(malformed().getMessage().contains("longer than"));
    }

    @Test
    void aChainOfExactlyTheQueueSizeIsFine() {
        enable(false, false);
        RingWriter.Buf[] all = new RingWriter.Buf[SIZE];
        for (int i = 0; i < SIZE; i++) all[i] = in(bufs + 16L * i, 16);
        ring.addChain(all);
        assertEquals(SIZE, queue.pop().count());
    }

    @Test
    void aReadableBufferAfterAWritableOneIsMalformed() {
        enable(false, false);
        ring.addChain(out(bufs, 4), in(bufs + 8, 4));
        assertTrue(malformed().getMessage().contains("after a device-writable"));
    }

    @Test
    void anAvailableIndexTooFarAheadIsMalformed() {
        enable(false, false);
        ring.setAvailIdx(SIZE + 1);
        assertTrue(malformed().getMessage().contains("ahead of the device"));
    }

    @Test
    void aHeadOutsideTheTableIsMalformed() {
        enable(false, false);
        ring.publish(SIZE + 3);
        assertTrue(malformed().getMessage().contains("names descriptor"));
    }

    @Test
    void afterAMalformedChainTheNextOneStillParses() {
        enable(false, false);
        ring.writeDescriptor(0, bufs, 4, DESC_F_NEXT, SIZE);
        ring.publish(0);
        malformed();
        ring.writeDescriptor(1, bufs, 4, 0, 0);
        ring.publish(1);
        assertEquals(1, queue.pop().headIndex());
    }

    @Test
    void aDisabledQueuePopsNothingAndIgnoresUsed() {
        assertNull(queue.pop());
        queue.addUsed(0, 1);
        assertFalse(queue.needsNotification());
    }
}
