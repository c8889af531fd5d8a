package dev.airlock.guest.assets;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Hashes of package index files copied from signed trixie InRelease files, so that an index a
 * mirror still serves can be trusted by its hash when the mirror's current InRelease names a newer
 * one it has not synced yet. One pin a line, newest first; '#' starts a comment:
 *
 * <pre>
 * SHA256 (64 hex)   SIZE (bytes)   PATH (relative to dists/trixie/)   DATE (of the InRelease)
 * 1b0d8990…3582     9385284        main/binary-riscv64/Packages.xz     2026-09-12T07:55:41Z
 * </pre>
 */
record IndexPins(List<Pin> pins) {

    /** The committed pins, a resource beside this class. */
    static final String RESOURCE = "trixie-riscv64-index.pins";

    static final IndexPins NONE = new IndexPins(List.of());

    /** One index file as a signed InRelease of {@code date} described it. */
    record Pin(String sha256, long sizeBytes, String path, String date) {}

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SIZE = Pattern.compile("[0-9]{1,15}");
    // A path below dists/SUITE/: no leading slash, no "..", nothing a URL would need escaped.
    private static final Pattern PATH = Pattern.compile("[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*");

    IndexPins {
        pins = List.copyOf(pins);
    }

    /** The pins committed with Airlock. */
    static IndexPins builtIn() {
        try (InputStream in = IndexPins.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing from the Airlock build");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("read " + RESOURCE, e);
        }
    }

    /** Parses pins; a malformed line is an error naming {@code source} and the line number. */
    static IndexPins parse(String text, String source) {
        var pins = new ArrayList<Pin>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            int hash = lines[i].indexOf('#');
            String line = (hash >= 0 ? lines[i].substring(0, hash) : lines[i]).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] words = line.split("\\s+");
            if (words.length != 4 || !SHA256.matcher(words[0]).matches() || !SIZE.matcher(words[1]).matches()
                    || !PATH.matcher(words[2]).matches() || words[2].contains("..")) {
                throw new IllegalArgumentException(source + ":" + (i + 1)
                        + ": expected 'SHA256 SIZE PATH DATE' (64 lower-case hex digits, bytes, a relative path), got '"
                        + line + "'");
            }
            pins.add(new Pin(words[0], Long.parseLong(words[1]), words[2], words[3]));
        }
        return new IndexPins(pins);
    }

    /** The pinned paths, in the order they first appear (so the preferred compression first). */
    List<String> paths() {
        var paths = new LinkedHashSet<String>();
        for (Pin pin : pins) {
            paths.add(pin.path());
        }
        return List.copyOf(paths);
    }

    /** The pin that vouches for a file with this path, hash and size, if any. */
    Optional<Pin> match(String path, String sha256, long sizeBytes) {
        for (Pin pin : pins) {
            if (pin.path().equals(path) && pin.sha256().equalsIgnoreCase(sha256) && pin.sizeBytes() == sizeBytes) {
                return Optional.of(pin);
            }
        }
        return Optional.empty();
    }
}
