package dev.airlock.vmm.io;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * A per-VM Unix socket that serves each client on its own virtual thread, and on close stops
 * accepting and removes its file. The vsock proxy and the control socket are both this.
 *
 * <p>{@link #startInBackground} binds on the acceptor's own thread, so the caller does not wait for
 * the directory, unlink and bind syscalls (a few hundred µs, most of what a clone used to spend on
 * its socket); whoever needs the file to exist calls {@link #awaitListening} first.
 */
public final class UnixSocketServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(UnixSocketServer.class.getName());

    private final Path path;
    private final String what;
    private final Consumer<SocketChannel> handler;
    private final CountDownLatch bound = new CountDownLatch(1);
    private Thread acceptor;
    // Under this: the channel once bound, the bind failure, and whether close() came first.
    private ServerSocketChannel server;
    private IOException bindFailure;
    private boolean closed;

    private UnixSocketServer(Path path, String what, Consumer<SocketChannel> handler) {
        this.path = path;
        this.what = what;
        this.handler = handler;
    }

    /**
     * Listens on {@code path} (see {@link UnixSockets#listen}) and hands every client to {@code handler},
     * which owns it; {@code what} names the socket in messages ("the vsock socket"). The file exists
     * when this returns.
     */
    public static UnixSocketServer start(Path path, String what, Consumer<SocketChannel> handler) throws IOException {
        var s = new UnixSocketServer(path, what, handler);
        s.server = UnixSockets.listen(path, what);
        s.bound.countDown();
        s.acceptor = Thread.ofVirtual().name("airlock-accept " + path).start(s::acceptLoop);
        return s;
    }

    /**
     * As {@link #start}, but returns at once: a virtual thread binds and then accepts. A bind failure
     * is thrown by {@link #awaitListening}.
     */
    public static UnixSocketServer startInBackground(Path path, String what, Consumer<SocketChannel> handler) {
        var s = new UnixSocketServer(path, what, handler);
        s.acceptor = Thread.ofVirtual().name("airlock-accept " + path).start(s::bindThenAccept);
        return s;
    }

    public Path path() { return path; }

    /**
     * Waits until the socket file exists and accepts; false if it was closed first.
     *
     * @throws IOException if it could not be bound, with a message for the user
     */
    public boolean awaitListening() throws IOException, InterruptedException {
        bound.await();
        synchronized (this) {
            if (bindFailure != null) throw new IOException(bindFailure.getMessage(), bindFailure);
            return !closed;
        }
    }

    private void bindThenAccept() {
        ServerSocketChannel ch;
        try {
            ch = UnixSockets.listen(path, what);
        } catch (IOException e) {
            synchronized (this) {
                bindFailure = e;
            }
            bound.countDown();
            return;
        }
        synchronized (this) {
            if (closed) {
                // close() ran while we bound: it could not remove a file that was not there yet.
                closeAndUnlink(ch);
                bound.countDown();
                return;
            }
            server = ch;
        }
        bound.countDown();
        acceptLoop();
    }

    private void acceptLoop() {
        ServerSocketChannel ch;
        synchronized (this) {
            ch = server;
        }
        while (true) {
            SocketChannel client;
            try {
                client = ch.accept();
            } catch (IOException e) {
                synchronized (this) {
                    if (closed) return;
                }
                LOG.warning(what + " " + path + " stopped accepting: " + e.getMessage());
                return;
            }
            Thread.ofVirtual().start(() -> handler.accept(client));
        }
    }

    private void closeAndUnlink(ServerSocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the file is removed below either way
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.fine("cannot remove " + path + ": " + e.getMessage());
        }
    }

    /**
     * Stops accepting (clients already handed over carry on) and removes the socket file, also when
     * a background bind was still under way; idempotent.
     */
    @Override
    public void close() {
        ServerSocketChannel ch;
        synchronized (this) {
            if (closed) return;
            closed = true;
            ch = server;
        }
        try {
            if (ch != null) closeAndUnlink(ch);
            // A bind still under way sees closed and removes its own file before the thread ends.
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
