package dev.airlock.vmm.virtio.rng;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioInterrupt;
import dev.airlock.vmm.virtio.queue.DescriptorChain;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A virtio entropy device (virtio 1.x spec 5.4): one queue; every device-writable byte the driver
 * offers is filled from the host's entropy source. No features, no configuration space.
 */
public final class VirtioRng implements VirtioDevice {
    /** Held in a field so serving a queue allocates nothing. */
    private final java.util.function.ToLongFunction<DescriptorChain> handler = this::fill;

    public static final int QUEUE_SIZE = 64;
    /** Bytes served per request at most; the driver asks for tens of bytes, and a huge buffer must not stall the loop. */
    public static final int MAX_REQUEST_BYTES = 64 << 10;
    static final int BATCH = 64;

    private final Random entropy;
    /**
     * Grows to the largest request seen, up to {@link #BUFFER_MAX_BYTES}: Linux asks for 64 bytes at a
     * time, and each request fills the whole buffer with fresh entropy.
     */
    private byte[] buffer = new byte[64];
    static final int BUFFER_MAX_BYTES = 4096;
    private VirtQueue queue;
    private VirtioInterrupt interrupt;
    private final AtomicLong bytesServed = new AtomicLong();

    /** Fed from the host's /dev/urandom (non-blocking), or the platform's default SecureRandom. */
    public VirtioRng() {
        this(HOST_ENTROPY);
    }

    /** Shared by every device (SecureRandom is thread-safe): opening one per VM costs each clone ~100 µs. */
    private static final SecureRandom HOST_ENTROPY = hostEntropy();

    /** Fed from {@code entropy}; tests inject a seeded source. */
    public VirtioRng(Random entropy) {
        this.entropy = Objects.requireNonNull(entropy, "entropy");
    }

    private static SecureRandom hostEntropy() {
        try {
            return SecureRandom.getInstance("NativePRNGNonBlocking");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    public long bytesServed() { return bytesServed.get(); }

    @Override public int deviceType() { return Virtio.DEVICE_ID_ENTROPY; }

    @Override public long deviceFeatures() { return 0; }

    @Override public int queueCount() { return 1; }

    @Override public int queueMaxSize(int queueIndex) { return QUEUE_SIZE; }

    @Override public int configSizeBytes() { return 0; }

    @Override public long readConfig(int offsetBytes, int sizeBytes) { return 0; }

    @Override
    public void activate(GuestMemory memory, List<VirtQueue> queues, long driverFeatures, VirtioInterrupt interrupt) {
        this.queue = queues.get(0);
        this.interrupt = interrupt;
    }

    @Override
    public void reset() {
        queue = null;
        interrupt = null;
    }

    /** Nothing beyond the queue: every request is answered as it comes. */
    @Override
    public byte[] saveState() {
        return new byte[0];
    }

    @Override
    public void restoreState(java.nio.ByteBuffer state) {}

    @Override
    public boolean processQueue(int queueIndex) {
        VirtQueue q = queue;
        return q != null && q.drain(BATCH, handler, interrupt);
    }

    /** Fills the chain's writable region (readable buffers are ignored); returns the bytes written. */
    long fill(DescriptorChain chain) {
        long total = Math.min(chain.writableBytes(), MAX_REQUEST_BYTES);
        long done = 0;
        while (done < total) {
            int n = (int) Math.min(BUFFER_MAX_BYTES, total - done);
            if (buffer.length < n) buffer = new byte[Math.min(BUFFER_MAX_BYTES, Integer.highestOneBit(n - 1) << 1)];
            entropy.nextBytes(buffer);
            done += chain.write(done, buffer, 0, n);
        }
        bytesServed.addAndGet(done);
        return done;
    }
}
