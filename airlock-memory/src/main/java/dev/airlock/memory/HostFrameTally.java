package dev.airlock.memory;

/**
 * Adds up {@link FrameAccounting#classify(long, long, HostFrameTally) classifications} of many
 * VMs into what the host really holds: private frames summed, and each template or KSM frame
 * counted once however many VMs map it, by collecting their distinct frame numbers. Reuse one
 * tally across passes with {@link #clear()}; its sets keep their capacity. Not thread safe.
 */
public final class HostFrameTally {
    final LongHashSet templateFrames;
    final LongHashSet sharedFrames;
    private int pageSizeBytes;
    private int ranges;
    private long privatePages;
    private long zeroPages;
    private long templatePages;
    private long sharedPages;
    private boolean pfnsHidden;

    public HostFrameTally() {
        this(1 << 16);
    }

    /** @param expectedSharedFrames roughly how many distinct template and KSM frames to expect, to size the sets */
    public HostFrameTally(int expectedSharedFrames) {
        templateFrames = new LongHashSet(expectedSharedFrames);
        sharedFrames = new LongHashSet(expectedSharedFrames);
    }

    public void clear() {
        templateFrames.clear();
        sharedFrames.clear();
        ranges = 0;
        privatePages = zeroPages = templatePages = sharedPages = 0;
        pfnsHidden = false;
    }

    /** Called by {@link FrameAccounting} once a range's frames have gone into the sets. */
    void add(FrameUsage usage) {
        if (ranges > 0 && usage.pageSizeBytes() != pageSizeBytes) {
            throw new IllegalArgumentException("pages of " + usage.pageSizeBytes() + " B in a tally of " + pageSizeBytes);
        }
        pageSizeBytes = usage.pageSizeBytes();
        ranges++;
        privatePages += usage.privatePages();
        zeroPages += usage.zeroPages();
        templatePages += usage.templatePages();
        sharedPages += usage.sharedPages();
        pfnsHidden |= !usage.pfnsVisible();
    }

    public HostFrameTotals totals() {
        // Without frame numbers nothing can be de-duplicated: every template page counts, an upper bound.
        long template = pfnsHidden ? templatePages : templateFrames.size();
        long shared = pfnsHidden ? sharedPages : sharedFrames.size();
        return new HostFrameTotals(pageSizeBytes, ranges, privatePages, template, shared, zeroPages > 0 ? 1 : 0,
                privatePages + zeroPages + templatePages + sharedPages, !pfnsHidden);
    }
}
