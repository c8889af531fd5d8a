package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * flock: advisory whole-file locks held by an open file description (not by the process, as
 * fcntl's record locks are), so two descriptors of one process conflict like two processes do. One
 * syscall per lock or unlock, without the JVM's table of its own file locks.
 */
public final class Flock {
    /** Operations; Linux's values. */
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

    private static final MethodHandle FLOCK = Native.errnoFunction("flock", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Flock() {}

    /**
     * Takes a shared or exclusive lock on {@code fd}'s file, converts one, or drops it ({@link #LOCK_UN}).
     *
     * @return false if {@link #LOCK_NB} was given and another open file description holds a
     *     conflicting lock (EWOULDBLOCK, an ordinary result); true otherwise
     * @throws ErrnoException for a bad descriptor or operation
     */
    public static boolean flock(int fd, int operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Native.newCaptureState(arena);
            while (true) {
                int rc = (int) FLOCK.invokeExact(state, fd, operation);
                if (rc == 0) return true;
                int errno = Native.errno(state);
                if (errno == Errno.EAGAIN) return false; // EWOULDBLOCK is EAGAIN on Linux
                if (errno != Errno.EINTR) throw new ErrnoException("flock", errno, "fd " + fd);
            }
        } catch (Throwable t) {
            throw Mman.rethrow(t);
        }
    }
}
