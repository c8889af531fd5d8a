package dev.airlock.guest.assets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds the Debian archive the host's apt already uses, so that Airlock fetches from the same
 * mirror (and through the same proxy settings) without naming any host in its code.
 */
final class HostAptSources {

    static final Path APT_ETC = Path.of("/etc/apt");

    private HostAptSources() {}

    /** The host's source files in the order they are consulted. */
    static List<Path> candidateFiles(Path aptEtc) {
        var files = new ArrayList<Path>();
        files.add(aptEtc.resolve("sources.list.d/debian.sources"));
        files.add(aptEtc.resolve("sources.list"));
        Path parts = aptEtc.resolve("sources.list.d");
        if (Files.isDirectory(parts)) {
            try (Stream<Path> list = Files.list(parts)) {
                list.filter(p -> p.toString().endsWith(".sources") || p.toString().endsWith(".list"))
                        .sorted()
                        .filter(p -> !files.contains(p))
                        .forEach(files::add);
            } catch (IOException e) {
                // An unreadable directory just offers no candidates.
            }
        }
        return files;
    }

    /** The first main-archive URI in the given files; empty if none names one. */
    static Optional<String> archiveUri(List<Path> files) {
        for (Path file : files) {
            if (!Files.isRegularFile(file)) {
                continue;
            }
            String text;
            try {
                text = Files.readString(file);
            } catch (IOException e) {
                continue;
            }
            Optional<String> uri = file.toString().endsWith(".sources") ? fromDeb822(text) : fromOneLineStyle(text);
            if (uri.isPresent()) {
                return uri;
            }
        }
        return Optional.empty();
    }

    /** The first usable URI of a deb822 ".sources" file (the format of debian.sources). */
    static Optional<String> fromDeb822(String text) {
        for (String stanza : text.split("\\n\\s*\\n")) {
            String types = "";
            String uris = "";
            String suites = "";
            String enabled = "yes";
            for (String line : stanza.split("\\n")) {
                if (line.startsWith("#") || line.isBlank() || Character.isWhitespace(line.charAt(0))) {
                    continue;
                }
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String value = line.substring(colon + 1).strip();
                switch (line.substring(0, colon).strip().toLowerCase(Locale.ROOT)) {
                    case "types" -> types = value;
                    case "uris" -> uris = value;
                    case "suites" -> suites = value;
                    case "enabled" -> enabled = value;
                    default -> { }
                }
            }
            if (!List.of(types.split("\\s+")).contains("deb") || enabled.equalsIgnoreCase("no")) {
                continue;
            }
            for (String uri : uris.split("\\s+")) {
                if (isMainArchive(uri, suites)) {
                    return Optional.of(trimSlash(uri));
                }
            }
        }
        return Optional.empty();
    }

    /** The first usable URI of a one-line-style "sources.list": {@code deb [opts] URI SUITE COMPONENTS}. */
    static Optional<String> fromOneLineStyle(String text) {
        for (String raw : text.split("\\n")) {
            String line = raw.strip();
            if (!line.startsWith("deb ") && !line.startsWith("deb\t")) {
                continue;
            }
            String rest = line.substring(3).strip();
            if (rest.startsWith("[")) {
                int close = rest.indexOf(']');
                if (close < 0) {
                    continue;
                }
                rest = rest.substring(close + 1).strip();
            }
            String[] words = rest.split("\\s+");
            if (words.length >= 2 && isMainArchive(words[0], words[1])) {
                return Optional.of(trimSlash(words[0]));
            }
        }
        return Optional.empty();
    }

    /** The line of Airlock's private sources.list. */
    static String privateSourcesLine(String archiveUri, String suite, String trustOption) {
        if (archiveUri.isBlank() || archiveUri.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("bad archive URI: '" + archiveUri + "'");
        }
        return "deb [arch=riscv64 " + trustOption + "] " + archiveUri + " " + suite + " main\n";
    }

    // The security archive carries only updates to a few packages, never the whole of trixie.
    private static boolean isMainArchive(String uri, String suites) {
        boolean fetchable = uri.startsWith("http://") || uri.startsWith("https://") || uri.startsWith("ftp://")
                || uri.startsWith("file:/");
        boolean onlySecurity = !suites.isBlank()
                && List.of(suites.strip().split("\\s+")).stream().allMatch(s -> s.endsWith("-security"));
        return fetchable && !uri.contains("debian-security") && !onlySecurity;
    }

    private static String trimSlash(String uri) {
        return uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
    }
}
