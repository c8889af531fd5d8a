package dev.airlock.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.airlock.store.format.RecordLayout;
import dev.airlock.store.format.SegmentLayout;
import dev.airlock.store.fsck.ImageChecker;
import dev.airlock.store.io.FaultyFileSystem;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Crashes at chosen points: torn tails are cut, acknowledged data survives, synced damage is not hidden. */
class RecoveryTest {
    private static final long SIZE_BYTES = 64 * 4096;

    private static byte[] read(BlockDevice device, long block) {
        byte[] b = new byte[4096];
        device.read(block, b);
        return b;
    }

    @Test
    void tornTailIsCutAndAcknowledgedWritesSurvive() throws Exception {
        long seed = TestStores.seed("tornTail");
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 60; round++) {
            FaultyFileSystem fs = new FaultyFileSystem(new SplittableRandom(random.nextLong()));
            StoreOptions options = TestStores.options(fs, random.nextLong());
            ImageStore store = ImageStore.open(TestStores.ROOT, options);
            DiskImage image = store.create("vm", SIZE_BYTES);
            for (int b = 0; b < 30; b++) {
                image.write(b, TestStores.block(b + 1));
            }
            fs.armCrashAfterOperations(1 + random.nextInt(12));
            ByteBuffer three = ByteBuffer.allocate(3 * 4096);
            for (int i = 0; i < 3; i++) {
                three.put(TestStores.block(100 + i));
            }
            try {
                image.write(28, three.flip()); // overwrites 28, 29 and writes 30
            } catch (StoreException e) {
                assertTrue(fs.poweredOff(), e.toString());
            }
            fs.disarm();
            fs.crash();
            store = ImageStore.open(TestStores.ROOT, options);
            image = store.image("vm");
            for (int b = 0; b < 28; b++) {
                assertArrayEquals(TestStores.block(b + 1), read(image, b), "acknowledged block " + b);
            }
            for (int i = 0; i < 3; i++) {
                byte[] actual = read(image, 28 + i);
                byte[] old = TestStores.block(28 + i < 30 ? 28 + i + 1 : 0);
                if (!Arrays.equals(actual, old) && !Arrays.equals(actual, TestStores.block(100 + i))) {
                    fail("round " + round + ": block " + (28 + i) + " is neither old nor new");
                }
            }
            image.write(40, TestStores.block(40)); // the log continues cleanly after the cut
            store.close();
            ImageChecker.Report report = ImageChecker.check(fs, TestStores.ROOT.resolve("images/vm"));
            assertTrue(report.clean(), "round " + round + ": " + report.problems());
        }
    }

    /** Builds an image whose cleaning has work to do, then crashes at the k-th file operation of clean(). */
    @Test
    void crashAtEveryStepOfCleaningLosesNothing() {
        long seed = TestStores.seed("cleaningCrash");
        boolean completed = false;
        for (int k = 1; k < 400 && !completed; k++) {
            FaultyFileSystem fs = new FaultyFileSystem(new SplittableRandom(seed + k));
            StoreOptions options = TestStores.options(fs, seed);
            ImageStore store = ImageStore.open(TestStores.ROOT, options);
            DiskImage image = store.create("vm", SIZE_BYTES);
            for (int b = 0; b < 40; b++) {
                image.write(b, TestStores.block(b + 1));
            }
            store.snapshot("vm", "snap");
            image.trim(30, 10);
            for (int round = 1; round <= 3; round++) {
                for (int b = 0; b < 20; b++) {
                    image.write(b, TestStores.block(1000 * round + b));
                }
            }
            fs.armCrashAfterOperations(k);
            try {
                image.clean(0.9, 100);
                completed = !fs.poweredOff();
            } catch (StoreException e) {
                assertTrue(fs.poweredOff(), e.toString());
            }
            fs.disarm();
            fs.crash();
            store = ImageStore.open(TestStores.ROOT, options);
            image = store.image("vm");
            BlockDevice snap = image.snapshotView("snap");
            for (int b = 0; b < 40; b++) {
                byte[] expected = b < 20 ? TestStores.block(3000 + b) : b < 30 ? TestStores.block(b + 1)
                        : TestStores.block(0);
                assertArrayEquals(expected, read(image, b), "k=" + k + " block " + b);
                assertArrayEquals(TestStores.block(b + 1), read(snap, b), "k=" + k + " snapshot block " + b);
            }
            store.close();
        }
        assertTrue(completed, "cleaning never ran to completion within the crash points tried");
    }

    @Test
    void damageToSyncedTailDataIsReportedNotTruncated() {
        long seed = TestStores.seed("syncedDamage");
        FaultyFileSystem fs = new FaultyFileSystem(new SplittableRandom(seed));
        StoreOptions options = TestStores.options(fs, seed);
        Path segment;
        try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
            DiskImage image = store.create("vm", SIZE_BYTES);
            for (int b = 0; b < 5; b++) {
                image.write(b, TestStores.block(b + 1)); // each write is synced before the next is appended
            }
            segment = store.imageDirectory("vm").resolve(SegmentLayout.fileName(0));
        }
        byte[] bytes = fs.contents(segment);
        long secondRecord = SegmentLayout.HEADER_BYTES + RecordLayout.recordBytes(
                dev.airlock.store.format.RecordType.WRITE);
        bytes[(int) secondRecord + 200] ^= 1;
        fs.replaceDurably(segment, bytes);
        CorruptStoreException e = assertThrows(CorruptStoreException.class, () -> {
            try (ImageStore store = ImageStore.open(TestStores.ROOT, options)) {
                store.image("vm");
            }
        });
        assertEquals(segment, e.file());
        assertEquals(secondRecord, e.offsetBytes());
        assertEquals(bytes.length, fs.contents(segment).length, "nothing was truncated");
    }
}
