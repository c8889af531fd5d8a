package dev.airlock.memory;

import dev.airlock.sys.Mman;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A VM's guest-physical RAM: one contiguous range of guest frames starting at {@code baseGpa}.
 * Today every frame is backed by the VM's own anonymous mapping, which the host kernel fills
 * with zeros on first touch; templates and sharing will change which host frame backs a GFN.
 */
public final class GuestMemory implements AutoCloseable {
    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;

    private final long baseGpa;
    private final long sizeBytes;
    private final MemorySegment ram;
    private final long hvaBase;
    private volatile boolean closed;

    public GuestMemory(long baseGpa, long sizeBytes) {
        if ((baseGpa & (PAGE_SIZE - 1)) != 0 || sizeBytes <= 0 || (sizeBytes & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("guest RAM must be page aligned: base 0x"
                    + Long.toHexString(baseGpa) + ", size " + sizeBytes);
        }
        this.baseGpa = baseGpa;
        this.sizeBytes = sizeBytes;
        this.ram = Mman.mapAnonymous(sizeBytes);
        this.hvaBase = ram.address();
    }

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
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, slice(gpa, bytes.length), 0, bytes.length);
    }

    public byte[] read(long gpa, int length) {
        return slice(gpa, length).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Gives {@code [gpa, gpa + lengthBytes)} back to the host (MADV_DONTNEED): the host frames are
     * freed and the range reads as zero when next touched. The range must be page aligned and in
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
        Mman.madvise(hvaBase + off, lengthBytes, Mman.MADV_DONTNEED);
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
