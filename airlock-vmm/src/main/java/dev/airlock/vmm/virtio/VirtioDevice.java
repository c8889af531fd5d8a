package dev.airlock.vmm.virtio;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import java.util.List;

/**
 * A virtio device behind any transport: what it offers (type, features, queues, configuration
 * space) and the work it does once the driver has set it up.
 *
 * <p>Threads: {@link #readConfig}/{@link #writeConfig} run on hart threads and must not allocate.
 * {@link #activate}, {@link #processQueue} and {@link #reset} are serialized by the transport (never
 * two at once); {@link #processQueue} runs on a device event-loop thread, so it may block on I/O.
 */
public interface VirtioDevice extends AutoCloseable {
    /** The virtio device ID, e.g. {@link Virtio#DEVICE_ID_BLOCK}. */
    int deviceType();

    /**
     * Device-specific feature bits (below bit 24, or above bit 40). The transport adds
     * {@link Virtio#TRANSPORT_FEATURES} itself.
     */
    long deviceFeatures();

    /** How many virtqueues the device has. */
    int queueCount();

    /** The largest size the driver may give queue {@code queueIndex}; a power of two. */
    int queueMaxSize(int queueIndex);

    /** Size of the device-specific configuration space; accesses past it read 0 and are ignored. */
    int configSizeBytes();

    /**
     * Reads {@code sizeBytes} (1, 2, 4 or 8) little-endian at {@code offsetBytes}; the transport has
     * checked that the access lies inside {@link #configSizeBytes()}.
     */
    long readConfig(int offsetBytes, int sizeBytes);

    /** Writes the config space; most fields are read-only and ignore writes. */
    default void writeConfig(int offsetBytes, int sizeBytes, long value) {}

    /**
     * The driver set DRIVER_OK: start serving {@code queues} (index = queue index; a queue the
     * driver did not enable is present with {@link VirtQueue#isReady()} false) in {@code memory}.
     *
     * @param driverFeatures the negotiated feature bits (a subset of what was offered)
     */
    void activate(GuestMemory memory, List<VirtQueue> queues, long driverFeatures, VirtioInterrupt interrupt);

    /**
     * The driver notified {@code queueIndex}, or work is left from an earlier call: pop chains, serve
     * them, put them on the used ring and signal. Malformed input is reported through
     * {@link VirtioInterrupt#needsReset} or a thrown {@link dev.airlock.vmm.virtio.queue.VirtQueueException};
     * nothing the guest writes may make it throw anything else or loop forever.
     *
     * @return true if the queue may hold more work (a fairness budget ran out), so the transport runs it again
     */
    boolean processQueue(int queueIndex);

    /** Back to the state before activation: forget the queues and memory, keep the backend. */
    void reset();

    /**
     * The device's own state for a snapshot (what it keeps beyond its queues' ring positions, which
     * the transport saves), taken while the VM is stopped and no queue work runs. A device that
     * cannot be saved says so by throwing {@link IllegalStateException} with a reason for the user.
     */
    default byte[] saveState() {
        throw new IllegalStateException("virtio device type " + deviceType() + " cannot be saved in a snapshot yet");
    }

    /**
     * Puts back what {@link #saveState} saved, right after {@link #activate} on a restored VM, before
     * any queue is processed. The state may come from another VM (a template): host-side
     * connections are not in it.
     *
     * @throws IllegalArgumentException if the bytes do not fit this device
     */
    default void restoreState(java.nio.ByteBuffer state) {
        throw new IllegalStateException("virtio device type " + deviceType() + " cannot be restored from a snapshot yet");
    }

    /** Releases what the device holds on the host (files); called once, after the last reset. */
    @Override
    default void close() {}
}
