package dev.airlock.guest.assets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * The guest agent as a static riscv64 executable, built from the C source that ships inside
 * airlock-guest's jar with Debian's cross compiler, and cached by the source's checksum:
 * {@code CACHE/agent/<crc>/airlock-agent}. The first build takes a few seconds; later calls only
 * check the file.
 */
public final class AgentBinary {
    private static final String RESOURCE_DIR = "/dev/airlock/guest/c/agent/";
    private static final List<String> SOURCES = List.of("agent.c", "build.sh");
    private static final Object LOCK = new Object();

    private AgentBinary() {}

    /** The agent for the guest, building it into {@code cacheDir} if needed. */
    public static Path riscv64(Path cacheDir) {
        synchronized (LOCK) {
            try {
                var crc = new CRC32();
                for (String name : SOURCES) crc.update(resource(name));
                Path dir = cacheDir.resolve("agent").resolve("%08x".formatted(crc.getValue()));
                Path binary = dir.resolve("airlock-agent");
                if (Files.isRegularFile(binary)) return binary;
                return build(dir, binary);
            } catch (IOException e) {
                throw new GuestAssetException("build the guest agent", String.valueOf(e.getMessage()), e);
            }
        }
    }

    private static Path build(Path dir, Path binary) throws IOException {
        Files.createDirectories(dir.getParent());
        Path work = Files.createTempDirectory(dir.getParent(), "build-");
        try {
            for (String name : SOURCES) Files.write(work.resolve(name), resource(name));
            Path log = work.resolve("build.log");
            Process process = new ProcessBuilder("sh", work.resolve("build.sh").toString(), work.resolve("out").toString(),
                    "riscv64").redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done;
            try {
                done = process.waitFor(300, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while building the agent");
            }
            if (!done) {
                process.destroyForcibly();
                throw new IOException("the cross compiler ran for over 300 s");
            }
            if (process.exitValue() != 0) {
                throw new IOException(Files.readString(log).strip()
                        + " (the agent needs riscv64-linux-gnu-gcc and libc6-dev-riscv64-cross: run scripts/setup-host.sh)");
            }
            Files.createDirectories(dir);
            Path temp = dir.resolve("airlock-agent.tmp");
            Files.copy(work.resolve("out").resolve("airlock-agent-riscv64"), temp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(temp, binary, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return binary;
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = AgentBinary.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) throw new IOException("the agent source " + name + " is missing from airlock-guest's jar");
            return in.readAllBytes();
        }
    }
}
