package dev.airlock.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns the host's KSM daemon on, scanning fast, for one test, and puts back the settings it found
 * on close (the host is shared: leave it as it was, not as the defaults say).
 */
final class KsmSettings implements AutoCloseable {
    static final Path DIR = Path.of("/sys/kernel/mm/ksm");
    private static final String[] NAMES = {"run", "pages_to_scan", "sleep_millisecs"};

    private final String[] saved = new String[NAMES.length];

    private KsmSettings(int pagesToScan, int sleepMillis) {
        for (int i = 0; i < NAMES.length; i++) saved[i] = read(NAMES[i]);
        try {
            write("pages_to_scan", Integer.toString(pagesToScan));
            write("sleep_millisecs", Integer.toString(sleepMillis));
            write("run", "1");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Whether this process may switch KSM on (root, KSM built in). */
    static boolean available() {
        return Files.isWritable(DIR.resolve("run")) && Files.isWritable(DIR.resolve("pages_to_scan"));
    }

    static KsmSettings enable(int pagesToScan, int sleepMillis) {
        return new KsmSettings(pagesToScan, sleepMillis);
    }

    @Override
    public void close() {
        // Stop first, then restore the scan rate; stopping keeps pages already merged.
        for (int i : new int[] {0, 1, 2}) {
            if (saved[i] != null) write(NAMES[i], saved[i]);
        }
    }

    static String read(String name) {
        try {
            return Files.readString(DIR.resolve(name)).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + DIR.resolve(name), e);
        }
    }

    private static void write(String name, String value) {
        try {
            Files.writeString(DIR.resolve(name), value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + value + " to " + DIR.resolve(name), e);
        }
    }
}
