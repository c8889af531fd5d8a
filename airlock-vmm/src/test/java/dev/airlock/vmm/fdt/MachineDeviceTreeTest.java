package dev.airlock.vmm.fdt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MachineDeviceTreeTest {
    private static byte[] seed() {
        byte[] s = new byte[32];
        for (int i = 0; i < 32; i++) {
            s[i] = (byte) (i * 7 + 1);
        }
        return s;
    }

    /** Everything on: two harts, initramfs, two virtio slots, CLINT and test finisher. */
    private static MachineLayout full() {
        return MachineLayout.of(2, 256L << 20, "console=ttyS0 no4lvl", seed())
                .withInitrd(0x8820_0000L, 0x8830_0000L)
                .withVirtioMmio(List.of(0x1000_1000L, 0x1000_2000L))
                .withClint(true)
                .withTestFinisher(true);
    }

    private static Dtc.Result dtc(MachineLayout m) throws IOException, InterruptedException {
        Dtc.Result r = Dtc.decompile(MachineDeviceTree.build(m));
        assertEquals(0, r.exitCode(), "dtc failed: " + r.warnings());
        assertEquals("", r.warnings().strip(), "dtc warned about our tree");
        return r;
    }

    private static void assertHas(String dts, String line) {
        assertTrue(dts.contains(line), "dtc output lacks [" + line + "]:\n" + dts);
    }

    @Test
    void dtcReadsTheFullTreeWithoutWarnings() throws Exception {
        String dts = dtc(full()).dts();
        assertHas(dts, "#address-cells = <0x02>;");
        assertHas(dts, "compatible = \"riscv-virtio\";");
        assertHas(dts, "model = \"airlock\";");
        assertHas(dts, "bootargs = \"console=ttyS0 no4lvl\";");
        assertHas(dts, "stdout-path = \"/soc/serial@10000000\";");
        assertHas(dts, "linux,initrd-start = <0x00 0x88200000>;");
        assertHas(dts, "linux,initrd-end = <0x00 0x88300000>;");
        assertHas(dts, "rng-seed = <0x1080f16 ");
        assertHas(dts, "memory@80000000 {");
        assertHas(dts, "device_type = \"memory\";");
        assertHas(dts, "reg = <0x00 0x80000000 0x00 0x10000000>;");
        assertHas(dts, "timebase-frequency = <0x989680>;");
        assertHas(dts, "cpu@0 {");
        assertHas(dts, "cpu@1 {");
        assertHas(dts, "riscv,isa = \"rv64imafdc_zicsr_zifencei\";");
        assertHas(dts, "riscv,isa-base = \"rv64i\";");
        assertHas(dts, "riscv,isa-extensions = \"i\\0m\\0a\\0f\\0d\\0c\\0zicsr\\0zifencei\\0zicntr\";");
        assertHas(dts, "mmu-type = \"riscv,sv39\";");
        assertHas(dts, "compatible = \"riscv,cpu-intc\";");
        assertHas(dts, "cpu-map {");
        assertHas(dts, "compatible = \"simple-bus\";");
        assertHas(dts, "ranges;");
        assertHas(dts, "plic@c000000 {");
        assertHas(dts, "compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";");
        assertHas(dts, "reg = <0x00 0xc000000 0x00 0x600000>;");
        assertHas(dts, "riscv,ndev = <0x5f>;");
        assertHas(dts, "serial@10000000 {");
        assertHas(dts, "compatible = \"ns16550a\";");
        assertHas(dts, "interrupts = <0x0a>;");
        assertHas(dts, "clint@2000000 {");
        assertHas(dts, "compatible = \"sifive,clint0\\0riscv,clint0\";");
        assertHas(dts, "test@100000 {");
        assertHas(dts, "compatible = \"sifive,test1\\0sifive,test0\\0syscon\";");
        assertHas(dts, "virtio_mmio@10001000 {");
        assertHas(dts, "virtio_mmio@10002000 {");
        assertHas(dts, "compatible = \"virtio,mmio\";");
        assertHas(dts, "interrupts = <0x02>;");
        assertHas(dts, "rng@101000 {");
        assertHas(dts, "compatible = \"microsoft,vmgenid\";");
        assertHas(dts, "reg = <0x00 0x101000 0x00 0x10>;");
        assertHas(dts, "interrupts = <0x0c>;");
        assertFalse(dts.contains("poweroff") || dts.contains("reboot"), "SBI SRST replaces syscon power nodes");
    }

    @Test
    void dtcRoundTripKeepsTheTree() throws Exception {
        // dtb -> dts -> dtb (by dtc) -> dts must give the same text: dtc sees exactly the tree we meant.
        String first = dtc(full()).dts();
        Path dts = Files.createTempFile("airlock-", ".dts");
        Path dtb = Files.createTempFile("airlock-", ".dtb");
        try {
            Files.writeString(dts, first);
            Process p = new ProcessBuilder(Dtc.executable().toString(), "-q", "-I", "dts", "-O", "dtb", "-o",
                    dtb.toString(), dts.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertEquals(first, Dtc.decompile(Files.readAllBytes(dtb)).dts());
        } finally {
            Files.deleteIfExists(dts);
            Files.deleteIfExists(dtb);
        }
    }

    @Test
    void minimalTreeLeavesOutOptionalNodesAndProperties() throws Exception {
        String dts = dtc(MachineLayout.of(1, 64L << 20, "", null)).dts();
        assertFalse(dts.contains("clint@"));
        assertFalse(dts.contains("test@"));
        assertFalse(dts.contains("virtio_mmio@"));
        assertFalse(dts.contains("linux,initrd"));
        assertFalse(dts.contains("rng-seed"));
        assertFalse(dts.contains("cpu@1"));
        assertHas(dts, "reg = <0x00 0x80000000 0x00 0x4000000>;");
        assertHas(dts, "rng@101000 {"); // not optional: every VM has a generation ID
    }

    @Test
    void sstcIsAddedThroughTheExtensionList() throws Exception {
        List<String> ext = new ArrayList<>(MachineLayout.DEFAULT_ISA_EXTENSIONS);
        ext.add("sstc");
        String dts = dtc(MachineLayout.of(1, 64L << 20, "", seed())
                .withIsa("rv64imafdc_zicsr_zifencei_sstc", ext)).dts();
        assertHas(dts, "\\0zicntr\\0sstc\";");
        assertHas(dts, "riscv,isa = \"rv64imafdc_zicsr_zifencei_sstc\";");
    }

    @Test
    void treeStructureMatchesTheLayout() {
        MachineLayout m = full();
        FdtParser.Node root = new FdtParser(MachineDeviceTree.build(m)).root;

        FdtParser.Node chosen = root.at("chosen");
        assertEquals(MachineDeviceTree.UART_PATH, "/" + "soc/serial@10000000");
        assertEquals(MachineDeviceTree.UART_PATH, chosen.string("stdout-path"));
        assertEquals(0x8820_0000L, chosen.u64("linux,initrd-start"));
        assertEquals(0x8830_0000L, chosen.u64("linux,initrd-end"));
        assertArrayEquals(seed(), chosen.prop("rng-seed"));
        root.at(MachineDeviceTree.UART_PATH); // stdout-path names a real node

        FdtParser.Node memory = root.at("memory@80000000");
        assertArrayEquals(new int[] {0, 0x8000_0000, 0, 0x1000_0000}, memory.cells("reg"));

        // Phandles are unique, and every reference below points at the node meant.
        Set<Integer> phandles = new HashSet<>();
        FdtParser.Node cpus = root.at("cpus");
        assertArrayEquals(new int[] {10_000_000}, cpus.cells("timebase-frequency"));
        int[] intc = new int[m.harts()];
        for (int h = 0; h < m.harts(); h++) {
            FdtParser.Node cpu = cpus.at("cpu@" + h);
            assertArrayEquals(new int[] {h}, cpu.cells("reg"));
            assertEquals("okay", cpu.string("status"));
            assertEquals(MachineLayout.DEFAULT_ISA_EXTENSIONS, cpu.strings("riscv,isa-extensions"));
            assertTrue(phandles.add(cpu.cells("phandle")[0]));
            FdtParser.Node ic = cpu.at("interrupt-controller");
            assertArrayEquals(new byte[0], ic.prop("interrupt-controller"));
            assertArrayEquals(new int[] {1}, ic.cells("#interrupt-cells"));
            intc[h] = ic.cells("phandle")[0];
            assertTrue(phandles.add(intc[h]));
            assertArrayEquals(cpu.cells("phandle"), cpus.at("cpu-map/cluster0/core" + h).cells("cpu"));
        }

        FdtParser.Node plic = root.at("soc/plic@c000000");
        int plicPhandle = plic.cells("phandle")[0];
        assertTrue(phandles.add(plicPhandle));
        // Context 2h = hart h M external (11), 2h+1 = hart h S external (9).
        assertArrayEquals(new int[] {intc[0], 11, intc[0], 9, intc[1], 11, intc[1], 9}, plic.cells("interrupts-extended"));
        assertArrayEquals(new int[] {95}, plic.cells("riscv,ndev"));

        FdtParser.Node clint = root.at("soc/clint@2000000");
        assertArrayEquals(new int[] {intc[0], 3, intc[0], 7, intc[1], 3, intc[1], 7}, clint.cells("interrupts-extended"));

        FdtParser.Node uart = root.at("soc/serial@10000000");
        assertArrayEquals(new int[] {plicPhandle}, uart.cells("interrupt-parent"));
        assertArrayEquals(new int[] {10}, uart.cells("interrupts"));
        assertArrayEquals(new int[] {3_686_400}, uart.cells("clock-frequency"));
        assertArrayEquals(new int[] {0, 0x1000_0000, 0, 0x100}, uart.cells("reg"));

        FdtParser.Node vmgenid = root.at("soc/rng@101000");
        assertEquals("microsoft,vmgenid", vmgenid.string("compatible"));
        assertArrayEquals(new int[] {0, 0x10_1000, 0, 16}, vmgenid.cells("reg"));
        assertArrayEquals(new int[] {12}, vmgenid.cells("interrupts"));
        assertArrayEquals(new int[] {plicPhandle}, vmgenid.cells("interrupt-parent"));

        for (int i = 0; i < 2; i++) {
            long gpa = 0x1000_1000L + 0x1000L * i;
            FdtParser.Node v = root.at("soc/virtio_mmio@" + Long.toHexString(gpa));
            assertArrayEquals(new int[] {0, (int) gpa, 0, 0x1000}, v.cells("reg"));
            assertArrayEquals(new int[] {i + 1}, v.cells("interrupts"));
            assertArrayEquals(new int[] {plicPhandle}, v.cells("interrupt-parent"));
        }
    }

    @Test
    void layoutsThatCannotBootAreRejectedWithAReason() {
        assertThrows(IllegalArgumentException.class, () -> MachineLayout.of(0, 64L << 20, "", null));
        assertThrows(IllegalArgumentException.class, () -> MachineLayout.of(1, 0, "", null));
        assertThrows(IllegalArgumentException.class, () -> MachineLayout.of(1, 64L << 20, "", new byte[16]));
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> MachineLayout.of(1, 64L << 20, "", null).withInitrd(0x8800_0000L, 0x8810_0000L));
        assertTrue(outside.getMessage().contains("inside RAM"), outside.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> MachineLayout.of(1, 64L << 20, "", null).withVirtioMmio(List.of(0x1000_1800L)));
        List<Long> nine = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            nine.add(0x1000_1000L + 0x1000L * i);
        }
        assertThrows(IllegalArgumentException.class, () -> MachineLayout.of(1, 64L << 20, "", null).withVirtioMmio(nine));
        assertThrows(IllegalArgumentException.class,
                () -> MachineLayout.of(1, 64L << 20, "", null).withIsa("rv32imac", MachineLayout.DEFAULT_ISA_EXTENSIONS));
    }

    @Test
    void theLayoutKeepsItsOwnCopyOfTheSeed() {
        byte[] s = seed();
        MachineLayout m = MachineLayout.of(1, 64L << 20, "", s);
        s[0] = 99;
        m.rngSeed32()[1] = 99;
        assertArrayEquals(seed(), m.rngSeed32());
    }
}
