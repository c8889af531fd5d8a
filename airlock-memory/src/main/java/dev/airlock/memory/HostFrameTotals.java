package dev.airlock.memory;

/**
 * What a set of VMs costs the host in frames, each frame counted once: {@code privateFrames}
 * (held by one mapping each), the distinct {@code templateFrames} (page cache of template files)
 * and {@code sharedFrames} (KSM) mapped by any of them, and the zero page ({@code zeroFrames} is
 * 1 if any VM maps it). {@code mappedPages} is what adding up every VM's resident pages would
 * claim instead.
 *
 * <p>When {@code exact} is false frame numbers were hidden (not root): template pages are
 * summed over VMs, an upper bound, and KSM-merged pages were counted as zero pages.
 */
public record HostFrameTotals(int pageSizeBytes, int ranges, long privateFrames, long templateFrames,
                              long sharedFrames, long zeroFrames, long mappedPages, boolean exact) {

    public long hostFramesHeld() { return privateFrames + templateFrames + sharedFrames + zeroFrames; }

    public long hostBytesHeld() { return hostFramesHeld() * pageSizeBytes; }

    public long mappedBytes() { return mappedPages * pageSizeBytes; }

    /** Bytes that sharing (templates, KSM, the zero page) saves compared with every VM holding its own copies. */
    public long savedBytes() { return mappedBytes() - hostBytesHeld(); }
}
