package dev.airlock.guest.assets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * The marker that says the guest assets in a cache directory are complete, and what they are.
 * It is written last, by atomic rename, so its presence means everything it names was unpacked.
 *
 * <pre>
 * airlock-guest-assets 1          header: format name and version
 * key=value                       one per line, keys sorted, values without newlines
 * ...
 * crc32=1a2b3c4d                  CRC-32 of every byte above this line
 * </pre>
 */
record AssetManifest(Map<String, String> values) {

    static final String HEADER = "airlock-guest-assets 1";
    static final String FILE_NAME = "assets.manifest";

    /**
     * Cache files are shared, not secret; createTempFile would make them 0600. A method, not a
     * constant: building it loads EnumSet and reflection, which the warm path must not pay for.
     */
    static FileAttribute<?> readable() {
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--"));
    }

    AssetManifest {
        values = Map.copyOf(values);
        for (var entry : values.entrySet()) {
            if (!isKey(entry.getKey()) || entry.getKey().equals("crc32") || entry.getValue().indexOf('\n') >= 0) {
                throw new IllegalArgumentException("bad manifest entry: " + entry);
            }
        }
    }

    /** The value of a key that must be present. */
    String require(String key, Path file) throws IOException {
        String value = values.get(key);
        if (value == null || value.isEmpty()) {
            throw new IOException(file + ": no '" + key + "' entry");
        }
        return value;
    }

    byte[] encode() {
        var text = new StringBuilder(HEADER).append('\n');
        new TreeMap<>(values).forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        byte[] body = text.toString().getBytes(StandardCharsets.UTF_8);
        String footer = "crc32=" + hex8(crc32(body, body.length)) + "\n";
        byte[] encoded = new byte[body.length + footer.length()];
        System.arraycopy(body, 0, encoded, 0, body.length);
        System.arraycopy(footer.getBytes(StandardCharsets.US_ASCII), 0, encoded, body.length, footer.length());
        return encoded;
    }

    /** Parses a manifest; anything unexpected is reported with the file and byte offset. */
    static AssetManifest decode(byte[] bytes, Path file) throws IOException {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (!text.startsWith(HEADER + "\n")) {
            throw new IOException(file + " at offset 0: not an Airlock asset manifest (expected '" + HEADER + "')");
        }
        int footerStart = text.lastIndexOf("\ncrc32=") + 1;
        if (footerStart <= 0 || !text.endsWith("\n")) {
            throw new IOException(file + ": truncated (no crc32 footer)");
        }
        int bodyBytes = text.substring(0, footerStart).getBytes(StandardCharsets.UTF_8).length;
        String expected = hex8(crc32(bytes, bodyBytes));
        String stored = text.substring(footerStart + "crc32=".length()).strip();
        if (!stored.equals(expected)) {
            throw new IOException(file + " at offset " + bodyBytes + ": checksum " + stored + " does not match contents ("
                    + expected + ")");
        }
        var values = new TreeMap<String, String>();
        int offset = HEADER.length() + 1;
        String body = text.substring(offset, footerStart);
        for (String line : body.isEmpty() ? new String[0] : body.split("\n")) {
            int equals = line.indexOf('=');
            if (equals <= 0) {
                throw new IOException(file + " at offset " + offset + ": malformed line '" + line + "'");
            }
            values.put(line.substring(0, equals), line.substring(equals + 1));
            offset += line.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        return new AssetManifest(values);
    }

    static AssetManifest read(Path file) throws IOException {
        return decode(Files.readAllBytes(file), file);
    }

    /** Writes to a temporary file, syncs it, then renames it over {@code file}. */
    void write(Path file) throws IOException {
        Path temp = Files.createTempFile(file.getParent(), FILE_NAME + ".", ".tmp", readable());
        try (var channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(encode()));
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // Plain code rather than a regex, String.format or '+' (an invokedynamic): this runs on every
    // warm start, where bootstrapping those would cost more than the whole check.
    private static boolean isKey(String key) {
        if (key.isEmpty() || !Character.isLetter(key.charAt(0))) {
            return false;
        }
        for (int i = 1; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.')) {
                return false;
            }
        }
        return true;
    }

    private static String hex8(long value) {
        String digits = Long.toHexString(value);
        return new StringBuilder(8).repeat('0', 8 - digits.length()).append(digits).toString();
    }

    private static long crc32(byte[] bytes, int length) {
        var crc = new CRC32();
        crc.update(bytes, 0, length);
        return crc.getValue();
    }
}
