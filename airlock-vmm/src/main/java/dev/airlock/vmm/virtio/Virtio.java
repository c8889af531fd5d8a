package dev.airlock.vmm.virtio;

/**
 * Numbers from the virtio 1.x specification that every transport and device shares: device IDs,
 * device status bits and the reserved (device-independent) feature bits. Feature constants are
 * masks over the 64-bit feature word, not bit numbers.
 */
public final class Virtio {
    private Virtio() {}

    // Device IDs (spec 5, "Device Types"). 0 is "no device here".
    public static final int DEVICE_ID_NONE = 0;
    public static final int DEVICE_ID_BLOCK = 2;
    public static final int DEVICE_ID_ENTROPY = 4;
    public static final int DEVICE_ID_BALLOON = 5;
    public static final int DEVICE_ID_VSOCK = 19;

    // Device status bits (spec 2.1).
    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    // Reserved feature bits (spec 6).
    public static final long F_RING_INDIRECT_DESC = 1L << 28;
    public static final long F_RING_EVENT_IDX = 1L << 29;
    public static final long F_VERSION_1 = 1L << 32;
    public static final long F_ACCESS_PLATFORM = 1L << 33;
    public static final long F_RING_PACKED = 1L << 34;

    /** Features the split-ring implementation gives every device; the transport offers them on each device's behalf. */
    public static final long TRANSPORT_FEATURES = F_VERSION_1 | F_RING_INDIRECT_DESC | F_RING_EVENT_IDX;

    /** Bits 24..40 belong to the transport and ring; a device must not claim them for itself. */
    public static final long RESERVED_FEATURE_MASK = ((1L << 41) - 1) & ~((1L << 24) - 1);

    // Interrupt status bits (spec 4.2.2, InterruptStatus).
    public static final int INTERRUPT_USED_BUFFER = 1;
    public static final int INTERRUPT_CONFIG_CHANGE = 2;

    /** The largest split queue the spec allows. */
    public static final int MAX_QUEUE_SIZE = 32768;
}
