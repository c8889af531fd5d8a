package dev.airlock.memory;

import dev.airlock.sys.KPageFlags;
import dev.airlock.sys.PageMap;
import dev.airlock.sys.PageMapEntry;

/**
 * Honest per-page accounting of guest RAM: for every host page of a host-virtual range, which
 * kind of frame backs it ({@link FrameKind}), from the kernel's own page tables
 * ({@code /proc/self/pagemap}) rather than from what the memory layer believes it mapped.
 *
 * <p>The rules, for a present page's pagemap entry:
 * <ul>
 *   <li>file bit set: {@link FrameKind#TEMPLATE}, a page-cache page of the mapped file;</li>
 *   <li>anonymous and mapped exactly once: {@link FrameKind#PRIVATE} (a write made it, or it is a
 *       KSM page every other mapper has copied away from: either way only this mapping holds it);</li>
 *   <li>anonymous, mapped more than once, the zero page's frame (or flagged ZERO_PAGE, as the huge
 *       zero page is): {@link FrameKind#ZERO};</li>
 *   <li>any other anonymous page mapped more than once: {@link FrameKind#SHARED} (KSM).</li>
 * </ul>
 * Without root the kernel hides frame numbers: KSM pages then count as zero pages, and
 * {@link FrameUsage#pfnsVisible()} says so.
 *
 * <p>One instance per accounting thread; it reuses its buffers, so classifying a 256 MiB VM reads
 * pagemap in four system calls and allocates only the result.
 */
public final class FrameAccounting implements AutoCloseable {
    static final int CHUNK_PAGES = 1 << 14;

    private final PageMap pageMap;
    private final KPageFlags frameFlags;
    private final int pageSizeBytes;
    private final boolean pfnsVisible;
    private final long zeroPfn;
    private final long[] entries = new long[CHUNK_PAGES];
    private final long[] candidatePfns = new long[CHUNK_PAGES];
    private final long[] candidateFlags = new long[CHUNK_PAGES];

    /**
     * Accounting over {@code pageMap}, with {@code frameFlags} (may be null) to tell the huge zero
     * page from KSM pages. Takes ownership of both.
     */
    public FrameAccounting(PageMap pageMap, KPageFlags frameFlags) {
        this.pageMap = pageMap;
        this.frameFlags = frameFlags;
        this.pageSizeBytes = pageMap.pageSizeBytes();
        this.pfnsVisible = pageMap.pfnsVisible();
        this.zeroPfn = pageMap.zeroPfn();
    }

    /** Accounting for this process, with frame flags when readable (root). */
    public static FrameAccounting open() {
        PageMap pageMap = PageMap.openSelf();
        return new FrameAccounting(pageMap, pageMap.pfnsVisible() ? KPageFlags.openIfReadable().orElse(null) : null);
    }

    public int pageSizeBytes() { return pageSizeBytes; }

    /** Whether frame numbers are visible, so KSM pages and template frames can be told apart and de-duplicated. */
    public boolean pfnsVisible() { return pfnsVisible; }

    /** Classifies every host page of {@code [hva, hva + sizeBytes)}, both page aligned. */
    public FrameUsage classify(long hva, long sizeBytes) {
        return classify(hva, sizeBytes, null);
    }

    /**
     * As {@link #classify(long, long)}, also adding the range to {@code tally} (may be null) so
     * that frames shared between VMs are counted once in the host's totals.
     */
    public FrameUsage classify(long hva, long sizeBytes, HostFrameTally tally) {
        if (sizeBytes < 0 || ((hva | sizeBytes) & (pageSizeBytes - 1)) != 0) {
            throw new IllegalArgumentException("cannot account for hva 0x" + Long.toHexString(hva) + "+" + sizeBytes
                    + ": address and size must be multiples of the " + pageSizeBytes + "-byte page");
        }
        LongHashSet templateSet = tally != null && pfnsVisible ? tally.templateFrames : null;
        LongHashSet sharedSet = tally != null && pfnsVisible ? tally.sharedFrames : null;
        long notPresent = 0, swapped = 0, zero = 0, template = 0, shared = 0, owned = 0;
        long pages = sizeBytes / pageSizeBytes;
        // Page tables: a table per 2 MiB of address space with an entry in use, and one per 1 GiB above those.
        long tables = 0, lastTable2M = -1, lastTable1G = -1;
        for (long done = 0; done < pages; ) {
            int n = (int) Math.min(CHUNK_PAGES, pages - done);
            pageMap.read(hva + done * pageSizeBytes, entries, 0, n);
            int candidates = 0;
            for (int i = 0; i < n; i++) {
                long e = entries[i];
                if (e != 0) {
                    long va = hva + (done + i) * pageSizeBytes;
                    if (va >>> 21 != lastTable2M) { tables++; lastTable2M = va >>> 21; }
                    if (va >>> 30 != lastTable1G) { tables++; lastTable1G = va >>> 30; }
                }
                if (e >= 0) { // bit 63 clear: not present
                    notPresent++;
                    if ((e & PageMapEntry.SWAPPED) != 0) swapped++;
                } else if ((e & PageMapEntry.FILE) != 0) {
                    template++;
                    if (templateSet != null) templateSet.add(e & PageMapEntry.PFN_MASK);
                } else if ((e & PageMapEntry.EXCLUSIVE) != 0) {
                    owned++;
                } else if (!pfnsVisible || (e & PageMapEntry.PFN_MASK) == zeroPfn) {
                    zero++;
                } else if (sharedSet != null && sharedSet.contains(e & PageMapEntry.PFN_MASK)) {
                    shared++; // another VM's pass has already seen this frame: no need to read its flags
                } else {
                    candidatePfns[candidates++] = e & PageMapEntry.PFN_MASK;
                }
            }
            if (candidates > 0) {
                if (frameFlags != null) frameFlags.flagsOf(candidatePfns, candidates, candidateFlags);
                for (int i = 0; i < candidates; i++) {
                    if (frameFlags != null && KPageFlags.has(candidateFlags[i], KPageFlags.ZERO_PAGE)) {
                        zero++;
                    } else {
                        shared++;
                        if (sharedSet != null) sharedSet.add(candidatePfns[i]);
                    }
                }
            }
            done += n;
        }
        FrameUsage usage = new FrameUsage(pageSizeBytes, notPresent, zero, template, shared, owned, swapped, pfnsVisible, tables);
        if (tally != null) tally.add(usage);
        return usage;
    }

    /** The kind of frame backing the page at page-aligned {@code hva}: for tests and diagnostics. */
    public FrameKind kindOf(long hva) {
        long e = pageMap.read(hva);
        if (!PageMapEntry.present(e)) return FrameKind.NOT_PRESENT;
        if (PageMapEntry.fileOrSharedAnon(e)) return FrameKind.TEMPLATE;
        if (PageMapEntry.exclusive(e)) return FrameKind.PRIVATE;
        long pfn = PageMapEntry.pfn(e);
        if (!pfnsVisible || pfn == zeroPfn) return FrameKind.ZERO;
        if (frameFlags != null && KPageFlags.has(frameFlags.flagsOf(pfn), KPageFlags.ZERO_PAGE)) return FrameKind.ZERO;
        return FrameKind.SHARED;
    }

    @Override
    public void close() {
        try {
            pageMap.close();
        } finally {
            if (frameFlags != null) frameFlags.close();
        }
    }
}
