package dev.airlock.cpu.rv64;

import java.io.IOException;
import java.util.List;

/** Runs the host's RISC-V cross tools; a missing tool fails the test with the command that installs it. */
final class Toolchain {
    private Toolchain() {}

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(cmd[0] + " is not installed: run scripts/setup-host.sh", e);
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
    }
}
