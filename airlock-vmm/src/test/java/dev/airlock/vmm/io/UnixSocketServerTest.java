package dev.airlock.vmm.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixSocketServerTest {
    @TempDir Path dir;

    /** A handler that answers one byte and closes. */
    private static void answer(SocketChannel client) {
        try (client) {
            client.write(ByteBuffer.wrap(new byte[] {42}));
        } catch (IOException ignored) {
            // the test sees it
        }
    }

    private static int connectAndRead(Path path) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            ByteBuffer b = ByteBuffer.allocate(1);
            return c.read(b) == 1 ? b.get(0) : -1;
        }
    }

    @Test
    void aBackgroundBindAcceptsOnceAwaited() throws Exception {
        Path path = dir.resolve("vm/vsock.sock"); // the directory is made by the bind too
        try (var server = UnixSocketServer.startInBackground(path, "the test socket", UnixSocketServerTest::answer)) {
            assertTrue(server.awaitListening());
            assertTrue(Files.exists(path));
            assertEquals(42, connectAndRead(path));
        }
        assertFalse(Files.exists(path), "close removes the file");
    }

    @Test
    void aBindFailureIsThrownByAwaitListening() throws Exception {
        Files.writeString(dir.resolve("file"), "not a directory");
        Path path = dir.resolve("file/vsock.sock");
        try (var server = UnixSocketServer.startInBackground(path, "the test socket", UnixSocketServerTest::answer)) {
            IOException e = assertThrows(IOException.class, server::awaitListening);
            assertTrue(e.getMessage().contains("file"), e.getMessage());
        }
    }

    @Test
    void closeBeforeTheBindFinishesLeavesNoFile() throws Exception {
        for (int i = 0; i < 50; i++) {
            Path path = dir.resolve("s" + i + ".sock");
            var server = UnixSocketServer.startInBackground(path, "the test socket", UnixSocketServerTest::answer);
            server.close();
            assertFalse(server.awaitListening(), "closed first: never listening");
            assertFalse(Files.exists(path), "round " + i + ": a bind that finished after close removed its file");
        }
    }

    @Test
    void theSynchronousStartListensOnReturn() throws Exception {
        Path path = dir.resolve("sync.sock");
        var handled = new ArrayBlockingQueue<Boolean>(1);
        try (var server = UnixSocketServer.start(path, "the test socket", c -> {
            answer(c);
            handled.add(true);
        })) {
            assertTrue(Files.exists(path));
            assertEquals(42, connectAndRead(path));
            assertEquals(Boolean.TRUE, handled.poll(5, TimeUnit.SECONDS));
            assertTrue(server.awaitListening());
        }
    }
}
