package dev.airlock.store.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageStore;
import dev.airlock.store.TestStores;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UnsyncedFileSystemTest {
    @Test
    void aThrowawayCloneWorksWithoutOneSyncReachingTheDisk() {
        FaultyFileSystem disk = new FaultyFileSystem(new SplittableRandom(7));
        try (ImageStore durable = ImageStore.open(TestStores.ROOT, TestStores.options(disk, 1))) {
            DiskImage base = durable.create("base", 64 * 4096);
            base.write(3, TestStores.block(3));
            base.flush();
            durable.snapshot("base", "t");
        }
        long forcesBefore = disk.forces();
        try (ImageStore unsynced = ImageStore.open(TestStores.ROOT, TestStores.options(disk, 2)
                .withFileSystem(new UnsyncedFileSystem(disk)))) {
            DiskImage clone = unsynced.clone("base", "t", "base-vm-1");
            clone.write(5, TestStores.block(5));
            clone.flush();
            ByteBuffer three = ByteBuffer.allocate(4096), five = ByteBuffer.allocate(4096);
            clone.read(3, three);
            clone.read(5, five);
            assertArrayEquals(TestStores.block(3), three.array(), "unwritten blocks read through to the snapshot");
            assertArrayEquals(TestStores.block(5), five.array());
            unsynced.delete("base-vm-1");
        }
        assertEquals(forcesBefore, disk.forces(), "making, writing, flushing and deleting the clone synced nothing");
    }
}
