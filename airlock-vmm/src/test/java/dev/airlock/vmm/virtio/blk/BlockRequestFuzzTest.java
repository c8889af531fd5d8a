package dev.airlock.vmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.queue.DescriptorChain;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import dev.airlock.vmm.virtio.testing.InMemoryBackend;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Well-formed chains carrying random block requests (plausible and garbage headers, random
 * buffer splits and sizes, random segments): the device never throws, never touches the disk
 * outside its capacity (the backend asserts that), always answers with OK, IOERR or UNSUPP when
 * there is a status byte, and never writes a read-only disk.
 */
class BlockRequestFuzzTest {
    static final int DISK_BYTES = 32 << 10;
    static GuestMemory ram;

    @BeforeContainer
    static void map() {
        ram = TestRam.create(1 << 20);
    }

    @AfterContainer
    static void unmap() {
        ram.close();
    }

    @Provide
    Arbitrary<Integer> types() {
        return Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.of(BlockRequest.T_IN, BlockRequest.T_OUT, BlockRequest.T_FLUSH, BlockRequest.T_GET_ID,
                        BlockRequest.T_DISCARD, BlockRequest.T_WRITE_ZEROES)),
                Tuple.of(1, Arbitraries.integers()));
    }

    @Provide
    Arbitrary<Long> sectors() {
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(0, DISK_BYTES / 512 + 2)),
                Tuple.of(1, Arbitraries.longs()));
    }

    @Property
    void randomRequestsAreAnsweredAndNeverEscape(
            @ForAll("types") int type,
            @ForAll("sectors") long sector,
            @ForAll @Size(min = 0, max = 6) List<@IntRange(min = 0, max = 2048) Integer> readable,
            @ForAll @Size(min = 0, max = 6) List<@IntRange(min = 0, max = 2048) Integer> writable,
            @ForAll @Size(max = 64) List<Long> segmentWords,
            @ForAll boolean readOnly,
            @ForAll boolean negotiateAll) {
        InMemoryBackend disk = new InMemoryBackend(DISK_BYTES, readOnly);
        VirtioBlock blk = new VirtioBlock(disk, "fuzz");
        long features = negotiateAll ? blk.deviceFeatures() | Virtio.TRANSPORT_FEATURES : Virtio.F_VERSION_1;
        VirtQueue q = new VirtQueue(0, VirtioBlock.QUEUE_SIZE);
        RingWriter ring = RingWriter.at(ram, 16, ram.baseGpa());
        assertNull(q.enable(ram, 16, ring.descGpa, ring.availGpa, ring.usedGpa, false, true, GuestWriteListener.NONE));
        blk.activate(ram, List.of(q), features, null);

        // Buffers laid end to end from 64 KiB; the first readable bytes hold the header, then segments.
        long at = ram.baseGpa() + (64 << 10);
        ByteBuffer content = ByteBuffer.allocate(16 + 8 * segmentWords.size()).order(ByteOrder.LITTLE_ENDIAN);
        content.putInt(type).putInt(0).putLong(sector);
        for (long w : segmentWords) content.putLong(w);
        byte[] readableBytes = new byte[readable.stream().mapToInt(Integer::intValue).sum()];
        System.arraycopy(content.array(), 0, readableBytes, 0, Math.min(readableBytes.length, content.capacity()));
        ram.write(at, readableBytes);
        RingWriter.Buf[] bufs = new RingWriter.Buf[readable.size() + writable.size()];
        int n = 0;
        long gpa = at;
        for (int len : readable) {
            bufs[n++] = RingWriter.Buf.in(gpa, len);
            gpa += len;
        }
        for (int len : writable) {
            bufs[n++] = RingWriter.Buf.out(gpa, len);
            gpa += len;
        }
        if (bufs.length == 0) return; // a chain needs at least one descriptor
        ring.addChain(bufs);
        DescriptorChain chain = q.pop();
        long totalWritable = chain.writableBytes();
        long used = blk.serve(chain);
        if (totalWritable == 0) {
            assertEquals(0, used);
            return;
        }
        assertTrue(used >= 1 && used <= totalWritable, "used " + used + " of " + totalWritable);
        int status = ram.read(gpa - 1, 1)[0];
        Statistics.label("status").collect(status);
        Statistics.label("status").coverage(coverage -> {
            coverage.check(BlockRequest.S_OK).percentage(p -> p > 10);
            coverage.check(BlockRequest.S_IOERR).percentage(p -> p > 5);
            coverage.check(BlockRequest.S_UNSUPP).percentage(p -> p > 2);
        });
        assertTrue(status == BlockRequest.S_OK || status == BlockRequest.S_IOERR || status == BlockRequest.S_UNSUPP,
                "status " + status);
        if (readOnly) assertEquals(0, disk.writes);
    }
}
