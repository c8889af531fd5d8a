package dev.airlock.vmm.testing;

import java.lang.management.ManagementFactory;

/** Measures heap bytes allocated by the current thread, to pin the no-allocation rule of the MMIO path. */
public final class Allocations {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Allocations() {}

    /** Bytes allocated while running {@code work}, after one warm-up run. */
    public static long bytesAllocatedBy(Runnable work) {
        work.run();
        long tid = Thread.currentThread().threadId();
        long overhead = measure(tid, () -> {});
        return Math.max(0, measure(tid, work) - overhead);
    }

    private static long measure(long tid, Runnable work) {
        long before = THREADS.getThreadAllocatedBytes(tid);
        work.run();
        return THREADS.getThreadAllocatedBytes(tid) - before;
    }
}
