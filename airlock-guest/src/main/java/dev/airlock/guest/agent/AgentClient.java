package dev.airlock.guest.agent;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The host's end of a connection to the guest agent (docs/agent-protocol.md).
 *
 * <p>One virtual thread per connection reads frames and hands each to the request it belongs to;
 * it never writes to the socket, so a host that is slow to consume output cannot wedge it (output
 * is bounded by per-stream credit instead). Callers' threads write frames under one lock. All
 * methods are thread-safe; requests on one connection run concurrently.
 */
public final class AgentClient implements AutoCloseable {

    /** The guest port the agent listens on (AF_VSOCK). */
    public static final int AGENT_VSOCK_PORT = 1024;
    /** How long HELLO, PING, EXEC's STARTED and FILE_PUT's acknowledgement may take. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** Credit the agent gets for each exec's stdout and for its stderr. */
    public static final int DEFAULT_OUTPUT_WINDOW_BYTES = 512 * 1024;
    private static final int FILE_CHUNK_BYTES = 256 * 1024;
    private static final String CLIENT_NAME = "airlock-java";

    /** Everything a request needs from the reader thread. Called only on that thread. */
    interface StreamHandler {
        void onFrame(Frame frame) throws AgentException;

        void onConnectionFailed(AgentException cause);
    }

    /** What {@link #run} returns: how the command ended and everything it wrote. */
    public record Result(ExitStatus status, byte[] stdout, byte[] stderr) {

        public int exitCode() {
            return status.exitCode();
        }

        public String stdoutText() {
            return new String(stdout, java.nio.charset.StandardCharsets.UTF_8);
        }

        public String stderrText() {
            return new String(stderr, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private final SocketChannel channel;
    private final String peer;
    private final Duration timeout;
    private final int outputWindowBytes;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Map<Integer, StreamHandler> streams = new ConcurrentHashMap<>();
    private final AtomicInteger nextStreamId = new AtomicInteger(1);
    private final CompletableFuture<AgentHello> hello = new CompletableFuture<>();
    private volatile AgentException failure;

    private AgentClient(SocketChannel channel, String peer, Duration timeout, int outputWindowBytes) {
        this.channel = channel;
        this.peer = peer;
        this.timeout = timeout;
        this.outputWindowBytes = outputWindowBytes;
    }

    /** Connects to an agent listening on a Unix socket ({@code --listen unix:PATH}). */
    public static AgentClient connect(Path unixSocket) throws AgentException {
        return connect(UnixDomainSocketAddress.of(unixSocket));
    }

    public static AgentClient connect(UnixDomainSocketAddress address) throws AgentException {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw new AgentUnreachableException("cannot open a Unix socket: " + e.getMessage(), e);
        }
        try {
            channel.connect(address);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new AgentUnreachableException("cannot connect to the agent at " + address.getPath() + ": "
                    + e.getMessage(), e);
        }
        return open(channel, address.getPath().toString(), DEFAULT_TIMEOUT);
    }

    /**
     * Connects to the agent in a VM through the VM's vsock Unix socket ({@link VsockConnector}),
     * on {@link #AGENT_VSOCK_PORT}.
     */
    public static AgentClient connectVsock(Path vmSocket) throws AgentException {
        return connectVsock(vmSocket, AGENT_VSOCK_PORT, DEFAULT_TIMEOUT);
    }

    public static AgentClient connectVsock(Path vmSocket, int port, Duration timeout) throws AgentException {
        SocketChannel channel = VsockConnector.connect(vmSocket, port, timeout);
        return open(channel, vmSocket + " port " + port, timeout);
    }

    /**
     * Connects to the agent through a VM's vsock socket, retrying while the guest boots (its vsock
     * driver or the agent is not up yet) until {@code timeout} passes or {@code vmGone} says the VM ended.
     *
     * @throws AgentUnreachableException the last refusal, once the time is up or the VM is gone
     */
    public static AgentClient awaitVsock(Path vmSocket, Duration timeout, java.util.function.BooleanSupplier vmGone)
            throws AgentException, InterruptedException {
        return awaitVsock(vmSocket, timeout, vmGone, DEFAULT_TIMEOUT);
    }

    /**
     * As {@link #awaitVsock(Path, Duration, java.util.function.BooleanSupplier)}, with {@code requestTimeout}
     * for each answer the client then waits for (a guest among many on a busy host answers slowly).
     */
    public static AgentClient awaitVsock(Path vmSocket, Duration timeout, java.util.function.BooleanSupplier vmGone,
                                         Duration requestTimeout) throws AgentException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return connectVsock(vmSocket, AGENT_VSOCK_PORT, requestTimeout);
            } catch (AgentUnreachableException e) {
                if (vmGone.getAsBoolean() || System.nanoTime() - deadline > 0) throw e;
                Thread.sleep(20);
            }
        }
    }

    /**
     * Speaks the protocol over an already connected channel (taken over: closing the client
     * closes it) and completes HELLO within {@code timeout}.
     */
    public static AgentClient open(SocketChannel channel, String peer, Duration timeout) throws AgentException {
        return open(channel, peer, timeout, DEFAULT_OUTPUT_WINDOW_BYTES);
    }

    static AgentClient open(SocketChannel channel, String peer, Duration timeout, int outputWindowBytes)
            throws AgentException {
        try {
            channel.configureBlocking(true);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new AgentUnreachableException("cannot use the channel to " + peer + ": " + e.getMessage(), e);
        }
        var client = new AgentClient(channel, peer, timeout, outputWindowBytes);
        Thread.ofVirtual().name("airlock-agent-reader " + peer).start(client::readLoop);
        try {
            client.send(FrameType.HELLO, 0, Messages.hostHello(new Messages.HostHello(
                    Messages.PROTOCOL_MAJOR, Messages.PROTOCOL_MINOR, outputWindowBytes, CLIENT_NAME)));
            client.hello.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return client;
        } catch (TimeoutException e) {
            client.close();
            throw new AgentUnreachableException("the agent at " + peer + " did not answer HELLO within "
                    + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            client.close();
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new AgentException("interrupted while greeting the agent at " + peer, e);
        } catch (AgentException e) {
            client.close();
            throw e;
        }
    }

    /** What the agent said about itself. */
    public AgentHello agentHello() {
        return hello.getNow(null);
    }

    public boolean isOpen() {
        return failure == null;
    }

    /** Round-trip time of one PING, waiting at most {@link #DEFAULT_TIMEOUT}. */
    public Duration ping() throws AgentException {
        return ping(timeout);
    }

    public Duration ping(Duration wait) throws AgentException {
        var pong = new CompletableFuture<Long>();
        int id = register(new StreamHandler() {
            @Override
            public void onFrame(Frame frame) throws AgentException {
                if (frame.type() != FrameType.PONG) {
                    throw new AgentProtocolException("the agent answered PING with " + frame.type());
                }
                pong.complete(System.nanoTime());
            }

            @Override
            public void onConnectionFailed(AgentException cause) {
                pong.completeExceptionally(cause);
            }
        });
        try {
            long startNs = System.nanoTime();
            send(FrameType.PING, id, ByteBuffer.allocate(8).putLong(0, startNs));
            return Duration.ofNanos(await(pong, wait, "PING") - startNs);
        } finally {
            streams.remove(id);
        }
    }

    /** Starts a command; returns once the agent reports it running (STARTED). */
    public ExecProcess exec(ExecRequest request) throws AgentException {
        int id = nextId();
        var process = new ExecProcess(this, id, request, outputWindowBytes, agentHello().stdinWindowBytes(),
                Math.min(agentHello().maxPayloadBytes(), FrameCodec.MAX_PAYLOAD_BYTES));
        register(id, process.handler());
        try {
            send(FrameType.EXEC, id, Messages.exec(request));
            process.awaitStarted(timeout);
            return process;
        } catch (AgentException | RuntimeException e) {
            streams.remove(id);
            throw e;
        }
    }

    /** Runs a command to completion and collects its output (stdin is /dev/null). */
    public Result run(String... argv) throws AgentException, InterruptedException {
        return run(ExecRequest.of(argv));
    }

    public Result run(ExecRequest request) throws AgentException, InterruptedException {
        ExecProcess process = exec(request);
        try {
            process.stdin().close();
            // stderr drains on its own thread: a command that fills one pipe while we wait on the
            // other must not stall.
            var stderr = new FutureTask<>(() -> process.stderr().readAllBytes());
            Thread.ofVirtual().name("airlock-agent-stderr " + peer).start(stderr);
            byte[] stdout = process.stdout().readAllBytes();
            byte[] stderrBytes = stderr.get();
            return new Result(process.waitFor(), stdout, stderrBytes);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (AgentException e) {
            throw e;
        } catch (IOException e) {
            throw new AgentException("reading the output of " + request.argv() + ": " + e.getMessage(), e);
        } finally {
            process.close();
        }
    }

    /**
     * Copies a host file into the guest at {@code guestPath} with permission bits {@code mode}
     * (e.g. 0755). The guest file appears whole or not at all (written aside, then renamed).
     *
     * @return the number of bytes the agent wrote
     */
    public long putFile(Path hostFile, String guestPath, int mode) throws IOException {
        try (FileChannel in = FileChannel.open(hostFile, StandardOpenOption.READ)) {
            var acknowledged = new CompletableFuture<Long>();
            int id = register(new StreamHandler() {
                @Override
                public void onFrame(Frame frame) throws AgentException {
                    switch (frame.type()) {
                        case FILE_PUT_OK -> acknowledged.complete(Messages.parseByteCount(frame.payload(), "FILE_PUT_OK"));
                        case ERROR -> acknowledged.completeExceptionally(remoteError(frame));
                        default -> throw new AgentProtocolException("unexpected " + frame.type() + " on a FILE_PUT stream");
                    }
                }

                @Override
                public void onConnectionFailed(AgentException cause) {
                    acknowledged.completeExceptionally(cause);
                }
            });
            try {
                send(FrameType.FILE_PUT, id, Messages.filePut(new Messages.FilePut(mode, guestPath)));
                ByteBuffer chunk = ByteBuffer.allocate(FILE_CHUNK_BYTES);
                // Stop early if the agent has already refused (say, a missing directory).
                while (!acknowledged.isDone()) {
                    chunk.clear();
                    if (in.read(chunk) < 0) {
                        send(FrameType.FILE_END, id, new byte[0]);
                        break;
                    }
                    send(FrameType.FILE_DATA, id, chunk.flip());
                }
                return await(acknowledged, timeout, "FILE_PUT " + guestPath);
            } finally {
                streams.remove(id);
            }
        }
    }

    /**
     * Copies a regular file out of the guest to {@code hostFile}, which appears whole or not at
     * all.
     *
     * @return the number of bytes copied
     */
    public long getFile(String guestPath, Path hostFile) throws IOException, InterruptedException {
        Path target = hostFile.toAbsolutePath();
        Path partial = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".part");
        boolean moved = false;
        try (FileChannel out = FileChannel.open(partial, StandardOpenOption.WRITE)) {
            var done = new CompletableFuture<Long>();
            int id = register(new StreamHandler() {
                long written;

                @Override
                public void onFrame(Frame frame) throws AgentException {
                    switch (frame.type()) {
                        case FILE_DATA -> {
                            if (done.isDone()) {
                                return; // a local write failed; let the rest go by
                            }
                            try {
                                ByteBuffer data = ByteBuffer.wrap(frame.payload());
                                while (data.hasRemaining()) {
                                    written += out.write(data);
                                }
                            } catch (IOException e) {
                                done.completeExceptionally(new AgentException("cannot write " + partial + ": "
                                        + e.getMessage(), e));
                            }
                        }
                        case FILE_END -> {
                            long size = Messages.parseByteCount(frame.payload(), "FILE_END");
                            if (size != written && !done.isDone()) {
                                done.completeExceptionally(new AgentProtocolException("the agent reported "
                                        + size + " bytes of " + guestPath + " but sent " + written));
                            }
                            done.complete(size);
                        }
                        case ERROR -> done.completeExceptionally(remoteError(frame));
                        default -> throw new AgentProtocolException("unexpected " + frame.type() + " on a FILE_GET stream");
                    }
                }

                @Override
                public void onConnectionFailed(AgentException cause) {
                    done.completeExceptionally(cause);
                }
            });
            long size;
            try {
                send(FrameType.FILE_GET, id, Messages.fileGet(guestPath));
                size = done.get();
            } catch (ExecutionException e) {
                throw rethrow(e.getCause());
            } finally {
                streams.remove(id);
            }
            out.close();
            try {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            return size;
        } finally {
            if (!moved) {
                Files.deleteIfExists(partial);
            }
        }
    }

    /** Closes the connection; the agent kills every process this connection started. */
    @Override
    public void close() {
        fail(new AgentException("the connection to the agent at " + peer + " was closed by this client"));
    }

    // ---- plumbing shared with ExecProcess ----

    int nextId() {
        int id;
        do {
            id = nextStreamId.getAndIncrement();
        } while (id == 0 || streams.containsKey(id));
        return id;
    }

    private int register(StreamHandler handler) throws AgentException {
        int id = nextId();
        register(id, handler);
        return id;
    }

    private void register(int id, StreamHandler handler) throws AgentException {
        streams.put(id, handler);
        AgentException failed = failure;
        if (failed != null) {
            streams.remove(id);
            throw closedException(failed);
        }
    }

    void unregister(int id) {
        streams.remove(id);
    }

    void send(FrameType type, int streamId, byte[] payload) throws AgentException {
        send(type, streamId, ByteBuffer.wrap(payload));
    }

    void send(FrameType type, int streamId, ByteBuffer payload) throws AgentException {
        ByteBuffer[] frame = {FrameCodec.header(type, streamId, payload.remaining()), payload};
        writeLock.lock();
        try {
            AgentException failed = failure;
            if (failed != null) {
                throw closedException(failed);
            }
            while (frame[1].hasRemaining() || frame[0].hasRemaining()) {
                channel.write(frame);
            }
        } catch (IOException e) {
            if (e instanceof AgentException agentException) {
                throw agentException;
            }
            var lost = new AgentException("lost the connection to the agent at " + peer + ": " + e, e);
            fail(lost);
            throw closedException(failure);
        } finally {
            writeLock.unlock();
        }
    }

    /** Sends a frame from a thread that must not block on the socket (the reader's callbacks). */
    void sendLater(FrameType type, int streamId, byte[] payload) {
        Thread.ofVirtual().name("airlock-agent-send " + peer).start(() -> {
            try {
                send(type, streamId, payload);
            } catch (AgentException ignored) {
                // the connection is failing; every waiter hears about it from fail()
            }
        });
    }

    String peer() {
        return peer;
    }

    static AgentRemoteException remoteError(Frame frame) throws AgentProtocolException {
        var error = Messages.parseError(frame.payload());
        return new AgentRemoteException(error.errno(), error.message());
    }

    <T> T await(CompletableFuture<T> future, Duration wait, String what) throws AgentException {
        try {
            return future.get(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new AgentException("the agent at " + peer + " did not answer " + what + " within "
                    + wait.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException("interrupted while waiting for " + what, e);
        } catch (CancellationException e) {
            throw new AgentException(what + " was cancelled", e);
        }
    }

    private AgentException closedException(AgentException cause) {
        return cause instanceof AgentProtocolException || cause instanceof AgentRemoteException ? cause
                : new AgentException(cause.getMessage(), cause);
    }

    static AgentException rethrow(Throwable cause) {
        if (cause instanceof AgentException agentException) {
            return agentException;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        return new AgentException(String.valueOf(cause.getMessage()), cause);
    }

    private void readLoop() {
        ByteBuffer header = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
        try {
            while (true) {
                Frame frame = FrameCodec.read(channel, header);
                if (frame == null) {
                    throw new AgentException("the agent at " + peer + " closed the connection");
                }
                dispatch(frame);
            }
        } catch (AgentException e) {
            fail(e);
        } catch (ClosedChannelException e) {
            fail(new AgentException("the connection to the agent at " + peer + " is closed", e));
        } catch (IOException e) {
            fail(new AgentException("lost the connection to the agent at " + peer + ": " + e, e));
        } catch (RuntimeException e) {
            fail(new AgentException("internal error reading from the agent at " + peer + ": " + e, e));
        }
    }

    private void dispatch(Frame frame) throws AgentException {
        if (!frame.type().sentByAgent()) {
            throw new AgentProtocolException("the agent sent " + frame.type() + ", which only the host may send");
        }
        if (!hello.isDone()) {
            switch (frame.type()) {
                case HELLO -> hello.complete(Messages.parseAgentHello(frame.payload()));
                case ERROR -> {
                    var error = Messages.parseError(frame.payload());
                    if (error.errno() == Errno.EPROTONOSUPPORT) {
                        throw new ProtocolVersionException("the guest agent at " + peer + " rejected protocol version "
                                + Messages.PROTOCOL_MAJOR + "." + Messages.PROTOCOL_MINOR + ": " + error.message());
                    }
                    throw new AgentRemoteException(error.errno(), error.message());
                }
                default -> throw new AgentProtocolException("the agent sent " + frame.type() + " before HELLO");
            }
            return;
        }
        if (frame.type() == FrameType.HELLO) {
            throw new AgentProtocolException("the agent sent HELLO twice");
        }
        if (frame.streamId() == 0 && frame.type() == FrameType.ERROR) {
            var error = Messages.parseError(frame.payload());
            throw new AgentProtocolException("the agent at " + peer + " closed the connection: " + error.message()
                    + " (" + Errno.name(error.errno()) + ")");
        }
        StreamHandler handler = streams.get(frame.streamId());
        if (handler != null) {
            handler.onFrame(frame);
        }
        // Otherwise a request we have given up on (timed out, closed): its late frames go by.
    }

    private void fail(AgentException cause) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = cause;
        }
        closeQuietly(channel);
        hello.completeExceptionally(cause);
        for (var id : streams.keySet()) {
            StreamHandler handler = streams.remove(id);
            if (handler != null) {
                handler.onConnectionFailed(cause);
            }
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already unusable
        }
    }
}
