package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** mmap, munmap and madvise: guest RAM is anonymous memory the kernel zero-fills lazily. */
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

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
