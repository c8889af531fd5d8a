package dev.airlock.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.store.format.RecordId;
import dev.airlock.store.io.FaultyFileSystem;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DiskImageTest {
    private final long seed = TestStores.seed("DiskImageTest");
    private final FaultyFileSystem fs = new FaultyFileSystem(new SplittableRandom(seed));
    private final StoreOptions options = TestStores.options(fs, seed);

    private static byte[] read(BlockDevice device, long block) {
        byte[] b = new byte[BlockDevice.BLOCK_SIZE_BYTES];
        device.read(block, b);
        return b;
    }

    @Test
    void unwrittenBlocksReadAsZerosAndWritesReadBack() {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            assertEquals(256, image.blockCount());
            assertArrayEquals(TestStores.block(0), read(image, 7));
            image.write(7, TestStores.block(7));
            assertArrayEquals(TestStores.block(7), read(image, 7));
            // a multi-block write and read
            ByteBuffer two = ByteBuffer.allocate(2 * 4096);
            two.put(TestStores.block(1)).put(TestStores.block(2)).flip();
            image.write(100, two);
            ByteBuffer back = ByteBuffer.allocate(3 * 4096);
            image.read(99, back);
            assertArrayEquals(TestStores.block(0), java.util.Arrays.copyOfRange(back.array(), 0, 4096));
            assertArrayEquals(TestStores.block(1), java.util.Arrays.copyOfRange(back.array(), 4096, 8192));
            assertArrayEquals(TestStores.block(2), java.util.Arrays.copyOfRange(back.array(), 8192, 12288));
            assertThrows(IllegalArgumentException.class, () -> image.write(256, TestStores.block(1)));
            assertThrows(IllegalArgumentException.class, () -> image.read(0, new byte[100]));
        }
    }

    @Test
    void trimAndWriteZeroesReadAsZeros() {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            for (int b = 0; b < 10; b++) {
                image.write(b, TestStores.block(b + 1));
            }
            image.trim(2, 3);
            image.writeZeroes(8, 2);
            for (int b = 0; b < 10; b++) {
                boolean zero = (b >= 2 && b < 5) || b >= 8;
                assertArrayEquals(zero ? TestStores.block(0) : TestStores.block(b + 1), read(image, b), "block " + b);
            }
        }
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.image("vm1");
            assertArrayEquals(TestStores.block(0), read(image, 3));
            assertArrayEquals(TestStores.block(6), read(image, 5));
        }
    }

    @Test
    void reopenRebuildsTheMapFromFootersAcrossManySegments() {
        int blocks = 200; // 64 KiB segments hold 14 records: many segments
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            for (int round = 0; round < 3; round++) {
                for (int b = 0; b < blocks; b++) {
                    image.write(b, TestStores.block(round * 1000 + b + 1));
                }
            }
            assertTrue(image.stats().segmentCount() > 20);
        }
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.image("vm1");
            assertFalse(image.bloomRebuiltOnOpen());
            for (int b = 0; b < blocks; b++) {
                assertArrayEquals(TestStores.block(2000 + b + 1), read(image, b));
            }
            ImageStats stats = image.stats();
            assertEquals(blocks, stats.liveRecordCount());
        }
    }

    @Test
    void snapshotsKeepTheirViewAndClonesReadThroughToTheirBase() {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("base", 1 << 20);
            image.write(1, TestStores.block(11));
            image.write(2, TestStores.block(12));
            store.snapshot("base", "s1");
            image.write(1, TestStores.block(21));
            image.write(3, TestStores.block(23));
            image.trim(2, 1);
            BlockDevice s1 = image.snapshotView("s1");
            assertArrayEquals(TestStores.block(11), read(s1, 1));
            assertArrayEquals(TestStores.block(12), read(s1, 2));
            assertArrayEquals(TestStores.block(0), read(s1, 3));
            assertTrue(s1.readOnly());
            assertThrows(StoreUsageException.class, () -> s1.write(0, TestStores.block(1)));

            DiskImage clone = store.clone("base", "s1", "child");
            assertArrayEquals(TestStores.block(11), read(clone, 1));
            clone.write(1, TestStores.block(31));
            clone.trim(2, 1);
            assertArrayEquals(TestStores.block(31), read(clone, 1));
            assertArrayEquals(TestStores.block(0), read(clone, 2));
            assertArrayEquals(TestStores.block(0), read(clone, 3));
            assertArrayEquals(TestStores.block(21), read(image, 1));

            assertThrows(StoreUsageException.class, () -> store.deleteSnapshot("base", "s1"));
            assertThrows(StoreUsageException.class, () -> store.delete("base"));
        }
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage clone = store.image("child");
            assertArrayEquals(TestStores.block(31), read(clone, 1));
            assertArrayEquals(TestStores.block(0), read(clone, 2));
            assertArrayEquals(TestStores.block(12), read(store.image("base").snapshotView("s1"), 2));
            store.delete("child");
            store.deleteSnapshot("base", "s1");
            assertEquals(List.of(), store.image("base").snapshots());
        }
    }

    @Test
    void cleaningReclaimsSupersededSegmentsAndKeepsSnapshotData() {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            for (int b = 0; b < 40; b++) {
                image.write(b, TestStores.block(b + 1));
            }
            store.snapshot("vm1", "old");
            for (int round = 0; round < 5; round++) {
                for (int b = 0; b < 20; b++) {
                    image.write(b, TestStores.block(100 * (round + 1) + b));
                }
            }
            int before = image.stats().segmentCount();
            CleaningReport report = image.clean(0.5, 100);
            assertTrue(report.segmentsCleaned() > 0, report.toString());
            assertTrue(image.stats().segmentCount() < before);
            for (int b = 0; b < 40; b++) {
                assertArrayEquals(b < 20 ? TestStores.block(500 + b) : TestStores.block(b + 1), read(image, b));
                assertArrayEquals(TestStores.block(b + 1), read(image.snapshotView("old"), b));
            }
        }
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.image("vm1");
            for (int b = 0; b < 40; b++) {
                assertArrayEquals(b < 20 ? TestStores.block(500 + b) : TestStores.block(b + 1), read(image, b));
                assertArrayEquals(TestStores.block(b + 1), read(image.snapshotView("old"), b));
            }
            store.deleteSnapshot("vm1", "old");
            image.clean(0.99, 1000);
            assertEquals(40, image.stats().liveRecordCount());
        }
    }

    @Test
    void recordsAreFoundByIdThroughTheBloomMatrix() throws Exception {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            for (int b = 0; b < 100; b++) {
                image.write(b, TestStores.block(b + 1));
            }
        }
        // Recover the ids from the footers by re-reading: scan every segment through fsck's reader.
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.image("vm1");
            List<RecordId> ids = RecordIds.all(fs, store.imageDirectory("vm1"));
            assertEquals(100, ids.size());
            for (RecordId id : ids) {
                Optional<RecordLocation> found = image.findRecord(id);
                assertTrue(found.isPresent(), id.toString());
                assertEquals(id, found.get().id());
            }
            assertFalse(image.containsRecord(new RecordId(1, 2)));
        }
        // A lost Bloom file is rebuilt from the footers; lookups still find every record.
        fs.deleteIfExists(TestStores.ROOT.resolve("images/vm1/bloom.idx"));
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.image("vm1");
            assertTrue(image.bloomRebuiltOnOpen());
            for (RecordId id : RecordIds.all(fs, store.imageDirectory("vm1"))) {
                assertTrue(image.containsRecord(id), id.toString());
                assertTrue(image.candidateSegments(id).contains(image.findRecord(id).orElseThrow().segmentNumber()));
            }
        }
    }

    @Test
    void concurrentWritersShareSyncs() throws Exception {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options.withSegmentSizeBytes(4 << 20))) {
            DiskImage image = store.create("vm1", 4 << 20);
            fs.setForceDelayNanos(1_000_000);
            long forcesBefore = fs.forces();
            int threads = 8;
            int perThread = 50;
            try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    futures.add(pool.submit(() -> {
                        for (int i = 0; i < perThread; i++) {
                            long block = thread * perThread + i;
                            image.write(block, TestStores.block(block + 1));
                        }
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            }
            long forces = fs.forces() - forcesBefore;
            // Each write is durable on return; grouping means fewer forces than writes (seals force too).
            assertTrue(forces < threads * perThread / 2, "forces " + forces);
            fs.setForceDelayNanos(0);
            for (long block = 0; block < threads * perThread; block++) {
                assertArrayEquals(TestStores.block(block + 1), read(image, block));
            }
        }
    }

    @Test
    void readersKeepReadingWhileCleaningMovesRecords() throws Exception {
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm1", 1 << 20);
            for (int round = 0; round < 4; round++) {
                for (int b = 0; b < 40; b++) {
                    image.write(b, TestStores.block(round * 100 + b + 1));
                }
            }
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
            try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
                List<Future<?>> readers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    int thread = t;
                    readers.add(pool.submit(() -> {
                        SplittableRandom random = new SplittableRandom(seed + thread);
                        while (!stop.get()) {
                            int b = random.nextInt(40);
                            assertArrayEquals(TestStores.block(300 + b + 1), read(image, b), "block " + b);
                            reads.incrementAndGet();
                        }
                    }));
                }
                readers.add(pool.submit(() -> { // a writer on other blocks keeps the tail moving
                    for (int i = 0; !stop.get(); i++) {
                        image.write(40 + i % 20, TestStores.block(10_000 + i));
                    }
                }));
                for (int pass = 0; pass < 5; pass++) {
                    image.clean(0.9, 100);
                }
                Thread.sleep(20);
                stop.set(true);
                for (Future<?> f : readers) {
                    f.get();
                }
            }
            assertTrue(reads.get() > 0);
            for (int b = 0; b < 40; b++) {
                assertArrayEquals(TestStores.block(300 + b + 1), read(image, b));
            }
        }
    }
}
