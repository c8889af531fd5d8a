package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestAssetsTest {

    /** Fail fast instead of apt's three retries with back-off. */
    private static final Map<String, String> NO_RETRIES = Map.of("Acquire::Retries", "0");

    private static GuestAssets.Settings archive(String uri) {
        return archive(uri, IndexPins.NONE);
    }

    private static GuestAssets.Settings archive(String uri, IndexPins pins) {
        return new GuestAssets.Settings(List.of(), Optional.of(uri), NO_RETRIES, "trusted=yes", pins);
    }

    private static void requireAptTools() {
        for (String tool : FakeDebianArchive.tools()) {
            assumeTrue(Files.isExecutable(Path.of("/usr/bin", tool)), tool + " is not installed");
        }
    }

    @Test
    void firstUseFetchesUnpacksAndRecordsVersions(@TempDir Path dir) throws Exception {
        requireAptTools();
        String uri = FakeDebianArchive.create(dir.resolve("archive"));
        Path cache = dir.resolve("cache");
        var reports = Collections.synchronizedList(new ArrayList<String>());

        GuestAssets assets = GuestAssets.open(cache, reports::add, archive(uri));

        assertEquals(FakeDebianArchive.RELEASE, assets.kernelVersion());
        assertEquals(FakeDebianArchive.KERNEL_PACKAGE, assets.kernelPackage());
        assertEquals("9.9.9-1", assets.kernelPackageVersion());
        assertEquals("1:1.0-1", assets.busyboxVersion());
        Path root = cache.resolve("debian");
        assertEquals(root.resolve(FakeDebianArchive.KERNEL_PACKAGE + "_9.9.9-1/boot/vmlinux-" + FakeDebianArchive.RELEASE),
                assets.kernelImage());
        assertEquals(root.resolve(FakeDebianArchive.KERNEL_PACKAGE + "_9.9.9-1/usr/lib/modules/" + FakeDebianArchive.RELEASE),
                assets.kernelModulesDir());
        assertEquals(root.resolve("busybox-static_1%3a1.0-1/usr/bin/busybox"), assets.busybox());
        assertArrayEquals(FakeDebianArchive.riscvElfHeader(), Files.readAllBytes(assets.busybox()));
        assertTrue(Files.isRegularFile(root.resolve(AssetManifest.FILE_NAME)));
        assertEquals("apt-get update", AssetManifest.read(root.resolve(AssetManifest.FILE_NAME)).values().get("index"));
        assertTrue(reports.stream().noneMatch(r -> r.contains("out of sync")), reports.toString());
        try (var list = Files.list(root)) {
            assertFalse(list.anyMatch(p -> p.getFileName().toString().startsWith("tmp-")), "temporaries removed");
        }
        assertTrue(reports.stream().anyMatch(r -> r.startsWith("fetching Debian riscv64 kernel "
                + FakeDebianArchive.KERNEL_PACKAGE)), reports.toString());

        // Warm: no apt at all, even with an archive that cannot be reached.
        reports.clear();
        GuestAssets again = GuestAssets.open(cache, reports::add, archive("http://127.0.0.1:9/debian"));
        assertEquals(assets.kernelImage(), again.kernelImage());
        assertEquals(List.of(), reports);

        byte[] initramfs = again.baseInitramfs();
        assertArrayEquals(initramfs, assets.baseInitramfs());
        try (var list = Files.list(cache.resolve("initramfs"))) {
            assertEquals(1, list.filter(p -> p.getFileName().toString().matches("base-[0-9a-f]{8}\\.cpio")).count());
        }
    }

    @Test
    void concurrentFirstUsesFetchOnce(@TempDir Path dir) throws Exception {
        requireAptTools();
        String uri = FakeDebianArchive.create(dir.resolve("archive"));
        Path cache = dir.resolve("cache");
        var reports = Collections.synchronizedList(new ArrayList<String>());
        try (var pool = Executors.newFixedThreadPool(3)) {
            var futures = new ArrayList<Future<GuestAssets>>();
            for (int i = 0; i < 3; i++) {
                futures.add(pool.submit((Callable<GuestAssets>) () -> GuestAssets.open(cache, reports::add, archive(uri))));
            }
            for (var future : futures) {
                assertEquals(FakeDebianArchive.RELEASE, future.get().kernelVersion());
            }
        }
        assertEquals(1, reports.stream().filter(r -> r.startsWith("fetching")).count(), reports.toString());
    }

    @Test
    void unreachableArchiveIsOneClearLine(@TempDir Path dir) {
        requireAptTools();
        var e = assertThrows(GuestAssetException.class,
                () -> GuestAssets.open(dir, line -> { }, archive("http://127.0.0.1:9/debian")));
        String message = e.getMessage();
        assertFalse(message.contains("\n"), message);
        assertTrue(message.startsWith("could not update the Debian trixie riscv64 package lists from http://127.0.0.1:9/debian: "),
                message);
        assertTrue(message.contains("127.0.0.1"), "apt's own reason is kept: " + message);
        assertTrue(message.endsWith("; supply your own with --kernel FILE and --initrd FILE"), message);
        assertFalse(Files.exists(dir.resolve("debian").resolve(AssetManifest.FILE_NAME)));
    }

    @Test
    void outOfSyncMirrorFallsBackToAPinnedIndex(@TempDir Path dir) throws Exception {
        requireAptTools();
        Path archive = dir.resolve("archive");
        String uri = FakeDebianArchive.create(archive, true);
        IndexPins.Pin served = FakeDebianArchive.servedPackagesPin(archive);
        // A pinned path the mirror lacks is skipped; a pin for another version of the file does not match.
        var pins = new IndexPins(List.of(
                new IndexPins.Pin("1".repeat(64), 9, FakeDebianArchive.PACKAGES_PATH + ".xz", "2025-12-01T00:00:00Z"),
                new IndexPins.Pin("2".repeat(64), served.sizeBytes(), served.path(), "2025-11-15T00:00:00Z"),
                served));
        Path cache = dir.resolve("cache");
        var reports = new ArrayList<String>();

        GuestAssets assets = GuestAssets.open(cache, reports::add, archive(uri, pins));

        assertEquals(FakeDebianArchive.RELEASE, assets.kernelVersion());
        assertEquals("1:1.0-1", assets.busyboxVersion());
        assertArrayEquals(FakeDebianArchive.riscvElfHeader(), Files.readAllBytes(assets.busybox()));
        var fallback = reports.stream().filter(r -> r.startsWith("the mirror is out of sync (")).toList();
        assertEquals(1, fallback.size(), reports.toString());
        assertTrue(fallback.getFirst().endsWith("; using its " + served.path() + " instead, whose hash Airlock pins from"
                + " Debian's signed Release of " + served.date()), fallback.getFirst());
        Path root = cache.resolve("debian");
        assertEquals("pinned " + served.path() + " " + served.sha256() + " of " + served.date(),
                AssetManifest.read(root.resolve(AssetManifest.FILE_NAME)).values().get("index"));
        try (var list = Files.list(root)) {
            assertFalse(list.anyMatch(p -> p.getFileName().toString().startsWith("tmp-")), "temporaries removed");
        }
    }

    @Test
    void outOfSyncMirrorWithoutAMatchingPinIsOneClearLine(@TempDir Path dir) throws Exception {
        requireAptTools();
        Path archive = dir.resolve("archive");
        String uri = FakeDebianArchive.create(archive, true);
        IndexPins.Pin served = FakeDebianArchive.servedPackagesPin(archive);
        var pins = new IndexPins(List.of(new IndexPins.Pin("2".repeat(64), served.sizeBytes(), served.path(), "d")));

        var e = assertThrows(GuestAssetException.class, () -> GuestAssets.open(dir.resolve("cache"), line -> { },
                archive(uri, pins)));

        String message = e.getMessage();
        assertFalse(message.contains("\n"), message);
        assertTrue(message.startsWith("could not update the Debian trixie riscv64 package lists from " + uri
                + ": the mirror is out of sync ("), message);
        assertTrue(message.contains("its " + served.path() + " (SHA256 " + served.sha256() + ", " + served.sizeBytes()
                + " bytes) matches none of the 1 hashes Airlock pins"), message);
        assertTrue(message.endsWith("(set " + GuestAssets.ARCHIVE_URI_ENV + " to another Debian mirror, or retry once"
                + " this one has synced); " + GuestAssetException.FIX), message);
        assertFalse(Files.exists(dir.resolve("cache/debian").resolve(AssetManifest.FILE_NAME)));
    }

    @Test
    void pinnedIndexStillChecksEachPackage(@TempDir Path dir) throws Exception {
        requireAptTools();
        Path archive = dir.resolve("archive");
        String uri = FakeDebianArchive.create(archive, true);
        var pins = new IndexPins(List.of(FakeDebianArchive.servedPackagesPin(archive)));
        Path kernelDeb = archive.resolve("pool/kernel.deb");
        byte[] bytes = Files.readAllBytes(kernelDeb);
        bytes[bytes.length - 1] ^= 1; // what a mirror serving a tampered pool file would send
        Files.write(kernelDeb, bytes);

        var e = assertThrows(GuestAssetException.class, () -> GuestAssets.open(dir.resolve("cache"), line -> { },
                archive(uri, pins)));

        assertTrue(e.getMessage().startsWith("could not fetch the Debian riscv64 kernel " + FakeDebianArchive.KERNEL_PACKAGE),
                e.getMessage());
        assertTrue(e.getMessage().contains("Hash Sum mismatch"), e.getMessage());
    }

    @Test
    void outOfSyncIsNotWorkedAroundWithoutPins(@TempDir Path dir) throws Exception {
        requireAptTools();
        String uri = FakeDebianArchive.create(dir.resolve("archive"), true);
        var e = assertThrows(GuestAssetException.class, () -> GuestAssets.open(dir.resolve("cache"), line -> { },
                archive(uri)));
        assertTrue(e.getMessage().contains("the mirror is out of sync ("), e.getMessage());
        assertTrue(e.getMessage().contains("Airlock pins no index hashes"), e.getMessage());
    }

    @Test
    void hostWithoutDebianSourcesSaysHowToFixIt(@TempDir Path dir) {
        var settings = new GuestAssets.Settings(List.of(dir.resolve("missing.sources")), Optional.empty(), Map.of(),
                PrivateApt.SIGNED_BY_DEBIAN, IndexPins.NONE);
        var e = assertThrows(GuestAssetException.class, () -> GuestAssets.open(dir, line -> { }, settings));
        assertTrue(e.getMessage().contains("no Debian archive found"), e.getMessage());
        assertTrue(e.getMessage().contains(GuestAssets.ARCHIVE_URI_ENV), e.getMessage());
        assertTrue(e.getMessage().endsWith(GuestAssetException.FIX), e.getMessage());
    }

    @Test
    void corruptManifestIsReportedAndRefetched(@TempDir Path dir) throws Exception {
        requireAptTools();
        String uri = FakeDebianArchive.create(dir.resolve("archive"));
        Path cache = dir.resolve("cache");
        GuestAssets.open(cache, line -> { }, archive(uri));
        Path manifest = cache.resolve("debian").resolve(AssetManifest.FILE_NAME);
        byte[] bytes = Files.readAllBytes(manifest);
        bytes[40] ^= 1;
        Files.write(manifest, bytes);

        var reports = new ArrayList<String>();
        GuestAssets assets = GuestAssets.open(cache, reports::add, archive(uri));
        assertEquals(FakeDebianArchive.RELEASE, assets.kernelVersion());
        assertTrue(reports.getFirst().contains("checksum"), reports.toString());
        // The unpacked packages were complete, so nothing was downloaded again.
        assertTrue(reports.stream().noneMatch(r -> r.startsWith("fetching")), reports.toString());
    }

    @Test
    void warmOpenIsCheap(@TempDir Path dir) throws Exception {
        requireAptTools();
        String uri = FakeDebianArchive.create(dir.resolve("archive"));
        Path cache = dir.resolve("cache");
        GuestAssets.open(cache, line -> { }, archive(uri));
        long bestNs = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long start = System.nanoTime();
            GuestAssets.open(cache, line -> { }, archive(uri));
            bestNs = Math.min(bestNs, System.nanoTime() - start);
        }
        assertTrue(bestNs < 5_000_000, "warm open took " + bestNs / 1000 + " µs");
    }

    @Test
    void helpers() {
        assertEquals("busybox-static_1%3a1.37.0-6+b9",
                GuestAssets.unpackedDirName(new PrivateApt.PackageInfo("busybox-static", "1:1.37.0-6+b9", 1, "")));
        assertEquals("112 MB", GuestAssets.megabytes(112_012_420));
        assertEquals("0.9 MB", GuestAssets.megabytes(941_532));
        assertEquals("size unknown", GuestAssets.megabytes(-1));
    }
}
