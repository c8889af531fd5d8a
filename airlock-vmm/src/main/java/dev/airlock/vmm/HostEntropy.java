package dev.airlock.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.random.RandomGenerator;

/**
 * Random bytes from the host kernel's CSPRNG ({@code /dev/urandom}), read a block at a time: a
 * clone needs 16 bytes for its generation ID, and a read per block instead of a
 * {@link java.security.SecureRandom} call per value (each mixing in a SHA-1 round) keeps that off
 * the clone's path. Thread-safe; bytes handed out are never handed out again.
 */
final class HostEntropy implements RandomGenerator {
    static final int BLOCK_BYTES = 4096;

    private final InputStream source;
    private final byte[] block;
    private int next;

    HostEntropy(InputStream source, int blockBytes) {
        this.source = source;
        this.block = new byte[blockBytes];
        this.next = blockBytes; // empty: the first call reads
    }

    /** The host's urandom, opened once for the process. */
    static HostEntropy urandom() {
        try {
            return new HostEntropy(Files.newInputStream(Path.of("/dev/urandom")), BLOCK_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open /dev/urandom: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void nextBytes(byte[] bytes) {
        int done = 0;
        while (done < bytes.length) {
            if (next == block.length) refill();
            int n = Math.min(bytes.length - done, block.length - next);
            System.arraycopy(block, next, bytes, done, n);
            // Wipe what was handed out, so these bytes are nobody else's to see later.
            java.util.Arrays.fill(block, next, next + n, (byte) 0);
            next += n;
            done += n;
        }
    }

    @Override
    public long nextLong() {
        byte[] b = new byte[8];
        nextBytes(b);
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | (b[i] & 0xFF);
        return v;
    }

    private void refill() {
        try {
            int got = source.readNBytes(block, 0, block.length);
            if (got != block.length) throw new IOException("short read: " + got + " of " + block.length + " bytes");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the host's random source: " + e.getMessage(), e);
        }
        next = 0;
    }
}
