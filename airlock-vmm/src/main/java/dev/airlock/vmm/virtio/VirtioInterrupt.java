package dev.airlock.vmm.virtio;

/**
 * How an activated device talks back to its transport. Called from the device's event-loop thread;
 * implementations are thread-safe and allocate nothing.
 */
public interface VirtioInterrupt {
    /** The device put buffers in the used ring of {@code queueIndex} and the ring asks to be told. */
    void signalUsedBuffers(int queueIndex);

    /** The device changed its configuration space. */
    void signalConfigChange();

    /**
     * The driver broke the protocol (a malformed ring, chain or request the device cannot answer):
     * the device stops processing and sets DEVICE_NEEDS_RESET. {@code reason} is logged once and counted.
     */
    void needsReset(String reason);

    /**
     * The device has work for {@code queueIndex} that the driver did not notify (host data arrived
     * for a receive queue, a timer asks for statistics): {@link VirtioDevice#processQueue} runs for
     * it soon on the device's event-loop thread. Safe from any thread; allocates nothing.
     */
    void requestProcessing(int queueIndex);
}
