package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AssetChecksTest {

    @Test
    void kernelImageMagic(@TempDir Path dir) throws Exception {
        Path good = Files.write(dir.resolve("Image"), FakeDebianArchive.kernelImageHeader());
        assertDoesNotThrow(() -> AssetChecks.verifyKernelImage(good));
        byte[] noMagic2 = FakeDebianArchive.kernelImageHeader();
        noMagic2[0x3b] = 0x04;
        Path bad = Files.write(dir.resolve("bad"), noMagic2);
        var e = assertThrows(IOException.class, () -> AssetChecks.verifyKernelImage(bad));
        assertTrue(e.getMessage().startsWith(bad + " is not a RISC-V Linux kernel Image"), e.getMessage());
        Path shortFile = Files.write(dir.resolve("short"), new byte[10]);
        assertTrue(assertThrows(IOException.class, () -> AssetChecks.verifyKernelImage(shortFile))
                .getMessage().contains("too short"));
    }

    @Test
    void riscv64Elf(@TempDir Path dir) throws Exception {
        Path good = Files.write(dir.resolve("busybox"), FakeDebianArchive.riscvElfHeader());
        assertDoesNotThrow(() -> AssetChecks.verifyRiscv64Elf(good));
        byte[] x86 = FakeDebianArchive.riscvElfHeader();
        x86[18] = 62; // EM_X86_64
        Path amd64 = Files.write(dir.resolve("amd64"), x86);
        assertTrue(assertThrows(IOException.class, () -> AssetChecks.verifyRiscv64Elf(amd64))
                .getMessage().contains("e_machine 62"));
        byte[] elf32 = FakeDebianArchive.riscvElfHeader();
        elf32[4] = 1;
        Path rv32 = Files.write(dir.resolve("rv32"), elf32);
        assertThrows(IOException.class, () -> AssetChecks.verifyRiscv64Elf(rv32));
    }
}
