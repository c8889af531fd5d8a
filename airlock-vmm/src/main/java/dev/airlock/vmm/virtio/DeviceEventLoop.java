package dev.airlock.vmm.virtio;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The threads that do device work (virtqueue processing, block I/O) so that a hart's MMIO write
 * only records a notification and returns. One loop serves any number of devices and VMs: each
 * device gets a {@link Task} pinned to one of the loop's platform threads ("lanes"), so a device's
 * work never runs on two threads at once.
 *
 * <p>{@link Task#schedule()} is what the MMIO path calls: a compare-and-set and, when the lane
 * sleeps, an unpark; it allocates nothing. A task scheduled while it runs runs once more afterwards,
 * so no notification is lost and none is duplicated into parallel runs.
 *
 * <p>{@link #inline()} runs tasks on the caller's thread instead, for deterministic tests.
 */
public final class DeviceEventLoop implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(DeviceEventLoop.class.getName());

    private final Lane[] lanes;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final AtomicInteger taskFailures = new AtomicInteger();

    private DeviceEventLoop(int threads, String name) {
        lanes = new Lane[threads];
        for (int i = 0; i < threads; i++) {
            lanes[i] = new Lane(this, name + "-" + i);
        }
        for (Lane lane : lanes) lane.thread.start();
    }

    /**
     * Starts {@code threads} platform daemon threads named {@code name-N}. One or two serve many VMs:
     * a device's work is short or blocked in I/O.
     */
    public static DeviceEventLoop start(int threads, String name) {
        if (threads < 1 || threads > 64) throw new IllegalArgumentException("device threads must be 1..64, not " + threads);
        return new DeviceEventLoop(threads, Objects.requireNonNull(name, "name"));
    }

    /** A loop without threads: {@link Task#schedule()} runs the task at once on the calling thread. */
    public static DeviceEventLoop inline() {
        return new DeviceEventLoop(0, "inline");
    }

    public int threads() { return lanes.length; }

    /** Tasks that threw; each was logged. */
    public int taskFailures() { return taskFailures.get(); }

    /** A task that runs {@code body} on one of this loop's lanes each time it is scheduled. */
    public Task newTask(Runnable body) {
        Objects.requireNonNull(body, "body");
        Lane lane = lanes.length == 0 ? null : lanes[Math.floorMod(nextLane.getAndIncrement(), lanes.length)];
        return new Task(this, lane, body);
    }

    /**
     * Stops the threads after the work already scheduled and waits for them; tasks scheduled later
     * are dropped. Close the transports first, so no device is left without its thread.
     */
    @Override
    public void close() {
        for (Lane lane : lanes) {
            lane.closed = true;
            LockSupport.unpark(lane.thread);
        }
        boolean interrupted = false;
        for (Lane lane : lanes) {
            while (lane.thread.isAlive()) {
                try {
                    lane.thread.join();
                } catch (InterruptedException e) {
                    // Keep waiting: returning early would leave a thread that may still touch guest RAM.
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void failed(Throwable t) {
        taskFailures.incrementAndGet();
        LOG.log(Level.SEVERE, "device task failed; the device keeps its state and the loop keeps running", t);
    }

    /** A unit of device work with an idle/queued/running state machine. */
    public static final class Task {
        private static final int IDLE = 0, QUEUED = 1, RUNNING = 2, RUNNING_AGAIN = 3;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Task.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final DeviceEventLoop loop;
        private final Lane lane;
        private final Runnable body;
        @SuppressWarnings("unused") // through STATE
        private volatile int state;
        /** Link in the lane's stack of queued tasks; written before the push that publishes it. */
        Task next;

        private Task(DeviceEventLoop loop, Lane lane, Runnable body) {
            this.loop = loop;
            this.lane = lane;
            this.body = body;
        }

        /** Makes the task run soon (or, inline, now). Allocation-free; safe from any thread. */
        public void schedule() {
            while (true) {
                int s = state;
                if (s == QUEUED || s == RUNNING_AGAIN) return;
                if (s == IDLE) {
                    if (STATE.compareAndSet(this, IDLE, QUEUED)) {
                        if (lane == null) runInline();
                        else lane.push(this);
                        return;
                    }
                } else if (STATE.compareAndSet(this, RUNNING, RUNNING_AGAIN)) {
                    return;
                }
            }
        }

        private void runInline() {
            // A schedule from inside the body only marks RUNNING_AGAIN, so this loops instead of recursing.
            while (runOnce()) {
                // scheduled again while it ran
            }
        }

        /**
         * Runs the body once.
         *
         * @return true if it was scheduled while running and is now QUEUED (the caller re-queues it),
         *         false if it is IDLE (a later schedule queues it itself)
         */
        boolean runOnce() {
            STATE.setVolatile(this, RUNNING);
            try {
                body.run();
            } catch (Throwable t) {
                loop.failed(t);
            }
            if (STATE.compareAndSet(this, RUNNING, IDLE)) return false;
            STATE.setVolatile(this, QUEUED);
            return true;
        }

        /** Whether the task is idle: neither queued nor running. */
        public boolean isIdle() {
            return state == IDLE;
        }
    }

    /** One platform thread and its lock-free stack of queued tasks. */
    private static final class Lane implements Runnable {
        private static final VarHandle HEAD;

        static {
            try {
                HEAD = MethodHandles.lookup().findVarHandle(Lane.class, "head", Task.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final DeviceEventLoop loop;
        final Thread thread;
        @SuppressWarnings("unused") // through HEAD
        private volatile Task head;
        private volatile boolean sleeping;
        volatile boolean closed;

        Lane(DeviceEventLoop loop, String name) {
            this.loop = loop;
            this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this);
        }

        void push(Task task) {
            Task h;
            do {
                h = head;
                task.next = h;
            } while (!HEAD.compareAndSet(this, h, task));
            // Dekker with the lane's "sleeping = true; recheck head": one of us sees the other.
            if (sleeping) {
                sleeping = false;
                LockSupport.unpark(thread);
            }
        }

        @Override
        public void run() {
            while (true) {
                Task batch = (Task) HEAD.getAndSet(this, (Task) null);
                if (batch == null) {
                    if (closed) return;
                    sleeping = true;
                    if (head == null && !closed) LockSupport.park(this);
                    sleeping = false;
                    continue;
                }
                // The stack is newest first; reverse it so tasks run in the order they were scheduled.
                Task ordered = null;
                while (batch != null) {
                    Task next = batch.next;
                    batch.next = ordered;
                    ordered = batch;
                    batch = next;
                }
                while (ordered != null) {
                    Task task = ordered;
                    ordered = task.next;
                    task.next = null;
                    if (task.runOnce()) push(task);
                }
            }
        }
    }
}
