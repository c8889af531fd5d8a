package dev.airlock.memory;

/**
 * Where guest-physical accesses that miss RAM go: the machine's device bus.
 * Called inline on the hart's thread, so implementations must not allocate on the common path.
 */
public interface MmioHandler {
    /** Whether any device claims {@code gpa}; an unclaimed access becomes a guest access fault. */
    boolean isMapped(long gpa);

    /** Reads {@code sizeBytes} (1, 2, 4 or 8) at {@code gpa}, zero-extended. */
    long read(long gpa, int sizeBytes);

    void write(long gpa, int sizeBytes, long value);

    MmioHandler NONE = new MmioHandler() {
        @Override public boolean isMapped(long gpa) { return false; }
        @Override public long read(long gpa, int sizeBytes) { return 0; }
        @Override public void write(long gpa, int sizeBytes, long value) {}
    };
}
