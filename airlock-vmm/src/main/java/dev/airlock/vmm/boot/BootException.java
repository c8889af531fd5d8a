package dev.airlock.vmm.boot;

/** A VM could not be built from what the user supplied; the message is one line that says how to fix it. */
public final class BootException extends Exception {
    public BootException(String message) {
        super(message);
    }
}
