package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.ExecProcess;
import dev.airlock.guest.agent.ExecRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * {@code airlock bench-agent NAME}: what scripts/bench-agent.sh measures on a running VM. The agent's
 * exec round trip and ping, and stream throughput both ways, through the agent protocol and over a
 * raw vsock stream (guest {@code airlock-agent --connect vsock:2:PORT} against a host Unix socket).
 */
final class AgentBench {
    private AgentBench() {}

    private static long guestInstructions(RuntimeDir runtime, String name) throws java.io.IOException {
        return VmStatus.fromJson(VmControl.ask(runtime.controlSocket(name), "STATUS", Duration.ofSeconds(5))).guestInstructions();
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length < 1) throw new UsageException("usage: airlock bench-agent NAME [ROUNDS] [MiB]");
        String name = args[0];
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        long bytes = (args.length > 2 ? Long.parseLong(args[2]) : 64) << 20;
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        Path socket = runtime.vsockSocket(name);
        try (AgentClient agent = AgentClient.awaitVsock(socket, Duration.ofSeconds(60), () -> false)) {
            for (int i = 0; i < 20; i++) agent.run("true"); // warm both sides up
            double[] exec = new double[rounds];
            // Guest instructions per round (the guest's idle ticks in between included, a few thousand a
            // round): unlike the times, the same for the same guest on a busy machine.
            long before = guestInstructions(runtime, name);
            for (int i = 0; i < rounds; i++) {
                long t = System.nanoTime();
                if (agent.run("true").exitCode() != 0) throw new AgentException("true failed");
                exec[i] = (System.nanoTime() - t) / 1e6;
            }
            long perRound = (guestInstructions(runtime, name) - before) / rounds;
            double[] ping = new double[rounds];
            for (int i = 0; i < rounds; i++) ping[i] = agent.ping().toNanos() / 1e6;
            Arrays.sort(exec);
            Arrays.sort(ping);
            out.printf("exec_true_ms p50=%.2f p99=%.2f%n", exec[rounds / 2], exec[rounds * 99 / 100]);
            out.printf("exec_true_guest_instructions %d per round%n", perRound);
            out.printf("ping_ms p50=%.3f p99=%.3f%n", ping[rounds / 2], ping[rounds * 99 / 100]);

            long t = System.nanoTime();
            ExecProcess gen = agent.exec(ExecRequest.of("/sbin/airlock-agent", "--generate", Long.toString(bytes)));
            long got = drain(gen.stdout());
            gen.waitFor();
            out.printf("agent_guest_to_host_MiBps %.1f (%d MiB)%n", mibps(got, t), got >> 20);

            t = System.nanoTime();
            ExecProcess sink = agent.exec(ExecRequest.of("sh", "-c", "cat > /dev/null").withStdin());
            try (OutputStream in = sink.stdin()) {
                fill(in, bytes);
            }
            sink.waitFor();
            out.printf("agent_host_to_guest_MiBps %.1f%n", mibps(bytes, t));

            out.printf("vsock_guest_to_host_MiBps %.1f%n", raw(agent, socket, bytes, true));
            out.printf("vsock_host_to_guest_MiBps %.1f%n", raw(agent, socket, bytes, false));
            return 0;
        } catch (IOException e) {
            err.println("airlock: bench-agent " + name + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
    }

    /** One raw vsock stream through socket_PORT: the guest connects to the host and sends, or receives. */
    private static double raw(AgentClient agent, Path socket, long bytes, boolean guestSends)
            throws IOException, AgentException, InterruptedException {
        Path listen = socket.resolveSibling(socket.getFileName() + (guestSends ? "_5101" : "_5102"));
        Files.deleteIfExists(listen);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(listen));
            String connect = "/sbin/airlock-agent --connect vsock:2:" + (guestSends ? "5101" : "5102");
            String cmd = guestSends ? "/sbin/airlock-agent --generate " + bytes + " | " + connect
                    : connect + " </dev/null >/dev/null";
            ExecProcess p = agent.exec(ExecRequest.of("sh", "-c", cmd));
            long t;
            try (SocketChannel c = server.accept()) {
                t = System.nanoTime();
                if (guestSends) {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    long got = 0;
                    for (int n; (n = c.read(b.clear())) >= 0; ) got += n;
                    if (got != bytes) throw new IOException("received " + got + " of " + bytes + " bytes");
                } else {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    for (long left = bytes; left > 0; ) {
                        b.clear().limit((int) Math.min(b.capacity(), left));
                        left -= c.write(b);
                    }
                    c.shutdownOutput();
                }
            }
            p.waitFor();
            return mibps(bytes, t);
        } finally {
            Files.deleteIfExists(listen);
        }
    }

    private static long drain(InputStream in) throws IOException {
        byte[] buf = new byte[1 << 16];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) total += n;
        return total;
    }

    private static void fill(OutputStream out, long bytes) throws IOException {
        byte[] buf = new byte[1 << 16];
        for (long left = bytes; left > 0; ) {
            int n = (int) Math.min(buf.length, left);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    private static double mibps(long bytes, long startNanos) {
        return (bytes / 1048576.0) / ((System.nanoTime() - startNanos) / 1e9);
    }
}
