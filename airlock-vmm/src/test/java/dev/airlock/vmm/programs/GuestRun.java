package dev.airlock.vmm.programs;

import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.sched.HartPool;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/** One bare-metal program run to its end on Airlock's CPU engine, with everything it printed. */
record GuestRun(String program, VmResult result, String console) {
    private static final long MEMORY_BYTES = 64L << 20;

    /** Runs {@code elf} on one hart; a guest still running at {@code watchdog} is stopped and reported as TIMEOUT. */
    static GuestRun run(HartPool pool, Path elf, Duration watchdog) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VmConfig config = new VmConfig(1, MEMORY_BYTES, elf, null, "", console);
        VmResult result;
        try (Vm vm = Vm.create(config, pool)) {
            vm.start();
            result = vm.await(watchdog);
        }
        // ISO-8859-1: one char per byte the guest wrote, whatever it wrote.
        return new GuestRun(elf.getFileName().toString(), result, console.toString(StandardCharsets.ISO_8859_1));
    }

    boolean poweredOffWith(int exitCode) {
        return result.outcome() == VmResult.Outcome.POWEROFF && result.exitCode() == exitCode;
    }

    double mips() {
        return result.wallNanos() == 0 ? 0 : result.instructions() * 1000.0 / result.wallNanos();
    }

    /** One line for the test log: how much the guest ran and how fast. */
    String stats() {
        return String.format("%-16s %,12d instructions in %6d ms = %6.1f MIPS (%s, exit %d)", program,
                result.instructions(), result.wallNanos() / 1_000_000, mips(), result.outcome(), result.exitCode());
    }

    /** How the run ended and what the guest printed, for an assertion message. */
    String report() {
        return program + " ended " + result.outcome() + " (" + result.reason() + "), exit code " + result.exitCode()
                + ", after " + result.instructions() + " instructions\n--- guest console ---\n" + console
                + (console.endsWith("\n") || console.isEmpty() ? "" : "\n") + "--- end of guest console ---";
    }
}
