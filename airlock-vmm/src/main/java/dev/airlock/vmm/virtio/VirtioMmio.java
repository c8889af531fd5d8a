package dev.airlock.vmm.virtio;

/**
 * Register layout of a virtio-mmio device, version 2 (virtio 1.x spec 4.2.2). Every register is
 * 32 bits wide and little-endian; the device-specific configuration space starts at 0x100.
 *
 * <pre>
 *  0x000 MagicValue "virt"     R   0x030 QueueSel           W   0x080 QueueDescLow        W
 *  0x004 Version = 2           R   0x034 QueueNumMax        R   0x084 QueueDescHigh       W
 *  0x008 DeviceID              R   0x038 QueueNum           W   0x090 QueueDriverLow      W
 *  0x00c VendorID              R   0x044 QueueReady         RW  0x094 QueueDriverHigh     W
 *  0x010 DeviceFeatures        R   0x050 QueueNotify        W   0x0a0 QueueDeviceLow      W
 *  0x014 DeviceFeaturesSel     W   0x060 InterruptStatus    R   0x0a4 QueueDeviceHigh     W
 *  0x020 DriverFeatures        W   0x064 InterruptACK       W   0x0ac SHMSel              W
 *  0x024 DriverFeaturesSel     W   0x070 Status             RW  0x0b0 SHMLen Low/High     R
 *                                                               0x0b8 SHMBase Low/High    R
 *                                                               0x0fc ConfigGeneration    R
 *  0x100 device configuration space ...
 * </pre>
 */
public final class VirtioMmio {
    private VirtioMmio() {}

    public static final int MAGIC_VALUE = 0x000;
    public static final int VERSION = 0x004;
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    public static final int SHM_SEL = 0x0ac;
    public static final int SHM_LEN_LOW = 0x0b0;
    public static final int SHM_LEN_HIGH = 0x0b4;
    public static final int SHM_BASE_LOW = 0x0b8;
    public static final int SHM_BASE_HIGH = 0x0bc;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;

    /** "virt" in little-endian ASCII. */
    public static final int MAGIC = 0x74726976;
    /** Version 2 is the virtio 1.x (non-legacy) register layout. */
    public static final int VERSION_2 = 2;
    /** "AIRL", so a guest can tell whose device it is talking to. */
    public static final int AIRLOCK_VENDOR_ID = 0x4c524941;
    /** Each slot's window. */
    public static final long WINDOW_SIZE_BYTES = 0x1000;
}
