package dev.airlock.cli;

/** A mistake in how the command was called: printed as one line plus the usage, exit code 2. */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
