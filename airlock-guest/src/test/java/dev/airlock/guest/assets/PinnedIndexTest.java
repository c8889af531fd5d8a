package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PinnedIndexTest {

    private static final String HASH = "ab".repeat(32);

    private static PrivateApt.Result failed(String output) {
        return new PrivateApt.Result(List.of("apt-get", "update"), 100, output);
    }

    @Test
    void fallsBackOnlyWhenTheMirrorIsOutOfSync() {
        assertTrue(PinnedIndex.isMirrorOutOfSync(failed("""
                Get:2 http://deb.debian.org/debian trixie/main riscv64 Packages [9387 kB]
                Err:2 http://deb.debian.org/debian trixie/main riscv64 Packages
                  File has unexpected size (9385284 != 9387120). Mirror sync in progress? [IP: 203.0.113.80 80]
                E: Failed to fetch http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages.xz  \
                File has unexpected size (9385284 != 9387120). Mirror sync in progress? [IP: 203.0.113.80 80]
                """)));
        assertTrue(PinnedIndex.isMirrorOutOfSync(failed("E: Failed to fetch file:/a/Packages  Hash Sum mismatch\n")));

        assertFalse(PinnedIndex.isMirrorOutOfSync(new PrivateApt.Result(List.of("apt-get"), 0,
                "Hash Sum mismatch in an old warning, but apt succeeded\n")), "success never falls back");
        assertFalse(PinnedIndex.isMirrorOutOfSync(failed(
                "E: Failed to fetch http://127.0.0.1:9/debian/dists/trixie/InRelease  Could not connect\n")));
        assertFalse(PinnedIndex.isMirrorOutOfSync(failed("""
                Err:1 http://deb.debian.org/debian trixie InRelease
                  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 0
                E: The repository 'http://deb.debian.org/debian trixie InRelease' is not signed.
                """)), "a signature problem is never worked around");
        assertFalse(PinnedIndex.isMirrorOutOfSync(failed(
                "E: Failed to fetch http://x/debian/dists/trixie/main/binary-riscv64/Packages.xz  404  Not Found\n")));
    }

    @Test
    void parsesTheWantedStanzasOfAPackagesFile() throws Exception {
        String packages = """
                Package: linux-image-riscv64
                Version: 6.12.107-1
                Depends: linux-image-6.12.107+deb13-riscv64 (= 6.12.107-1)
                Description: Linux for 64-bit RISC-V platforms (meta-package)
                 Package: not-a-package
                 Filename: ../not/a/file.deb
                Filename: pool/main/l/linux/linux-image-riscv64_6.12.107-1_riscv64.deb
                Size: 1436
                SHA256: %1$s

                Package: busybox-static
                Version: 1:1.37.0-6+b9
                Filename: pool/main/b/busybox/busybox-static_1.37.0-6+b9_riscv64.deb
                Size: 941532
                SHA256: %1$s

                Package: busybox-static
                Version: 1:0.1-1
                Filename: pool/main/b/busybox/busybox-static_0.1-1_riscv64.deb
                SHA256: %1$s

                Package: linux-image-escapes
                Version: 1
                Filename: pool/../../etc/passwd.deb
                SHA256: %1$s

                Package: linux-image-unhashed
                Version: 1
                Filename: pool/main/l/x_1_riscv64.deb
                MD5sum: 0123456789abcdef0123456789abcdef

                Package: hello
                Version: 2.10-3
                Filename: pool/main/h/hello/hello_2.10-3_riscv64.deb
                SHA256: %1$s
                """.formatted(HASH);
        var entries = PinnedIndex.parse(new BufferedReader(new StringReader(packages)), GuestAssets::isGuestPackage);

        assertEquals(List.of("linux-image-riscv64", "busybox-static"), List.copyOf(entries.keySet()),
                "unwanted, path-escaping and unhashed stanzas are skipped");
        var meta = entries.get("linux-image-riscv64");
        assertEquals(new PrivateApt.PackageInfo("linux-image-riscv64", "6.12.107-1", 1436,
                "linux-image-6.12.107+deb13-riscv64 (= 6.12.107-1)"), meta.info());
        assertEquals("pool/main/l/linux/linux-image-riscv64_6.12.107-1_riscv64.deb", meta.filename());
        assertEquals(HASH, meta.sha256());
        assertEquals("1:1.37.0-6+b9", entries.get("busybox-static").info().version(), "the first stanza of a name wins");
    }

    @Test
    void showReturnsOnlyWhatTheIndexHas() {
        var busybox = new PinnedIndex.Entry(new PrivateApt.PackageInfo("busybox-static", "1:1.0-1", 5, ""),
                "pool/b.deb", HASH);
        var index = new PinnedIndex(null, "file:/nowhere", null, Map.of("busybox-static", busybox));
        assertEquals(Map.of("busybox-static", busybox.info()), index.show(List.of("busybox-static", "linux-image-riscv64")));
    }

    @Test
    void hashesFiles(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "hello\n");
        assertEquals("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", PinnedIndex.sha256(file));
        assertEquals("http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages.xz",
                PinnedIndex.indexUrl("http://deb.debian.org/debian", "main/binary-riscv64/Packages.xz"));
    }
}
