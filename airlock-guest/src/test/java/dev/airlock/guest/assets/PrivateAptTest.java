package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateAptTest {

    private static final Path APT = Path.of("/cache/debian/apt");

    private static final List<String> OPTIONS = List.of(
            "-o", "Dir::Etc::SourceList=/cache/debian/apt/sources.list",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", "Dir::Etc::Preferences=/dev/null",
            "-o", "Dir::Etc::PreferencesParts=/dev/null",
            "-o", "Dir::State::Lists=/cache/debian/apt/lists",
            "-o", "Dir::State::status=/dev/null",
            "-o", "Dir::Cache=/cache/debian/apt/cache",
            "-o", "APT::Architecture=riscv64",
            "-o", "APT::Architectures=riscv64",
            "-o", "APT::Sandbox::User=root");

    private final PrivateApt apt = new PrivateApt(APT, Map.of(), PrivateApt.SIGNED_BY_DEBIAN);

    @Test
    void optionsConfineAptToTheCacheAndRiscv64() {
        assertEquals(OPTIONS, apt.options());
        var withRetries = new PrivateApt(APT, Map.of("Acquire::Retries", "0"), "trusted=yes").options();
        assertEquals(List.of("-o", "Acquire::Retries=0"), withRetries.subList(OPTIONS.size(), withRetries.size()));
    }

    @Test
    void commands() {
        assertEquals(concat(List.of("apt-get"), OPTIONS, List.of("-q", "update", "--error-on=any")), apt.updateCommand());
        assertEquals(concat(List.of("apt-cache"), OPTIONS, List.of("show", "--no-all-versions", "a", "b")),
                apt.showCommand(List.of("a", "b")));
        assertEquals(concat(List.of("apt-get"), OPTIONS,
                        List.of("-q", "download", "linux-image-6.12.107+deb13-riscv64=6.12.107-1",
                                "busybox-static=1:1.37.0-6+b9")),
                apt.downloadCommand(List.of(
                        new PrivateApt.PackageInfo("linux-image-6.12.107+deb13-riscv64", "6.12.107-1", 1, ""),
                        new PrivateApt.PackageInfo("busybox-static", "1:1.37.0-6+b9", 1, ""))));
    }

    @Test
    void aptHelperCommands() {
        assertEquals(concat(List.of("/usr/lib/apt/apt-helper"), OPTIONS, List.of("download-file",
                        "http://m/debian/pool/b.deb", "/tmp/b.deb", "SHA256:" + "ab".repeat(32))),
                apt.downloadFileCommand("http://m/debian/pool/b.deb", Path.of("/tmp/b.deb"), "ab".repeat(32)));
        assertEquals(concat(List.of("/usr/lib/apt/apt-helper"), OPTIONS, List.of("download-file", "http://m/x", "/tmp/x")),
                apt.downloadFileCommand("http://m/x", Path.of("/tmp/x"), null));
        assertEquals(List.of("/usr/lib/apt/apt-helper", "cat-file", "/tmp/Packages.xz"),
                PrivateApt.catFileCommand(Path.of("/tmp/Packages.xz")));
    }

    @Test
    void writesThePrivateSourcesList(@TempDir Path dir) throws Exception {
        var private_ = new PrivateApt(dir.resolve("apt"), Map.of(), PrivateApt.SIGNED_BY_DEBIAN);
        private_.writeSourcesList("http://mirror.example/debian");
        assertEquals("deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
                + " http://mirror.example/debian trixie main\n", Files.readString(private_.sourcesList()));
        assertTrue(Files.isDirectory(dir.resolve("apt/lists/partial")));
        assertTrue(Files.isDirectory(dir.resolve("apt/cache/archives/partial")));
    }

    @Test
    void parsesAptCacheShow() {
        String output = """
                Package: linux-image-riscv64
                Source: linux-signed-riscv64 (6.12.107+1)
                Version: 6.12.107-1
                Architecture: riscv64
                Depends: linux-image-6.12.107+deb13-riscv64 (= 6.12.107-1)
                Size: 1540
                Description: Linux for 64-bit RISC-V platforms (meta-package)

                Package: busybox-static
                Version: 1:1.37.0-6+b9
                Size: 941532
                Description: Standalone rescue shell with tons of builtin utilities
                 Package: not-a-package

                """;
        var packages = PrivateApt.parseShow(output);
        assertEquals(List.of("linux-image-riscv64", "busybox-static"), List.copyOf(packages.keySet()));
        assertEquals(new PrivateApt.PackageInfo("busybox-static", "1:1.37.0-6+b9", 941532, ""),
                packages.get("busybox-static"));
        var kernel = PrivateApt.concreteKernel(packages.get("linux-image-riscv64").depends()).orElseThrow();
        assertEquals("linux-image-6.12.107+deb13-riscv64", kernel.getKey());
        assertEquals(Optional.of("6.12.107-1"), kernel.getValue());
    }

    @Test
    void concreteKernelIgnoresOtherDependencies() {
        var kernel = PrivateApt.concreteKernel(
                "linux-base, initramfs-tools | linux-initramfs-tool, linux-image-6.13.1-riscv64").orElseThrow();
        assertEquals("linux-image-6.13.1-riscv64", kernel.getKey());
        assertEquals(Optional.empty(), kernel.getValue());
        assertEquals(Optional.empty(), PrivateApt.concreteKernel("linux-image-riscv64-dbg, foo"));
    }

    @Test
    void reasonIsAptsFirstErrorLine() {
        var failed = new PrivateApt.Result(List.of("apt-get", "update"), 100, """
                Ign:1 http://127.0.0.1:9/debian trixie InRelease
                Err:1 http://127.0.0.1:9/debian trixie InRelease
                  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
                E: Failed to fetch http://127.0.0.1:9/debian/dists/trixie/InRelease  Could not connect
                E: Some index files failed to download.
                """);
        assertEquals("Failed to fetch http://127.0.0.1:9/debian/dists/trixie/InRelease  Could not connect",
                failed.reason());
        assertEquals("last words", new PrivateApt.Result(List.of("x"), 1, "first\nlast words\n\n").reason());
        assertEquals("x exited with status 2", new PrivateApt.Result(List.of("x"), 2, "").reason());
    }

    private static List<String> concat(List<String> tool, List<String> options, List<String> arguments) {
        var all = new java.util.ArrayList<>(tool);
        all.addAll(options);
        all.addAll(arguments);
        return all;
    }
}
