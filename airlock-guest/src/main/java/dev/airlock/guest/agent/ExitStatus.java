package dev.airlock.guest.agent;

import java.util.OptionalInt;

/** How a guest process ended: it exited with a code, or a signal killed it. */
public record ExitStatus(boolean signaled, int value) {

    public static ExitStatus exited(int code) {
        return new ExitStatus(false, code);
    }

    public static ExitStatus killedBy(int signal) {
        return new ExitStatus(true, signal);
    }

    /** The exit code, or 128 + the signal number as a shell reports it. */
    public int exitCode() {
        return signaled ? 128 + value : value;
    }

    /** The signal that killed the process, if one did. */
    public OptionalInt signal() {
        return signaled ? OptionalInt.of(value) : OptionalInt.empty();
    }

    public boolean success() {
        return !signaled && value == 0;
    }

    @Override
    public String toString() {
        return signaled ? "killed by signal " + value : "exit " + value;
    }
}
