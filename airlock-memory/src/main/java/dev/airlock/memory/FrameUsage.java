package dev.airlock.memory;

/**
 * How the host pages of one range of RAM (typically one VM's) are backed, counted in host pages
 * of {@code pageSizeBytes}. {@code swappedPages} is the part of {@code notPresentPages} that sits
 * in swap rather than nowhere.
 *
 * <p>When {@code pfnsVisible} is false (the process is not root) frame numbers were hidden, so a
 * KSM-merged page could not be told from the zero page and is counted in {@code zeroPages}; the
 * other counts are exact either way.
 *
 * <p>{@code tablePages} estimates the host page tables that map the range: the kernel keeps one
 * last-level table page per 2 MiB with any page present or swapped, and one above it per 1 GiB
 * (x86-64 and arm64 with 4 KiB pages). It is what the mapping itself costs, on top of the frames.
 */
public record FrameUsage(int pageSizeBytes, long notPresentPages, long zeroPages, long templatePages,
                         long sharedPages, long privatePages, long swappedPages, boolean pfnsVisible, long tablePages) {

    public long pages(FrameKind kind) {
        return switch (kind) {
            case NOT_PRESENT -> notPresentPages;
            case ZERO -> zeroPages;
            case TEMPLATE -> templatePages;
            case SHARED -> sharedPages;
            case PRIVATE -> privatePages;
        };
    }

    public long bytes(FrameKind kind) { return pages(kind) * pageSizeBytes; }

    public long totalPages() { return notPresentPages + presentPages(); }

    /** Pages mapped to some frame: what a per-mapping resident count would report, zero page included. */
    public long presentPages() { return zeroPages + templatePages + sharedPages + privatePages; }

    /** Bytes of host page tables mapping the range (an estimate; see the class comment). */
    public long tableBytes() { return tablePages * 4096L; }

    /** Bytes of frames only this range holds: the host gets them back when the range is unmapped. */
    public long privateBytes() { return privatePages * pageSizeBytes; }

    @Override
    public String toString() {
        return "FrameUsage[" + totalPages() + " pages of " + pageSizeBytes + " B: private " + privatePages
                + ", template " + templatePages + ", shared " + sharedPages + ", zero " + zeroPages
                + ", not present " + notPresentPages + ", tables " + tablePages + (swappedPages > 0 ? " (" + swappedPages + " swapped)" : "")
                + (pfnsVisible ? "" : "; frame numbers hidden, shared pages counted as zero") + "]";
    }
}
