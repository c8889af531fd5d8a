package dev.airlock.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's totals for this whole process from {@code /proc/self/smaps_rollup} (Linux 4.14+),
 * in bytes: to cross-check {@link FrameAccounting}, which sees only the ranges it is given.
 * Note the kernel's conventions: the zero page is not in {@code rss}; a page mapped by n
 * mappings adds 1/n of itself to {@code pss}. A field this kernel does not report reads 0.
 */
public record ProcessMemory(long rssBytes, long pssBytes, long pssDirtyBytes, long pssAnonBytes, long pssFileBytes,
                            long pssShmemBytes, long sharedCleanBytes, long sharedDirtyBytes, long privateCleanBytes,
                            long privateDirtyBytes, long referencedBytes, long anonymousBytes, long ksmBytes,
                            long lazyFreeBytes, long anonHugePagesBytes, long swapBytes, long swapPssBytes,
                            long lockedBytes) {
    public static final Path SELF = Path.of("/proc/self/smaps_rollup");

    private static final String[] KEYS = {
            "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean", "Shared_Dirty",
            "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages", "Swap",
            "SwapPss", "Locked"};

    /** Reads this process's rollup; allocates, so not for hot paths. */
    public static ProcessMemory readSelf() {
        String text;
        try {
            text = Files.readString(SELF);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + SELF + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + "): it needs Linux 4.14 or later with /proc mounted", e);
        }
        return parse(text, SELF.toString());
    }

    /** Parses smaps_rollup text ({@code source} names it in errors): lines of {@code Key:  N kB}. */
    public static ProcessMemory parse(String text, String source) {
        long[] v = new long[KEYS.length];
        boolean[] seen = new boolean[KEYS.length];
        int lineNumber = 0;
        for (String line : text.split("\n")) {
            lineNumber++;
            int colon = line.indexOf(':');
            if (colon <= 0 || !line.endsWith(" kB")) continue; // the header line, or a field we do not know
            int field = indexOf(line.substring(0, colon));
            if (field < 0) continue;
            try {
                v[field] = Long.parseLong(line.substring(colon + 1, line.length() - 3).strip()) * 1024;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(source + " line " + lineNumber + " is not 'Key: N kB': " + line, e);
            }
            seen[field] = true;
        }
        if (!seen[0] || !seen[1]) {
            throw new IllegalArgumentException(source + " has no Rss or Pss line; is it a smaps_rollup file?");
        }
        return new ProcessMemory(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12],
                v[13], v[14], v[15], v[16], v[17]);
    }

    private static int indexOf(String key) {
        for (int i = 0; i < KEYS.length; i++) {
            if (KEYS[i].equals(key)) return i;
        }
        return -1;
    }
}
