package dev.airlock.vmm.fdt;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.cpu.TimeBase;
import dev.airlock.vmm.devices.AddressMap;
import dev.airlock.vmm.devices.clint.Clint;
import dev.airlock.vmm.devices.plic.Plic;
import dev.airlock.vmm.devices.power.TestFinisher;
import dev.airlock.vmm.devices.uart.Uart16550;
import dev.airlock.vmm.devices.vmgenid.VmGenerationId;
import java.util.List;

/**
 * Builds the device tree blob the kernel boots with, as {@code research-riscv.md} found to work:
 * only what the kernel needs, with {@code riscv,isa-base} and {@code riscv,isa-extensions} always
 * present because kernels without ISA fallback ignore {@code riscv,isa} (and then lack F/D).
 *
 * <pre>
 *  /  chosen, memory@80000000, cpus (cpu@N with interrupt-controller, cpu-map),
 *     soc (test@100000?, rng@101000 (VM generation ID), clint@2000000?, plic@c000000,
 *          serial@10000000, virtio_mmio@...)
 * </pre>
 */
public final class MachineDeviceTree {
    /** The console's node, named by /chosen/stdout-path. */
    public static final String UART_PATH = "/soc/serial@" + Long.toHexString(AddressMap.UART_GPA);

    private MachineDeviceTree() {}

    public static byte[] build(MachineLayout m) {
        FdtWriter w = new FdtWriter();
        w.beginNode("");
        w.propertyU32("#address-cells", 2);
        w.propertyU32("#size-cells", 2);
        w.propertyString("compatible", "riscv-virtio");
        w.propertyString("model", "airlock");

        w.beginNode("chosen");
        w.propertyString("bootargs", m.bootargs());
        w.propertyString("stdout-path", UART_PATH);
        if (m.hasInitrd()) {
            w.propertyU64("linux,initrd-start", m.initrdStartGpa());
            w.propertyU64("linux,initrd-end", m.initrdEndGpa());
        }
        byte[] seed = m.rngSeed32();
        if (seed != null) {
            w.property("rng-seed", seed);
        }
        w.endNode();

        w.beginNode("memory@" + Long.toHexString(m.ramBaseGpa()));
        w.propertyString("device_type", "memory");
        w.propertyU64("reg", m.ramBaseGpa(), m.ramSizeBytes());
        w.endNode();

        writeCpus(w, m);
        writeSoc(w, m);
        w.endNode();
        return w.finish();
    }

    private static String cpuLabel(int hart) {
        return "cpu" + hart;
    }

    private static String intcLabel(int hart) {
        return "cpu" + hart + "-intc";
    }

    private static void writeCpus(FdtWriter w, MachineLayout m) {
        w.beginNode("cpus");
        w.propertyU32("#address-cells", 1);
        w.propertyU32("#size-cells", 0);
        w.propertyU32("timebase-frequency", (int) TimeBase.TICKS_PER_SECOND);
        String[] extensions = m.isaExtensions().toArray(String[]::new);
        for (int h = 0; h < m.harts(); h++) {
            w.beginNode("cpu@" + Integer.toHexString(h));
            w.propertyString("device_type", "cpu");
            w.propertyU32("reg", h);
            w.propertyString("status", "okay");
            w.propertyString("compatible", "riscv");
            w.propertyString("riscv,isa", m.isa());
            w.propertyString("riscv,isa-base", "rv64i");
            w.propertyStrings("riscv,isa-extensions", extensions);
            w.propertyString("mmu-type", "riscv,sv39");
            w.definePhandle(cpuLabel(h));
            w.beginNode("interrupt-controller");
            w.propertyU32("#address-cells", 0); // dtc warns about interrupt providers without it
            w.propertyU32("#interrupt-cells", 1);
            w.propertyEmpty("interrupt-controller");
            w.propertyString("compatible", "riscv,cpu-intc");
            w.definePhandle(intcLabel(h));
            w.endNode();
            w.endNode();
        }
        // One cluster of single-thread cores, so the kernel's topology matches the harts.
        w.beginNode("cpu-map");
        w.beginNode("cluster0");
        for (int h = 0; h < m.harts(); h++) {
            w.beginNode("core" + h);
            w.propertyU32("cpu", w.phandle(cpuLabel(h)));
            w.endNode();
        }
        w.endNode();
        w.endNode();
        w.endNode();
    }

    private static void writeSoc(FdtWriter w, MachineLayout m) {
        w.beginNode("soc");
        w.propertyU32("#address-cells", 2);
        w.propertyU32("#size-cells", 2);
        w.propertyString("compatible", "simple-bus");
        w.propertyEmpty("ranges");

        if (m.testFinisher()) {
            w.beginNode(unitName("test", AddressMap.TEST_FINISHER_GPA));
            w.propertyStrings("compatible", "sifive,test1", "sifive,test0", "syscon");
            w.propertyU64("reg", AddressMap.TEST_FINISHER_GPA, TestFinisher.SIZE_BYTES);
            w.endNode();
        }

        // Every VM has one, so that clones of a snapshot can be told to reseed their RNG.
        w.beginNode(unitName("rng", AddressMap.VMGENID_GPA));
        w.propertyString("compatible", "microsoft,vmgenid");
        w.propertyU64("reg", AddressMap.VMGENID_GPA, VmGenerationId.SIZE_BYTES);
        w.propertyU32("interrupts", AddressMap.VMGENID_IRQ);
        w.propertyU32("interrupt-parent", w.phandle("plic"));
        w.endNode();

        if (m.clint()) {
            w.beginNode(unitName("clint", AddressMap.CLINT_GPA));
            w.propertyStrings("compatible", "sifive,clint0", "riscv,clint0");
            w.propertyU64("reg", AddressMap.CLINT_GPA, Clint.SIZE_BYTES);
            w.propertyU32("interrupts-extended", perHart(w, m.harts(), HartInterrupts.IRQ_M_SOFT, HartInterrupts.IRQ_M_TIMER));
            w.endNode();
        }

        w.beginNode(unitName("plic", AddressMap.PLIC_GPA));
        w.propertyStrings("compatible", "sifive,plic-1.0.0", "riscv,plic0");
        w.propertyU64("reg", AddressMap.PLIC_GPA, Plic.SIZE_BYTES);
        w.propertyU32("#address-cells", 0);
        w.propertyU32("#interrupt-cells", 1);
        w.propertyEmpty("interrupt-controller");
        // Linux reads riscv,ndev as the highest source id and touches sources 1..ndev.
        w.propertyU32("riscv,ndev", Plic.MAX_SOURCE_ID);
        // Context 2h is hart h's M mode, 2h+1 its S mode; the order of this list is what says so.
        w.propertyU32("interrupts-extended", perHart(w, m.harts(), HartInterrupts.IRQ_M_EXT, HartInterrupts.IRQ_S_EXT));
        w.definePhandle("plic");
        w.endNode();

        w.beginNode(unitName("serial", AddressMap.UART_GPA));
        w.propertyString("compatible", "ns16550a");
        w.propertyU64("reg", AddressMap.UART_GPA, Uart16550.SIZE_BYTES);
        w.propertyU32("clock-frequency", Uart16550.CLOCK_FREQUENCY_HZ);
        w.propertyU32("interrupts", AddressMap.UART_IRQ);
        w.propertyU32("interrupt-parent", w.phandle("plic"));
        w.endNode();

        List<Long> virtio = m.virtioMmioBaseGpas();
        for (int i = 0; i < virtio.size(); i++) {
            long gpa = virtio.get(i);
            w.beginNode(unitName("virtio_mmio", gpa));
            w.propertyString("compatible", "virtio,mmio");
            w.propertyU64("reg", gpa, AddressMap.VIRTIO_MMIO_SIZE_BYTES);
            w.propertyU32("interrupts", AddressMap.virtioMmioIrq(i));
            w.propertyU32("interrupt-parent", w.phandle("plic"));
            w.endNode();
        }
        w.endNode();
    }

    private static String unitName(String name, long gpa) {
        return name + "@" + Long.toHexString(gpa);
    }

    /** {@code <&intc0 a &intc0 b &intc1 a &intc1 b ...>}. */
    private static int[] perHart(FdtWriter w, int harts, int first, int second) {
        int[] cells = new int[4 * harts];
        for (int h = 0; h < harts; h++) {
            int intc = w.phandle(intcLabel(h));
            cells[4 * h] = intc;
            cells[4 * h + 1] = first;
            cells[4 * h + 2] = intc;
            cells[4 * h + 3] = second;
        }
        return cells;
    }
}
