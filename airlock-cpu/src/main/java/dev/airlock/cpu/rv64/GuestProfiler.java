package dev.airlock.cpu.rv64;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A sampling profiler of guest code, to find where a workload's guest time goes:
 * {@code -Dairlock.cpu.profile=FILE} samples every hart's pc and privilege about every 200 µs and writes
 * "count privilege pc" lines to FILE when the JVM exits ({@code scripts/guest-profile.py} puts kernel
 * symbols on them). A hart publishes pc when a block exits, and at each jump, generic instruction or
 * trap the interpreter meets, so a sample names the block or run of straight-line code it was in, not
 * the exact instruction; the reads race with the hart,
 * which is fine for a histogram. Off by default: then harts are not even registered.
 */
final class GuestProfiler {
    private static final String FILE = System.getProperty("airlock.cpu.profile");
    private static final GuestProfiler FROM_PROPERTY = FILE == null ? null : fromProperty(Path.of(FILE));

    private final ConcurrentLinkedQueue<WeakReference<Hart>> harts = new ConcurrentLinkedQueue<>();
    private final Map<Long, int[]> samples = new HashMap<>();
    private final long periodNanos;
    private volatile boolean stopped;

    GuestProfiler(long periodNanos) {
        this.periodNanos = periodNanos;
        Thread t = new Thread(this::sample, "airlock-guest-profiler");
        t.setDaemon(true);
        t.start();
    }

    private static GuestProfiler fromProperty(Path file) {
        GuestProfiler p = new GuestProfiler(200_000);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                p.writeTo(file);
            } catch (IOException e) {
                System.err.println("airlock: cannot write the guest profile " + file + ": " + e.getMessage());
            }
        }));
        return p;
    }

    /** Samples {@code hart} from now on if {@code -Dairlock.cpu.profile} is set. */
    static void register(Hart hart) {
        if (FROM_PROPERTY != null) FROM_PROPERTY.add(hart);
    }

    void add(Hart hart) {
        harts.add(new WeakReference<>(hart));
    }

    void stop() {
        stopped = true;
    }

    private void sample() {
        while (!stopped) {
            LockSupport.parkNanos(periodNanos);
            synchronized (samples) {
                for (WeakReference<Hart> ref : harts) {
                    Hart h = ref.get();
                    if (h == null) continue;
                    long key = (h.pc & ~3L) | h.privilege(); // instructions are 2-byte aligned: bit 1 is lost, no more
                    samples.computeIfAbsent(key, k -> new int[1])[0]++;
                }
            }
        }
    }

    /** Samples so far, by (pc with its low two bits cleared) | privilege. */
    Map<Long, Integer> histogram() {
        Map<Long, Integer> copy = new HashMap<>();
        synchronized (samples) {
            samples.forEach((k, v) -> copy.put(k, v[0]));
        }
        return copy;
    }

    void writeTo(Path file) throws IOException {
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file))) {
            for (Map.Entry<Long, Integer> e : histogram().entrySet()) {
                out.printf("%d %d %x%n", e.getValue(), e.getKey() & 3, e.getKey() & ~3L);
            }
        }
    }
}
