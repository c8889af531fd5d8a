package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** mmap, munmap, madvise and mincore: guest RAM is anonymous memory the kernel zero-fills lazily. */
public final class Mman {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4, MADV_REMOVE = 9, MADV_MERGEABLE = 12, MADV_HUGEPAGE = 14;
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
