package dev.airlock.guest.initramfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelModulesTest {

    @Test
    void readsDependsFromModinfo() {
        assertEquals(List.of("vsock", "virtio_ring"), KernelModules.dependsOf(
                "x\0alias=foo\0depends=vsock,virtio_ring\0intree=Y\0".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(List.of(), KernelModules.dependsOf("x\0depends=\0".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(List.of(), KernelModules.dependsOf("no modinfo here".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void findsModulesWhateverTheirDashesOrCompression(@TempDir Path dir) throws Exception {
        Path release = Files.createDirectories(dir.resolve("6.12.0-test"));
        Files.createDirectories(release.resolve("kernel/char"));
        Files.write(release.resolve("kernel/char/virtio-rng.ko.xz"), new byte[] {1});
        Files.write(release.resolve("modules.dep"), new byte[] {1});
        var modules = KernelModules.open(release);
        assertEquals("6.12.0-test", modules.kernelRelease());
        assertTrue(modules.find("virtio_rng").isPresent());
        assertTrue(modules.find("virtio-rng").isPresent());
        assertTrue(modules.find("modules").isEmpty());
    }
}
