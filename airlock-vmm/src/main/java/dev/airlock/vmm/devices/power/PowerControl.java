package dev.airlock.vmm.devices.power;

/**
 * What a guest's request to power off or reset does to its VM. Called on the hart thread that made
 * the request; an implementation should stop the VM asynchronously rather than block that thread.
 */
public interface PowerControl {
    /** The guest asked to power off; {@code exitCode} is 0 for success. */
    void powerOff(int exitCode);

    /** The guest asked for a reset. */
    void reset();
}
