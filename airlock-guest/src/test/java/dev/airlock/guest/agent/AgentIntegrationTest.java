package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real agent, built with the host's gcc, on a Unix socket; the real client against it. */
@Timeout(60)
class AgentIntegrationTest {

    @TempDir
    static Path dir;
    static RunningAgent agent;
    static AgentClient client;

    @BeforeAll
    static void start() throws Exception {
        agent = new RunningAgent(AgentBinaries.host(), dir);
        client = agent.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void helloNamesTheAgentAndPingAnswers() throws Exception {
        assertEquals(1, client.agentHello().protocolMajor());
        assertEquals("airlock-agent 1.0", client.agentHello().agentName());
        assertEquals(FrameCodec.MAX_PAYLOAD_BYTES, client.agentHello().maxPayloadBytes());
        assertTrue(client.ping().toMillis() < 5_000);
    }

    @Test
    void exitCodeIsReported() throws Exception {
        var result = client.run("sh", "-c", "echo out; echo err >&2; exit 7");
        assertEquals(ExitStatus.exited(7), result.status());
        assertEquals("out\n", result.stdoutText());
        assertEquals("err\n", result.stderrText());
    }

    @Test
    void aKilledProcessReportsItsSignal() throws Exception {
        assertEquals(ExitStatus.killedBy(15), client.run("sh", "-c", "kill -TERM $$").status());
        try (ExecProcess sleeper = client.exec(ExecRequest.of("sleep", "100"))) {
            assertTrue(sleeper.pid() > 0);
            assertTrue(sleeper.waitFor(Duration.ofMillis(50)).isEmpty());
            sleeper.signal(ExecProcess.SIGKILL);
            ExitStatus status = sleeper.waitFor();
            assertEquals(ExitStatus.killedBy(9), status);
            assertEquals(137, status.exitCode());
        }
    }

    @Test
    void signalToTheProcessGroupReachesAPipeline() throws Exception {
        try (ExecProcess pipeline = client.exec(ExecRequest.of("sh", "-c", "sleep 100 | sleep 100; echo survived"))) {
            Thread.sleep(100);
            pipeline.signalProcessGroup(ExecProcess.SIGTERM);
            assertEquals(ExitStatus.killedBy(15), pipeline.waitFor());
        }
    }

    @Test
    void environmentAndWorkingDirectoryAreHonored() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work dir"));
        var result = client.run(ExecRequest.of("sh", "-c", "echo \"$FOO|$PATH_SET\"; pwd")
                .withEnv(Map.of("FOO", "bar baz", "PATH_SET", "${PATH:+yes}")).withCwd(work.toString()));
        assertEquals("bar baz|${PATH:+yes}\n" + work.toRealPath() + "\n", result.stdoutText());
        var cleared = client.run(ExecRequest.of("/usr/bin/env").withClearEnv().withEnv("ONLY", "this"));
        assertEquals("ONLY=this\n", cleared.stdoutText());
        var inherited = client.run(ExecRequest.of("/usr/bin/env"));
        assertTrue(inherited.stdoutText().contains("PATH="), inherited.stdoutText());
    }

    @Test
    void missingCommandAndDirectoryAreRemoteErrors() throws Exception {
        var noCommand = assertThrows(AgentRemoteException.class, () -> client.run("no-such-command-airlock"));
        assertEquals(Errno.ENOENT, noCommand.errno());
        assertTrue(noCommand.getMessage().contains("cannot execute no-such-command-airlock"), noCommand.getMessage());
        var noDir = assertThrows(AgentRemoteException.class,
                () -> client.run(ExecRequest.of("true").withCwd("/no/such/dir")));
        assertEquals("ENOENT", noDir.errnoName());
        assertTrue(noDir.getMessage().contains("/no/such/dir"), noDir.getMessage());
        assertTrue(client.ping().toMillis() < 5_000, "the connection survives request errors");
    }

    @Test
    void stdinIsPipedThroughCat() throws Exception {
        byte[] input = new byte[3 << 20];
        new Random(42).nextBytes(input);
        try (ExecProcess cat = client.exec(ExecRequest.of("cat").withStdin())) {
            var output = readAllOnAnotherThread(cat.stdout());
            for (int off = 0; off < input.length; off += 100_000) {
                cat.stdin().write(input, off, Math.min(100_000, input.length - off));
            }
            cat.stdin().close();
            assertArrayEquals(input, output.get());
            assertEquals(ExitStatus.exited(0), cat.waitFor());
            var e = assertThrows(IOException.class, () -> cat.stdin().write(1));
            assertTrue(e.getMessage().contains("closed") || e.getMessage().contains("exited"), e.getMessage());
        }
    }

    @Test
    void stdinNotRequestedReadsDevNull() throws Exception {
        assertEquals("0\n", client.run("sh", "-c", "wc -c").stdoutText().trim().replaceAll("\\s+", "") + "\n");
        try (ExecProcess p = client.exec(ExecRequest.of("true"))) {
            assertThrows(IOException.class, () -> p.stdin().write(1));
            p.waitFor();
        }
    }

    @Test
    void hundredMebibytesArriveCompleteAndInOrder() throws Exception {
        long total = 100L << 20;
        long startNs = System.nanoTime();
        try (ExecProcess generator = client.exec(ExecRequest.of(agent.binary.toString(), "--generate",
                Long.toString(total)))) {
            InputStream out = generator.stdout();
            byte[] buffer = new byte[1 << 16];
            byte[] carry = new byte[8];
            int carried = 0;
            long expected = 0;
            long received = 0;
            for (int n; (n = out.read(buffer)) > 0; ) {
                received += n;
                int i = 0;
                while (carried > 0 && carried < 8 && i < n) {
                    carry[carried++] = buffer[i++];
                    if (carried == 8) {
                        assertEquals(expected++, java.nio.ByteBuffer.wrap(carry).getLong(), "at byte " + (received - n + i - 8));
                        carried = 0;
                    }
                }
                for (; i + 8 <= n; i += 8) {
                    long value = (long) java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class,
                            java.nio.ByteOrder.BIG_ENDIAN).get(buffer, i);
                    if (value != expected) {
                        fail("counter " + value + " where " + expected + " belongs, at byte " + (received - n + i));
                    }
                    expected++;
                }
                while (i < n) {
                    carry[carried++] = buffer[i++];
                }
            }
            assertEquals(total, received);
            assertEquals(0, carried);
            assertEquals(total / 8, expected);
            assertEquals(ExitStatus.exited(0), generator.waitFor());
        }
        double seconds = (System.nanoTime() - startNs) / 1e9;
        System.out.printf("agent: 100 MiB of stdout in %.2f s (%.0f MiB/s)%n", seconds, 100 / seconds);
    }

    @Test
    void concurrentExecsKeepTheirStreamsApart() throws Exception {
        int processes = 8;
        int lines = 2000;
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            var results = new ArrayList<Future<AgentClient.Result>>();
            for (int p = 0; p < processes; p++) {
                String script = "i=0; while [ $i -lt " + lines + " ]; do echo \"$ID out $i\"; echo \"$ID err $i\" >&2;"
                        + " i=$((i+1)); done; exit $ID";
                var request = ExecRequest.of("sh", "-c", script).withEnv("ID", Integer.toString(p));
                results.add(executor.submit(() -> client.run(request)));
            }
            for (int p = 0; p < processes; p++) {
                var result = results.get(p).get();
                assertEquals(p, result.exitCode());
                var out = new StringBuilder();
                var err = new StringBuilder();
                for (int i = 0; i < lines; i++) {
                    out.append(p).append(" out ").append(i).append('\n');
                    err.append(p).append(" err ").append(i).append('\n');
                }
                assertEquals(out.toString(), result.stdoutText());
                assertEquals(err.toString(), result.stderrText());
            }
        }
    }

    @Test
    void anUnreadProcessDoesNotStallOthers() throws Exception {
        try (ExecProcess hog = client.exec(ExecRequest.of(agent.binary.toString(), "--generate", "20000000"))) {
            Thread.sleep(200); // its window fills and it blocks on its pipe
            assertEquals("still served\n", client.run("echo", "still served").stdoutText());
            assertTrue(client.ping().toMillis() < 5_000);
            try (AgentClient other = agent.connect()) {
                assertEquals(0, other.run("true").exitCode());
            }
            assertEquals(20_000_000, hog.stdout().readAllBytes().length);
            assertEquals(ExitStatus.exited(0), hog.waitFor());
        }
    }

    @Test
    void closedOutputStreamIsDrainedSoTheChildFinishes() throws Exception {
        try (ExecProcess p = client.exec(ExecRequest.of(agent.binary.toString(), "--generate", "8000000"))) {
            p.stdout().close();
            assertEquals(ExitStatus.exited(0), p.waitFor());
        }
    }

    @Test
    void filesRoundTripWithTheirMode() throws Exception {
        byte[] content = new byte[10 << 20];
        new Random(7).nextBytes(content);
        Path hostFile = Files.write(dir.resolve("upload.bin"), content);
        String guestPath = dir.resolve("guest-side.bin").toString();
        assertEquals(content.length, client.putFile(hostFile, guestPath, 0640));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(guestPath))));
        Path back = dir.resolve("download.bin");
        assertEquals(content.length, client.getFile(guestPath, back));
        assertArrayEquals(content, Files.readAllBytes(back));
        try (var leftovers = Files.list(dir)) {
            assertFalse(leftovers.anyMatch(p -> p.getFileName().toString().contains(".airlock-")
                    || p.getFileName().toString().endsWith(".part")), "no temporary files are left behind");
        }
        Path empty = Files.write(dir.resolve("empty"), new byte[0]);
        assertEquals(0, client.putFile(empty, dir.resolve("empty-copy").toString(), 0755));
        assertEquals(0, client.getFile(dir.resolve("empty-copy").toString(), dir.resolve("empty-back")));
    }

    @Test
    void missingFilesAreClearErrors() throws Exception {
        Path target = dir.resolve("never");
        var missing = assertThrows(AgentRemoteException.class, () -> client.getFile("/no/such/file", target));
        assertEquals(Errno.ENOENT, missing.errno());
        assertTrue(missing.getMessage().contains("cannot open /no/such/file: No such file or directory"),
                missing.getMessage());
        assertFalse(Files.exists(target));
        var directory = assertThrows(AgentRemoteException.class, () -> client.getFile(dir.toString(), target));
        assertEquals(Errno.EISDIR, directory.errno());
        Path small = Files.writeString(dir.resolve("small"), "x");
        var noParent = assertThrows(AgentRemoteException.class, () -> client.putFile(small, "/no/such/dir/f", 0644));
        assertEquals(Errno.ENOENT, noParent.errno());
        assertTrue(client.ping().toMillis() < 5_000, "the connection survives request errors");
    }

    @Test
    void closingAConnectionKillsItsProcesses() throws Exception {
        long pid;
        try (AgentClient transient_ = agent.connect()) {
            pid = transient_.exec(ExecRequest.of("sleep", "100")).pid();
            assertTrue(ProcessHandle.of(pid).isPresent());
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (ProcessHandle.of(pid).isPresent()) {
            if (System.nanoTime() > deadline) {
                fail("pid " + pid + " outlived its connection");
            }
            Thread.sleep(10);
        }
    }

    @Test
    void pingRoundTrip() throws Exception {
        long[] nanos = new long[1000];
        for (int i = 0; i < 100; i++) {
            client.ping(); // warm up
        }
        for (int i = 0; i < nanos.length; i++) {
            nanos[i] = client.ping().toNanos();
        }
        Arrays.sort(nanos);
        System.out.printf("agent: ping over a Unix socket, 1000 pings: p50 %.1f us, p99 %.1f us%n",
                nanos[500] / 1e3, nanos[990] / 1e3);
        assertTrue(nanos[500] < 50_000_000, "p50 under 50 ms");
    }

    @Test
    void manyConnectionsAtOnce() throws Exception {
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            var answers = new ArrayList<Future<String>>();
            for (int i = 0; i < 10; i++) {
                String word = "conn" + i;
                answers.add(executor.submit(() -> {
                    try (AgentClient own = agent.connect()) {
                        return own.run("echo", word).stdoutText();
                    }
                }));
            }
            for (int i = 0; i < answers.size(); i++) {
                assertEquals("conn" + i + "\n", answers.get(i).get());
            }
        }
    }

    static Future<byte[]> readAllOnAnotherThread(InputStream in) {
        Callable<byte[]> task = () -> {
            var out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        };
        var future = new java.util.concurrent.FutureTask<>(task);
        Thread.ofVirtual().start(future);
        return future;
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static List<String> lines(String text) {
        return List.of(text.split("\n"));
    }
}
