package dev.airlock.guest.assets;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The fallback for a mirror that is out of sync: its signed InRelease already names a new
 * Packages index that it does not serve yet, so apt refuses the update. The index it does serve is
 * trusted only if its SHA256 and size equal a pin copied from an earlier signed InRelease
 * ({@link IndexPins}); each .deb is then downloaded with apt-helper and checked against that
 * index's SHA256, the same chain of hashes apt itself would follow.
 */
final class PinnedIndex implements PackageIndex {

    /** One package's stanza: what {@link PrivateApt.PackageInfo} holds, plus where to get it and its hash. */
    record Entry(PrivateApt.PackageInfo info, String filename, String sha256) {}

    // apt's words (LC_ALL=C) for an index whose size or hash is not what InRelease says.
    private static final List<String> OUT_OF_SYNC = List.of("Hash Sum mismatch", "File has unexpected size",
            "Mirror sync in progress");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    // Debian pool paths; no "..", nothing a URL would need escaped.
    private static final Pattern POOL_FILE = Pattern.compile("[A-Za-z0-9_.+~-]+(/[A-Za-z0-9_.+~-]+)*\\.deb");

    private final PrivateApt apt;
    private final String archiveUri;
    private final IndexPins.Pin pin;
    private final Map<String, Entry> entries;

    PinnedIndex(PrivateApt apt, String archiveUri, IndexPins.Pin pin, Map<String, Entry> entries) {
        this.apt = apt;
        this.archiveUri = archiveUri;
        this.pin = pin;
        this.entries = Map.copyOf(entries);
    }

    /** The pin that vouched for this index. */
    IndexPins.Pin pin() {
        return pin;
    }

    /**
     * Whether a failed {@code apt-get update} failed because the mirror serves index files that do
     * not match its InRelease; other failures (no network, a bad signature) never fall back.
     */
    static boolean isMirrorOutOfSync(PrivateApt.Result update) {
        if (update.ok()) {
            return false;
        }
        for (String words : OUT_OF_SYNC) {
            if (update.output().contains(words)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Downloads each pinned path from the mirror until one matches a pin, and reads the stanzas of
     * the packages {@code wanted} selects from it. {@code workDir} holds the downloads; the caller
     * deletes it.
     *
     * @throws IOException naming what the mirror served, if no pinned path matches
     */
    static PinnedIndex fetch(PrivateApt apt, String archiveUri, IndexPins pins, Predicate<String> wanted, Path workDir)
            throws IOException {
        var problems = new ArrayList<String>();
        for (String path : pins.paths()) {
            Path compressed = workDir.resolve(path.replace('/', '_'));
            PrivateApt.Result download = PrivateApt.run(apt.downloadFileCommand(indexUrl(archiveUri, path), compressed, null),
                    workDir, PrivateApt.UPDATE_TIMEOUT);
            if (!download.ok()) {
                problems.add(path + " could not be downloaded (" + download.reason() + ")");
                continue;
            }
            String sha256 = sha256(compressed);
            long sizeBytes = Files.size(compressed);
            var match = pins.match(path, sha256, sizeBytes);
            if (match.isEmpty()) {
                problems.add("its " + path + " (SHA256 " + sha256 + ", " + sizeBytes + " bytes) matches none of the "
                        + pins.pins().size() + " hashes Airlock pins from Debian's signed Release files");
                continue;
            }
            // apt-helper cat-file decompresses by the file's extension with apt's own code.
            Path text = workDir.resolve("Packages");
            PrivateApt.Result decompress = PrivateApt.run(PrivateApt.catFileCommand(compressed), workDir,
                    PrivateApt.UPDATE_TIMEOUT, text);
            if (!decompress.ok()) {
                throw new IOException("could not decompress " + path + ": " + decompress.reason());
            }
            try (BufferedReader reader = Files.newBufferedReader(text, StandardCharsets.UTF_8)) {
                return new PinnedIndex(apt, archiveUri, match.get(), parse(reader, wanted));
            }
        }
        throw new IOException(problems.isEmpty() ? "Airlock pins no index hashes" : String.join("; ", problems));
    }

    @Override
    public Map<String, PrivateApt.PackageInfo> show(List<String> names) {
        var found = new LinkedHashMap<String, PrivateApt.PackageInfo>();
        for (String name : names) {
            Entry entry = entries.get(name);
            if (entry != null) {
                found.put(name, entry.info());
            }
        }
        return found;
    }

    @Override
    public void download(List<PrivateApt.PackageInfo> packages, Path dir) throws IOException {
        for (PrivateApt.PackageInfo info : packages) {
            Entry entry = entries.get(info.name());
            if (entry == null || !entry.info().version().equals(info.version())) {
                throw new IOException("the pinned index has no " + info.name() + " " + info.version());
            }
            // Named like apt-get download's files (NAME_VERSION…), whatever the pool calls it.
            Path deb = dir.resolve(GuestAssets.unpackedDirName(info) + ".deb");
            PrivateApt.Result result = PrivateApt.run(apt.downloadFileCommand(archiveUri + "/" + entry.filename(), deb,
                    entry.sha256()), dir, PrivateApt.DOWNLOAD_TIMEOUT);
            if (!result.ok()) {
                throw new IOException(result.reason());
            }
        }
    }

    static String indexUrl(String archiveUri, String path) {
        return archiveUri + "/dists/" + PrivateApt.SUITE + "/" + path;
    }

    /**
     * Reads the stanzas of a Packages file whose package name {@code wanted} accepts. A stanza
     * without a usable Filename or SHA256 is skipped, so it can never be downloaded unchecked; of
     * two stanzas for one name the first wins.
     */
    static Map<String, Entry> parse(BufferedReader reader, Predicate<String> wanted) throws IOException {
        var entries = new LinkedHashMap<String, Entry>();
        var fields = new LinkedHashMap<String, String>();
        for (String line = reader.readLine(); ; line = reader.readLine()) {
            if (line == null || line.isBlank()) {
                addEntry(fields, wanted, entries);
                fields.clear();
                if (line == null) {
                    return entries;
                }
                continue;
            }
            int colon = line.indexOf(':');
            // Continuation lines (a leading blank) belong to multi-line fields nobody here needs.
            if (colon > 0 && !Character.isWhitespace(line.charAt(0))) {
                fields.putIfAbsent(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
    }

    private static void addEntry(Map<String, String> fields, Predicate<String> wanted, Map<String, Entry> entries) {
        String name = fields.getOrDefault("Package", "");
        String version = fields.getOrDefault("Version", "");
        String filename = fields.getOrDefault("Filename", "");
        String sha256 = fields.getOrDefault("SHA256", "");
        if (name.isEmpty() || version.isEmpty() || entries.containsKey(name) || !wanted.test(name)
                || !POOL_FILE.matcher(filename).matches() || filename.contains("..") || !SHA256.matcher(sha256).matches()) {
            return;
        }
        String size = fields.getOrDefault("Size", "");
        long sizeBytes = size.matches("\\d{1,18}") ? Long.parseLong(size) : -1;
        var info = new PrivateApt.PackageInfo(name, version, sizeBytes, fields.getOrDefault("Depends", ""));
        entries.put(name, new Entry(info, filename, sha256));
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
