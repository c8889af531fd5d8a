package dev.airlock.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest console as the VM sees it: forwards every byte to the user's sink, remembers the last
 * lines for error reports, and notices a kernel panic.
 */
final class ConsoleTap extends OutputStream {
    private static final int TAIL_LINES = 40;
    private static final String PANIC = "Kernel panic - not syncing";

    private final OutputStream sink;
    private final Runnable onPanic;
    private final ArrayDeque<String> tail = new ArrayDeque<>();
    private final StringBuilder line = new StringBuilder();
    private volatile boolean panicked;

    ConsoleTap(OutputStream sink, Runnable onPanic) {
        this.sink = sink;
        this.onPanic = onPanic;
    }

    @Override
    public synchronized void write(int b) {
        try {
            sink.write(b);
            if (b == '\n') sink.flush();
        } catch (IOException e) {
            // A closed user sink must not stop the guest; the tail still records the console.
        }
        if (b == '\n') {
            endLine();
        } else if (b != '\r' && line.length() < 4096) {
            line.append((char) (b & 0xff));
        }
    }

    private void endLine() {
        String s = line.toString();
        line.setLength(0);
        if (tail.size() == TAIL_LINES) tail.removeFirst();
        tail.addLast(s);
        if (!panicked && s.contains(PANIC)) {
            panicked = true;
            onPanic.run();
        }
    }

    @Override
    public synchronized void flush() {
        try {
            sink.flush();
        } catch (IOException ignored) {
            // see write()
        }
    }

    boolean panicked() { return panicked; }

    synchronized List<String> tail() {
        List<String> lines = new ArrayList<>(tail);
        if (!line.isEmpty()) lines.add(line.toString());
        return lines;
    }
}
