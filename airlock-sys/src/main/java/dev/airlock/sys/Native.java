package dev.airlock.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** Shared plumbing for the syscall families: the linker, libc lookup and errno capture. */
final class Native {
    static final Linker LINKER = Linker.nativeLinker();
    static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private Native() {}

    /** A libc function whose errno is captured into a segment passed as the first argument. */
    static MethodHandle errnoFunction(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE);
    }

    /**
     * A variadic libc function such as {@code open}, whose fixed arguments are the first
     * {@code fixedArgs}; errno is captured as for {@link #errnoFunction(String, FunctionDescriptor)}.
     */
    static MethodHandle variadicErrnoFunction(String name, FunctionDescriptor descriptor, int fixedArgs) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE, Linker.Option.firstVariadicArg(fixedArgs));
    }

    private static MemorySegment symbol(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    static MemorySegment newCaptureState(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    static int errno(MemorySegment captureState) {
        return (int) ERRNO.get(captureState, 0L);
    }

    static final ValueLayout.OfLong SIZE_T = ValueLayout.JAVA_LONG;
}
