package dev.airlock.vmm.virtio.balloon;

/**
 * The guest's memory statistics from its latest stats-queue buffer (virtio 1.x spec 5.5.6.3). A
 * value the guest did not report is -1. Sizes are in bytes, fault counts are counts.
 *
 * @param updates how many stats buffers the device has read since it was created; 0 means none yet
 */
public record BalloonStats(long updates, long swapInBytes, long swapOutBytes, long majorFaults, long minorFaults,
                           long freeBytes, long totalBytes, long availableBytes, long cachesBytes) {
    /** Before the guest reported anything. */
    public static final BalloonStats NONE = new BalloonStats(0, -1, -1, -1, -1, -1, -1, -1, -1);

    // Tags (spec 5.5.6.3); the ones not listed here (hugetlb, OOM kills, stalls, ...) are read and dropped.
    static final int TAG_SWAP_IN = 0, TAG_SWAP_OUT = 1, TAG_MAJFLT = 2, TAG_MINFLT = 3, TAG_MEMFREE = 4,
            TAG_MEMTOT = 5, TAG_AVAIL = 6, TAG_CACHES = 7;
    /** One entry: le16 tag, le64 value, packed. */
    static final int ENTRY_SIZE_BYTES = 10;
    /** Slots indexed by tag, for the parser. */
    static final int TRACKED_TAGS = 8;

    /** Builds the record from values indexed by tag (-1 where absent). */
    static BalloonStats of(long updates, long[] byTag) {
        return new BalloonStats(updates, byTag[TAG_SWAP_IN], byTag[TAG_SWAP_OUT], byTag[TAG_MAJFLT], byTag[TAG_MINFLT],
                byTag[TAG_MEMFREE], byTag[TAG_MEMTOT], byTag[TAG_AVAIL], byTag[TAG_CACHES]);
    }
}
