package dev.airlock.vmm.snapshot;

import dev.airlock.memory.GuestMemory;
import java.io.IOException;

/** Guest RAM for a VM restored from a {@link Snapshot}. */
public final class SnapshotMemory {
    private SnapshotMemory() {}

    /** RAM at {@code baseGpa} holding the snapshot's memory. */
    public static GuestMemory map(Snapshot snapshot, long baseGpa) throws IOException {
        GuestMemory ram = new GuestMemory(baseGpa, snapshot.memoryBytes());
        try {
            MemoryFile.copyInto(snapshot.memoryFile(), snapshot.memoryChecksums(), ram);
            return ram;
        } catch (IOException | RuntimeException e) {
            ram.close();
            throw e;
        }
    }
}
