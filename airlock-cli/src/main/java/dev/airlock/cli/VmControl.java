package dev.airlock.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Logger;
import dev.airlock.vmm.io.UnixSocketServer;
import dev.airlock.vmm.io.UnixSockets;

/**
 * The control socket of a VM that {@code airlock start} runs ({@code vms/NAME/control.sock}): one
 * request line, one answer line. {@code STATUS} answers the VM's {@link VmStatus} as JSON;
 * {@code STOP} stops the VM at once (no guest sync: {@code airlock stop} asks the agent for that first);
 * {@code RESET} puts a clone back to its template.
 */
final class VmControl implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(VmControl.class.getName());
    private static final int MAX_LINE_BYTES = 64;

    private final UnixSocketServer server;
    private final Supplier<VmStatus> status;
    private final Runnable stop;
    private final Reset reset;

    /** What RESET does; it answers an error message, or null when done. */
    interface Reset {
        String reset();
    }

    private VmControl(Path path, Supplier<VmStatus> status, Runnable stop, Reset reset) throws IOException {
        this.status = status;
        this.stop = stop;
        this.reset = reset;
        this.server = UnixSocketServer.start(path, "the control socket", this::serve);
    }

    static VmControl listen(Path path, Supplier<VmStatus> status, Runnable stop, Reset reset) throws IOException {
        return new VmControl(path, status, stop, reset);
    }

    private void serve(SocketChannel client) {
        try (client) {
            String line = UnixSockets.readLine(client, MAX_LINE_BYTES);
            String answer = switch (line == null ? "" : line.strip()) {
                case "STATUS" -> status.get().toJson();
                case "STOP" -> {
                    stop.run();
                    yield "{\"stopping\":true}";
                }
                case "RESET" -> {
                    String error = reset.reset();
                    yield error == null ? "{\"reset\":true}" : "{\"error\":\"" + error.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
                }
                default -> "{\"error\":\"expected STATUS, STOP or RESET\"}";
            };
            ByteBuffer out = ByteBuffer.wrap((answer + "\n").getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) client.write(out);
        } catch (IOException | RuntimeException e) {
            LOG.fine(() -> "control request failed: " + e);
        }
    }

    /** Sends {@code request} to the control socket at {@code path} and returns the answer line. */
    static String ask(Path path, String request, Duration timeout) throws IOException {
        try (var executor = Executors.newVirtualThreadPerTaskExecutor();
             SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            var answer = executor.submit(() -> {
                channel.connect(UnixDomainSocketAddress.of(path));
                ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.US_ASCII));
                while (out.hasRemaining()) channel.write(out);
                ByteBuffer in = ByteBuffer.allocate(1 << 16);
                while (channel.read(in) >= 0 && in.hasRemaining()) {
                    if (in.position() > 0 && in.get(in.position() - 1) == '\n') break;
                }
                return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
            });
            try {
                return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                channel.close();
                throw new IOException("no answer from " + path + " within " + timeout.toMillis() + " ms");
            } catch (ExecutionException e) {
                throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
