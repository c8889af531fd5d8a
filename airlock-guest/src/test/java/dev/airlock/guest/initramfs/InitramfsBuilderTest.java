package dev.airlock.guest.initramfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitramfsBuilderTest {

    private static final List<String> NASTY = List.of(
            "plain", "two words", "it's", "'", "''", "\"double\"", "$HOME", "${HOME}", "$(echo injected)",
            "`echo back`", "line1\nline2", "", " ", "*", "-n", "--", "back\\slash", "tab\there", "semi;colon && true",
            "trailing newline\n", "ünïcödé ✓", "!", "#not a comment", "a=b", "~");

    @Test
    void commandScriptPassesEveryArgumentVerbatimToTheHostShell(@TempDir Path dir) throws Exception {
        var argv = new ArrayList<String>(List.of("printf", "<%s>\\n"));
        argv.addAll(NASTY);
        var result = runCommandArchive(dir, argv, Map.of());
        assertEquals(0, result.exitCode(), result.stderr());
        var expected = new StringBuilder();
        NASTY.forEach(arg -> expected.append('<').append(arg).append(">\n"));
        assertEquals(expected.toString(), result.stdout());
    }

    @Test
    void environmentIsExportedVerbatim(@TempDir Path dir) throws Exception {
        String value = "it's $HOME `date` \"q\"\nnext";
        var result = runCommandArchive(dir, List.of("sh", "-c", "printf '[%s]' \"$GREETING\"; exit 3"),
                Map.of("GREETING", value, "EMPTY", ""));
        assertEquals(3, result.exitCode(), "the command's status is the script's status");
        assertEquals("[" + value + "]", result.stdout());
    }

    @Test
    void missingCommandGivesTheShellsMessageAndStatus127(@TempDir Path dir) throws Exception {
        var result = runCommandArchive(dir, List.of("airlock-no-such-command", "x"), Map.of());
        assertEquals(127, result.exitCode());
        assertTrue(result.stderr().contains("airlock-no-such-command") && result.stderr().contains("not found"),
                result.stderr());
    }

    @Test
    void commandArchiveHoldsOnlyTheScript() {
        byte[] archive = InitramfsBuilder.commandArchive(List.of("true"), Map.of());
        assertEquals(0, archive.length % 4);
        var entries = CpioReader.read(archive);
        assertEquals(List.of("airlock", "airlock/cmd.sh", "TRAILER!!!"),
                entries.stream().map(CpioReader.Entry::name).toList());
        assertEquals(0755, entries.get(1).permissions());
        assertTrue(entries.get(1).text().endsWith("set -- 'true'\n\"$@\"\n"), entries.get(1).text());
    }

    @Test
    void refusesWhatCannotBeQuoted() {
        assertThrows(IllegalArgumentException.class, () -> InitramfsBuilder.commandArchive(List.of(), Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> InitramfsBuilder.commandArchive(List.of("a\0b"), Map.of()));
        for (String name : List.of("", "1X", "A-B", "A B", "A;B", "X=")) {
            assertThrows(IllegalArgumentException.class,
                    () -> InitramfsBuilder.commandArchive(List.of("true"), Map.of(name, "v")), name);
        }
    }

    @Test
    void shellQuoting() {
        assertEquals("''", InitramfsBuilder.shellQuote(""));
        assertEquals("'a b'", InitramfsBuilder.shellQuote("a b"));
        assertEquals("'it'\\''s'", InitramfsBuilder.shellQuote("it's"));
    }

    @Test
    void initScriptIsValidShellWithTheMarkers(@TempDir Path dir) throws Exception {
        String init = InitramfsBuilder.initScript(List.of("/lib/modules/6.12/virtio_mmio.ko"));
        assertTrue(init.startsWith("#!/bin/busybox sh\n"));
        assertTrue(init.contains("\necho '@@AIRLOCK:READY@@'\n"), init);
        assertTrue(init.contains("echo \"@@AIRLOCK:EXIT $status@@\""), init);
        assertTrue(init.contains("/bin/busybox --install -s"), init);
        assertTrue(init.contains("mount -t devtmpfs devtmpfs /dev"), init);
        assertTrue(init.contains("poweroff -f"), init);
        assertTrue(init.contains("setsid cttyhack sh"), init);
        assertTrue(init.indexOf("insmod '/lib/modules/6.12/virtio_mmio.ko'") < init.indexOf("@@AIRLOCK:READY@@"));
        Path file = dir.resolve("init");
        Files.writeString(file, init);
        HostTools.require("sh");
        var check = HostTools.run(List.of("sh", "-n", file.toString()), dir, new byte[0]);
        assertEquals(0, check.exitCode(), check.stderr());
    }

    @Test
    void baseArchiveHasBusyboxInitDirectoriesAndConsole(@TempDir Path dir) throws Exception {
        byte[] fakeBusybox = "not really busybox".getBytes(StandardCharsets.UTF_8);
        Path busybox = Files.write(dir.resolve("busybox"), fakeBusybox);
        byte[] archive = new InitramfsBuilder(busybox).build();
        var entries = CpioReader.read(archive);
        var byName = new java.util.HashMap<String, CpioReader.Entry>();
        entries.forEach(e -> byName.put(e.name(), e));
        for (String d : List.of("proc", "sys", "dev", "tmp", "root", "etc", "airlock", "bin", "sbin", "usr/bin")) {
            assertEquals(0040000, byName.get(d).type(), d);
        }
        assertArrayEquals(fakeBusybox, byName.get("bin/busybox").data());
        assertEquals(0755, byName.get("bin/busybox").permissions());
        assertEquals(0755, byName.get("init").permissions());
        assertEquals(InitramfsBuilder.initScript(List.of()), byName.get("init").text());
        var console = byName.get("dev/console");
        assertEquals(0020000, console.type());
        assertEquals(5, console.rdevMajor());
        assertEquals(1, console.rdevMinor());
        assertEquals("TRAILER!!!", entries.getLast().name());
        assertArrayEquals(archive, new InitramfsBuilder(busybox).build(), "deterministic");
    }

    @Test
    void modulesComeWithTheirDependenciesFirst(@TempDir Path dir) throws Exception {
        HostTools.require("xz");
        Path modules = Files.createDirectories(dir.resolve("lib/modules/6.12.0-test/kernel/drivers"));
        Files.write(modules.resolve("core.ko"), module(""));
        Files.write(modules.resolve("mid-dep.ko"), module("core"));
        Path plain = Files.write(modules.resolve("top.ko"), module("mid_dep,core"));
        var xz = HostTools.run(List.of("xz", "-z", plain.toString()), dir, new byte[0]); // top.ko -> top.ko.xz
        assertEquals(0, xz.exitCode(), xz.stderr());
        Path busybox = Files.write(dir.resolve("busybox"), new byte[] {1});

        byte[] archive = new InitramfsBuilder(busybox)
                .withModules(dir.resolve("lib/modules/6.12.0-test"), List.of("top", "core")).build();
        var entries = CpioReader.read(archive);
        var moduleNames = entries.stream().map(CpioReader.Entry::name).filter(n -> n.endsWith(".ko")).toList();
        assertEquals(List.of("lib/modules/6.12.0-test/core.ko", "lib/modules/6.12.0-test/mid_dep.ko",
                "lib/modules/6.12.0-test/top.ko"), moduleNames);
        assertArrayEquals(module("mid_dep,core"),
                entries.stream().filter(e -> e.name().endsWith("top.ko")).findFirst().orElseThrow().data(),
                "stored decompressed");
        String init = entries.stream().filter(e -> e.name().equals("init")).findFirst().orElseThrow().text();
        int core = init.indexOf("insmod '/lib/modules/6.12.0-test/core.ko'");
        int mid = init.indexOf("insmod '/lib/modules/6.12.0-test/mid_dep.ko'");
        int top = init.indexOf("insmod '/lib/modules/6.12.0-test/top.ko'");
        assertTrue(core >= 0 && core < mid && mid < top, init);

        var missing = new InitramfsBuilder(busybox).withModules(dir.resolve("lib/modules/6.12.0-test"), List.of("nope"));
        assertTrue(assertThrows(java.io.IOException.class, missing::build).getMessage().contains("nope"));
    }

    @Test
    void exitMarkerIsFoundAnywhereInALine() {
        assertEquals(OptionalInt.of(0), InitramfsBuilder.parseExitMarker("@@AIRLOCK:EXIT 0@@"));
        assertEquals(OptionalInt.of(127), InitramfsBuilder.parseExitMarker("no newline@@AIRLOCK:EXIT 127@@\r"));
        assertEquals(OptionalInt.empty(), InitramfsBuilder.parseExitMarker("@@AIRLOCK:READY@@"));
    }

    /** A fake module: only its .modinfo strings matter to the builder. */
    private static byte[] module(String depends) {
        return ("\u007fELF fake\0license=GPL\0depends=" + depends + "\0name=x\0").getBytes(StandardCharsets.US_ASCII);
    }

    private static HostTools.Output runCommandArchive(Path dir, List<String> argv, Map<String, String> env)
            throws Exception {
        HostTools.require("sh");
        var entries = CpioReader.read(InitramfsBuilder.commandArchive(argv, env));
        Path script = dir.resolve("cmd.sh");
        Files.write(script, entries.stream().filter(e -> e.name().equals("airlock/cmd.sh")).findFirst().orElseThrow().data());
        return HostTools.run(List.of("/bin/sh", script.toString()), dir, new byte[0]);
    }
}
