package dev.airlock.vmm.sched;

import dev.airlock.cpu.TimeBase;
import dev.airlock.cpu.rv64.Hart;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Schedules one hart on a {@link HartPool}. States: IDLE (stopped or waiting, holds no thread),
 * QUEUED, RUNNING, DONE. A wake-up that races with the hart going idle is never lost: the waker sets
 * the interrupt before calling {@link #wake}, and the runner re-checks after publishing IDLE.
 */
public final class HartTask implements Runnable {
    private static final int IDLE = 0, QUEUED = 1, RUNNING = 2, DONE = 3;
    /** Instructions per slice: a few milliseconds, so many VMs share the pool fairly. */
    static final long SLICE_INSTRUCTIONS = 500_000;

    private final Hart hart;
    private final HartPool pool;
    private final TimeBase time;
    private final Consumer<Throwable> onCrash;
    private final Runnable onHalt;
    private final AtomicInteger state = new AtomicInteger(IDLE);
    private volatile boolean wakeRequested;
    /** System.nanoTime() when the hart's first slice began, 0 before: what clone-latency benchmarks read. */
    private volatile long firstSliceNanos;
    /** Wall time spent in slices; written only by the thread that runs the hart (one at a time). */
    private volatile long runNanos;
    private ScheduledFuture<?> timer;

    /**
     * @param onHalt  called once when the hart leaves for good (the machine halted)
     * @param onCrash called if the emulator itself fails; the VM is then stopped, the pool keeps running
     */
    public HartTask(Hart hart, HartPool pool, TimeBase time, Runnable onHalt, Consumer<Throwable> onCrash) {
        this.hart = hart;
        this.pool = pool;
        this.time = time;
        this.onHalt = onHalt;
        this.onCrash = onCrash;
    }

    public Hart hart() { return hart; }

    /** Makes the hart run if it is started and idle; safe from any thread. */
    public void wake() {
        wakeRequested = true;
        if (hart.hsmState() != Hart.HSM_STARTED) return;
        if (state.compareAndSet(IDLE, QUEUED)) pool.execute(this);
    }

    /** Stops the hart for good; it leaves at its next poll if it is running. */
    public void halt() {
        hart.requestHalt();
        if (state.compareAndSet(IDLE, DONE)) onHalt.run();
        else wake();
    }

    public boolean done() { return state.get() == DONE; }

    /** {@link System#nanoTime()} when this hart first ran (the slice that executes its first instruction), or 0. */
    public long firstSliceNanos() { return firstSliceNanos; }

    /** Wall time the hart has spent running its slices (not waiting in WFI or for a pool thread). */
    public long runNanos() { return runNanos; }

    @Override
    public void run() {
        if (!state.compareAndSet(QUEUED, RUNNING)) return;
        long began = System.nanoTime();
        if (firstSliceNanos == 0) firstSliceNanos = began;
        int exit;
        try {
            wakeRequested = false;
            exit = hart.run(SLICE_INSTRUCTIONS);
        } catch (Throwable t) {
            state.set(DONE);
            onCrash.accept(t);
            return;
        } finally {
            runNanos += System.nanoTime() - began;
        }
        switch (exit) {
            case Hart.EXIT_BUDGET -> {
                state.set(QUEUED);
                pool.execute(this);
            }
            case Hart.EXIT_HALT -> {
                state.set(DONE);
                onHalt.run();
            }
            default -> goIdle(exit == Hart.EXIT_WFI);
        }
    }

    private void goIdle(boolean waitingForInterrupt) {
        state.set(IDLE);
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (!waitingForInterrupt) { // HSM-stopped: only hart_start wakes it
            if (hart.hsmState() == Hart.HSM_STARTED && wakeRequested) wake();
            return;
        }
        if (hart.wakeupPending()) {
            wake();
            return;
        }
        long deadline = hart.nextTimerDeadline();
        if (deadline != Long.MAX_VALUE) {
            long delayNs = Math.max(0, deadline - time.ticks()) * (1_000_000_000L / TimeBase.TICKS_PER_SECOND);
            timer = pool.wakeAfter(this::wake, delayNs);
        }
    }
}
