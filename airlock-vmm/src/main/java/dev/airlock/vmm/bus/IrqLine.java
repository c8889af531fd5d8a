package dev.airlock.vmm.bus;

/**
 * One level-triggered interrupt wire from a device to an interrupt controller. Thread-safe: a device
 * may drive it from a hart thread or from its own I/O thread. Setting the level it already has is
 * harmless.
 */
@FunctionalInterface
public interface IrqLine {
    void set(boolean level);

    /** A wire connected to nothing, for devices tested or used without an interrupt controller. */
    IrqLine NONE = level -> {};
}
