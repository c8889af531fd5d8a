package dev.airlock.store;

/** What one cleaning pass did. */
public record CleaningReport(int segmentsCleaned, long recordsCopied, long bytesReclaimed) {
}
