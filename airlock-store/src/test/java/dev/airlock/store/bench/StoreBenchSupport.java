package dev.airlock.store.bench;

import dev.airlock.store.StoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/** Real-disk stores for benchmarks, under -Dairlock.bench.dir (default: the system temp directory). */
final class StoreBenchSupport {
    private StoreBenchSupport() {
    }

    static Path newDirectory(String prefix) throws IOException {
        Path parent = Path.of(System.getProperty("airlock.bench.dir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(parent);
        return Files.createTempDirectory(parent, prefix);
    }

    static StoreOptions options() {
        return StoreOptions.defaults().withRandom(new SplittableRandom(2026));
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static byte[] randomBlock(SplittableRandom random) {
        byte[] block = new byte[4096];
        random.nextBytes(block);
        return block;
    }
}
