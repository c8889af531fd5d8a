package dev.airlock.cpu;

/** The platform's timer counter (the {@code time} CSR and CLINT's mtime), at a fixed frequency. */
public interface TimeBase {
    /** Matches the device tree's {@code timebase-frequency}. */
    long TICKS_PER_SECOND = 10_000_000L;

    long ticks();

    /** Host monotonic time since creation, so a new VM's clock starts near zero. */
    static TimeBase monotonic() {
        long start = System.nanoTime();
        return () -> (System.nanoTime() - start) / 100;
    }
}
