package dev.airlock.vmm.virtio.balloon;

import dev.airlock.memory.GuestMemory;
import dev.airlock.sys.ErrnoException;
import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioInterrupt;
import dev.airlock.vmm.virtio.queue.DescriptorChain;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import java.util.logging.Logger;

/**
 * A virtio memory balloon (virtio 1.x spec 5.5): the host sets a target ({@code num_pages}), the
 * guest gives that many 4 KiB pages back through the inflate queue and takes them again through the
 * deflate queue. With F_STATS_VQ the guest reports its memory statistics when asked; with
 * F_PAGE_REPORTING it reports ranges of free memory on its own (Linux does so about two seconds
 * after large blocks are freed), which the host releases the same way.
 *
 * <p>Released memory goes back to the host with MADV_DONTNEED on guest RAM: the host frees the
 * frames, and a page the guest touches again reads as zero. Every page number and range from the
 * guest is checked against RAM first; a bad one is skipped and counted, never thrown.
 *
 * <p>F_DEFLATE_ON_OOM lets the guest deflate under memory pressure without being asked; the device
 * needs nothing for it, as a deflated page is simply the guest's again (and reads as zero).
 *
 * <p>Queue numbering: inflate is 0 and deflate 1; stats and reporting follow in that order, each
 * only if its feature was negotiated, so without F_STATS_VQ the reporting queue is 2. Linux's
 * virtio_mmio numbers them so (an absent queue takes no index), and QEMU agrees.
 *
 * <p>Threads: queues are served on the device's event-loop thread; {@link #setTargetPages} and
 * {@link #requestStats} may be called from any thread; config accesses come from harts.
 */
public final class VirtioBalloon implements VirtioDevice {
    private static final Logger LOG = Logger.getLogger(VirtioBalloon.class.getName());

    // Feature bits (spec 5.5.3). We offer stats, deflate-on-OOM and free page reporting.
    public static final long F_MUST_TELL_HOST = 1L << 0;
    public static final long F_STATS_VQ = 1L << 1;
    public static final long F_DEFLATE_ON_OOM = 1L << 2;
    public static final long F_FREE_PAGE_HINT = 1L << 3;
    public static final long F_PAGE_POISON = 1L << 4;
    public static final long F_PAGE_REPORTING = 1L << 5;
    public static final long SUPPORTED_FEATURES = F_STATS_VQ | F_DEFLATE_ON_OOM | F_PAGE_REPORTING;

    /** Balloon page numbers are always in 4 KiB units, whatever the guest's page size (spec 5.5.6). */
    public static final int PFN_SHIFT = 12;
    public static final long BALLOON_PAGE_BYTES = 1L << PFN_SHIFT;
    /** Linux's page reporting needs at least 32 entries in its queue; the rest is headroom. */
    public static final int QUEUE_SIZE = 128;
    /** Page numbers read from one inflate or deflate buffer at most; Linux sends 256 at a time. */
    public static final int MAX_PFNS_PER_REQUEST = 4096;
    /** Stats entries read from one buffer at most; Linux sends about a dozen. */
    static final int MAX_STATS_ENTRIES = 64;
    /** Requests served per run before the loop lets other devices go first. */
    static final int BATCH = 64;

    /**
     * Configuration space (spec 5.5.4), as far as the offered features reach:
     * <pre>
     *  0 le32 num_pages   the host's target, in 4 KiB pages (read-only for the driver)
     *  4 le32 actual      the pages the driver holds in the balloon (the driver writes it)
     *  8 (end; free_page_hint_cmd_id and poison_val exist only with features we do not offer)
     * </pre>
     */
    public static final int CONFIG_NUM_PAGES = 0, CONFIG_ACTUAL = 4, CONFIG_SIZE_BYTES = 8;

    /** What a queue index serves, once features are known. */
    public enum BalloonQueue { INFLATE, DEFLATE, STATS, REPORTING }

    private final long features;
    private final int queueCount;
    private final GuestWriteListener writeListener;

    // Held in fields so serving a queue allocates nothing.
    private final ToLongFunction<DescriptorChain> inflateHandler = this::inflate;
    private final ToLongFunction<DescriptorChain> deflateHandler = this::deflate;
    private final ToLongFunction<DescriptorChain> reportHandler = this::report;
    // Made on first use (under the transport's work lock, like every queue's processing): most clones
    // never inflate, and 48 KiB zeroed per VM costs a clone's setup and an idle clone's heap.
    private byte[] readBuffer;
    private long[] pfns;
    private final long[] statsByTag = new long[BalloonStats.TRACKED_TAGS];

    private volatile int targetPages;
    private final AtomicInteger actualPages = new AtomicInteger();

    // Set by activate, cleared by reset (serialized with processQueue by the transport).
    private final BalloonQueue[] roles;
    private final VirtQueue[] queues;
    private GuestMemory memory;
    private volatile VirtioInterrupt interrupt;
    private volatile int statsQueueIndex = -1;
    private volatile long negotiatedFeatures;
    /** One bit per 4 KiB page of RAM: in the balloon now. */
    private long[] inBalloon = new long[0];
    /**
     * The bitmap's size for this RAM; it is made at the first inflate, since most VMs (idle clones) never
     * inflate and 256 MiB of RAM would cost each 8 KiB of zeros.
     */
    private int bitmapWords;
    /** Head of the stats buffer the device keeps until the host wants fresh numbers; -1 if none. */
    private int heldStatsHead = -1;
    private final AtomicBoolean statsRequested = new AtomicBoolean();

    private volatile BalloonStats latestStats = BalloonStats.NONE;
    private volatile long balloonPages;
    private final AtomicLong pagesInflated = new AtomicLong();
    private final AtomicLong pagesDeflated = new AtomicLong();
    private final AtomicLong bytesReported = new AtomicLong();
    private final AtomicLong bytesReleased = new AtomicLong();
    private final AtomicLong rejectedEntries = new AtomicLong();
    private final AtomicLong releaseErrors = new AtomicLong();

    /** A balloon offering {@link #SUPPORTED_FEATURES}. */
    public VirtioBalloon(GuestWriteListener writeListener) {
        this(SUPPORTED_FEATURES, writeListener);
    }

    /**
     * @param features      what to offer, a subset of {@link #SUPPORTED_FEATURES}
     * @param writeListener told of every range released (it reads as zero afterwards), so harts
     *                      drop code decoded from it; the same listener the transport gets
     */
    public VirtioBalloon(long features, GuestWriteListener writeListener) {
        if ((features & ~SUPPORTED_FEATURES) != 0) {
            throw new IllegalArgumentException("unsupported balloon features 0x" + Long.toHexString(features & ~SUPPORTED_FEATURES));
        }
        this.features = features;
        this.writeListener = Objects.requireNonNull(writeListener, "writeListener");
        this.queueCount = 2 + Long.bitCount(features & (F_STATS_VQ | F_PAGE_REPORTING));
        this.roles = new BalloonQueue[queueCount];
        this.queues = new VirtQueue[queueCount];
    }

    /**
     * The index of {@code queue} when the driver negotiated {@code driverFeatures}, or -1 if that
     * queue does not exist then.
     */
    public static int queueIndex(BalloonQueue queue, long driverFeatures) {
        boolean stats = (driverFeatures & F_STATS_VQ) != 0;
        return switch (queue) {
            case INFLATE -> 0;
            case DEFLATE -> 1;
            case STATS -> stats ? 2 : -1;
            case REPORTING -> (driverFeatures & F_PAGE_REPORTING) == 0 ? -1 : stats ? 3 : 2;
        };
    }

    // ---------------------------------------------------------------- Java API

    /**
     * Asks the guest to hold {@code pages} 4 KiB pages in the balloon (0 empties it) and interrupts
     * the driver if it runs. The guest moves towards the target at its own pace; watch {@link #actualPages()}.
     */
    public void setTargetPages(long pages) {
        if (pages < 0 || pages > 0xffff_ffffL) throw new IllegalArgumentException("balloon target " + pages + " pages is out of range");
        targetPages = (int) pages;
        VirtioInterrupt irq = interrupt;
        if (irq != null) irq.signalConfigChange();
    }

    public long targetPages() { return Integer.toUnsignedLong(targetPages); }

    /** The pages the driver says it holds in the balloon ({@code actual}). */
    public long actualPages() { return Integer.toUnsignedLong(actualPages.get()); }

    /**
     * Asks the guest for fresh statistics: the device hands back the stats buffer it holds, the
     * driver refills it and {@link #latestStats()} changes ({@code updates} grows). No-op without F_STATS_VQ.
     */
    public void requestStats() {
        statsRequested.set(true);
        VirtioInterrupt irq = interrupt;
        int q = statsQueueIndex;
        if (irq != null && q >= 0) irq.requestProcessing(q);
    }

    public BalloonStats latestStats() { return latestStats; }

    /** The features the running driver accepted (transport bits included); 0 while no driver runs. */
    public long negotiatedFeatures() { return negotiatedFeatures; }

    /** Pages in the balloon as the device saw inflate and deflate requests. */
    public long balloonPages() { return balloonPages; }

    /** Valid page numbers received on the inflate queue, over the device's life. */
    public long pagesInflated() { return pagesInflated.get(); }

    public long pagesDeflated() { return pagesDeflated.get(); }

    /** Bytes in valid ranges the guest reported free. */
    public long bytesReported() { return bytesReported.get(); }

    /** Bytes given back to the host, from inflation and reporting. */
    public long bytesReleased() { return bytesReleased.get(); }

    /** Page numbers and ranges skipped: outside RAM, misaligned, or past a request's limit. */
    public long rejectedEntries() { return rejectedEntries.get(); }

    /** Releases the host refused (madvise failed); the pages simply stay resident. */
    public long releaseErrors() { return releaseErrors.get(); }

    // ---------------------------------------------------------------- VirtioDevice

    @Override public int deviceType() { return Virtio.DEVICE_ID_BALLOON; }

    @Override public long deviceFeatures() { return features; }

    @Override public int queueCount() { return queueCount; }

    @Override public int queueMaxSize(int queueIndex) { return QUEUE_SIZE; }

    @Override public int configSizeBytes() { return CONFIG_SIZE_BYTES; }

    @Override
    public long readConfig(int offsetBytes, int sizeBytes) {
        long both = Integer.toUnsignedLong(targetPages) | (long) actualPages.get() << 32;
        return both >>> (8 * offsetBytes); // the transport masks to sizeBytes
    }

    @Override
    public void writeConfig(int offsetBytes, int sizeBytes, long value) {
        // Only the bytes that fall on "actual" count; num_pages is the host's.
        long written = sizeBytes >= 8 ? -1L : ((1L << (8 * sizeBytes)) - 1) << (8 * offsetBytes);
        int mask = (int) (written >>> 32);
        if (mask == 0) return;
        int bits = (int) ((value << (8 * offsetBytes)) >>> 32);
        int old;
        do {
            old = actualPages.get();
        } while (!actualPages.compareAndSet(old, (old & ~mask) | (bits & mask)));
    }

    @Override
    public void activate(GuestMemory memory, List<VirtQueue> queues, long driverFeatures, VirtioInterrupt interrupt) {
        this.memory = memory;
        Arrays.fill(roles, null);
        for (BalloonQueue role : BalloonQueue.values()) {
            int q = queueIndex(role, driverFeatures);
            if (q >= 0 && q < queueCount) {
                roles[q] = role;
                this.queues[q] = queues.get(q);
            }
        }
        long pages = memory.sizeBytes() >>> PFN_SHIFT;
        bitmapWords = (int) ((pages + 63) >>> 6);
        if (inBalloon.length != 0 && inBalloon.length < bitmapWords) inBalloon = Arrays.copyOf(inBalloon, bitmapWords);
        heldStatsHead = -1;
        statsQueueIndex = queueIndex(BalloonQueue.STATS, driverFeatures);
        negotiatedFeatures = driverFeatures;
        this.interrupt = interrupt;
    }

    @Override
    public void reset() {
        interrupt = null;
        statsQueueIndex = -1;
        negotiatedFeatures = 0;
        Arrays.fill(roles, null);
        Arrays.fill(queues, null);
        memory = null;
        heldStatsHead = -1;
        // The driver starts over with an empty balloon; pages it held are the guest's again.
        Arrays.fill(inBalloon, 0);
        balloonPages = 0;
        actualPages.set(0);
    }

    /**
     * The balloon's state: the host's target, the driver's count, the stats buffer the device holds
     * and which pages are in the balloon.
     * <pre>u32 target | u32 actual | i32 held stats head | u64 pages in balloon | u32 words | u64 bitmap words…</pre>
     */
    @Override
    public byte[] saveState() {
        long[] bitmap = balloonPages == 0 ? new long[0] : inBalloon; // balloonPages counts the bitmap's set bits
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(24 + 8 * bitmap.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(targetPages).putInt(actualPages.get()).putInt(heldStatsHead).putLong(balloonPages).putInt(bitmap.length);
        for (long w : bitmap) b.putLong(w);
        return b.array();
    }

    @Override
    public void restoreState(java.nio.ByteBuffer b) {
        int target = b.getInt(), actual = b.getInt(), held = b.getInt();
        long pages = b.getLong();
        int words = b.getInt();
        // 0 words: the balloon never held a page (older snapshots always wrote the whole bitmap).
        if ((words != 0 && words != bitmapWords) || words * 8L > b.remaining()) {
            throw new IllegalArgumentException("balloon state for " + words * 64L + " pages does not fit a VM of "
                    + bitmapWords * 64L + " pages");
        }
        int statsQueue = statsQueueIndex;
        if (held >= (statsQueue >= 0 ? queues[statsQueue].size() : 0) || held < -1) {
            throw new IllegalArgumentException("balloon state holds stats buffer " + held + ", outside its queue");
        }
        long[] bitmap = new long[words];
        for (int i = 0; i < words; i++) bitmap[i] = b.getLong();
        inBalloon = Arrays.stream(bitmap).allMatch(w -> w == 0) ? new long[0] : bitmap;
        targetPages = target;
        actualPages.set(actual);
        heldStatsHead = held;
        balloonPages = pages;
    }

    @Override
    public boolean processQueue(int queueIndex) {
        if (queueIndex < 0 || queueIndex >= queueCount) return false;
        BalloonQueue role = roles[queueIndex];
        VirtQueue q = queues[queueIndex];
        if (role == null || q == null) return false;
        VirtioInterrupt irq = interrupt;
        return switch (role) {
            case INFLATE -> q.drain(BATCH, inflateHandler, irq);
            case DEFLATE -> q.drain(BATCH, deflateHandler, irq);
            case REPORTING -> q.drain(BATCH, reportHandler, irq);
            case STATS -> serveStats(q, irq);
        };
    }

    // ---------------------------------------------------------------- inflate and deflate

    /** Releases the listed pages to the host and marks them ballooned; the device writes nothing back. */
    long inflate(DescriptorChain chain) {
        int n = readPfns(chain);
        Arrays.sort(pfns, 0, n);
        int i = 0;
        while (i < n) {
            // Linux allocates balloon pages in runs often enough that one madvise per run pays.
            int j = i + 1;
            while (j < n && pfns[j] <= pfns[j - 1] + 1) j++;
            for (int k = i; k < j; k++) {
                if (mark(pfns[k], true)) balloonPages++;
            }
            release(pfns[i] << PFN_SHIFT, (pfns[j - 1] - pfns[i] + 1) << PFN_SHIFT);
            i = j;
        }
        pagesInflated.addAndGet(n);
        return 0;
    }

    /** The guest takes pages back; they are already released, and read as zero when touched. */
    long deflate(DescriptorChain chain) {
        int n = readPfns(chain);
        for (int i = 0; i < n; i++) {
            if (mark(pfns[i], false)) balloonPages--;
        }
        pagesDeflated.addAndGet(n);
        return 0;
    }

    /**
     * Reads the le32 page numbers of the chain's readable region into {@link #pfns}, keeping those
     * whose page lies in RAM; returns how many were kept.
     */
    private int readPfns(DescriptorChain chain) {
        long entries = chain.readableBytes() / 4;
        long rejected = chain.readableBytes() % 4 == 0 ? 0 : 1; // a torn entry at the end
        if (entries > MAX_PFNS_PER_REQUEST) {
            rejected += entries - MAX_PFNS_PER_REQUEST;
            entries = MAX_PFNS_PER_REQUEST;
        }
        byte[] readBuffer = readBuffer();
        if (pfns == null) pfns = new long[MAX_PFNS_PER_REQUEST];
        int got = chain.read(0, readBuffer, 0, (int) entries * 4) / 4;
        int n = 0;
        for (int i = 0; i < got; i++) {
            long pfn = Integer.toUnsignedLong(leInt(readBuffer, 4 * i));
            if (memory.contains(pfn << PFN_SHIFT)) {
                pfns[n++] = pfn;
            } else {
                rejected++;
            }
        }
        if (rejected != 0) rejectedEntries.addAndGet(rejected);
        return n;
    }

    /** Sets or clears the page's balloon bit; true if it changed. */
    private boolean mark(long pfn, boolean in) {
        long bit = pfn - (memory.baseGpa() >>> PFN_SHIFT);
        int word = (int) (bit >>> 6);
        long m = 1L << bit;
        if (inBalloon.length == 0) {
            if (!in) return false; // not in a balloon that never held a page
            inBalloon = new long[bitmapWords];
        }
        long old = inBalloon[word];
        inBalloon[word] = in ? old | m : old & ~m;
        return (old & m) != 0 != in;
    }

    // ---------------------------------------------------------------- free page reporting

    /**
     * Releases every range of the chain. Linux hands the ranges over as device-writable buffers,
     * though the device writes nothing into them; readable ones are taken too.
     */
    long report(DescriptorChain chain) {
        for (int i = 0; i < chain.count(); i++) {
            long gpa = chain.gpa(i);
            long len = chain.lengthBytes(i);
            // The queue checked the range is in RAM; alignment is ours to check.
            if (len == 0 || ((gpa | len) & (BALLOON_PAGE_BYTES - 1)) != 0 || !memory.contains(gpa)
                    || len > memory.endGpa() - gpa) {
                rejectedEntries.incrementAndGet();
                continue;
            }
            bytesReported.addAndGet(len);
            release(gpa, len);
        }
        return 0;
    }

    private void release(long gpa, long lengthBytes) {
        try {
            memory.discard(gpa, lengthBytes);
        } catch (ErrnoException e) {
            if (releaseErrors.incrementAndGet() == 1) {
                LOG.warning("balloon: the host refused to release guest memory (" + e.getMessage()
                        + "); those pages stay resident");
            }
            return;
        }
        bytesReleased.addAndGet(lengthBytes);
        writeListener.written(gpa, lengthBytes);
    }

    // ---------------------------------------------------------------- statistics

    /**
     * The stats queue runs backwards (spec 5.5.6.3): the driver offers one buffer of statistics, the
     * device keeps it, and hands it back when the host wants fresh numbers, upon which the driver
     * refills and offers it again.
     */
    private boolean serveStats(VirtQueue q, VirtioInterrupt irq) {
        boolean more = true;
        for (int served = 0; ; served++) {
            if (served == BATCH) break;
            DescriptorChain chain = q.pop();
            if (chain == null) {
                more = false;
                break;
            }
            readStats(chain);
            // A correct driver has one buffer out at a time; an extra one goes straight back.
            if (heldStatsHead >= 0) q.addUsed(heldStatsHead, 0);
            heldStatsHead = chain.headIndex();
        }
        if (statsRequested.getAndSet(false) && heldStatsHead >= 0) {
            q.addUsed(heldStatsHead, 0);
            heldStatsHead = -1;
        }
        if (q.needsNotification() && irq != null) irq.signalUsedBuffers(q.index());
        return more;
    }

    private void readStats(DescriptorChain chain) {
        long entries = Math.min(chain.readableBytes() / BalloonStats.ENTRY_SIZE_BYTES, MAX_STATS_ENTRIES);
        byte[] readBuffer = readBuffer();
        int got = chain.read(0, readBuffer, 0, (int) entries * BalloonStats.ENTRY_SIZE_BYTES) / BalloonStats.ENTRY_SIZE_BYTES;
        Arrays.fill(statsByTag, -1);
        for (int i = 0; i < got; i++) {
            int at = i * BalloonStats.ENTRY_SIZE_BYTES;
            int tag = (readBuffer[at] & 0xff) | (readBuffer[at + 1] & 0xff) << 8;
            if (tag < statsByTag.length) statsByTag[tag] = leLong(readBuffer, at + 2);
        }
        latestStats = BalloonStats.of(latestStats.updates() + 1, statsByTag);
    }

    private byte[] readBuffer() {
        if (readBuffer == null) {
            readBuffer = new byte[Math.max(MAX_PFNS_PER_REQUEST * 4, MAX_STATS_ENTRIES * BalloonStats.ENTRY_SIZE_BYTES)];
        }
        return readBuffer;
    }

    private static int leInt(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    private static long leLong(byte[] b, int at) {
        return Integer.toUnsignedLong(leInt(b, at)) | (long) leInt(b, at + 4) << 32;
    }

    @Override
    public String toString() {
        return "VirtioBalloon[target " + targetPages() + ", actual " + actualPages() + ", in balloon " + balloonPages
                + ", released " + (bytesReleased.get() >> 20) + " MiB]";
    }
}
