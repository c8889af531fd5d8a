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

    /** A VM's clock: host monotonic time that can be set to carry on from a snapshot's tick count. */
    final class Resumable implements TimeBase {
        private final long startNanos = System.nanoTime();
        private volatile long offsetTicks;

        @Override
        public long ticks() {
            return (System.nanoTime() - startNanos) / 100 + offsetTicks;
        }

        /** From now on the clock reads {@code ticks} and counts on from there (a restored guest sees no jump back). */
        public void resumeAt(long ticks) {
            offsetTicks = ticks - (System.nanoTime() - startNanos) / 100;
        }
    }
}
