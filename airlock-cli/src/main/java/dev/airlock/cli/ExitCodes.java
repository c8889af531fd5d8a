package dev.airlock.cli;

/** Exit codes of the airlock command; the guest's own code passes through unchanged otherwise. */
final class ExitCodes {
    static final int USAGE = 2;
    /** The VM itself failed: the kernel panicked, the emulator failed, or no command result came back. */
    static final int VM_FAILED = 125;
    /** Like timeout(1): the guest ran past --timeout. */
    static final int TIMEOUT = 124;

    private ExitCodes() {}
}
