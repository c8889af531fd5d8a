package dev.airlock.store;

import java.io.IOException;

/** An I/O call of the host failed; after a failed sync the image refuses further writes (its state is unknown). */
public final class StoreIOException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreIOException(String message, IOException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }
}
