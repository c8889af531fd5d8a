package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A host-built agent listening on a Unix socket in a temporary directory, its stderr in a log file. */
final class RunningAgent implements AutoCloseable {

    final Path binary;
    final Path socket;
    final Path log;
    private final Process process;

    RunningAgent(Path binary, Path dir) throws IOException, InterruptedException {
        this.binary = binary;
        this.socket = dir.resolve("agent.sock");
        this.log = dir.resolve("agent.log");
        this.process = new ProcessBuilder(List.of(binary.toString(), "--listen", "unix:" + socket))
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            if (!process.isAlive()) {
                fail("the agent exited with " + process.exitValue() + ":\n" + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                fail("the agent did not create " + socket + " within 10 s");
            }
            Thread.sleep(5);
        }
    }

    AgentClient connect() throws AgentException {
        return AgentClient.connect(socket);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
