package dev.airlock.vmm.bus;

/**
 * A device on the {@link Bus}: a window of registers addressed relative to its base.
 *
 * <p>Called inline on hart threads, possibly several at once, so implementations are thread-safe
 * and allocate nothing on the read/write path. An offset the device does not implement reads 0 and
 * ignores writes: guests probe, and a probe must not crash the VMM.
 */
public interface BusDevice {
    /** Reads {@code sizeBytes} (1, 2, 4 or 8) at {@code offsetBytes} from the device's base, zero-extended. */
    long read(long offsetBytes, int sizeBytes);

    /** Writes the low {@code sizeBytes} of {@code value} at {@code offsetBytes} from the device's base. */
    void write(long offsetBytes, int sizeBytes, long value);

    /** Returns the device to its power-on state, as on a machine reset. */
    default void reset() {}
}
