package dev.airlock.vmm.virtio;

/**
 * Told about every guest-RAM range a device wrote on the guest's behalf (DMA). Harts keep decoded
 * instructions per RAM page and notice their own stores, but not a device's; a page that held code
 * and is then refilled from disk must be invalidated, or a hart would run the old instructions.
 */
@FunctionalInterface
public interface GuestWriteListener {
    /** {@code [gpa, gpa + lengthBytes)} was written; called on a device thread, after the write. */
    void written(long gpa, long lengthBytes);

    GuestWriteListener NONE = (gpa, lengthBytes) -> {};
}
