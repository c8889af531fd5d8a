package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.guest.initramfs.CpioWriter;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Fetches the real Debian riscv64 assets into the default cache ($AIRLOCK_CACHE or
 * ~/.cache/airlock) over the network, once; later runs find them cached.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
class GuestAssetsSystemTest {

    @Test
    void fetchesTheDebianKernelAndBusybox() throws Exception {
        GuestAssets assets = GuestAssets.open(GuestAssets.defaultCacheDir(), ProgressListener.stderr());

        try (InputStream in = Files.newInputStream(assets.kernelImage())) {
            byte[] header = in.readNBytes(0x40);
            assertEquals("RISCV\0\0\0", new String(header, 0x30, 8, StandardCharsets.ISO_8859_1));
            assertEquals("RSC\u0005", new String(header, 0x38, 4, StandardCharsets.ISO_8859_1));
        }
        assertTrue(Files.size(assets.kernelImage()) > 10_000_000, "a whole kernel, not a stub");
        assertTrue(assets.kernelImage().getFileName().toString().equals("vmlinux-" + assets.kernelVersion()));
        assertTrue(assets.kernelVersion().endsWith("-riscv64"), assets.kernelVersion());
        assertTrue(assets.kernelPackage().equals("linux-image-" + assets.kernelVersion()));

        try (InputStream in = Files.newInputStream(assets.busybox())) {
            byte[] elf = in.readNBytes(20);
            assertTrue(Arrays.equals(elf, 0, 4, new byte[] {0x7f, 'E', 'L', 'F'}, 0, 4));
            assertEquals(2, elf[4], "ELFCLASS64");
            assertEquals(243, (elf[18] & 0xff) | (elf[19] & 0xff) << 8, "e_machine EM_RISCV");
        }
        assertTrue(Files.isRegularFile(assets.kernelModulesDir().resolve("kernel/drivers/virtio/virtio_mmio.ko.xz")));

        byte[] base = assets.baseInitramfs();
        assertEquals(CpioWriter.MAGIC, new String(base, 0, 6, StandardCharsets.US_ASCII));
        assertEquals(0, base.length % 4);
        byte[] withModules = assets.initramfs(InitramfsBuilder.VIRTIO_MODULES);
        assertTrue(withModules.length > base.length);

        long startNs = System.nanoTime();
        GuestAssets again = GuestAssets.open(GuestAssets.defaultCacheDir(), ProgressListener.none());
        long warmNs = System.nanoTime() - startNs;
        assertEquals(assets.kernelImage(), again.kernelImage());
        System.err.printf("airlock: warm GuestAssets.open took %d µs: %s%n", warmNs / 1000, again);
    }
}
