package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AssetManifestTest {

    private static final Path FILE = Path.of("/cache/debian/assets.manifest");
    private static final AssetManifest SAMPLE = new AssetManifest(Map.of(
            "kernel.release", "6.12.107+deb13-riscv64",
            "kernel.image", "linux-image-6.12.107+deb13-riscv64_6.12.107-1/boot/vmlinux-6.12.107+deb13-riscv64",
            "busybox.debVersion", "1:1.37.0-6+b9",
            "odd", "value=with=equals crc32=inside"));

    @Test
    void roundTripsThroughAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(AssetManifest.FILE_NAME);
        SAMPLE.write(file);
        assertEquals(SAMPLE, AssetManifest.read(file));
        String text = Files.readString(file);
        assertTrue(text.startsWith("airlock-guest-assets 1\nbusybox.debVersion=1:1.37.0-6+b9\n"), text);
        assertTrue(text.matches("(?s).*\ncrc32=[0-9a-f]{8}\n"), text);
        assertEquals(new AssetManifest(Map.of()), AssetManifest.decode(new AssetManifest(Map.of()).encode(), FILE));
    }

    @Test
    void everyFlippedBitIsCaught() {
        byte[] good = SAMPLE.encode();
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x04;
            int offset = i;
            try {
                AssetManifest decoded = AssetManifest.decode(bad, FILE);
                throw new AssertionError("flip at " + offset + " not caught: " + decoded);
            } catch (IOException | IllegalArgumentException expected) {
                // IllegalArgumentException: the flip made a key invalid after the CRC matched (cannot happen for 1 bit)
                assertTrue(expected instanceof IOException, expected.toString());
                assertTrue(expected.getMessage().startsWith(FILE.toString()), expected.getMessage());
            }
        }
    }

    @Test
    void truncatedOrForeignFilesAreRefusedWithTheirOffset() {
        byte[] good = SAMPLE.encode();
        var truncated = assertThrows(IOException.class,
                () -> AssetManifest.decode(java.util.Arrays.copyOf(good, good.length - 12), FILE));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        var foreign = assertThrows(IOException.class,
                () -> AssetManifest.decode("hello\n".getBytes(StandardCharsets.UTF_8), FILE));
        assertTrue(foreign.getMessage().contains("at offset 0"), foreign.getMessage());
        var checksum = assertThrows(IOException.class, () -> AssetManifest.decode(
                "airlock-guest-assets 1\na=b\ncrc32=00000000\n".getBytes(StandardCharsets.UTF_8), FILE));
        assertTrue(checksum.getMessage().contains("at offset 27: checksum 00000000"), checksum.getMessage());
    }

    @Test
    void refusesEntriesThatWouldBreakTheFormat() {
        assertThrows(IllegalArgumentException.class, () -> new AssetManifest(Map.of("crc32", "x")));
        assertThrows(IllegalArgumentException.class, () -> new AssetManifest(Map.of("a=b", "x")));
        assertThrows(IllegalArgumentException.class, () -> new AssetManifest(Map.of("a", "x\ny")));
    }
}
