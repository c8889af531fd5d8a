package dev.airlock.store;

/** Counters of one image's log, for cleaning policy and `image ls`. */
public record ImageStats(int segmentCount, long recordCount, long liveRecordCount, long logSizeBytes,
        long nextSequence, int bloomColumns) {
}
