package dev.airlock.cli;

import dev.airlock.guest.initramfs.InitramfsBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.OptionalInt;

/**
 * Shows only what the guest command printed: the console lines between /init's ready marker and its
 * exit marker. Kernel messages before and after are kept out of the user's output; the exit marker
 * gives the command's status.
 */
final class CommandOutputFilter extends OutputStream {
    private final PrintStream out;
    private final boolean passThrough;
    /** False when the command runs through the agent: its output does not come by the console. */
    private final boolean showCommandLines;
    private final StringBuilder line = new StringBuilder();
    private boolean inCommand;
    private volatile int exitStatus = -1;
    private volatile long readyNanos, exitNanos;

    /** @param passThrough print every console byte (--console) while still reading the markers */
    CommandOutputFilter(PrintStream out, boolean passThrough) {
        this(out, passThrough, true);
    }

    CommandOutputFilter(PrintStream out, boolean passThrough, boolean showCommandLines) {
        this.out = out;
        this.passThrough = passThrough;
        this.showCommandLines = showCommandLines;
    }

    @Override
    public synchronized void write(int b) {
        if (passThrough) {
            out.write(b);
            if (b == '\n') out.flush();
        }
        if (b == '\r') return; // the guest tty writes CRLF
        if (b != '\n') {
            line.append((char) (b & 0xff));
            return;
        }
        String s = line.toString();
        line.setLength(0);
        if (!inCommand) {
            if (s.contains(InitramfsBuilder.READY_MARKER)) {
                inCommand = true;
                readyNanos = System.nanoTime();
            }
            return;
        }
        OptionalInt status = InitramfsBuilder.parseExitMarker(s);
        if (status.isPresent()) {
            // Output without a trailing newline shares the marker's line.
            int at = s.indexOf(InitramfsBuilder.EXIT_MARKER_PREFIX);
            if (at > 0 && !passThrough) out.print(s.substring(0, at));
            out.flush();
            exitStatus = status.getAsInt();
            exitNanos = System.nanoTime();
            inCommand = false;
            return;
        }
        if (passThrough || !showCommandLines) return;
        out.print(latin1ToUtf8(s));
        out.print('\n');
        out.flush();
    }

    /** The guest writes bytes; they were collected one char per byte, so re-decode them as UTF-8. */
    private static String latin1ToUtf8(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    /** The command's exit status, or -1 if the exit marker never came. */
    int exitStatus() { return exitStatus; }

    /** System.nanoTime() when /init said it was ready (0 if never). */
    long readyNanos() { return readyNanos; }

    long exitNanos() { return exitNanos; }
}
