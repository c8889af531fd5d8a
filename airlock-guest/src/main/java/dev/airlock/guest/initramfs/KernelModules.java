package dev.airlock.guest.initramfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The loadable modules of one kernel, as unpacked from its Debian package
 * ({@code usr/lib/modules/<release>}), found by name and decompressed for {@code insmod}.
 *
 * <p>Debian ships no {@code modules.dep} in the package (depmod runs at install time), so the
 * dependencies are read from each module's {@code .modinfo} "depends=" string instead.
 */
public final class KernelModules {

    /** A decompressed module ready for {@code insmod}, named as the kernel names it (underscores). */
    public record Module(String name, byte[] content) {}

    private final Path modulesDir;
    private final Map<String, Path> filesByName;

    private KernelModules(Path modulesDir, Map<String, Path> filesByName) {
        this.modulesDir = modulesDir;
        this.filesByName = filesByName;
    }

    public static KernelModules open(Path modulesDir) throws IOException {
        var files = new HashMap<String, Path>();
        try (Stream<Path> walk = Files.walk(modulesDir)) {
            for (Path file : (Iterable<Path>) walk::iterator) {
                String fileName = file.getFileName().toString();
                String stem = stem(fileName);
                if (stem != null && Files.isRegularFile(file)) {
                    files.putIfAbsent(canonicalName(stem), file);
                }
            }
        }
        return new KernelModules(modulesDir, files);
    }

    /** The kernel release these modules belong to: the directory's name, e.g. 6.12.107+deb13-riscv64. */
    public String kernelRelease() {
        return modulesDir.getFileName().toString();
    }

    public Optional<Path> find(String name) {
        return Optional.ofNullable(filesByName.get(canonicalName(name)));
    }

    /**
     * The named modules and everything they depend on, decompressed, each after its dependencies
     * and otherwise in the order asked for.
     */
    public List<Module> resolve(List<String> names) throws IOException {
        var ordered = new LinkedHashMap<String, Module>();
        for (String name : names) {
            add(canonicalName(name), ordered, new ArrayList<>());
        }
        return List.copyOf(ordered.values());
    }

    private void add(String name, LinkedHashMap<String, Module> ordered, List<String> visiting) throws IOException {
        if (ordered.containsKey(name)) {
            return;
        }
        if (visiting.contains(name)) {
            throw new IOException("kernel modules depend on each other in a cycle: " + visiting + " -> " + name);
        }
        Path file = filesByName.get(name);
        if (file == null) {
            throw new IOException("kernel module " + name + " not found under " + modulesDir);
        }
        byte[] content = decompress(file);
        visiting.add(name);
        for (String dependency : dependsOf(content)) {
            add(canonicalName(dependency), ordered, visiting);
        }
        visiting.remove(name);
        ordered.put(name, new Module(name, content));
    }

    /** The comma-separated "depends=" entry of the module's .modinfo section; empty if none. */
    static List<String> dependsOf(byte[] module) {
        byte[] key = "\0depends=".getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + key.length <= module.length; i++) {
            for (int k = 0; k < key.length; k++) {
                if (module[i + k] != key[k]) {
                    continue outer;
                }
            }
            int start = i + key.length;
            int end = start;
            while (end < module.length && module[end] != 0) {
                end++;
            }
            String value = new String(module, start, end - start, StandardCharsets.US_ASCII);
            return value.isEmpty() ? List.of() : List.of(value.split(","));
        }
        return List.of();
    }

    static byte[] decompress(Path file) throws IOException {
        String fileName = file.getFileName().toString();
        if (fileName.endsWith(".ko")) {
            return Files.readAllBytes(file);
        }
        List<String> command = fileName.endsWith(".xz") ? List.of("xz", "-dc", file.toString())
                : fileName.endsWith(".zst") ? List.of("zstd", "-dcq", file.toString())
                : List.of("gzip", "-dc", file.toString());
        Process process;
        try {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new IOException("cannot decompress kernel module " + file + ": " + command.getFirst()
                    + " is not installed (run scripts/setup-host.sh)", e);
        }
        byte[] content = process.getInputStream().readAllBytes();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IOException("cannot decompress kernel module " + file + " with " + command.getFirst());
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted decompressing " + file, e);
        }
        return content;
    }

    private static String stem(String fileName) {
        for (String suffix : List.of(".ko", ".ko.xz", ".ko.zst", ".ko.gz")) {
            if (fileName.endsWith(suffix)) {
                return fileName.substring(0, fileName.length() - suffix.length());
            }
        }
        return null;
    }

    /** The kernel treats '-' and '_' in module names alike ("virtio-rng" is "virtio_rng"). */
    static String canonicalName(String name) {
        return name.replace('-', '_');
    }
}
