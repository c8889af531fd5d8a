package dev.airlock.guest.assets;

import dev.airlock.guest.initramfs.InitramfsBuilder;

import java.nio.file.Path;

/**
 * Warms the guest asset cache from the command line (scripts/fetch-guest-assets.sh), so CI pays
 * for the download before the tests run. Prints what the cache holds as KEY=VALUE lines.
 *
 * <pre>
 * FetchGuestAssets [--cache DIR] [--modules]
 *   --cache DIR   cache directory (default $AIRLOCK_CACHE, else ~/.cache/airlock)
 *   --modules     also build the initramfs with the virtio modules
 * </pre>
 */
public final class FetchGuestAssets {

    private FetchGuestAssets() {}

    public static void main(String[] args) {
        Path cacheDir = GuestAssets.defaultCacheDir();
        boolean modules = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cache" -> {
                    if (i + 1 == args.length) {
                        usage("--cache needs a directory");
                    }
                    cacheDir = Path.of(args[++i]);
                }
                case "--modules" -> modules = true;
                case "-h", "--help" -> usage(null);
                default -> usage("unknown argument '" + args[i] + "'");
            }
        }
        try {
            GuestAssets assets = GuestAssets.open(cacheDir, ProgressListener.stderr());
            byte[] base = assets.baseInitramfs();
            System.out.println("kernel=" + assets.kernelImage());
            System.out.println("kernel.version=" + assets.kernelVersion());
            System.out.println("kernel.modules=" + assets.kernelModulesDir());
            System.out.println("busybox=" + assets.busybox());
            System.out.println("initramfs.base.bytes=" + base.length);
            if (modules) {
                byte[] withModules = assets.initramfs(InitramfsBuilder.VIRTIO_MODULES);
                System.out.println("initramfs.virtio.bytes=" + withModules.length);
            }
        } catch (GuestAssetException e) {
            System.err.println("airlock: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void usage(String problem) {
        if (problem != null) {
            System.err.println("airlock: " + problem);
        }
        System.err.println("usage: fetch-guest-assets.sh [--cache DIR] [--modules]");
        System.exit(problem == null ? 0 : 2);
    }
}
