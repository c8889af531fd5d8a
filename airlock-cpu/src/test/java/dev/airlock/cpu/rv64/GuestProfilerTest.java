package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Asm.addi;
import static dev.airlock.cpu.rv64.Asm.jal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest profiler's samples name the code the hart runs, with its privilege, and its file lists them. */
class GuestProfilerTest {
    @Test
    void samplesNameTheLoopTheHartRunsAndTheFileListsThem(@TempDir Path dir) throws Exception {
        try (HartHarness h = new HartHarness()) {
            long loop = HartHarness.RAM + 0x100;
            h.program(jal(0, 0x100));
            h.load(loop, addi(10, 10, 1), jal(0, -4)); // forever, in M-mode
            GuestProfiler profiler = new GuestProfiler(100_000);
            profiler.add(h.hart);
            long end = System.nanoTime() + 300_000_000L;
            while (System.nanoTime() < end) h.hart.run(100_000);
            profiler.stop();
            Map<Long, Integer> samples = profiler.histogram();
            int total = samples.values().stream().mapToInt(Integer::intValue).sum();
            int inLoop = samples.getOrDefault(loop | Hart.PRIV_M, 0) + samples.getOrDefault((loop + 4) | Hart.PRIV_M, 0);
            assertTrue(total > 50, "samples: " + samples);
            assertTrue(inLoop >= total * 0.9, "samples outside the loop: " + samples);

            Path file = dir.resolve("profile.txt");
            profiler.writeTo(file);
            List<String> lines = Files.readAllLines(file);
            assertEquals(samples.size(), lines.size());
            assertTrue(lines.stream().anyMatch(l -> l.matches("\\d+ 3 " + Long.toHexString(loop))), String.join("\n", lines));
        }
    }
}
