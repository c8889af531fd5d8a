package dev.airlock.guest.initramfs;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the host's real tools (cpio, sh) from tests, with bytes in and text out. */
final class HostTools {

    record Output(int exitCode, String stdout, String stderr) {}

    private HostTools() {}

    static void require(String tool) {
        boolean found = List.of(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")).stream()
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, tool)));
        if (!found) {
            fail("the host tool '" + tool + "' is not installed; run scripts/setup-host.sh");
        }
    }

    static Output run(List<String> command, Path workingDir, byte[] stdin) throws IOException, InterruptedException {
        Path out = Files.createTempFile("airlock-test-", ".out");
        Path err = Files.createTempFile("airlock-test-", ".err");
        Path in = Files.createTempFile("airlock-test-", ".in");
        try {
            Files.write(in, stdin);
            Process process = new ProcessBuilder(command).directory(workingDir.toFile())
                    .redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail(command + " did not finish within 30 s");
            }
            return new Output(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            Files.deleteIfExists(in);
        }
    }
}
