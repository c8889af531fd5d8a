package dev.airlock.vmm.io;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Unix-socket chores every per-VM socket shares: binding where a dead VM may have left a file, and line handshakes. */
public final class UnixSockets {
    private UnixSockets() {}

    /**
     * Listens on {@code path}, creating its directory and replacing a socket file a dead process left;
     * {@code what} names the socket in the error ("the vsock socket").
     */
    public static ServerSocketChannel listen(Path path, String what) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path));
            return server;
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + what + " " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * One line without its newline, read a byte at a time so nothing after it is consumed; what came
     * before end of file if the peer closed first, or null past {@code maxBytes}.
     */
    public static String readLine(SocketChannel channel, int maxBytes) throws IOException {
        var line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (line.length() < maxBytes) {
            one.clear();
            if (channel.read(one) < 0) return line.isEmpty() ? null : line.toString();
            char ch = (char) (one.get(0) & 0xff);
            if (ch == '\n') return line.toString();
            line.append(ch);
        }
        return null;
    }
}
