package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Commands of the launcher's own, without booting anything. */
class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    private int airlock(String... args) throws InterruptedException {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void benchRepeatRunsTheCommandThatManyTimesInOneJvm() throws Exception {
        assertEquals(0, airlock("bench-repeat", "3", "version"));
        assertEquals(3, out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("airlock ")).count(), out::toString);
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("run 1 of 3") && log.contains("run 3 of 3: "), log);
    }

    @Test
    void benchRepeatRefusesABadCountWithTheUsage() throws Exception {
        assertEquals(ExitCodes.USAGE, airlock("bench-repeat", "many", "version"));
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("the count must be a whole number, not 'many'"), log);
        assertTrue(log.contains("usage: airlock bench-repeat"), log);
    }
}
