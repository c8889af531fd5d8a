package dev.airlock.guest.assets;

/**
 * Receives one-line progress reports while guest assets are fetched or built. Nothing is
 * reported when the cache is already warm.
 */
@FunctionalInterface
public interface ProgressListener {

    /** Reports that a lengthy step starts; {@code line} has no "airlock:" prefix and no newline. */
    void report(String line);

    /** Prints each report to stderr as "airlock: LINE". */
    static ProgressListener stderr() {
        return Standard.STDERR;
    }

    static ProgressListener none() {
        return Standard.NONE;
    }

    /** Plain classes, not lambdas: bootstrapping a first lambda would dominate a warm start. */
    enum Standard implements ProgressListener {
        STDERR {
            @Override
            public void report(String line) {
                System.err.println("airlock: ".concat(line));
            }
        },
        NONE {
            @Override
            public void report(String line) {
            }
        }
    }
}
