package dev.airlock.cpu.rv64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RvcTest {
    @Test
    void knownExpansions() {
        assertEquals(0x00000013, Rvc.expand(0x0001));      // c.nop
        assertEquals(0x00500513, Rvc.expand(0x4515));      // c.li a0,5
        assertEquals(0x00b00533, Rvc.expand(0x852e));      // c.mv a0,a1
        assertEquals(0x00008067, Rvc.expand(0x8082));      // c.jr ra
        assertEquals(0xff010113, Rvc.expand(0x1141));      // c.addi sp,-16
        assertEquals(0x00113423, Rvc.expand(0xe406));      // c.sdsp ra,8(sp)
        assertEquals(0x00813083, Rvc.expand(0x60a2));      // c.ldsp ra,8(sp)
        assertEquals(0, Rvc.expand(0x0000));                // the all-zero halfword is illegal
    }

    /** Every compressible form, expanded by us, equals what GNU as emits for the uncompressed form. */
    @Test
    void expansionMatchesTheGnuAssembler(@TempDir Path dir) throws Exception {
        List<String> insns = List.of(
                "addi a0, sp, 16", "addi s1, sp, 1020", "fld fa0, 8(a1)", "lw a2, 124(a3)", "ld a4, 248(a5)",
                "fsd fs0, 0(s1)", "sw a0, 4(a1)", "sd s0, 16(s1)", "addi a0, a0, -32", "addiw a1, a1, 31",
                "li t0, -1", "addi sp, sp, -512", "addi sp, sp, 496", "lui a5, 0x1f", "lui a5, 0xfffe0",
                "srli s0, s0, 63", "srai a1, a1, 1", "andi a2, a2, -7", "sub a0, a0, a1", "xor s0, s0, s1",
                "or a3, a3, a4", "and a5, a5, a0", "subw a0, a0, a1", "addw s1, s1, a2",
                "slli t1, t1, 33", "fld ft1, 504(sp)", "lw t2, 252(sp)", "ld ra, 504(sp)",
                "jr t0", "add t3, zero, t4", "ebreak", "jalr a2", "add a0, a0, t6", "fsd ft2, 504(sp)",
                "sw t5, 252(sp)", "sd t6, 0(sp)");
        byte[] compressed = assemble(dir, "c", insns, true);
        byte[] full = assemble(dir, "n", insns, false);
        assertEquals(insns.size() * 2, compressed.length, "every listed instruction must compress");
        for (int k = 0; k < insns.size(); k++) {
            int c = (compressed[2 * k] & 0xff) | (compressed[2 * k + 1] & 0xff) << 8;
            int w = (full[4 * k] & 0xff) | (full[4 * k + 1] & 0xff) << 8 | (full[4 * k + 2] & 0xff) << 16
                    | (full[4 * k + 3] & 0xff) << 24;
            assertEquals(Integer.toHexString(w), Integer.toHexString(Rvc.expand(c)), insns.get(k));
        }
        // Jumps and branches: assemble with numeric offsets from the current position.
        assertEquals(Asm.jal(0, -2048), Rvc.expand(0xb001));  // c.j -2048
        assertEquals(Asm.beq(8, 0, 254), Rvc.expand(0xcc7d)); // c.beqz s0,+254
        assertEquals(Asm.bne(9, 0, -256), Rvc.expand(0xf081)); // c.bnez s1,-256
    }

    static byte[] assemble(Path dir, String name, List<String> insns, boolean rvc) throws Exception {
        Path src = dir.resolve(name + ".s"), obj = dir.resolve(name + ".o"), bin = dir.resolve(name + ".bin");
        Files.writeString(src, (rvc ? ".option rvc\n" : ".option norvc\n") + String.join("\n", insns) + "\n");
        Toolchain.run("riscv64-unknown-elf-as", "-march=rv64gc", "-o", obj.toString(), src.toString());
        Toolchain.run("riscv64-unknown-elf-objcopy", "-O", "binary", "-j", ".text", obj.toString(), bin.toString());
        byte[] b = Files.readAllBytes(bin);
        assertTrue(b.length > 0);
        return b;
    }
}
