package dev.airlock.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;

/** Copying a guest command's output streams to ours. */
final class Streams {
    private Streams() {}

    /** Copies {@code from} to {@code to} on a virtual thread, flushing as it goes; join it to wait for the end. */
    static Thread pump(InputStream from, PrintStream to) {
        return Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[64 << 10];
            try {
                for (int n; (n = from.read(buf)) > 0; ) {
                    to.write(buf, 0, n);
                    to.flush();
                }
            } catch (IOException ignored) {
                // the stream ends with the connection; the exit status says what happened
            }
        });
    }
}
