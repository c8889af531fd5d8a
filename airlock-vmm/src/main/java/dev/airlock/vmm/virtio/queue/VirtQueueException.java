package dev.airlock.vmm.virtio.queue;

/**
 * The driver broke the virtqueue protocol: a ring index, descriptor or chain that no correct driver
 * produces. The device cannot trust the queue any more; the transport answers with
 * DEVICE_NEEDS_RESET and the message says what was wrong, for the log.
 */
public final class VirtQueueException extends RuntimeException {
    public VirtQueueException(String message) {
        // No stack trace: the message is the diagnosis, and a hostile guest can make these often.
        super(message, null, false, false);
    }
}
