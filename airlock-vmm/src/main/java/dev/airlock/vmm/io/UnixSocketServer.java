package dev.airlock.vmm.io;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * A per-VM Unix socket that serves each client on its own virtual thread, and on close stops
 * accepting and removes its file. The vsock proxy and the control socket are both this.
 */
public final class UnixSocketServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(UnixSocketServer.class.getName());

    private final Path path;
    private final String what;
    private final ServerSocketChannel server;
    private final Consumer<SocketChannel> handler;
    private final Thread acceptor;
    private volatile boolean closed;

    private UnixSocketServer(Path path, String what, ServerSocketChannel server, Consumer<SocketChannel> handler) {
        this.path = path;
        this.what = what;
        this.server = server;
        this.handler = handler;
        acceptor = Thread.ofVirtual().name("airlock-accept " + path).start(this::acceptLoop);
    }

    /**
     * Listens on {@code path} (see {@link UnixSockets#listen}) and hands every client to {@code handler},
     * which owns it; {@code what} names the socket in messages ("the vsock socket").
     */
    public static UnixSocketServer start(Path path, String what, Consumer<SocketChannel> handler) throws IOException {
        return new UnixSocketServer(path, what, UnixSockets.listen(path, what), handler);
    }

    public Path path() { return path; }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) LOG.warning(what + " " + path + " stopped accepting: " + e.getMessage());
                return;
            }
            Thread.ofVirtual().start(() -> handler.accept(client));
        }
    }

    /** Stops accepting (clients already handed over carry on) and removes the socket file; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // the file is removed below either way
        }
        try {
            acceptor.join(5000);
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.fine("cannot remove " + path + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
