package dev.airlock.memory;

import dev.airlock.sys.Mman;
import dev.airlock.sys.PageMap;
import dev.airlock.sys.PageMapEntry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A VM's guest-physical RAM: one contiguous range of guest frames starting at {@code baseGpa}, one
 * host mapping, so harts and devices address it as one block. Which host frame backs a guest frame:
 * <ul>
 *   <li>a fresh VM: its own anonymous memory; a page reads as the host's zero page until written;
 *   <li>a clone ({@link #fromTemplate}): the template's file page, shared through the host page
 *       cache by every clone, until the clone writes it and the host kernel copies it (MAP_PRIVATE);
 *       the template's zero pages are anonymous memory, so they read as the single zero page;
 *   <li>after {@link #discard}: the zero page again, the private frame freed.
 * </ul>
 */
public final class GuestMemory implements AutoCloseable {
    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;

    private final long baseGpa;
    private final long sizeBytes;
    private final MemorySegment ram;
    private final long hvaBase;
    /** The template this RAM maps copy-on-write, or null. */
    private final TemplateImage template;
    /**
     * For RAM made from a template: a bit per page that may no longer hold the template's frame, set by
     * every writer before its write lands ({@link #noteWritten}): harts as they map a page for writing,
     * devices for the ranges they fill, {@link #write} and {@link #discard}. A clear bit on a data page
     * means the page still reads as the template's bytes, which lets every clone use what was derived
     * from them (decoded code) without asking the host kernel, a page-map read per page, each time.
     * Two levels, a chunk of bits per 2 MiB made at its first write: an idle clone writes a dozen
     * such ranges, so it holds about 1 KiB of bits rather than 8 KiB.
     */
    private final long[][] written;
    private static final int WRITTEN_CHUNK_SHIFT = 9, WRITTEN_CHUNK_WORDS = (1 << WRITTEN_CHUNK_SHIFT) >>> 6;
    private static final java.lang.invoke.VarHandle WRITTEN = java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);
    private static final java.lang.invoke.VarHandle WRITTEN_CHUNK = java.lang.invoke.MethodHandles.arrayElementVarHandle(long[][].class);
    private volatile boolean closed;

    public GuestMemory(long baseGpa, long sizeBytes) {
        checkLayout(baseGpa, sizeBytes);
        this.baseGpa = baseGpa;
        this.sizeBytes = sizeBytes;
        this.ram = Mman.mapAnonymous(sizeBytes);
        this.hvaBase = ram.address();
        this.template = null;
        this.written = null;
    }

    private GuestMemory(long baseGpa, TemplateImage template) {
        this.baseGpa = baseGpa;
        this.sizeBytes = template.sizeBytes();
        this.template = template;
        this.written = new long[(int) (((sizeBytes >>> PAGE_SHIFT) + (1 << WRITTEN_CHUNK_SHIFT) - 1) >>> WRITTEN_CHUNK_SHIFT)][];
        // The whole range as anonymous zero memory first (one mmap: it also reserves the addresses, so
        // the file runs land side by side and nothing else moves in), then the data runs over it.
        this.ram = Mman.mapAnonymous(sizeBytes);
        this.hvaBase = ram.address();
        try {
            mapFromTemplate();
        } catch (RuntimeException e) {
            Mman.munmap(ram);
            throw e;
        }
    }

    /**
     * RAM that starts as {@code template}'s: its data pages map the template's file copy-on-write,
     * the rest reads as zero. No byte is copied; a clone's first write to a page makes its private copy.
     */
    public static GuestMemory fromTemplate(long baseGpa, TemplateImage template) {
        checkLayout(baseGpa, template.sizeBytes());
        return new GuestMemory(baseGpa, template);
    }

    private static void checkLayout(long baseGpa, long sizeBytes) {
        if ((baseGpa & (PAGE_SIZE - 1)) != 0 || sizeBytes <= 0 || (sizeBytes & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("guest RAM must be page aligned: base 0x"
                    + Long.toHexString(baseGpa) + ", size " + sizeBytes);
        }
    }

    /** Maps the template's data runs over this RAM's anonymous zero memory. */
    private void mapFromTemplate() {
        long[] runs = template.runs();
        for (int i = 0; i < runs.length; i += 2) {
            long from = runs[i] << PAGE_SHIFT;
            Mman.mapFilePrivateFixed(hvaBase + from, runs[i + 1] << PAGE_SHIFT, template.fd(), from);
        }
    }

    /**
     * Offers this RAM to the host kernel's same-page merging (KSM, MADV_MERGEABLE): identical pages,
     * within this VM or across VMs that offer theirs, may be merged into one read-only frame, which
     * a write copies again. Only pages this VM owns take part (a template's pages are shared already).
     * Merging runs only while the host's KSM daemon does ({@code /sys/kernel/mm/ksm/run}); sharing
     * across VMs lets one VM time another's memory, so callers offer it only within a trust domain.
     */
    public void offerForMerging() {
        Mman.madvise(hvaBase, sizeBytes, Mman.MADV_MERGEABLE);
        mergeable = true;
    }

    /** Whether {@link #offerForMerging} was called; ranges {@link #discard} maps anew are offered too. */
    private volatile boolean mergeable;

    @SuppressWarnings("unused")
    private static volatile byte touched;

    /**
     * Whether the page at {@code hva} (in this RAM) is still the template's frame: mapped from its file
     * and not copied by a write. Then its contents are the template's, the same in every clone. Touches
     * the page first, so an untouched template page is faulted in from the file rather than reported
     * absent. False for RAM not made from a template.
     */
    public boolean mapsTemplateFrame(long hva) {
        if (template == null || Long.compareUnsigned(hva - hvaBase, sizeBytes) >= 0) return false;
        // Into a volatile field: a load whose value went unused was compiled away, the page stayed
        // absent, and every clone after the first decoded the template's code privately.
        touched = HostMemory.ALL.get(HostMemory.I8, hva);
        long entry = PageMap.selfEntry(hva);
        return PageMapEntry.present(entry) && PageMapEntry.fileOrSharedAnon(entry);
    }

    /**
     * Whether page {@code page} (counted from the base of RAM) still holds the template's frame: the
     * template stores data there, and nothing has written it in this RAM since it was made (see
     * {@link #noteWritten}). False for RAM not made from a template, and for the template's zero pages.
     * A bit test, for hot paths.
     */
    public boolean templateFrameIntact(int page) {
        if (written == null) return false;
        long[] chunk = written[page >>> WRITTEN_CHUNK_SHIFT];
        return (chunk == null || (chunk[(page >>> 6) & (WRITTEN_CHUNK_WORDS - 1)] & (1L << page)) == 0) && template.mapsDataPage(page);
    }

    /**
     * Records that {@code [gpa, gpa + lengthBytes)} may stop holding the template's frames: call it
     * before writing guest RAM by any path other than {@link #write} and {@link #discard}, which call it
     * themselves. Returns whether any page in the range held the template's frame until now. A no-op
     * for RAM not made from a template. Any thread.
     */
    public boolean noteWritten(long gpa, long lengthBytes) {
        if (written == null || lengthBytes <= 0) return false;
        long first = Math.max(0, (gpa - baseGpa) >> PAGE_SHIFT);
        long last = Math.min((sizeBytes >>> PAGE_SHIFT) - 1, (gpa + lengthBytes - 1 - baseGpa) >> PAGE_SHIFT);
        boolean any = false;
        for (long page = first; page <= last; page++) {
            int p = (int) page;
            long bit = 1L << p;
            long[] chunk = written[p >>> WRITTEN_CHUNK_SHIFT];
            if (chunk == null) {
                chunk = new long[WRITTEN_CHUNK_WORDS];
                // Two threads may make it at once: one array wins, so no bit is set in a lost one.
                if (!WRITTEN_CHUNK.compareAndSet(written, p >>> WRITTEN_CHUNK_SHIFT, null, chunk)) {
                    chunk = (long[]) WRITTEN_CHUNK.getVolatile(written, p >>> WRITTEN_CHUNK_SHIFT);
                }
            }
            int word = (p >>> 6) & (WRITTEN_CHUNK_WORDS - 1);
            if ((chunk[word] & bit) != 0) continue;
            long before = (long) WRITTEN.getAndBitwiseOr(chunk, word, bit);
            any |= (before & bit) == 0 && template.mapsDataPage(p);
        }
        return any;
    }

    /** The template this RAM maps copy-on-write, or null for a VM's own memory. */
    public TemplateImage template() { return template; }

    public long baseGpa() { return baseGpa; }

    public long sizeBytes() { return sizeBytes; }

    public long endGpa() { return baseGpa + sizeBytes; }

    public boolean contains(long gpa) {
        return Long.compareUnsigned(gpa - baseGpa, sizeBytes) < 0;
    }

    /** The host address backing {@code gpa}, or -1 when it is not RAM. */
    public long hvaOf(long gpa) {
        long off = gpa - baseGpa;
        return Long.compareUnsigned(off, sizeBytes) < 0 ? hvaBase + off : -1;
    }

    /** The RAM as a bounded segment, for loaders and devices (not the hart's hot path). */
    public MemorySegment segment() { return ram; }

    /** A bounded view of {@code [gpa, gpa + length)}; throws if it leaves RAM (callers validate guest input first). */
    public MemorySegment slice(long gpa, long length) {
        long off = gpa - baseGpa;
        if (off < 0 || length < 0 || off > sizeBytes - length) {
            throw new IndexOutOfBoundsException("guest range 0x" + Long.toHexString(gpa) + "+" + length + " is outside RAM");
        }
        return ram.asSlice(off, length);
    }

    /** Copies bytes into guest RAM, e.g. a kernel image. */
    public void write(long gpa, byte[] bytes) {
        noteWritten(gpa, bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, slice(gpa, bytes.length), 0, bytes.length);
    }

    public byte[] read(long gpa, int length) {
        return slice(gpa, length).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Gives {@code [gpa, gpa + lengthBytes)} back to the host: the private frames are freed and the
     * range reads as zero (the host's zero page) when next touched, in a clone too. The range must be page aligned and in
     * RAM; callers validate guest input first. A device that does this on the guest's behalf must
     * also tell the harts, which may hold code decoded from the old contents.
     */
    public void discard(long gpa, long lengthBytes) {
        long off = gpa - baseGpa;
        if (((off | lengthBytes) & (PAGE_SIZE - 1)) != 0 || off < 0 || lengthBytes < 0 || off > sizeBytes - lengthBytes) {
            throw new IllegalArgumentException("cannot discard guest range 0x" + Long.toHexString(gpa) + "+" + lengthBytes
                    + ": it must be page aligned and inside RAM");
        }
        if (lengthBytes == 0) return;
        noteWritten(gpa, lengthBytes);
        if (template == null) {
            Mman.madvise(hvaBase + off, lengthBytes, Mman.MADV_DONTNEED);
        } else {
            // MADV_DONTNEED would bring back the template's page; a freed page should cost nothing.
            Mman.mapAnonymousFixed(hvaBase + off, lengthBytes);
            if (mergeable) Mman.madvise(hvaBase + off, lengthBytes, Mman.MADV_MERGEABLE);
        }
    }

    /**
     * Bytes of this RAM the host holds resident now (mincore over the mapping). An untouched or
     * discarded page does not count; a page the guest only read counts, as it maps the host's zero
     * page. For accounting and tests, not hot paths: it walks the whole mapping.
     */
    public long residentBytes() {
        int hostPage = Mman.pageSizeBytes();
        long chunkBytes = Math.min(sizeBytes, (long) hostPage << 16);
        long residentPages = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vector = arena.allocate(chunkBytes / hostPage + 1);
            for (long off = 0; off < sizeBytes; off += chunkBytes) {
                long len = Math.min(chunkBytes, sizeBytes - off);
                Mman.mincore(hvaBase + off, len, vector);
                long pages = (len + hostPage - 1) / hostPage;
                for (long i = 0; i < pages; i++) residentPages += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
        }
        return residentPages * hostPage;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Mman.munmap(ram);
    }
}
