package dev.airlock.vmm;

import java.util.List;

/**
 * How a VM ended. {@code exitCode} is the guest's own (from a test finisher, or -1 when the guest gave none).
 */
public record VmResult(Outcome outcome, String reason, int exitCode, List<String> consoleTail, long instructions,
                       long wallNanos) {
    public enum Outcome {
        /** The guest powered off. */
        POWEROFF,
        /** The guest asked to reboot; like Firecracker, the VM ends there. */
        REBOOT,
        /** The guest kernel panicked. */
        PANIC,
        /** The VM ran past its time limit and was stopped. */
        TIMEOUT,
        /** The host stopped it, or the emulator failed for this VM only. */
        STOPPED
    }
}
