package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds the agent from src/main/c/agent with its build.sh into target/agent-bin, once per target. */
final class AgentBinaries {

    static final Path OUT_DIR = Path.of("target", "agent-bin").toAbsolutePath();
    private static final Path BUILD_SCRIPT = Path.of("src", "main", "c", "agent", "build.sh").toAbsolutePath();

    private AgentBinaries() {}

    static Path host() {
        return build("host", "airlock-agent-host");
    }

    /** Built with AddressSanitizer and UBSan, for the tests that throw garbage at it. */
    static Path sanitized() {
        return build("asan", "airlock-agent-asan");
    }

    static Path riscv64() {
        return build("riscv64", "airlock-agent-riscv64");
    }

    private static synchronized Path build(String target, String file) {
        try {
            Path log = Files.createDirectories(OUT_DIR).resolve("build-" + target + ".log");
            Process build = new ProcessBuilder(List.of("sh", BUILD_SCRIPT.toString(), OUT_DIR.toString(), target))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!build.waitFor(120, TimeUnit.SECONDS)) {
                build.destroyForcibly();
                fail("building the agent (" + target + ") took over 120 s");
            }
            if (build.exitValue() != 0) {
                fail("building the agent (" + target + ") failed:\n" + Files.readString(log));
            }
            return OUT_DIR.resolve(file);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + BUILD_SCRIPT + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
