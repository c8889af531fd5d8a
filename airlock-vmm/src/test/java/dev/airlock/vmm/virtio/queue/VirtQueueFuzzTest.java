package dev.airlock.vmm.virtio.queue;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import net.jqwik.api.*;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Random descriptor tables, available rings and indirect tables: popping chains either succeeds
 * with every buffer inside RAM and the chain no longer than the queue, or throws
 * {@link VirtQueueException}; nothing else escapes, and every pop returns promptly.
 * Tries are bounded so {@code mvn test} stays fast; jqwik prints the seed of a failure.
 */
class VirtQueueFuzzTest {
    static final int RAM_BYTES = 1 << 16;
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static GuestMemory ram;

    @BeforeContainer
    static void map() {
        ram = TestRam.create(RAM_BYTES);
    }

    @AfterContainer
    static void unmap() {
        ram.close();
    }

    /** Addresses that are mostly plausible (buffers well inside RAM) with some at and past its edges, and wild ones. */
    @Provide
    Arbitrary<Long> gpas() {
        long base = TestRam.BASE_GPA;
        return Arbitraries.frequencyOf(
                Tuple.of(12, Arbitraries.longs().between(base + 0x4000, base + RAM_BYTES - 0x1000)),
                Tuple.of(3, Arbitraries.just(base + 0x3000)), // the second table, as an indirect target
                Tuple.of(1, Arbitraries.longs().between(base - 64, base + 64)),
                Tuple.of(1, Arbitraries.longs().between(base + RAM_BYTES - 64, base + RAM_BYTES + 64)),
                Tuple.of(1, Arbitraries.longs()));
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.frequencyOf(
                Tuple.of(12, Arbitraries.integers().between(0, 4096)),
                Tuple.of(4, Arbitraries.of(16, 32, 48, 64, 128, 16 * 9)),
                Tuple.of(1, Arbitraries.integers()));
    }

    /** Mostly ends of chains and NEXT links, readable or writable; sometimes INDIRECT or junk bits. */
    @Provide
    Arbitrary<Integer> flags() {
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.of(0, SplitRing.DESC_F_WRITE)),
                Tuple.of(4, Arbitraries.of(SplitRing.DESC_F_NEXT, SplitRing.DESC_F_NEXT | SplitRing.DESC_F_WRITE)),
                Tuple.of(2, Arbitraries.just(SplitRing.DESC_F_INDIRECT)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
    }

    @Provide
    Arbitrary<Integer> nexts() {
        return Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.integers().between(0, 7)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
    }

    @Provide
    Arbitrary<Integer> heads() {
        return Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.integers().between(0, 7)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
    }

    @Provide
    Arbitrary<Integer> availIdxs() {
        return Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.integers().between(0, 8)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
    }

    @Property
    void randomRingsNeverEscapeAsAnythingButVirtQueueException(
            @ForAll @Size(16) java.util.List<@From("gpas") Long> addrs,
            @ForAll @Size(16) java.util.List<@From("lengths") Integer> lens,
            @ForAll @Size(16) java.util.List<@From("flags") Integer> descFlags,
            @ForAll @Size(16) java.util.List<@From("nexts") Integer> nexts,
            @ForAll @Size(8) java.util.List<@From("heads") Integer> heads,
            @ForAll("availIdxs") int availIdx,
            @ForAll boolean eventIdx,
            @ForAll boolean indirect,
            @ForAll("garbage") byte[] garbage) {
        MemorySegment mem = ram.segment();
        mem.fill((byte) 0);
        // Garbage across RAM first, so indirect tables and buffers point at random bytes too.
        for (int i = 0; i < garbage.length; i++) mem.set(ValueLayout.JAVA_BYTE, (i * 2654435761L & 0xffffffffL) % RAM_BYTES, garbage[i]);
        int size = 8;
        long desc = 0, avail = 0x1000, used = 0x2000;
        // Two tables: the ring's own (8 entries) and a 16-entry area the indirect descriptors tend to hit.
        for (int i = 0; i < 16; i++) {
            long at = i < 8 ? desc + 16L * i : 0x3000 + 16L * (i - 8);
            mem.set(LE64, at, addrs.get(i));
            mem.set(LE32, at + 8, lens.get(i));
            mem.set(LE16, at + 12, (short) (int) descFlags.get(i));
            mem.set(LE16, at + 14, (short) (int) nexts.get(i));
        }
        for (int i = 0; i < size; i++) mem.set(LE16, avail + 4 + 2L * i, (short) (int) heads.get(i));
        mem.set(LE16, avail + 2, (short) availIdx);
        VirtQueue q = new VirtQueue(0, size);
        long base = ram.baseGpa();
        assertNull(q.enable(ram, size, base + desc, base + avail, base + used, eventIdx, indirect, GuestWriteListener.NONE));
        long startNs = System.nanoTime();
        for (int pops = 0; pops < 2 * size; pops++) {
            DescriptorChain c;
            try {
                c = q.pop();
            } catch (VirtQueueException expected) {
                Statistics.label("pop").collect("malformed");
                continue;
            }
            Statistics.label("pop").collect(c == null ? "empty" : c.count() > 1 ? "chain" : "single");
            if (c == null) break;
            assertTrue(c.count() >= 1 && c.count() <= size);
            for (int i = 0; i < c.count(); i++) {
                long len = c.lengthBytes(i);
                if (len > 0) {
                    assertTrue(ram.contains(c.gpa(i)) && len <= ram.endGpa() - c.gpa(i), "buffer " + i + " outside RAM");
                    c.segment(i); // must not throw
                }
            }
            q.addUsed(c, c.writableBytes());
            q.needsNotification();
        }
        assertTrue(System.nanoTime() - startNs < 2_000_000_000L, "popping 16 chains took over 2 s");
        // The generators must reach both sides of the parser, or this test proves little.
        Statistics.label("pop").coverage(coverage -> {
            coverage.check("malformed").percentage(p -> p > 5);
            coverage.check("chain").percentage(p -> p > 1);
            coverage.check("single").percentage(p -> p > 5);
        });
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(2048);
    }
}
