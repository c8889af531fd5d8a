package dev.airlock.guest.agent;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process the agent started for an {@link ExecRequest}. Like {@link Process}: read
 * {@link #stdout()} and {@link #stderr()} (each holds at most the output window unread, after
 * which the child blocks), write {@link #stdin()} if requested, then {@link #waitFor()}.
 * {@link #close()} kills the process group if it is still running.
 */
public final class ExecProcess implements AutoCloseable {

    /** SIGKILL's number on Linux. */
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    private final AgentClient client;
    private final int streamId;
    private final ExecRequest request;
    private final CompletableFuture<Integer> started = new CompletableFuture<>();
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    private final ReceivedStream stdout;
    private final ReceivedStream stderr;
    private final StdinStream stdin;
    private final AgentClient.StreamHandler handler = new Handler();

    ExecProcess(AgentClient client, int streamId, ExecRequest request, int outputWindowBytes, int stdinWindowBytes,
            int maxFrameBytes) {
        this.client = client;
        this.streamId = streamId;
        this.request = request;
        this.stdout = new ReceivedStream(this, Messages.CHANNEL_STDOUT, outputWindowBytes);
        this.stderr = new ReceivedStream(this, Messages.CHANNEL_STDERR, outputWindowBytes);
        this.stdin = new StdinStream(this, request.streamStdin(), stdinWindowBytes, maxFrameBytes);
    }

    /** The guest pid (also the process group id: the agent starts each command in its own session). */
    public int pid() {
        return started.join();
    }

    public ExecRequest request() {
        return request;
    }

    /** The child's stdin; writable only if the request asked for {@link ExecRequest#withStdin()}. */
    public OutputStream stdin() {
        return stdin;
    }

    public InputStream stdout() {
        return stdout;
    }

    public InputStream stderr() {
        return stderr;
    }

    /** Waits for the process to exit. Its output must be read meanwhile, as with {@link Process}. */
    public ExitStatus waitFor() throws AgentException, InterruptedException {
        try {
            return exit.get();
        } catch (ExecutionException e) {
            throw AgentClient.rethrow(e.getCause());
        }
    }

    /** The exit status if the process exits within {@code timeout}. */
    public Optional<ExitStatus> waitFor(Duration timeout) throws AgentException, InterruptedException {
        try {
            return Optional.of(exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw AgentClient.rethrow(e.getCause());
        }
    }

    /** The exit status, if the process has exited. */
    public Optional<ExitStatus> exitStatus() {
        return exit.isDone() && !exit.isCompletedExceptionally() ? Optional.of(exit.join()) : Optional.empty();
    }

    /** Sends {@code signo} to the process; a no-op once it has exited. */
    public void signal(int signo) throws AgentException {
        signal(signo, false);
    }

    /** Sends {@code signo} to the process's whole group (a shell and its pipeline, say). */
    public void signalProcessGroup(int signo) throws AgentException {
        signal(signo, true);
    }

    private void signal(int signo, boolean group) throws AgentException {
        if (signo < 1 || signo > 64) {
            throw new IllegalArgumentException("not a signal number: " + signo);
        }
        if (!exit.isDone()) {
            client.send(FrameType.SIGNAL, streamId, Messages.signal(new Messages.Signal(signo, group)));
        }
    }

    /** Kills the process group if still running and lets go of its output. */
    @Override
    public void close() throws AgentException {
        try {
            if (!exit.isDone() && client.isOpen()) {
                signalProcessGroup(SIGKILL);
            }
        } finally {
            stdout.close();
            stderr.close();
        }
    }

    @Override
    public String toString() {
        String pid = started.isDone() && !started.isCompletedExceptionally() ? " (pid " + started.join() + ")" : "";
        return "guest process " + request.argv().getFirst() + pid;
    }

    // ---- package-private plumbing ----

    AgentClient.StreamHandler handler() {
        return handler;
    }

    void awaitStarted(Duration timeout) throws AgentException {
        client.await(started, timeout, "EXEC " + request.argv());
    }

    void grant(int channel, int bytes) {
        try {
            client.send(FrameType.WINDOW, streamId, Messages.window(new Messages.Window(channel, bytes)));
        } catch (AgentException ignored) {
            // the connection is failing; readers hear about it through their streams
        }
    }

    void grantLater(int channel, int bytes) {
        client.sendLater(FrameType.WINDOW, streamId, Messages.window(new Messages.Window(channel, bytes)));
    }

    void sendStdin(ByteBuffer chunk) throws AgentException {
        client.send(FrameType.STDIN, streamId, chunk);
    }

    void sendStdinClose() throws AgentException {
        if (!exit.isDone()) {
            client.send(FrameType.STDIN_CLOSE, streamId, new byte[0]);
        }
    }

    private final class Handler implements AgentClient.StreamHandler {

        @Override
        public void onFrame(Frame frame) throws AgentException {
            if (frame.type() != FrameType.STARTED && frame.type() != FrameType.ERROR && !started.isDone()) {
                throw new AgentProtocolException("the agent sent " + frame.type() + " for an exec before STARTED");
            }
            switch (frame.type()) {
                case STARTED -> {
                    if (!started.complete(Messages.parseStarted(frame.payload()))) {
                        throw new AgentProtocolException("the agent sent STARTED twice for " + ExecProcess.this);
                    }
                }
                case STDOUT -> stdout.offer(frame.payload());
                case STDERR -> stderr.offer(frame.payload());
                case WINDOW -> {
                    var window = Messages.parseWindow(frame.payload());
                    if (window.channel() != Messages.CHANNEL_STDIN) {
                        throw new AgentProtocolException("the agent sent WINDOW for channel " + window.channel());
                    }
                    stdin.credit(window.incrementBytes());
                }
                case EXIT -> {
                    ExitStatus status = Messages.parseExit(frame.payload());
                    var exited = new AgentException(ExecProcess.this + " exited (" + status + ")");
                    stdout.end(exited);
                    stderr.end(exited);
                    stdin.end("the process has exited (" + status + ")");
                    client.unregister(streamId);
                    exit.complete(status);
                }
                case ERROR -> {
                    AgentRemoteException error = AgentClient.remoteError(frame);
                    client.unregister(streamId);
                    fail(error);
                }
                default -> throw new AgentProtocolException("unexpected " + frame.type() + " on an exec stream");
            }
        }

        @Override
        public void onConnectionFailed(AgentException cause) {
            fail(cause);
        }

        private void fail(AgentException cause) {
            started.completeExceptionally(cause);
            exit.completeExceptionally(cause);
            stdout.end(cause);
            stderr.end(cause);
            stdin.end(cause.getMessage());
        }
    }
}
