package dev.airlock.vmm.fdt;

import dev.airlock.vmm.devices.AddressMap;
import dev.airlock.vmm.devices.plic.Plic;
import java.util.List;
import java.util.Objects;

/**
 * What the device tree tells the guest about one machine: harts, RAM, boot arguments, initramfs,
 * virtio-mmio slots and the ISA. Fixed device addresses come from {@link AddressMap}.
 *
 * @param harts number of harts, numbered 0..harts-1
 * @param initrdStartGpa start of the initramfs in RAM; with {@code initrdEndGpa} both 0 for none
 * @param initrdEndGpa end (exclusive) of the initramfs
 * @param rngSeed32 32 bytes of entropy for early boot, or null for none (early boot may then wait)
 * @param virtioMmioBaseGpas one 0x1000-byte virtio-mmio window per entry; entry i uses PLIC source i + 1
 * @param isa the legacy {@code riscv,isa} string, which kernels without ISA fallback ignore
 * @param isaExtensions the {@code riscv,isa-extensions} list, which kernels do read: add "sstc" here
 * @param clint whether to describe a CLINT (M-mode software needs it; Linux on our SBI does not)
 * @param testFinisher whether to describe the SiFive test finisher
 */
public record MachineLayout(
        int harts,
        long ramBaseGpa,
        long ramSizeBytes,
        String bootargs,
        long initrdStartGpa,
        long initrdEndGpa,
        byte[] rngSeed32,
        List<Long> virtioMmioBaseGpas,
        String isa,
        List<String> isaExtensions,
        boolean clint,
        boolean testFinisher) {

    /** RV64GC as the Debian kernel needs it. */
    public static final String DEFAULT_ISA = "rv64imafdc_zicsr_zifencei";
    /** The extensions of {@link #DEFAULT_ISA} plus the {@code time} counter CSRs (Zicntr). */
    public static final List<String> DEFAULT_ISA_EXTENSIONS =
            List.of("i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zicntr");

    public MachineLayout {
        if (harts < 1 || harts > Plic.MAX_HARTS) {
            throw new IllegalArgumentException("harts must be 1.." + Plic.MAX_HARTS + ", got " + harts);
        }
        if (ramBaseGpa < 0 || ramSizeBytes <= 0 || ramBaseGpa + ramSizeBytes < 0) {
            throw new IllegalArgumentException(String.format(
                    "RAM at 0x%x size 0x%x is not a usable range", ramBaseGpa, ramSizeBytes));
        }
        Objects.requireNonNull(bootargs, "bootargs (use \"\" for none)");
        if (initrdStartGpa != 0 || initrdEndGpa != 0) {
            if (initrdStartGpa >= initrdEndGpa || initrdStartGpa < ramBaseGpa || initrdEndGpa > ramBaseGpa + ramSizeBytes) {
                throw new IllegalArgumentException(String.format(
                        "initramfs [0x%x, 0x%x) must be a non-empty range inside RAM [0x%x, 0x%x)",
                        initrdStartGpa, initrdEndGpa, ramBaseGpa, ramBaseGpa + ramSizeBytes));
            }
        }
        if (rngSeed32 != null) {
            if (rngSeed32.length != 32) {
                throw new IllegalArgumentException("rng-seed must be 32 bytes, got " + rngSeed32.length);
            }
            rngSeed32 = rngSeed32.clone();
        }
        virtioMmioBaseGpas = List.copyOf(virtioMmioBaseGpas);
        if (virtioMmioBaseGpas.size() > AddressMap.VIRTIO_MMIO_SLOTS) {
            // PLIC sources 1..8 are theirs; 10 is the UART's.
            throw new IllegalArgumentException("at most " + AddressMap.VIRTIO_MMIO_SLOTS
                    + " virtio-mmio devices, got " + virtioMmioBaseGpas.size());
        }
        for (long gpa : virtioMmioBaseGpas) {
            if (gpa < 0 || (gpa & (AddressMap.VIRTIO_MMIO_SIZE_BYTES - 1)) != 0) {
                throw new IllegalArgumentException(String.format(
                        "virtio-mmio base 0x%x is not 0x%x-aligned", gpa, AddressMap.VIRTIO_MMIO_SIZE_BYTES));
            }
        }
        Objects.requireNonNull(isa, "isa");
        if (!isa.startsWith("rv64")) {
            throw new IllegalArgumentException("isa must describe an rv64 hart, got '" + isa + "'");
        }
        isaExtensions = List.copyOf(isaExtensions);
        if (isaExtensions.isEmpty() || !isaExtensions.contains("i")) {
            throw new IllegalArgumentException("isaExtensions must list at least \"i\", got " + isaExtensions);
        }
    }

    /** A layout without CLINT and test finisher: what Linux on the hypervisor's SBI needs. */
    public MachineLayout(int harts, long ramBaseGpa, long ramSizeBytes, String bootargs, long initrdStartGpa,
            long initrdEndGpa, byte[] rngSeed32, List<Long> virtioMmioBaseGpas, String isa, List<String> isaExtensions) {
        this(harts, ramBaseGpa, ramSizeBytes, bootargs, initrdStartGpa, initrdEndGpa, rngSeed32, virtioMmioBaseGpas,
                isa, isaExtensions, false, false);
    }

    /**
     * A machine with RAM at {@link AddressMap#RAM_GPA}, no initramfs, no virtio devices, the default
     * ISA, and neither CLINT nor test finisher.
     */
    public static MachineLayout of(int harts, long ramSizeBytes, String bootargs, byte[] rngSeed32) {
        return new MachineLayout(harts, AddressMap.RAM_GPA, ramSizeBytes, bootargs, 0, 0, rngSeed32,
                List.of(), DEFAULT_ISA, DEFAULT_ISA_EXTENSIONS, false, false);
    }

    public MachineLayout withInitrd(long startGpa, long endGpa) {
        return new MachineLayout(harts, ramBaseGpa, ramSizeBytes, bootargs, startGpa, endGpa, rngSeed32,
                virtioMmioBaseGpas, isa, isaExtensions, clint, testFinisher);
    }

    public MachineLayout withVirtioMmio(List<Long> baseGpas) {
        return new MachineLayout(harts, ramBaseGpa, ramSizeBytes, bootargs, initrdStartGpa, initrdEndGpa,
                rngSeed32, baseGpas, isa, isaExtensions, clint, testFinisher);
    }

    public MachineLayout withIsa(String isa, List<String> isaExtensions) {
        return new MachineLayout(harts, ramBaseGpa, ramSizeBytes, bootargs, initrdStartGpa, initrdEndGpa,
                rngSeed32, virtioMmioBaseGpas, isa, isaExtensions, clint, testFinisher);
    }

    public MachineLayout withClint(boolean clint) {
        return new MachineLayout(harts, ramBaseGpa, ramSizeBytes, bootargs, initrdStartGpa, initrdEndGpa,
                rngSeed32, virtioMmioBaseGpas, isa, isaExtensions, clint, testFinisher);
    }

    public MachineLayout withTestFinisher(boolean testFinisher) {
        return new MachineLayout(harts, ramBaseGpa, ramSizeBytes, bootargs, initrdStartGpa, initrdEndGpa,
                rngSeed32, virtioMmioBaseGpas, isa, isaExtensions, clint, testFinisher);
    }

    public boolean hasInitrd() {
        return initrdEndGpa != 0;
    }

    /** A copy, so the record stays immutable. */
    @Override
    public byte[] rngSeed32() {
        return rngSeed32 == null ? null : rngSeed32.clone();
    }
}
