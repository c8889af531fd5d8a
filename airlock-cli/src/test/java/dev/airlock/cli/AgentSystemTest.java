package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.ExecProcess;
import dev.airlock.guest.agent.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * One VM started with {@code airlock start}, then driven through its agent over virtio-vsock the
 * way users do: exec, cp, vsock in both directions, a driver unloaded and reloaded, and stop. One
 * boot serves every check, so the class costs one boot.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentSystemTest {
    static final String NAME = "agent-test";
    static Path runtime;
    static CompletableFuture<BootSystemTest.Run> started;
    static Path socket;

    @BeforeAll
    static void start() throws Exception {
        runtime = Files.createTempDirectory("airlock-runtime");
        System.setProperty("airlock.runtimeDir", runtime.toString());
        // Its own thread: the common pool may have a single worker, which this would hold for the whole class.
        started = new CompletableFuture<>();
        Thread.ofPlatform().name("airlock-start").daemon(true).start(() -> {
            try {
                started.complete(BootSystemTest.airlock("start", NAME, "--memory", "512"));
            } catch (Throwable t) {
                started.completeExceptionally(t);
            }
        });
        socket = RuntimeDir.fromEnvironment().vsockSocket(NAME);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(socket)) {
            assertFalse(started.isDone(), () -> "start ended early: " + started.join());
            assertTrue(System.nanoTime() < deadline, "no vsock socket after 120 s");
            Thread.sleep(20);
        }
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(120), () -> false)) {
            assertEquals(0, agent.run("true").exitCode());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (started == null) return;
        BootSystemTest.Run stop = BootSystemTest.airlock("stop", NAME);
        BootSystemTest.Run start = started.get(120, TimeUnit.SECONDS);
        System.clearProperty("airlock.runtimeDir");
        assertEquals(0, stop.exit(), stop::toString);
        assertEquals(0, start.exit(), start::toString);
        assertFalse(Files.exists(socket), "the socket outlived the VM");
    }

    @Test @Order(1)
    void execGivesOutputAndExitCodes() throws Exception {
        BootSystemTest.Run r = BootSystemTest.airlock("exec", NAME, "-e", "GREETING=hi there", "-w", "/tmp", "--",
                "sh", "-c", "echo \"$GREETING from $(pwd)\"; echo oops >&2; exit 7");
        assertEquals(7, r.exit(), r::toString);
        assertEquals("hi there from /tmp\n", r.out(), r::toString);
        assertEquals("oops\n", r.err(), r::toString);
        BootSystemTest.Run missing = BootSystemTest.airlock("exec", NAME, "--", "no-such-command");
        assertEquals(127, missing.exit(), missing::toString);
        BootSystemTest.Run nobody = BootSystemTest.airlock("exec", "no-such-vm", "--", "true");
        assertNotEquals(0, nobody.exit(), nobody::toString);
        assertTrue(nobody.err().contains("no running VM is named 'no-such-vm'"), nobody::toString);
    }

    /** 100 MiB of counters from the guest arrive complete and in order. */
    @Test @Order(2)
    void hundredMebibytesOfOutputArriveInOrder() throws Exception {
        long total = 100L << 20;
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(10), () -> false)) {
            long t0 = System.nanoTime();
            ExecProcess p = agent.exec(ExecRequest.of("/sbin/airlock-agent", "--generate", Long.toString(total)));
            InputStream in = p.stdout();
            byte[] buf = new byte[1 << 16];
            long got = 0, expect = 0;
            ByteBuffer word = ByteBuffer.allocate(8);
            for (int n; (n = in.read(buf)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    word.put(buf[i]);
                    if (!word.hasRemaining()) {
                        long v = word.flip().getLong();
                        if (v != expect) fail("counter " + expect + " arrived as " + v + " at byte " + (got + i - 7));
                        expect++;
                        word.clear();
                    }
                }
                got += n;
            }
            assertEquals(0, p.waitFor().exitCode());
            assertEquals(total, got);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("agent output: %d MiB in %.2f s = %.1f MiB/s%n", total >> 20, s, (total >> 20) / s);
        }
    }

    @Test @Order(3)
    void cpMovesFilesBothWays() throws Exception {
        Path dir = Files.createTempDirectory("airlock-cp");
        byte[] data = new byte[3 << 20];
        new Random(42).nextBytes(data);
        Path in = Files.write(dir.resolve("in.bin"), data);
        BootSystemTest.Run put = BootSystemTest.airlock("cp", in.toString(), NAME + ":/tmp/in.bin");
        assertEquals(0, put.exit(), put::toString);
        BootSystemTest.Run sum = BootSystemTest.airlock("exec", NAME, "--", "md5sum", "/tmp/in.bin");
        assertEquals(hex(MessageDigest.getInstance("MD5").digest(data)) + "  /tmp/in.bin\n", sum.out(), sum::toString);
        Path back = dir.resolve("back.bin");
        BootSystemTest.Run get = BootSystemTest.airlock("cp", NAME + ":/tmp/in.bin", back.toString());
        assertEquals(0, get.exit(), get::toString);
        assertArrayEquals(data, Files.readAllBytes(back));
        BootSystemTest.Run missing = BootSystemTest.airlock("cp", NAME + ":/no/such/file", back.toString());
        assertNotEquals(0, missing.exit(), missing::toString);
        assertTrue(missing.err().contains("/no/such/file"), missing::toString);
    }

    /** Host-initiated: the agent's connection carries stdin to cat and back. Guest-initiated: CID 2 reaches socket_PORT. */
    @Test @Order(4)
    void vsockEchoesInBothDirections() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(7).nextBytes(data);
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(10), () -> false)) {
            ExecProcess cat = agent.exec(ExecRequest.of("cat").withStdin());
            CompletableFuture<byte[]> out = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    out.complete(cat.stdout().readAllBytes());
                } catch (IOException e) {
                    out.completeExceptionally(e);
                }
            });
            try (var stdin = cat.stdin()) {
                stdin.write(data);
            }
            assertArrayEquals(data, out.get(60, TimeUnit.SECONDS), "host -> guest -> host echo differs");
            assertEquals(0, cat.waitFor().exitCode());
        }
        // Guest -> host: an echo server on the host at <socket>_5000, as Firecracker names it.
        Path echoPath = socket.resolveSibling(socket.getFileName() + "_5000");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(echoPath));
            Thread echo = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    while (c.read(b) >= 0) {
                        b.flip();
                        while (b.hasRemaining()) c.write(b);
                        b.clear();
                    }
                    c.shutdownOutput();
                } catch (IOException ignored) {
                    // the assertion below reports what went wrong
                }
            });
            BootSystemTest.Run r = BootSystemTest.airlock("exec", NAME, "--", "sh", "-c",
                    "head -c 1048576 /dev/urandom > /tmp/r && /sbin/airlock-agent --connect vsock:2:5000 < /tmp/r > /tmp/e"
                            + " && cmp /tmp/r /tmp/e && echo echoed $(wc -c < /tmp/e) bytes");
            assertEquals(0, r.exit(), r::toString);
            assertEquals("echoed 1048576 bytes\n", r.out(), r::toString);
            echo.join(10_000);
            BootSystemTest.Run refused = BootSystemTest.airlock("exec", NAME, "--", "/sbin/airlock-agent", "--connect",
                    "vsock:2:5999");
            assertNotEquals(0, refused.exit(), "a port nobody listens on must refuse: " + refused);
        } finally {
            Files.deleteIfExists(echoPath);
        }
    }

    /** The agent's exec round trip on a running VM, as the benchmark asks: printed, not asserted. */
    @Test @Order(5)
    void execTrueRoundTrip() throws Exception {
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(10), () -> false)) {
            List<Double> ms = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                long t = System.nanoTime();
                assertEquals(0, agent.run("true").exitCode());
                ms.add((System.nanoTime() - t) / 1e6);
            }
            List<Double> pings = new ArrayList<>();
            for (int i = 0; i < 30; i++) pings.add(agent.ping().toNanos() / 1e6);
            ms.sort(null);
            pings.sort(null);
            System.out.printf("agent exec true: p50 %.2f ms, p90 %.2f ms; ping p50 %.2f ms%n", ms.get(15), ms.get(27),
                    pings.get(15));
        }
    }

    /** Unloading and reloading drivers resets and re-activates their devices; the agent keeps answering. */
    @Test @Order(6)
    void driversCanBeUnloadedAndReloaded() throws Exception {
        BootSystemTest.Run rng = BootSystemTest.airlock("exec", NAME, "--", "sh", "-c",
                "rmmod virtio_rng && insmod /lib/modules/$(uname -r)/virtio_rng.ko && sleep 1"
                        + " && head -c 64 /dev/hwrng | wc -c && cat /sys/class/misc/hw_random/rng_current");
        assertEquals(0, rng.exit(), rng::toString);
        assertTrue(rng.out().startsWith("64\nvirtio_rng"), rng::toString); // a reloaded driver names it virtio_rng.N
        // The vsock transport carries this very connection: reload it from a detached shell.
        BootSystemTest.Run reload = BootSystemTest.airlock("exec", NAME, "--", "sh", "-c",
                "setsid sh -c 'sleep 1; rmmod vmw_vsock_virtio_transport;"
                        + " insmod /lib/modules/$(uname -r)/vmw_vsock_virtio_transport.ko' </dev/null >/dev/null 2>&1 &");
        assertEquals(0, reload.exit(), reload::toString);
        Thread.sleep(3000);
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(60), () -> false)) {
            var r = agent.run("sh", "-c", "grep -c '^vmw_vsock_virtio_transport ' /proc/modules");
            assertEquals("1\n", r.stdoutText(), r.stderrText());
        }
    }

    /**
     * A hostile guest: with the rng's driver unbound, it writes garbage to the device's registers
     * (a queue outside RAM, a bogus notify). The device goes to NEEDS_RESET, the VM and the agent
     * carry on, and rebinding the driver resets the device back to work.
     */
    @Test @Order(7)
    void garbageInDeviceRegistersResetsOnlyThatDevice() throws Exception {
        String rng = "0x10001"; // slot 0: no disks, so the rng comes first
        BootSystemTest.Run r = BootSystemTest.airlock("exec", NAME, "--", "sh", "-c", String.join("; ",
                "d=10001000.virtio_mmio",
                "echo $d > /sys/bus/platform/drivers/virtio-mmio/unbind",
                "devmem " + rng + "070 32 3", "devmem " + rng + "030 32 0", "devmem " + rng + "038 32 8",
                "devmem " + rng + "080 32 0xfffff000", "devmem " + rng + "084 32 0xffffffff",
                "devmem " + rng + "044 32 1",
                "echo status $(devmem " + rng + "070 32)",
                "devmem " + rng + "050 32 0xffffffff",
                "echo $d > /sys/bus/platform/drivers/virtio-mmio/bind",
                "sleep 1",
                "head -c 16 /dev/hwrng | wc -c"));
        assertEquals(0, r.exit(), r::toString);
        // 0x43: ACKNOWLEDGE | DRIVER | DEVICE_NEEDS_RESET.
        assertEquals("status 0x00000043\n16\n", r.out(), r::toString);
    }

    /** ps reports the VM; memory the guest fills and frees goes back to the host (free page reporting). */
    @Test @Order(8)
    void psShowsMemoryReturningAfterTheGuestFreesIt() throws Exception {
        long before = status().residentBytes();
        BootSystemTest.Run fill = BootSystemTest.airlock("exec", NAME, "--", "sh", "-c",
                "dd if=/dev/zero of=/tmp/fill bs=1M count=200 2>/dev/null && echo filled");
        assertEquals("filled\n", fill.out(), fill::toString);
        long peak = status().residentBytes();
        long freedAt = System.nanoTime();
        BootSystemTest.Run free = BootSystemTest.airlock("exec", NAME, "--", "rm", "/tmp/fill");
        assertEquals(0, free.exit(), free::toString);
        long after = peak;
        while (System.nanoTime() - freedAt < TimeUnit.SECONDS.toNanos(30) && after - before > (40L << 20)) {
            Thread.sleep(250);
            after = status().residentBytes();
        }
        System.out.printf("guest RAM resident on the host: %d MiB, after a 200 MiB fill %d MiB, %.1f s after rm %d MiB%n",
                before >> 20, peak >> 20, (System.nanoTime() - freedAt) / 1e9, after >> 20);
        assertTrue(peak - before > (180L << 20), "the fill did not show: " + (before >> 20) + " -> " + (peak >> 20) + " MiB");
        assertTrue(after - before < (40L << 20), "not returned: " + (before >> 20) + " -> " + (after >> 20) + " MiB");
        BootSystemTest.Run ps = BootSystemTest.airlock("ps");
        assertTrue(ps.out().contains(NAME), ps::toString);
    }

    static VmStatus status() throws Exception {
        return VmStatus.fromJson(VmControl.ask(RuntimeDir.fromEnvironment().controlSocket(NAME), "STATUS",
                Duration.ofSeconds(5)));
    }

    static String hex(byte[] b) {
        var s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }
}
