package dev.airlock.store.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.store.StoreOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCommandTest {
    @TempDir
    Path temp;

    private final StoreOptions options = StoreOptions.defaults().withSegmentSizeBytes(64 << 10)
            .withRandom(new SplittableRandom(42));

    private record Result(int code, String out, String err) {
    }

    private Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ImageCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), temp.resolve("store"), options);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private void assertUsageError(Result r, String mentions) {
        assertEquals(2, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains(mentions), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void createListSnapshotCloneAndCheck() {
        assertEquals(0, run("create", "base", "--size", "1M").code());
        assertEquals(0, run("snapshot", "base", "fresh").code());
        assertEquals(0, run("clone", "base@fresh", "child").code());
        Result ls = run("ls");
        assertEquals(0, ls.code());
        assertTrue(ls.out().contains("base") && ls.out().contains("1 MiB") && ls.out().contains("fresh"), ls.out());
        assertTrue(ls.out().lines().anyMatch(l -> l.startsWith("child") && l.contains("base@fresh")), ls.out());
        assertEquals(0, run("fsck", "child").code(), "a clone with its base present is consistent");
        Result fsck = run("fsck", "base");
        assertEquals(0, fsck.code(), fsck.toString());
        assertTrue(fsck.out().contains("ok"), fsck.out());

        // rm: a base or a snapshot a clone reads through is kept until the clone is gone.
        assertUsageError(run("rm", "base"), "base of clone child");
        assertUsageError(run("rm", "base@fresh"), "base of clone child");
        assertEquals(0, run("rm", "child").code());
        assertEquals(0, run("rm", "base@fresh").code());
        assertFalse(run("ls").out().contains("fresh"));
        assertEquals(0, run("rm", "base").code());
        assertFalse(run("ls").out().contains("base"));
        assertUsageError(run("rm", "base"), "no image named base");
        assertUsageError(run("rm", "a@b@c"), "rm takes NAME or NAME@SNAP");
    }

    @Test
    void importThenExportRoundTripsARawFile() throws IOException {
        byte[] raw = new byte[300 * 4096 + 100]; // not a whole number of blocks: padded with zeros
        SplittableRandom random = new SplittableRandom(7);
        for (int block = 0; block < 301; block += 3) { // sparse: two blocks in three stay zero
            for (int i = block * 4096; i < Math.min(raw.length, block * 4096 + 4096); i++) {
                raw[i] = (byte) random.nextInt();
            }
        }
        Path in = temp.resolve("in.raw");
        Files.write(in, raw);
        Result imported = run("import", "disk", in.toString());
        assertEquals(0, imported.code(), imported.toString());
        assertEquals(0, run("snapshot", "disk", "s").code());
        Path out = temp.resolve("out.raw");
        Result exported = run("export", "disk", out.toString());
        assertEquals(0, exported.code(), exported.toString());
        byte[] back = Files.readAllBytes(out);
        assertEquals(301 * 4096, back.length);
        byte[] expected = java.util.Arrays.copyOf(raw, 301 * 4096);
        assertArrayEquals(expected, back);
        Path outSnapshot = temp.resolve("snap.raw");
        assertEquals(0, run("export", "disk@s", outSnapshot.toString()).code());
        assertArrayEquals(expected, Files.readAllBytes(outSnapshot));
        assertEquals(0, run("fsck", "disk").code());
    }

    @Test
    void userMistakesGetOneLineAndExitCodeTwo() throws IOException {
        Result none = run(); // no subcommand at all: the line naming it, then the usage (as `airlock run` does)
        assertEquals(2, none.code());
        assertTrue(none.err().lines().findFirst().orElseThrow().contains("missing subcommand"), none.err());
        assertUsageError(run("frobnicate"), "unknown subcommand 'frobnicate'");
        assertUsageError(run("create", "x"), "missing --size");
        assertUsageError(run("create", "x", "--size", "12"), "multiple of 4096");
        assertUsageError(run("create", "x", "--size", "lots"), "bad size 'lots'");
        assertUsageError(run("create", "bad/name", "--size", "1M"), "not valid");
        assertEquals(0, run("create", "x", "--size", "1M").code());
        assertUsageError(run("create", "x", "--size", "1M"), "already exists");
        assertUsageError(run("snapshot", "nope", "s"), "no image named nope");
        assertUsageError(run("snapshot", "x"), "expected `airlock image snapshot NAME SNAP`");
        assertEquals(0, run("snapshot", "x", "s").code());
        assertUsageError(run("snapshot", "x", "s"), "already has a snapshot named s");
        assertUsageError(run("clone", "x", "y"), "must be NAME@SNAP");
        assertUsageError(run("clone", "x@missing", "y"), "no snapshot named missing");
        assertUsageError(run("import", "y", temp.resolve("absent.raw").toString()), "cannot read raw file");
        assertUsageError(run("export", "x@nosnap", temp.resolve("o.raw").toString()), "no snapshot named nosnap");
        assertUsageError(run("export", "x", temp.resolve("no/such/dir/o.raw").toString()), "does not exist");
        assertUsageError(run("fsck", "ghost"), "no image named ghost");
    }

    @Test
    void sizesParseWithBinarySuffixes() {
        assertEquals(8L << 30, ImageCommand.parseSize("8G"));
        assertEquals(4096, ImageCommand.parseSize("4096"));
        assertEquals(1L << 20, ImageCommand.parseSize("1MiB"));
        assertEquals("1 MiB", ImageCommand.formatSize(1 << 20));
        assertEquals("12 KiB", ImageCommand.formatSize(12288));
    }
}
