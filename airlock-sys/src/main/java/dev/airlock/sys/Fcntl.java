package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * open and close: raw file descriptors, for what Java's file API cannot do with a file, such as
 * {@link Mman#mapFilePrivateFixed mapping it} copy-on-write at an address of our choosing.
 * Whoever opens a descriptor owns it and closes it.
 */
public final class Fcntl {
    /** Open flags; Linux's generic values, which x86_64 and riscv64 share. */
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80,
            O_TRUNC = 0x200, O_CLOEXEC = 0x80000;

    private static final MethodHandle OPEN = Native.variadicErrnoFunction("open", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), 2);
    private static final MethodHandle CLOSE = Native.errnoFunction("close", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Fcntl() {}

    /** Opens an existing file; {@link #O_CLOEXEC} is always added so no child process inherits it. */
    public static int open(String path, int flags) {
        return open(path, flags, 0);
    }

    /** Opens or creates ({@link #O_CREAT}) a file with permission bits {@code mode}; returns the descriptor. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            MemorySegment cPath = arena.allocateFrom(path);
            while (true) {
                int fd = (int) OPEN.invokeExact(state, cPath, flags | O_CLOEXEC, mode);
                if (fd >= 0) return fd;
                int errno = Native.errno(state);
                if (errno != Errno.EINTR) throw new ErrnoException("open", errno, path);
            }
        } catch (Throwable t) {
            throw Mman.rethrow(t);
        }
    }

    /**
     * Closes {@code fd}. EINTR is not an error: Linux has released the descriptor by then, and
     * retrying could close one another thread has just been given.
     */
    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            int rc = (int) CLOSE.invokeExact(state, fd);
            if (rc != 0 && Native.errno(state) != Errno.EINTR) {
                throw new ErrnoException("close", Native.errno(state), "fd " + fd);
            }
        } catch (Throwable t) {
            throw Mman.rethrow(t);
        }
    }
}
