package dev.airlock.vmm.sched;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded pool of platform threads that runs harts a time slice at a time. A hart waiting in
 * WFI holds no thread: it is resubmitted by an interrupt or by a timer at its next deadline, so idle
 * VMs cost a scheduled task, not a thread. One pool serves every VM in the process.
 */
public final class HartPool implements AutoCloseable {
    private final ExecutorService workers;
    private final ScheduledExecutorService timers;
    private final int threads;

    public HartPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("a hart pool needs at least one thread, not " + threads);
        this.threads = threads;
        this.workers = Executors.newFixedThreadPool(threads, named("airlock-hart", Thread.NORM_PRIORITY));
        this.timers = Executors.newSingleThreadScheduledExecutor(named("airlock-hart-timer", Thread.MAX_PRIORITY));
    }

    /** A pool with one thread per host core. */
    public static HartPool perCore() {
        return new HartPool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() { return threads; }

    void execute(Runnable slice) {
        workers.execute(slice);
    }

    ScheduledFuture<?> wakeAfter(Runnable wake, long delayNs) {
        return timers.schedule(wake, delayNs, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        workers.shutdownNow();
        timers.shutdownNow();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
            timers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ThreadFactory named(String prefix, int priority) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.getAndIncrement());
            t.setDaemon(true);
            t.setPriority(priority);
            return t;
        };
    }
}
