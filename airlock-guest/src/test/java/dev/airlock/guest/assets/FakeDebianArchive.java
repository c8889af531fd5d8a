package dev.airlock.guest.assets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A tiny unsigned Debian archive on the local disk (a file: URI) with a fake kernel metapackage,
 * kernel and busybox, so the whole fetch runs offline and in a second.
 */
final class FakeDebianArchive {

    static final String RELEASE = "9.9.9+test-riscv64";
    static final String KERNEL_PACKAGE = "linux-image-" + RELEASE;

    private FakeDebianArchive() {}

    /** The index path the Release file lists, relative to dists/trixie/. */
    static final String PACKAGES_PATH = "main/binary-riscv64/Packages";

    /** Builds the archive under {@code dir} and returns its file: URI. */
    static String create(Path dir) throws IOException, InterruptedException {
        return create(dir, false);
    }

    /**
     * Like {@link #create(Path)}; if {@code outOfSync}, the Release file names a newer Packages
     * file (another hash and size) than the one served, as on a mirror caught mid-sync.
     */
    static String create(Path dir, boolean outOfSync) throws IOException, InterruptedException {
        Path pool = Files.createDirectories(dir.resolve("pool"));
        Path kernelTree = dir.resolve("build/kernel");
        Files.createDirectories(kernelTree.resolve("boot"));
        Files.write(kernelTree.resolve("boot/vmlinux-" + RELEASE), kernelImageHeader());
        Path modules = Files.createDirectories(kernelTree.resolve("usr/lib/modules/" + RELEASE + "/kernel"));
        Files.write(modules.resolve("fake.ko"), "\0depends=\0".getBytes(StandardCharsets.US_ASCII));
        Path busyboxTree = dir.resolve("build/busybox");
        Files.createDirectories(busyboxTree.resolve("usr/bin"));
        Files.write(busyboxTree.resolve("usr/bin/busybox"), riscvElfHeader());

        var packages = new StringBuilder();
        packages.append(stanza("linux-image-riscv64", "9.9.9-1", "pool/missing.deb", 1, "0".repeat(64),
                KERNEL_PACKAGE + " (= 9.9.9-1)"));
        Path kernelDeb = build(kernelTree, pool.resolve("kernel.deb"), KERNEL_PACKAGE, "9.9.9-1");
        packages.append(stanza(KERNEL_PACKAGE, "9.9.9-1", "pool/kernel.deb", Files.size(kernelDeb), sha256(kernelDeb), null));
        Path busyboxDeb = build(busyboxTree, pool.resolve("busybox.deb"), "busybox-static", "1:1.0-1");
        packages.append(stanza("busybox-static", "1:1.0-1", "pool/busybox.deb", Files.size(busyboxDeb),
                sha256(busyboxDeb), null));

        Path dist = Files.createDirectories(dir.resolve("dists/trixie/main/binary-riscv64"));
        Path packagesFile = Files.writeString(dist.resolve("Packages"), packages.toString());
        Files.writeString(dir.resolve("dists/trixie/Release"), """
                Origin: Test
                Suite: trixie
                Codename: trixie
                Date: Sat, 01 Nov 2025 00:00:00 UTC
                Architectures: riscv64
                Components: main
                SHA256:
                 %s %d %s
                """.formatted(outOfSync ? "0".repeat(64) : sha256(packagesFile), Files.size(packagesFile) + (outOfSync ? 7 : 0),
                PACKAGES_PATH));
        return "file:" + dir.toAbsolutePath();
    }

    static byte[] kernelImageHeader() {
        byte[] image = new byte[128];
        image[0] = 'M';
        image[1] = 'Z';
        System.arraycopy("RISCV\0\0\0RSC\u0005".getBytes(StandardCharsets.ISO_8859_1), 0, image, 0x30, 12);
        return image;
    }

    static byte[] riscvElfHeader() {
        byte[] elf = new byte[64];
        elf[0] = 0x7f;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little-endian
        elf[18] = (byte) 243; // EM_RISCV
        return elf;
    }

    private static Path build(Path tree, Path deb, String name, String version) throws IOException, InterruptedException {
        Path control = Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(control.resolve("control"), """
                Package: %s
                Version: %s
                Architecture: riscv64
                Maintainer: Airlock tests <tests@invalid>
                Description: fake package for Airlock's tests
                """.formatted(name, version));
        Process process = new ProcessBuilder("dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree.toString(),
                deb.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("dpkg-deb -b failed for " + name);
        }
        return deb;
    }

    private static String stanza(String name, String version, String file, long size, String sha256, String depends) {
        return "Package: " + name + "\nVersion: " + version + "\nArchitecture: riscv64\n"
                + (depends == null ? "" : "Depends: " + depends + "\n")
                + "Maintainer: Airlock tests <tests@invalid>\nFilename: " + file + "\nSize: " + size + "\nSHA256: "
                + sha256 + "\nDescription: fake\n\n";
    }

    /** A pin for the Packages file the archive under {@code dir} serves. */
    static IndexPins.Pin servedPackagesPin(Path dir) throws IOException {
        Path packages = dir.resolve("dists/trixie/" + PACKAGES_PATH);
        return new IndexPins.Pin(sha256(packages), Files.size(packages), PACKAGES_PATH, "2025-11-01T00:00:00Z");
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static List<String> tools() {
        return List.of("apt-get", "apt-cache", "dpkg-deb");
    }
}
