package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument handling and input checks of airlock run, without booting anything. */
class RunCommandTest {
    @Test
    void parsesFlagsAndTheCommandAfterTheSeparator() throws Exception {
        RunCommand.Options o = RunCommand.parse(new String[] {"--memory", "512", "--cpus", "2", "--timeout", "9",
                "--append", "loglevel=8", "--console", "--", "sh", "-c", "echo --memory"});
        assertEquals(512, o.memoryMiB());
        assertEquals(2, o.cpus());
        assertEquals(9, o.timeout().toSeconds());
        assertEquals("loglevel=8", o.append());
        assertTrue(o.console());
        assertEquals(List.of("sh", "-c", "echo --memory"), o.command());
    }

    @Test
    void mistakesNameTheFlagAndTheFix() {
        assertEquals("--memory takes a whole number, not 'lots'",
                assertThrows(UsageException.class, () -> RunCommand.parse(new String[] {"--memory", "lots", "--", "true"})).getMessage());
        assertEquals("--cpus must be between 1 and 32, not 0",
                assertThrows(UsageException.class, () -> RunCommand.parse(new String[] {"--cpus", "0", "--", "true"})).getMessage());
        assertEquals("--kernel needs a value",
                assertThrows(UsageException.class, () -> RunCommand.parse(new String[] {"--kernel"})).getMessage());
        assertTrue(assertThrows(UsageException.class, () -> RunCommand.parse(new String[] {"--memroy", "1"}))
                .getMessage().contains("unknown option --memroy"));
        assertTrue(assertThrows(UsageException.class, () -> RunCommand.parse(new String[0])).getMessage().contains("no command given"));
    }

    @Test
    void unknownFlagPrintsUsageWithoutAStackTrace() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"run", "--bogus"}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, code);
        assertTrue(text.contains("unknown option --bogus") && text.contains("usage: airlock run"), text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), text);
    }

    @Test
    void corruptInitrdIsRejectedBeforeBooting(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("initrd.img");
        Files.write(bad, "this is not an archive".getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"run", "--kernel", bad.toString(), "--initrd", bad.toString(), "--", "true"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is not a cpio archive"), err::toString);
        assertTrue(RunCommand.looksLikeInitramfs("070701000000".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(RunCommand.looksLikeInitramfs(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0}));
    }
}
