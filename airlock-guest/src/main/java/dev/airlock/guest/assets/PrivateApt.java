package dev.airlock.guest.assets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * apt confined to Airlock's cache: its own sources.list, package lists and cache, the riscv64
 * architecture only, and none of the host's own sources, pins or installed-package state. The
 * system's /etc/apt is only read (for the archive URI and apt.conf, e.g. a proxy), never changed.
 *
 * <pre>
 * aptDir/sources.list   deb [arch=riscv64 signed-by=...] URI trixie main
 * aptDir/lists/         Dir::State::Lists (the downloaded Packages index)
 * aptDir/cache/         Dir::Cache (pkgcache.bin)
 * </pre>
 */
final class PrivateApt implements PackageIndex {

    static final String SUITE = "trixie";
    /** Debian's archive key, which the host's debian-archive-keyring package installs. */
    static final String SIGNED_BY_DEBIAN = "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg";
    static final Duration UPDATE_TIMEOUT = Duration.ofMinutes(10);
    static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(30);
    /** apt's helper for single downloads and decompression; it reads the same apt.conf (proxy) as apt-get. */
    static final String APT_HELPER = "/usr/lib/apt/apt-helper";

    /** What a run of apt produced: its exit code and its merged stdout and stderr. */
    record Result(List<String> command, int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }

        /** The line that best explains a failure: apt's first "E:" line, else the last line. */
        String reason() {
            String last = "";
            for (String line : output.split("\\R")) {
                String stripped = line.strip();
                if (stripped.startsWith("E: ")) {
                    return stripped.substring(3).strip();
                }
                if (!stripped.isEmpty()) {
                    last = stripped;
                }
            }
            return last.isEmpty() ? String.join(" ", command.subList(0, 1)) + " exited with status " + exitCode : last;
        }
    }

    /** One package version as the index describes it. */
    record PackageInfo(String name, String version, long sizeBytes, String depends) {}

    private final Path aptDir;
    private final Map<String, String> extraSettings;
    private final String trustOption;

    /**
     * {@code extraSettings} are further apt -o settings (e.g. Acquire::Retries=0 in tests);
     * {@code trustOption} is the sources.list option that authenticates the archive.
     */
    PrivateApt(Path aptDir, Map<String, String> extraSettings, String trustOption) {
        this.aptDir = aptDir;
        this.extraSettings = Map.copyOf(extraSettings);
        this.trustOption = trustOption;
    }

    Path sourcesList() {
        return aptDir.resolve("sources.list");
    }

    /** The -o options that confine apt to aptDir and to riscv64. */
    List<String> options() {
        var settings = new LinkedHashMap<String, String>();
        settings.put("Dir::Etc::SourceList", sourcesList().toString());
        settings.put("Dir::Etc::SourceParts", "/dev/null");
        settings.put("Dir::Etc::Preferences", "/dev/null");
        settings.put("Dir::Etc::PreferencesParts", "/dev/null");
        settings.put("Dir::State::Lists", aptDir.resolve("lists").toString());
        settings.put("Dir::State::status", "/dev/null");
        settings.put("Dir::Cache", aptDir.resolve("cache").toString());
        settings.put("APT::Architecture", "riscv64");
        settings.put("APT::Architectures", "riscv64");
        // As root apt drops to _apt for downloads, and _apt cannot write into root's home.
        settings.put("APT::Sandbox::User", "root");
        new TreeMap<>(extraSettings).forEach(settings::put);
        var options = new ArrayList<String>();
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            options.add("-o");
            options.add(setting.getKey() + "=" + setting.getValue());
        }
        return options;
    }

    List<String> updateCommand() {
        // --error-on=any: otherwise a failed fetch is only a warning and apt exits 0.
        return command("apt-get", "-q", "update", "--error-on=any");
    }

    List<String> showCommand(List<String> packages) {
        var command = command("apt-cache", "show", "--no-all-versions");
        command.addAll(packages);
        return command;
    }

    /** Downloads exact versions ({@code name=version}) into the working directory. */
    List<String> downloadCommand(List<PackageInfo> packages) {
        var command = command("apt-get", "-q", "download");
        for (PackageInfo info : packages) {
            command.add(info.name() + "=" + info.version());
        }
        return command;
    }

    /** Downloads one URL to {@code target}; apt-helper rejects it unless its SHA256 is {@code sha256} (if not null). */
    List<String> downloadFileCommand(String url, Path target, String sha256) {
        var command = command(APT_HELPER, "download-file", url, target.toString());
        if (sha256 != null) {
            command.add("SHA256:" + sha256);
        }
        return command;
    }

    /** Writes a compressed file's contents to stdout, decompressed by its extension (.xz, .gz, none). */
    static List<String> catFileCommand(Path file) {
        return List.of(APT_HELPER, "cat-file", file.toString());
    }

    @Override
    public Map<String, PackageInfo> show(List<String> packages) throws IOException {
        return parseShow(require(run(showCommand(packages), aptDir, UPDATE_TIMEOUT)));
    }

    @Override
    public void download(List<PackageInfo> packages, Path dir) throws IOException {
        require(run(downloadCommand(packages), dir, DOWNLOAD_TIMEOUT));
    }

    private static String require(Result result) throws IOException {
        if (!result.ok()) {
            throw new IOException(result.reason());
        }
        return result.output();
    }

    void writeSourcesList(String archiveUri) throws IOException {
        Files.createDirectories(aptDir.resolve("lists/partial"));
        Files.createDirectories(aptDir.resolve("cache/archives/partial"));
        String line = HostAptSources.privateSourcesLine(archiveUri, SUITE, trustOption);
        Path temp = Files.createTempFile(aptDir, "sources.list.", ".tmp", AssetManifest.readable());
        Files.writeString(temp, line);
        Files.move(temp, sourcesList(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private List<String> command(String tool, String... arguments) {
        var command = new ArrayList<String>();
        command.add(tool);
        command.addAll(options());
        command.addAll(List.of(arguments));
        return command;
    }

    /** Runs a command with its output captured in a file, so no reader thread is needed. */
    static Result run(List<String> command, Path workingDir, Duration timeout) throws IOException {
        return run(command, workingDir, timeout, null);
    }

    /** Like {@link #run(List, Path, Duration)}, but stdout goes to {@code stdoutFile} if not null. */
    static Result run(List<String> command, Path workingDir, Duration timeout, Path stdoutFile) throws IOException {
        Path log = Files.createTempFile(workingDir, "apt-", ".log");
        try {
            Process process;
            try {
                var builder = new ProcessBuilder(command).directory(workingDir.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
                if (stdoutFile == null) {
                    builder.redirectErrorStream(true).redirectOutput(log.toFile());
                } else {
                    builder.redirectOutput(stdoutFile.toFile()).redirectError(log.toFile());
                }
                // English messages whatever the user's locale, so PinnedIndex can recognise them.
                builder.environment().put("LC_ALL", "C");
                process = builder.start();
            } catch (IOException e) {
                throw new IOException(command.getFirst() + " is not installed (Airlock fetches guest packages with"
                        + " apt and dpkg-deb from a Debian or Ubuntu host)", e);
            }
            boolean exited;
            try {
                exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + command.getFirst(), e);
            }
            if (!exited) {
                process.destroyForcibly();
                return new Result(command, -1, command.getFirst() + " timed out after " + timeout.toMinutes() + " minutes");
            }
            return new Result(command, process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Parses {@code apt-cache show} output: one deb822 stanza per package. */
    static Map<String, PackageInfo> parseShow(String output) {
        var packages = new LinkedHashMap<String, PackageInfo>();
        for (String stanza : output.split("\\n\\s*\\n")) {
            String name = field(stanza, "Package");
            String version = field(stanza, "Version");
            if (name.isEmpty() || version.isEmpty()) {
                continue;
            }
            String size = field(stanza, "Size");
            long sizeBytes = size.matches("\\d+") ? Long.parseLong(size) : -1;
            packages.putIfAbsent(name, new PackageInfo(name, version, sizeBytes, field(stanza, "Depends")));
        }
        return packages;
    }

    private static final Pattern KERNEL_IMAGE = Pattern.compile("linux-image-\\d[^\\s(]*-riscv64");
    private static final Pattern EXACT_VERSION = Pattern.compile("\\(\\s*=\\s*([^)\\s]+)\\s*\\)");

    /**
     * The concrete kernel package a linux-image metapackage depends on, e.g.
     * "linux-image-6.12.107+deb13-riscv64 (= 6.12.107-1)" gives that name and version (if pinned).
     */
    static Optional<Map.Entry<String, Optional<String>>> concreteKernel(String depends) {
        for (String clause : depends.split("[,|]")) {
            Matcher name = KERNEL_IMAGE.matcher(clause.strip());
            if (name.lookingAt()) {
                Matcher version = EXACT_VERSION.matcher(clause);
                return Optional.of(Map.entry(name.group(), version.find() ? Optional.of(version.group(1)) : Optional.empty()));
            }
        }
        return Optional.empty();
    }

    private static String field(String stanza, String name) {
        for (String line : stanza.split("\\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).strip();
            }
        }
        return "";
    }
}
