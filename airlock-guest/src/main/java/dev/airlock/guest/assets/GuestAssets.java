package dev.airlock.guest.assets;

import dev.airlock.guest.initramfs.InitramfsBuilder;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * The guest's kernel, its modules and busybox, taken from Debian trixie's riscv64 packages and
 * kept in Airlock's cache. The first use fetches them with a private apt configuration; later
 * uses only read a small manifest.
 *
 * <pre>
 * CACHE/                                    $AIRLOCK_CACHE, else ~/.cache/airlock
 *   debian/
 *     .lock                                 fcntl lock held while fetching
 *     assets.manifest                       written last, by rename: "the assets are complete"
 *     apt/{sources.list,lists/,cache/}      private apt state (see PrivateApt)
 *     linux-image-6.12.107+deb13-riscv64_6.12.107-1/    the unpacked .deb:
 *         boot/vmlinux-6.12.107+deb13-riscv64           raw RISC-V Image with a PE stub
 *         usr/lib/modules/6.12.107+deb13-riscv64/       .ko.xz modules
 *     busybox-static_1%3a1.37.0-6+b9/usr/bin/busybox
 *     tmp-XXXX/                             a fetch in progress (removed by the next fetch)
 *   initramfs/
 *     base-CRC.cpio, modules-CRC.cpio       built initramfs, keyed by their inputs
 * </pre>
 *
 * Each unpacked package appears by atomic rename of a finished directory, and the manifest by
 * atomic rename after them, so a crash or a concurrent reader never sees half a cache.
 */
public final class GuestAssets {

    public static final String KERNEL_METAPACKAGE = "linux-image-riscv64";
    public static final String BUSYBOX_PACKAGE = "busybox-static";
    /** Overrides the Debian archive URI otherwise taken from the host's apt sources. */
    public static final String ARCHIVE_URI_ENV = "AIRLOCK_DEBIAN_URI";
    public static final String CACHE_ENV = "AIRLOCK_CACHE";

    // Serialises fetches within this JVM: FileChannel locks are per process, not per thread.
    private static final Object JVM_FETCH_LOCK = new Object();

    /**
     * Where the packages come from. Tests inject a local unsigned archive ("trusted=yes") and their
     * own pins; real use always checks Debian's signature, or a pinned hash when the mirror is out
     * of sync (see {@link PinnedIndex}).
     */
    record Settings(List<Path> hostSourceFiles, Optional<String> archiveUri, Map<String, String> aptSettings,
                    String trustOption, IndexPins indexPins) {
        static Settings fromHost() {
            String override = System.getenv(ARCHIVE_URI_ENV);
            return new Settings(HostAptSources.candidateFiles(HostAptSources.APT_ETC),
                    Optional.ofNullable(override).filter(s -> !s.isBlank()), Map.of(), PrivateApt.SIGNED_BY_DEBIAN,
                    IndexPins.builtIn());
        }
    }

    private final Path cacheDir;
    private final Path kernelImage;
    private final Path kernelModulesDir;
    private final Path busybox;
    private final AssetManifest manifest;

    private GuestAssets(Path cacheDir, Path kernelImage, Path kernelModulesDir, Path busybox, AssetManifest manifest) {
        this.cacheDir = cacheDir;
        this.kernelImage = kernelImage;
        this.kernelModulesDir = kernelModulesDir;
        this.busybox = busybox;
        this.manifest = manifest;
    }

    /** $AIRLOCK_CACHE if set, else ~/.cache/airlock. */
    public static Path defaultCacheDir() {
        String override = System.getenv(CACHE_ENV);
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "airlock");
    }

    /** The assets in the default cache directory, reporting progress on stderr. */
    public static GuestAssets open() {
        return open(defaultCacheDir(), ProgressListener.stderr());
    }

    /**
     * The assets in {@code cacheDir}, fetched first if they are not there yet.
     *
     * @throws GuestAssetException if they cannot be fetched, unpacked or verified
     */
    public static GuestAssets open(Path cacheDir, ProgressListener progress) {
        return open(cacheDir, progress, null);
    }

    /**
     * {@code settings} null means the host's: looked up only on a cold cache, so the warm path
     * reads one small file and creates no lambdas (their first use costs milliseconds).
     */
    static GuestAssets open(Path cacheDir, ProgressListener progress, Settings settings) {
        Path root = cacheDir.resolve("debian");
        Path manifestFile = root.resolve(AssetManifest.FILE_NAME);
        if (Files.isRegularFile(manifestFile)) {
            try {
                return fromManifest(cacheDir, AssetManifest.read(manifestFile));
            } catch (IOException e) {
                progress.report("guest asset cache unusable (" + e.getMessage() + "); fetching again");
            }
        }
        synchronized (JVM_FETCH_LOCK) {
            try {
                Files.createDirectories(root);
            } catch (IOException e) {
                throw new GuestAssetException("create the guest asset cache " + root, String.valueOf(e.getMessage()), e);
            }
            try (FileChannel channel = FileChannel.open(root.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE)) {
                FileLock lock = channel.tryLock();
                if (lock == null) {
                    progress.report("waiting for another Airlock process to finish fetching guest assets into " + root
                            + "…");
                    lock = channel.lock();
                }
                try {
                    if (Files.isRegularFile(manifestFile)) {
                        try {
                            return fromManifest(cacheDir, AssetManifest.read(manifestFile));
                        } catch (IOException e) {
                            // Corrupt or stale: fetch again below, under the lock.
                        }
                    }
                    return new Fetch(cacheDir, root, progress, settings != null ? settings : Settings.fromHost()).run();
                } finally {
                    lock.release();
                }
            } catch (IOException e) {
                throw new GuestAssetException("prepare the guest assets in " + root, String.valueOf(e.getMessage()), e);
            }
        }
    }

    private static GuestAssets fromManifest(Path cacheDir, AssetManifest manifest) throws IOException {
        Path root = cacheDir.resolve("debian");
        Path file = root.resolve(AssetManifest.FILE_NAME);
        Path kernel = root.resolve(manifest.require("kernel.image", file));
        Path modules = root.resolve(manifest.require("kernel.modules", file));
        Path busybox = root.resolve(manifest.require("busybox.binary", file));
        manifest.require("kernel.release", file);
        if (!Files.isRegularFile(kernel) || !Files.isDirectory(modules) || !Files.isRegularFile(busybox)) {
            throw new IOException(file + " names files that are missing (" + kernel + ", " + modules + ", " + busybox + ")");
        }
        return new GuestAssets(cacheDir, kernel, modules, busybox, manifest);
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** Debian's /boot/vmlinux-RELEASE: a raw RISC-V Image (PE stub, header checked at fetch). */
    public Path kernelImage() {
        return kernelImage;
    }

    /** The unpacked lib/modules/RELEASE directory with Debian's .ko.xz modules. */
    public Path kernelModulesDir() {
        return kernelModulesDir;
    }

    /** The kernel release, as uname -r reports it: e.g. 6.12.107+deb13-riscv64. */
    public String kernelVersion() {
        return manifest.values().get("kernel.release");
    }

    /** The concrete kernel package, e.g. linux-image-6.12.107+deb13-riscv64. */
    public String kernelPackage() {
        return manifest.values().get("kernel.package");
    }

    /** The Debian version of the kernel package, e.g. 6.12.107-1. */
    public String kernelPackageVersion() {
        return manifest.values().get("kernel.debVersion");
    }

    /** The static riscv64 busybox binary. */
    public Path busybox() {
        return busybox;
    }

    /** The Debian version of busybox-static, e.g. 1:1.37.0-6+b9. */
    public String busyboxVersion() {
        return manifest.values().get("busybox.debVersion");
    }

    /** The base initramfs (busybox and /init, no modules), uncompressed; built once and cached. */
    public byte[] baseInitramfs() {
        return initramfs(List.of());
    }

    /**
     * The base initramfs plus the named kernel modules and their dependencies, which /init loads
     * in order before it reports ready, e.g. {@link InitramfsBuilder#VIRTIO_MODULES}.
     */
    public byte[] initramfs(List<String> modules) {
        return initramfs(modules, null);
    }

    /**
     * Like {@link #initramfs(List)}, plus the guest agent (built on first use, see {@link AgentBinary}),
     * which /init starts on vsock when no command archive follows. {@code modules} must include the
     * vsock drivers ({@link InitramfsBuilder#VIRTIO_MODULES}).
     */
    public byte[] agentInitramfs(List<String> modules) {
        return initramfs(modules, AgentBinary.riscv64(cacheDir));
    }

    private byte[] initramfs(List<String> modules, Path agent) {
        // The key covers everything the archive is built from, so a changed /init gets a new file.
        var key = new CRC32();
        String inputs = String.join("\n", "initramfs-format " + InitramfsBuilder.FORMAT, busybox.toString(), kernelVersion(),
                String.join(",", modules), InitramfsBuilder.initScript(modules), String.valueOf(agent));
        key.update(inputs.getBytes(StandardCharsets.UTF_8));
        String kind = agent != null ? "agent" : modules.isEmpty() ? "base" : "modules";
        Path file = cacheDir.resolve("initramfs").resolve("%s-%08x.cpio".formatted(kind, key.getValue()));
        try {
            if (Files.isRegularFile(file)) {
                return Files.readAllBytes(file);
            }
            byte[] archive = new InitramfsBuilder(busybox).withModules(kernelModulesDir, modules).withAgent(agent).build();
            Files.createDirectories(file.getParent());
            Path temp = Files.createTempFile(file.getParent(), file.getFileName() + ".", ".tmp", AssetManifest.readable());
            try {
                Files.write(temp, archive);
                // Two processes building at once write identical bytes; the last rename wins.
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
            return archive;
        } catch (IOException e) {
            throw new GuestAssetException("build the guest initramfs " + file, String.valueOf(e.getMessage()), e);
        }
    }

    @Override
    public String toString() {
        return "GuestAssets[kernel " + kernelVersion() + ", busybox " + busyboxVersion() + ", in " + cacheDir + "]";
    }

    /** One first-use fetch, run while holding the cache lock. */
    private static final class Fetch {
        private final Path cacheDir;
        private final Path root;
        private final ProgressListener progress;
        private final Settings settings;
        private String what = "fetch the Debian riscv64 guest kernel and busybox";

        Fetch(Path cacheDir, Path root, ProgressListener progress, Settings settings) {
            this.cacheDir = cacheDir;
            this.root = root;
            this.progress = progress;
            this.settings = settings;
        }

        GuestAssets run() {
            try {
                return fetch();
            } catch (IOException e) {
                throw new GuestAssetException(what, String.valueOf(e.getMessage()), e);
            }
        }

        private GuestAssets fetch() throws IOException {
            long startNs = System.nanoTime();
            deleteTemporaries();
            String uri = settings.archiveUri()
                    .or(() -> HostAptSources.archiveUri(settings.hostSourceFiles()))
                    .orElseThrow(() -> fail("no Debian archive found in the host's apt sources "
                            + settings.hostSourceFiles() + " (set " + ARCHIVE_URI_ENV + " to a Debian mirror URL)"));
            var apt = new PrivateApt(root.resolve("apt"), settings.aptSettings(), settings.trustOption());
            apt.writeSourcesList(uri);

            what = "update the Debian " + PrivateApt.SUITE + " riscv64 package lists from " + uri;
            progress.report("updating Debian " + PrivateApt.SUITE + " riscv64 package lists from " + uri + "…");
            var indexValues = new HashMap<String, String>();
            PackageIndex index = updatedIndex(apt, uri, indexValues);

            what = "find " + KERNEL_METAPACKAGE + " and " + BUSYBOX_PACKAGE + " in Debian " + PrivateApt.SUITE;
            var found = index.show(List.of(KERNEL_METAPACKAGE, BUSYBOX_PACKAGE));
            PrivateApt.PackageInfo meta = found.get(KERNEL_METAPACKAGE);
            PrivateApt.PackageInfo busybox = found.get(BUSYBOX_PACKAGE);
            if (meta == null || busybox == null) {
                throw fail("the package index lacks " + (meta == null ? KERNEL_METAPACKAGE : BUSYBOX_PACKAGE));
            }
            String kernelName = PrivateApt.concreteKernel(meta.depends())
                    .orElseThrow(() -> fail(KERNEL_METAPACKAGE + " depends on no linux-image-VERSION-riscv64 package ("
                            + meta.depends() + ")"))
                    .getKey();
            PrivateApt.PackageInfo kernel = index.show(List.of(kernelName)).get(kernelName);
            if (kernel == null) {
                throw fail("the package index lacks " + kernelName);
            }

            Path kernelDir = root.resolve(unpackedDirName(kernel));
            Path busyboxDir = root.resolve(unpackedDirName(busybox));
            what = "fetch the Debian riscv64 kernel " + kernel.name() + " " + kernel.version() + " and "
                    + BUSYBOX_PACKAGE + " " + busybox.version() + " from " + uri;
            if (!Files.isDirectory(kernelDir) || !Files.isDirectory(busyboxDir)) {
                progress.report("fetching Debian riscv64 kernel " + kernel.name() + " (" + megabytes(kernel.sizeBytes())
                        + ") and " + BUSYBOX_PACKAGE + " " + busybox.version() + " (" + megabytes(busybox.sizeBytes())
                        + ")…");
                Path temp = Files.createTempDirectory(root, "tmp-");
                try {
                    index.download(List.of(kernel, busybox), temp);
                    unpack(findDeb(temp, kernel), temp, kernelDir);
                    unpack(findDeb(temp, busybox), temp, busyboxDir);
                } finally {
                    deleteTree(temp);
                }
            }

            what = "verify the Debian riscv64 kernel and busybox in " + root;
            Path image = findKernelImage(kernelDir);
            String release = image.getFileName().toString().substring("vmlinux-".length());
            Path modules = Stream.of("usr/lib/modules/", "lib/modules/")
                    .map(prefix -> kernelDir.resolve(prefix + release))
                    .filter(Files::isDirectory).findFirst()
                    .orElseThrow(() -> fail("no lib/modules/" + release + " in " + kernelDir));
            Path busyboxBinary = Stream.of("bin/busybox", "usr/bin/busybox")
                    .map(busyboxDir::resolve)
                    .filter(Files::isRegularFile).findFirst()
                    .orElseThrow(() -> fail("no bin/busybox in " + busyboxDir));
            AssetChecks.verifyKernelImage(image);
            AssetChecks.verifyRiscv64Elf(busyboxBinary);

            var values = new HashMap<String, String>();
            values.put("archive", uri);
            values.put("suite", PrivateApt.SUITE);
            values.putAll(indexValues);
            values.put("fetched", Instant.now().toString());
            values.put("kernel.package", kernel.name());
            values.put("kernel.debVersion", kernel.version());
            values.put("kernel.release", release);
            values.put("kernel.image", root.relativize(image).toString());
            values.put("kernel.modules", root.relativize(modules).toString());
            values.put("busybox.debVersion", busybox.version());
            values.put("busybox.binary", root.relativize(busyboxBinary).toString());
            var manifest = new AssetManifest(values);
            manifest.write(root.resolve(AssetManifest.FILE_NAME));
            progress.report("guest assets ready in %.1f s: kernel %s, busybox %s, in %s".formatted(
                    (System.nanoTime() - startNs) / 1e9, release, busybox.version(), root));
            return fromManifest(cacheDir, manifest);
        }

        /**
         * apt's lists, updated and verified by Debian's signature. If the mirror is out of sync with
         * its own InRelease, the index it still serves, if its hash is pinned; {@code manifestValues}
         * receives which of the two was used.
         */
        private PackageIndex updatedIndex(PrivateApt apt, String uri, Map<String, String> manifestValues)
                throws IOException {
            PrivateApt.Result update = PrivateApt.run(apt.updateCommand(), root, PrivateApt.UPDATE_TIMEOUT);
            if (update.ok()) {
                manifestValues.put("index", "apt-get update");
                return apt;
            }
            if (!PinnedIndex.isMirrorOutOfSync(update)) {
                throw fail(update.reason());
            }
            Path temp = Files.createTempDirectory(root, "tmp-");
            try {
                PinnedIndex pinned = PinnedIndex.fetch(apt, uri, settings.indexPins(), GuestAssets::isGuestPackage, temp);
                IndexPins.Pin pin = pinned.pin();
                progress.report(GuestAssetException.oneLine("the mirror is out of sync (" + update.reason()
                        + "); using its " + pin.path() + " instead, whose hash Airlock pins from Debian's signed Release of "
                        + pin.date()));
                manifestValues.put("index", "pinned " + pin.path() + " " + pin.sha256() + " of " + pin.date());
                return pinned;
            } catch (IOException e) {
                throw fail("the mirror is out of sync (" + update.reason() + "), and " + e.getMessage()
                        + " (set " + ARCHIVE_URI_ENV + " to another Debian mirror, or retry once this one has synced)");
            } finally {
                deleteTree(temp);
            }
        }

        private String check(PrivateApt.Result result) {
            if (!result.ok()) {
                throw fail(result.reason());
            }
            return result.output();
        }

        private GuestAssetException fail(String reason) {
            return new GuestAssetException(what, reason, null);
        }

        /** dpkg-deb -x into a scratch directory, then one atomic rename into place. */
        private void unpack(Path deb, Path temp, Path target) throws IOException {
            if (Files.isDirectory(target)) {
                return; // a previous fetch renamed it into place, so it is complete
            }
            Path scratch = temp.resolve("unpack-" + target.getFileName());
            Files.createDirectories(scratch);
            progress.report("unpacking " + deb.getFileName() + "…");
            check(PrivateApt.run(List.of("dpkg-deb", "-x", deb.toString(), scratch.toString()), temp,
                    PrivateApt.UPDATE_TIMEOUT));
            Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(deb); // only the unpacked tree is needed; the .deb is 112 MB
        }

        private Path findDeb(Path dir, PrivateApt.PackageInfo info) throws IOException {
            try (Stream<Path> list = Files.list(dir)) {
                return list.filter(p -> p.getFileName().toString().startsWith(info.name() + "_")
                                && p.getFileName().toString().endsWith(".deb"))
                        .findFirst()
                        .orElseThrow(() -> fail("apt-get download left no " + info.name() + " .deb in " + dir));
            }
        }

        private Path findKernelImage(Path kernelDir) throws IOException {
            Path boot = kernelDir.resolve("boot");
            if (!Files.isDirectory(boot)) {
                throw fail("no boot/ directory in " + kernelDir);
            }
            try (Stream<Path> list = Files.list(boot)) {
                return list.filter(p -> p.getFileName().toString().startsWith("vmlinux-"))
                        .sorted()
                        .findFirst()
                        .orElseThrow(() -> fail("no boot/vmlinux-* in " + kernelDir));
            }
        }

        private void deleteTemporaries() throws IOException {
            var stale = new ArrayList<Path>();
            try (Stream<Path> list = Files.list(root)) {
                // tmp-* directories and *.tmp files are what a crashed fetch leaves behind.
                list.filter(p -> p.getFileName().toString().startsWith("tmp-")
                        || p.getFileName().toString().endsWith(".tmp")).forEach(stale::add);
            }
            for (Path dir : stale) {
                deleteTree(dir);
            }
        }
    }

    /** The packages a fetch may look up: busybox and the kernel metapackage and its kernel. */
    static boolean isGuestPackage(String name) {
        return name.equals(BUSYBOX_PACKAGE) || name.startsWith("linux-image-");
    }

    /** apt's own file-name quoting of an epoch's colon, so versions make tidy directory names. */
    static String unpackedDirName(PrivateApt.PackageInfo info) {
        return info.name() + "_" + info.version().replace(":", "%3a");
    }

    static String megabytes(long sizeBytes) {
        if (sizeBytes < 0) {
            return "size unknown";
        }
        double mb = sizeBytes / 1e6;
        return mb >= 10 ? "%.0f MB".formatted(mb) : "%.1f MB".formatted(mb);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path path : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(path);
            }
        }
    }
}
