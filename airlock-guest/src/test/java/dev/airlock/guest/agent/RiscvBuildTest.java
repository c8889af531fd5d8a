package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The guest build: the same source, cross-compiled static for riscv64. */
class RiscvBuildTest {

    @Test
    void agentCrossCompilesToAStaticRiscvBinary() throws Exception {
        Path binary = AgentBinaries.riscv64();
        Process file = new ProcessBuilder(List.of("file", "-b", binary.toString())).redirectErrorStream(true).start();
        String description = new String(file.getInputStream().readAllBytes());
        file.waitFor();
        assertTrue(description.contains("RISC-V"), description);
        assertTrue(description.contains("statically linked"), description);
        long size = Files.size(binary);
        System.out.printf("agent: %s is %d bytes (%s)%n", binary.getFileName(), size, description.trim());
        assertTrue(size < 2 << 20, "the guest agent stays small: " + size + " bytes");
    }
}
