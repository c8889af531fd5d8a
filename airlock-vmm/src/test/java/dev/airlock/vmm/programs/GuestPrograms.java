package dev.airlock.vmm.programs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The bare-metal test programs in {@code src/test/guest}, built by its {@code build.sh} into
 * {@code target/guest-programs}: {@code NAME.O2.elf} and {@code NAME.O0.elf} for the guest, and
 * {@code NAME.host} (for the programs whose expected output comes from the host) built natively.
 * A build is reused while the sources it was made from are unchanged.
 */
final class GuestPrograms {
    static final String CROSS_COMPILER = "riscv64-unknown-elf-gcc";
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration HOST_RUN_TIMEOUT = Duration.ofSeconds(30);

    private static Path built;

    private GuestPrograms() {}

    /** The directory holding every built program, building it first if the sources changed. */
    static synchronized Path buildAll() {
        if (built != null) return built;
        Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Path sources = module.resolve("src/test/guest");
        Path out = module.resolve("target/guest-programs");
        requireTool(CROSS_COMPILER, "the RISC-V bare-metal cross compiler; run scripts/setup-host.sh, which installs "
                + "Debian's gcc-riscv64-unknown-elf");
        requireTool("gcc", "the host C compiler, which builds the reference runs; install Debian's gcc "
                + "(scripts/setup-host.sh installs the rest of what these tests need)");
        try {
            String fingerprint = fingerprint(sources);
            Path stamp = out.resolve(".sources-sha256");
            if (!Files.isRegularFile(stamp) || !Files.readString(stamp).equals(fingerprint)) {
                Files.createDirectories(out);
                Files.deleteIfExists(stamp);
                ProcessOutput build = run(List.of("sh", sources.resolve("build.sh").toString(), out.toString()), BUILD_TIMEOUT);
                if (build.exitCode() != 0) {
                    throw new AssertionError("building the guest test programs failed (exit " + build.exitCode()
                            + "):\n" + build.text());
                }
                Files.writeString(stamp, fingerprint);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the guest test programs from " + sources, e);
        }
        built = out;
        return out;
    }

    /** What the natively built {@code NAME.host} prints: the expected console output of the guest. */
    static String hostOutput(String program) {
        Path exe = buildAll().resolve(program + ".host");
        ProcessOutput p = run(List.of(exe.toString()), HOST_RUN_TIMEOUT);
        if (p.exitCode() != 0) {
            throw new AssertionError("the host build of " + program + " failed (exit " + p.exitCode() + "):\n" + p.text());
        }
        return p.text();
    }

    private static void requireTool(String command, String what) {
        try {
            ProcessOutput p = run(List.of(command, "--version"), Duration.ofSeconds(30));
            if (p.exitCode() == 0) return;
        } catch (UncheckedIOException e) {
            // not on PATH: reported below
        }
        throw new AssertionError(command + " is missing: it is " + what + ".");
    }

    /** SHA-256 over every source file's path and contents, so an edit anywhere triggers a rebuild. */
    private static String fingerprint(Path sources) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(sources)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            sha.update(sources.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Files.readAllBytes(f));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    record ProcessOutput(int exitCode, String text) {}

    /** Runs a command with stdout and stderr merged; kills it at the timeout. */
    static ProcessOutput run(List<String> command, Duration timeout) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            // Read on another thread so a chatty process cannot block on a full pipe while we wait.
            byte[][] out = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = ("(reading output failed: " + e + ")").getBytes(StandardCharsets.UTF_8);
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                reader.join();
                throw new AssertionError(String.join(" ", command) + " ran past " + timeout.toSeconds() + " s:\n"
                        + new String(out[0], StandardCharsets.UTF_8));
            }
            reader.join();
            return new ProcessOutput(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command.getFirst(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command.getFirst(), e);
        }
    }
}
