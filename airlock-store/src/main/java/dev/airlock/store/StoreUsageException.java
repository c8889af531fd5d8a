package dev.airlock.store;

/** The caller asked for something that cannot be done (no such image, name taken, snapshot in use). */
public final class StoreUsageException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreUsageException(String message) {
        super(message);
    }
}
