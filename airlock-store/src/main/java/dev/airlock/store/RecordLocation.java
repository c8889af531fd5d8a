package dev.airlock.store;

import dev.airlock.store.format.RecordId;
import dev.airlock.store.format.RecordType;

/** Where a record lives: its segment and byte offset, with what the summary says about it. */
public record RecordLocation(RecordId id, long segmentNumber, String segmentFileName, long offsetBytes,
        long sequence, RecordType type, long blockIndex, long blockCount) {
}
