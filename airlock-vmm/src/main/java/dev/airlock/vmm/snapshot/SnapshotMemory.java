package dev.airlock.vmm.snapshot;

import dev.airlock.memory.GuestMemory;
import java.io.IOException;

/** Guest RAM for a VM restored from a {@link Snapshot}. */
public final class SnapshotMemory {
    private SnapshotMemory() {}

    /** RAM at {@code baseGpa} holding the snapshot's memory, mapped copy-on-write from its file: nothing is copied. */
    public static GuestMemory map(Snapshot snapshot, long baseGpa) throws IOException {
        try {
            return GuestMemory.fromTemplate(baseGpa, snapshot.image());
        } catch (dev.airlock.sys.ErrnoException e) {
            throw new IOException("cannot map " + snapshot.memoryFile() + ": " + e.getMessage(), e);
        }
    }
}
