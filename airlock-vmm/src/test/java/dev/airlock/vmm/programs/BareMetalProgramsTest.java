package dev.airlock.vmm.programs;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.airlock.vmm.sched.HartPool;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole programs on the CPU engine: small bare-metal RV64GC programs from {@code src/test/guest}, built
 * with Debian's riscv64-unknown-elf-gcc at -O2 (compressed instructions and all) and at -O0, run from
 * reset in M-mode. Programs that compute are checked line by line against the same source built and
 * run natively on the host; programs about privileged behaviour check themselves and exit non-zero on
 * a failed check. Every failure shows the guest console.
 *
 * <p>By hand: {@code src/test/guest/build.sh /tmp/p && ./airlock run --kernel /tmp/p/integer.O2.elf}.
 */
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class BareMetalProgramsTest {
    /** Each program runs well under a second; the watchdog only catches a hung guest. */
    private static final Duration WATCHDOG = Duration.ofSeconds(30);

    private static HartPool pool;
    private static Path programs;

    @BeforeAll
    static void build() {
        programs = GuestPrograms.buildAll();
        pool = new HartPool(2);
    }

    @AfterAll
    static void closePool() {
        if (pool != null) pool.close();
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void integerBatteryMatchesTheHost(String opt) throws Exception {
        assertMatchesHost("integer", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void algorithmsMatchTheHost(String opt) throws Exception {
        assertMatchesHost("algorithms", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void floatingPointMatchesTheHost(String opt) throws Exception {
        assertMatchesHost("fp", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void atomicsPassTheirChecks(String opt) throws Exception {
        assertPassesSelfCheck("atomics", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void trapsPassTheirChecks(String opt) throws Exception {
        assertPassesSelfCheck("traps", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void timerInterruptPassesItsChecks(String opt) throws Exception {
        assertPassesSelfCheck("timer", opt);
    }

    @ParameterizedTest(name = "-{0}")
    @ValueSource(strings = {"O2", "O0"})
    void userModePassesItsChecks(String opt) throws Exception {
        assertPassesSelfCheck("umode", opt);
    }

    private static GuestRun run(String program, String opt) throws Exception {
        GuestRun run = GuestRun.run(pool, programs.resolve(program + "." + opt + ".elf"), WATCHDOG);
        System.out.println(run.stats());
        return run;
    }

    /** The guest must power off with exit code 0 having printed exactly what the host build printed. */
    private static void assertMatchesHost(String program, String opt) throws Exception {
        String expected = GuestPrograms.hostOutput(program);
        GuestRun run = run(program, opt);
        List<String> want = expected.lines().toList();
        List<String> got = run.console().lines().toList();
        for (int i = 0; i < Math.max(want.size(), got.size()); i++) {
            String w = i < want.size() ? want.get(i) : "(end of output)";
            String g = i < got.size() ? got.get(i) : "(end of output)";
            if (!w.equals(g)) {
                fail(program + " -" + opt + ": guest output differs from the host's at line " + (i + 1)
                        + "\n  host:  " + w + "\n  guest: " + g + "\n" + run.report());
            }
        }
        assertTrue(run.poweredOffWith(0), () -> program + " -" + opt + " did not power off cleanly: " + run.report());
    }

    /**
     * The guest must power off with exit code 0 (its count of failed checks) after printing its summary,
     * "NAME: N checks, 0 failed": a program that stops early never prints it.
     */
    private static void assertPassesSelfCheck(String program, String opt) throws Exception {
        GuestRun run = run(program, opt);
        Pattern summary = Pattern.compile(Pattern.quote(program) + ": [1-9][0-9]* checks, 0 failed");
        assertTrue(run.poweredOffWith(0) && run.console().lines().anyMatch(l -> summary.matcher(l).matches()),
                () -> program + " -" + opt + " failed its checks: " + run.report());
    }
}
