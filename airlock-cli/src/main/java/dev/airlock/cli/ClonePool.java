package dev.airlock.cli;

import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Clones of one template made ahead of time (what Qubes calls preloaded disposables), so that taking
 * one only names and starts it: its memory is mapped, its devices attached, its state restored and
 * its generation ID new before anyone asks. A background thread keeps {@code size} of them ready
 * and makes the next as soon as one is taken; when none is ready, {@link #take} clones on the spot.
 *
 * <p>A clone in the pool holds its template as a running clone does (so {@code template rm} is
 * refused until {@link #close}), has its own CID from the start, and gets its name, vsock socket and
 * console when taken. Its guest clock starts when it is started: the time it waited in the pool is
 * not time its guest saw pass.
 */
final class ClonePool implements AutoCloseable {
    private static final AtomicInteger POOLS = new AtomicInteger();
    private static final long RETRY_MILLIS = 1000;
    /**
     * How long the filler waits after a take before it makes the next clone: mapping a clone's memory
     * takes the process's mmap lock, which the clone just taken needs too for its first page faults.
     */
    private static final long QUIET_NANOS = Long.getLong("airlock.clonePool.quietMillis", 5) * 1_000_000;

    private final Templates.Template template;
    private final int size;
    private final RuntimeDir runtime;
    private final HartPool harts;
    private final DeviceEventLoop devices;
    private final String provisionalPrefix;
    private final ArrayDeque<MicroVm> ready = new ArrayDeque<>();
    private final Thread filler;
    private boolean closed;
    private int made;
    private long lastTakeNanos = System.nanoTime() - QUIET_NANOS;

    private ClonePool(Templates.Template template, int size, RuntimeDir runtime, HartPool harts, DeviceEventLoop devices) {
        this.template = template;
        this.size = size;
        this.runtime = runtime;
        this.harts = harts;
        this.devices = devices;
        this.provisionalPrefix = "pooled-" + ProcessHandle.current().pid() + "-" + POOLS.incrementAndGet() + "-";
        this.filler = new Thread(this::fill, "airlock-clone-pool " + template.name());
        filler.setDaemon(true);
    }

    /** Starts keeping {@code size} clones of {@code template} ready. */
    static ClonePool start(Templates.Template template, int size, RuntimeDir runtime, HartPool harts, DeviceEventLoop devices) {
        if (size < 1) throw new IllegalArgumentException("a clone pool holds at least 1 clone, not " + size);
        ClonePool p = new ClonePool(template, size, runtime, harts, devices);
        p.filler.start();
        return p;
    }

    /**
     * A clone named {@code name}, its console going to {@code console}, not started yet: one made
     * ahead if there is one, else a new one.
     *
     * @throws IOException as {@link MicroVm#clone} does, or if a running VM has that name
     */
    MicroVm take(String name, OutputStream console) throws IOException {
        MicroVm m;
        synchronized (this) {
            if (closed) throw new IllegalStateException("the clone pool of template " + template.name() + " is closed");
            m = ready.poll();
            lastTakeNanos = System.nanoTime();
            notifyAll(); // the filler makes the next one
        }
        if (m == null) return MicroVm.clone(template, name, runtime, harts, devices, console);
        try {
            return m.claim(name, console);
        } catch (IOException | RuntimeException e) {
            giveBack(m);
            throw e;
        }
    }

    /** Clones ready to be taken now. */
    synchronized int ready() { return ready.size(); }

    private void giveBack(MicroVm m) {
        synchronized (this) {
            if (!closed) {
                ready.addFirst(m);
                return;
            }
        }
        closeQuietly(m);
    }

    private void fill() {
        boolean failing = false;
        while (true) {
            String name;
            synchronized (this) {
                while (!closed && ready.size() >= size) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                // Out of the way of the clone just taken (see QUIET_NANOS), unless closed meanwhile.
                long quiet;
                while (!closed && (quiet = lastTakeNanos + QUIET_NANOS - System.nanoTime()) > 0) {
                    try {
                        wait(Math.max(1, quiet / 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) return;
                name = provisionalPrefix + made++;
            }
            MicroVm m;
            try {
                m = MicroVm.clone(template, name, runtime, harts, devices, new ConsoleSwitch());
                failing = false;
            } catch (IOException | RuntimeException e) {
                // Say it once, then keep trying: take() clones on the spot meanwhile and reports its own error.
                if (!failing) {
                    System.err.println("airlock: the clone pool of template " + template.name() + " could not make a clone ahead: "
                            + e.getMessage() + " (retrying every " + RETRY_MILLIS / 1000 + " s)");
                }
                failing = true;
                try {
                    Thread.sleep(RETRY_MILLIS);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            giveBack(m);
        }
    }

    /** Stops making clones and closes those not taken; the template is free once this returns. */
    @Override
    public void close() throws InterruptedException {
        List<MicroVm> left;
        synchronized (this) {
            if (closed) return;
            closed = true;
            notifyAll();
        }
        filler.join();
        synchronized (this) {
            left = new ArrayList<>(ready);
            ready.clear();
        }
        for (MicroVm m : left) closeQuietly(m);
    }

    private static void closeQuietly(MicroVm m) {
        try {
            m.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
