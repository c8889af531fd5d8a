package dev.airlock.vmm.devices;

/**
 * The Airlock machine's guest-physical address map and interrupt numbers, shared by the code that
 * registers devices on the bus and the code that describes them in the device tree. It follows the
 * layout of the common RISC-V "virt" machine, so guests and tools find devices where they expect.
 *
 * <pre>
 *  0x0010_0000  test finisher            0x1000    (optional)
 *  0x0010_1000  VM generation ID         0x10      PLIC source 12
 *  0x0200_0000  CLINT                    0x1_0000  (optional: SBI is in the hypervisor)
 *  0x0C00_0000  PLIC                     0x60_0000
 *  0x1000_0000  UART 16550A              0x100     PLIC source 10
 *  0x1000_1000  virtio-mmio slot 0..7    0x1000    PLIC source slot + 1
 *  0x8000_0000  RAM
 * </pre>
 */
public final class AddressMap {
    public static final long TEST_FINISHER_GPA = 0x0010_0000L;
    /** The 16-byte VM generation ID ({@code "microsoft,vmgenid"}), alone in its page. */
    public static final long VMGENID_GPA = 0x0010_1000L;
    /** Sources 1..8 are the virtio slots', 10 the UART's; 11 is left for an RTC where QEMU's virt machine has one. */
    public static final int VMGENID_IRQ = 12;
    public static final long CLINT_GPA = 0x0200_0000L;
    public static final long PLIC_GPA = 0x0C00_0000L;
    public static final long UART_GPA = 0x1000_0000L;
    public static final int UART_IRQ = 10;
    public static final long VIRTIO_MMIO_GPA = 0x1000_1000L;
    public static final long VIRTIO_MMIO_SIZE_BYTES = 0x1000;
    public static final int VIRTIO_MMIO_SLOTS = 8;
    public static final long RAM_GPA = 0x8000_0000L;

    private AddressMap() {}

    /** Base of virtio-mmio slot {@code slot} (0-based). */
    public static long virtioMmioGpa(int slot) {
        return VIRTIO_MMIO_GPA + slot * VIRTIO_MMIO_SIZE_BYTES;
    }

    /** The PLIC source of virtio-mmio slot {@code slot}: the device tree says index + 1. */
    public static int virtioMmioIrq(int slot) {
        return slot + 1;
    }
}
