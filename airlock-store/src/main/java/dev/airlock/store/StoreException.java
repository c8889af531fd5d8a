package dev.airlock.store;

/** Base of the store's unchecked exceptions: the block-device API is called from device loops, not user code. */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
