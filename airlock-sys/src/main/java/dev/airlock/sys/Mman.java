package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * mmap, munmap, madvise and mincore: guest RAM is anonymous memory the kernel zero-fills lazily,
 * or, for a clone, a reserved range overlaid with copy-on-write mappings of its template's file
 * and anonymous runs where the template had zero pages.
 */
public final class Mman {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_NORESERVE = 0x4000, MAP_FIXED_NOREPLACE = 0x100000;
    public static final int MADV_DONTNEED = 4, MADV_REMOVE = 9, MADV_MERGEABLE = 12, MADV_UNMERGEABLE = 13,
            MADV_HUGEPAGE = 14;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle MMAP = Native.errnoFunction("mmap", FunctionDescriptor.of(
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, Native.SIZE_T, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = Native.errnoFunction("munmap", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, Native.SIZE_T));
    private static final MethodHandle MADVISE = Native.errnoFunction("madvise", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, Native.SIZE_T, ValueLayout.JAVA_INT));

    private static final MethodHandle MINCORE = Native.errnoFunction("mincore", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, Native.SIZE_T, ValueLayout.ADDRESS));
    private static final MethodHandle GETPAGESIZE = Native.errnoFunction("getpagesize", FunctionDescriptor.of(
            ValueLayout.JAVA_INT));
    /** The host's page size; mincore reports one byte per page of it. */
    private static final int PAGE_SIZE_BYTES = queryPageSize();

    private Mman() {}

    /** Maps {@code sizeBytes} of private anonymous memory; the segment is valid until {@link #munmap}. */
    public static MemorySegment mapAnonymous(long sizeBytes) {
        return mmap(MemorySegment.NULL, sizeBytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }

    /**
     * Reserves {@code sizeBytes} of address space that nothing may touch (PROT_NONE, no memory
     * committed), for a clone's RAM to be built inside with {@link #mapFilePrivateFixed} and
     * {@link #mapAnonymousFixed}. One {@link #munmap} of the reservation releases all of it.
     */
    public static MemorySegment reserve(long sizeBytes) {
        return mmap(MemorySegment.NULL, sizeBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }

    /**
     * Maps {@code [fileOffsetBytes, fileOffsetBytes + sizeBytes)} of the file open as {@code fd}
     * copy-on-write (MAP_PRIVATE) and read-write at {@code hva}, replacing whatever was mapped there.
     * Reads see the file's page-cache pages, shared with every other mapping of the file; the first
     * write to a page gives this mapping a private anonymous copy and never reaches the file, so
     * {@code fd} may be read-only. The mapping outlives {@code fd}.
     *
     * <p>MAP_FIXED silently replaces existing mappings, so {@code hva} must lie in a range the
     * caller owns, such as one from {@link #reserve}.
     */
    public static MemorySegment mapFilePrivateFixed(long hva, long sizeBytes, int fd, long fileOffsetBytes) {
        checkFixed("file", hva, sizeBytes, fileOffsetBytes);
        return fixed(hva, mmap(MemorySegment.ofAddress(hva), sizeBytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_FIXED, fd, fileOffsetBytes));
    }

    /**
     * Maps fresh private anonymous memory at {@code hva}, replacing whatever was mapped there:
     * pages read as zero (mapping the host's shared zero page) until written. Like
     * {@link #mapFilePrivateFixed}, only for ranges the caller owns.
     */
    public static MemorySegment mapAnonymousFixed(long hva, long sizeBytes) {
        checkFixed("anonymous memory", hva, sizeBytes, 0);
        return fixed(hva, mmap(MemorySegment.ofAddress(hva), sizeBytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0));
    }

    /** As {@link #mapFilePrivateFixed}, at an address the kernel chooses. */
    public static MemorySegment mapFilePrivate(long sizeBytes, int fd, long fileOffsetBytes) {
        checkMapping("file", "anywhere", sizeBytes, fileOffsetBytes);
        return mmap(MemorySegment.NULL, sizeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, fileOffsetBytes);
    }

    private static void checkFixed(String what, long hva, long sizeBytes, long fileOffsetBytes) {
        String where = "hva 0x" + Long.toHexString(hva);
        if (hva <= 0 || (hva & (PAGE_SIZE_BYTES - 1)) != 0 || hva + sizeBytes < hva) {
            throw new IllegalArgumentException("cannot map " + what + " at " + where + ": the address must be a positive"
                    + " multiple of the " + PAGE_SIZE_BYTES + "-byte page and the range must not wrap");
        }
        checkMapping(what, where, sizeBytes, fileOffsetBytes);
    }

    private static void checkMapping(String what, String where, long sizeBytes, long fileOffsetBytes) {
        if (sizeBytes <= 0 || fileOffsetBytes < 0 || ((sizeBytes | fileOffsetBytes) & (PAGE_SIZE_BYTES - 1)) != 0) {
            throw new IllegalArgumentException("cannot map " + what + " at " + where + ", " + sizeBytes
                    + " bytes from file offset " + fileOffsetBytes + ": size and offset must be multiples of the "
                    + PAGE_SIZE_BYTES + "-byte page, the size positive");
        }
    }

    private static MemorySegment fixed(long hva, MemorySegment mapped) {
        // The kernel honours MAP_FIXED or fails; anything else would mean memory we do not own was touched.
        if (mapped.address() != hva) throw new IllegalStateException("MAP_FIXED mapping landed at 0x"
                + Long.toHexString(mapped.address()) + ", not 0x" + Long.toHexString(hva));
        return mapped;
    }

    public static MemorySegment mmap(MemorySegment hint, long sizeBytes, int prot, int flags, int fd, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            MemorySegment result = (MemorySegment) MMAP.invokeExact(state, hint, sizeBytes, prot, flags, fd, offset);
            if (result.address() == MAP_FAILED) throw new ErrnoException("mmap", Native.errno(state));
            return result.reinterpret(sizeBytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void munmap(MemorySegment mapping) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            int rc = (int) MUNMAP.invokeExact(state, mapping, mapping.byteSize());
            if (rc != 0) throw new ErrnoException("munmap", Native.errno(state));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** madvise over {@code [hva, hva + sizeBytes)}; both must be page aligned. */
    public static void madvise(long hva, long sizeBytes, int advice) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            int rc = (int) MADVISE.invokeExact(state, MemorySegment.ofAddress(hva), sizeBytes, advice);
            if (rc != 0) throw new ErrnoException("madvise", Native.errno(state));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The host's base page size in bytes. */
    public static int pageSizeBytes() {
        return PAGE_SIZE_BYTES;
    }

    private static int queryPageSize() {
        try (Arena arena = Arena.ofConfined()) {
            return (int) GETPAGESIZE.invokeExact(Native.newCaptureState(arena));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * mincore over {@code [hva, hva + sizeBytes)} ({@code hva} page aligned): fills {@code vector}
     * with one byte per host page, whose low bit says whether the page is resident (in RAM, or
     * mapped to the shared zero page). {@code vector} must hold at least {@code ceil(sizeBytes /
     * pageSizeBytes())} bytes.
     */
    public static void mincore(long hva, long sizeBytes, MemorySegment vector) {
        long pages = (sizeBytes + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;
        if (sizeBytes < 0 || vector.byteSize() < pages) {
            throw new IllegalArgumentException("mincore of " + sizeBytes + " bytes needs a vector of " + pages
                    + " bytes, not " + vector.byteSize());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            int rc = (int) MINCORE.invokeExact(state, MemorySegment.ofAddress(hva), sizeBytes, vector);
            if (rc != 0) throw new ErrnoException("mincore", Native.errno(state));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
