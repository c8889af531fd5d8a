package dev.airlock.vmm.virtio.blk;

import static dev.airlock.vmm.virtio.blk.BlockRequest.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioInterrupt;
import dev.airlock.vmm.virtio.queue.DescriptorChain;
import dev.airlock.vmm.virtio.queue.VirtQueue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A virtio block device (virtio 1.x spec 5.2) over a {@link BlockBackend}: one request queue,
 * reads and writes with FileChannel-style positional I/O straight between guest RAM and the
 * backend, FLUSH, DISCARD and WRITE_ZEROES on writable disks, GET_ID, and F_RO for read-only ones.
 *
 * <p>Requests run synchronously on the device's event-loop thread, a bounded batch at a time.
 */
public final class VirtioBlock implements VirtioDevice {
    /** Held in a field so serving a queue allocates nothing. */
    private final java.util.function.ToLongFunction<DescriptorChain> handler = this::serve;

    private static final Logger LOG = Logger.getLogger(VirtioBlock.class.getName());

    // Feature bits (spec 5.2.3).
    public static final long F_SIZE_MAX = 1L << 1;
    public static final long F_SEG_MAX = 1L << 2;
    public static final long F_GEOMETRY = 1L << 4;
    public static final long F_RO = 1L << 5;
    public static final long F_BLK_SIZE = 1L << 6;
    public static final long F_FLUSH = 1L << 9;
    public static final long F_TOPOLOGY = 1L << 10;
    public static final long F_CONFIG_WCE = 1L << 11;
    public static final long F_MQ = 1L << 12;
    public static final long F_DISCARD = 1L << 13;
    public static final long F_WRITE_ZEROES = 1L << 14;

    public static final int QUEUE_SIZE = 256;
    /** Buffers per request besides header and status, so a request always fits one queue's worth of descriptors. */
    public static final int SEG_MAX = QUEUE_SIZE - 2;
    public static final int SIZE_MAX_BYTES = 1 << 20;
    public static final int MAX_DISCARD_SECTORS = 1 << 22;
    public static final int MAX_DISCARD_SEGMENTS = 16;
    /** Requests served per run before the loop lets other devices go first. */
    static final int BATCH = 64;

    /**
     * Configuration space layout (spec 5.2.4), as far as the fields we use:
     * <pre>
     *  0 le64 capacity (512-byte sectors)    24 topology (8 bytes, unused)       44 le32 discard_sector_alignment
     *  8 le32 size_max                        32 u8 writeback, u8 unused0        48 le32 max_write_zeroes_sectors
     * 12 le32 seg_max                         34 le16 num_queues                 52 le32 max_write_zeroes_seg
     * 16 geometry (4 bytes, unused)           36 le32 max_discard_sectors        56 u8 write_zeroes_may_unmap, u8[3]
     * 20 le32 blk_size                        40 le32 max_discard_seg            60 (end)
     * </pre>
     */
    public static final int CONFIG_CAPACITY = 0, CONFIG_SIZE_MAX = 8, CONFIG_SEG_MAX = 12, CONFIG_BLK_SIZE = 20,
            CONFIG_NUM_QUEUES = 34, CONFIG_MAX_DISCARD_SECTORS = 36, CONFIG_MAX_DISCARD_SEG = 40,
            CONFIG_DISCARD_SECTOR_ALIGNMENT = 44, CONFIG_MAX_WRITE_ZEROES_SECTORS = 48,
            CONFIG_MAX_WRITE_ZEROES_SEG = 52, CONFIG_WRITE_ZEROES_MAY_UNMAP = 56, CONFIG_SIZE_BYTES = 60;

    private final BlockBackend backend;
    private final byte[] id;
    private final long capacitySectors;
    private final long features;
    private final byte[] config = new byte[CONFIG_SIZE_BYTES];

    private final BlockRequest request = new BlockRequest();
    private final byte[] segment = new byte[SEGMENT_SIZE_BYTES];
    private VirtQueue queue;
    private VirtioInterrupt interrupt;
    private long driverFeatures;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong failedRequests = new AtomicLong();
    private final AtomicLong ioErrors = new AtomicLong();

    /**
     * @param serial the disk's ID for GET_ID (/sys/block/vda/serial), ASCII, at most 20 bytes used
     */
    public VirtioBlock(BlockBackend backend, String serial) {
        this.backend = Objects.requireNonNull(backend, "backend");
        byte[] s = serial.getBytes(StandardCharsets.US_ASCII);
        this.id = java.util.Arrays.copyOf(s, ID_SIZE_BYTES);
        this.capacitySectors = backend.sizeBytes() / SECTOR_SIZE_BYTES;
        long f = F_SIZE_MAX | F_SEG_MAX | F_BLK_SIZE | F_FLUSH;
        f |= backend.readOnly() ? F_RO : F_DISCARD | F_WRITE_ZEROES;
        this.features = f;
        putLe(CONFIG_CAPACITY, 8, capacitySectors);
        putLe(CONFIG_SIZE_MAX, 4, SIZE_MAX_BYTES);
        putLe(CONFIG_SEG_MAX, 4, SEG_MAX);
        putLe(CONFIG_BLK_SIZE, 4, SECTOR_SIZE_BYTES);
        putLe(CONFIG_NUM_QUEUES, 2, 1);
        putLe(CONFIG_MAX_DISCARD_SECTORS, 4, MAX_DISCARD_SECTORS);
        putLe(CONFIG_MAX_DISCARD_SEG, 4, MAX_DISCARD_SEGMENTS);
        putLe(CONFIG_DISCARD_SECTOR_ALIGNMENT, 4, 8); // 4 KiB, the host file system's block
        putLe(CONFIG_MAX_WRITE_ZEROES_SECTORS, 4, MAX_DISCARD_SECTORS);
        putLe(CONFIG_MAX_WRITE_ZEROES_SEG, 4, MAX_DISCARD_SEGMENTS);
    }

    private void putLe(int offset, int sizeBytes, long value) {
        for (int i = 0; i < sizeBytes; i++) config[offset + i] = (byte) (value >>> (8 * i));
    }

    public BlockBackend backend() { return backend; }

    public long capacitySectors() { return capacitySectors; }

    /** Requests served, and how many of them failed (bad request or I/O error). */
    public long requests() { return requests.get(); }

    public long failedRequests() { return failedRequests.get(); }

    public long ioErrors() { return ioErrors.get(); }

    @Override public int deviceType() { return Virtio.DEVICE_ID_BLOCK; }

    @Override public long deviceFeatures() { return features; }

    @Override public int queueCount() { return 1; }

    @Override public int queueMaxSize(int queueIndex) { return QUEUE_SIZE; }

    @Override public int configSizeBytes() { return CONFIG_SIZE_BYTES; }

    @Override
    public long readConfig(int offsetBytes, int sizeBytes) {
        long v = 0;
        for (int i = sizeBytes - 1; i >= 0; i--) v = (v << 8) | (config[offsetBytes + i] & 0xff);
        return v;
    }

    @Override
    public void activate(GuestMemory memory, List<VirtQueue> queues, long driverFeatures, VirtioInterrupt interrupt) {
        this.queue = queues.get(0);
        this.interrupt = interrupt;
        this.driverFeatures = driverFeatures;
    }

    @Override
    public void reset() {
        queue = null;
        interrupt = null;
        driverFeatures = 0;
    }

    /**
     * Requests are served whole within {@link #processQueue}, so a stopped VM has none in flight and
     * the queue positions say everything. Only a read-only disk can be saved: clones of one template
     * share the disk, and the guest's page cache in the saved memory must keep matching it.
     */
    @Override
    public byte[] saveState() {
        // Requests are served whole on the device thread, so a stopped VM has none in flight: the
        // state is whether the disk was writable. Freezing a writable disk's contents as the guest
        // left them (a store snapshot) is the saver's job.
        return new byte[] {(byte) (backend.readOnly() ? 1 : 0)};
    }

    @Override
    public void restoreState(java.nio.ByteBuffer state) {
        boolean savedReadOnly = !state.hasRemaining() || state.get() != 0; // empty: saved when only read-only disks could be
        if (savedReadOnly != backend.readOnly()) {
            throw new IllegalStateException("disk " + backend.describe() + " is " + (backend.readOnly() ? "read-only" : "writable")
                    + " but was " + (savedReadOnly ? "read-only" : "writable") + " when the VM was saved");
        }
    }

    @Override
    public boolean processQueue(int queueIndex) {
        VirtQueue q = queue;
        return q != null && q.drain(BATCH, handler, interrupt);
    }

    /**
     * Parses and executes one request and writes its status byte.
     *
     * @return bytes written into the chain's writable region (the used length)
     */
    long serve(DescriptorChain chain) {
        requests.incrementAndGet();
        int status = request.parse(chain, capacitySectors);
        if (status == UNANSWERABLE) {
            failedRequests.incrementAndGet();
            return 0;
        }
        long written = 0;
        if (status < 0) {
            status = execute(chain);
            if (status == S_OK && request.dataWritable()) written = request.dataLengthBytes();
        }
        if (status != S_OK) failedRequests.incrementAndGet();
        chain.writeByte(request.statusOffset(), (byte) status);
        return written + 1;
    }

    private int execute(DescriptorChain chain) {
        boolean readOnly = backend.readOnly();
        try {
            switch (request.type()) {
                case T_IN -> {
                    return transfer(chain, request.sector() * SECTOR_SIZE_BYTES, true);
                }
                case T_OUT -> {
                    // A read-only disk refuses writes with IOERR and writes nothing (spec 5.2.6.2).
                    if (readOnly) return S_IOERR;
                    return transfer(chain, request.sector() * SECTOR_SIZE_BYTES, false);
                }
                case T_FLUSH -> {
                    backend.flush();
                    return S_OK;
                }
                case T_GET_ID -> {
                    chain.write(0, id, 0, (int) request.dataLengthBytes());
                    return S_OK;
                }
                case T_DISCARD, T_WRITE_ZEROES -> {
                    return discardOrWriteZeroes(chain, request.type() == T_WRITE_ZEROES, readOnly);
                }
                default -> {
                    return S_UNSUPP;
                }
            }
        } catch (IOException e) {
            if (ioErrors.incrementAndGet() == 1) {
                LOG.log(Level.WARNING, "I/O error on " + backend.describe() + "; the guest sees IOERR", e);
            }
            return S_IOERR;
        }
    }

    /** Moves the request's data between the chain's buffers and the backend, starting at {@code diskOffset}. */
    private int transfer(DescriptorChain chain, long diskOffset, boolean toGuest) throws IOException {
        long skip = request.dataOffset();
        long left = request.dataLengthBytes();
        int from = toGuest ? chain.readableCount() : 0;
        int to = toGuest ? chain.count() : chain.readableCount();
        long position = diskOffset;
        for (int i = from; i < to && left > 0; i++) {
            long len = chain.lengthBytes(i);
            if (skip >= len) {
                skip -= len;
                continue;
            }
            long n = Math.min(len - skip, left);
            if (toGuest) backend.read(position, chain.segment(i, skip, n));
            else backend.write(position, chain.segment(i, skip, n));
            position += n;
            left -= n;
            skip = 0;
        }
        return S_OK;
    }

    private int discardOrWriteZeroes(DescriptorChain chain, boolean zeroes, boolean readOnly) throws IOException {
        long wanted = zeroes ? F_WRITE_ZEROES : F_DISCARD;
        if ((features & driverFeatures & wanted) == 0) return S_UNSUPP;
        if (readOnly) return S_IOERR;
        long count = request.dataLengthBytes() / SEGMENT_SIZE_BYTES;
        if (count > MAX_DISCARD_SEGMENTS) return S_IOERR;
        // Check every segment before touching the disk, so a bad one leaves it unchanged.
        for (int pass = 0; pass < 2; pass++) {
            for (long s = 0; s < count; s++) {
                chain.read(request.dataOffset() + s * SEGMENT_SIZE_BYTES, segment, 0, SEGMENT_SIZE_BYTES);
                long sector = BlockRequest.leLong(segment, 0);
                long sectors = Integer.toUnsignedLong(BlockRequest.leInt(segment, 8));
                int flags = BlockRequest.leInt(segment, 12);
                // Checked on both passes: the guest may change the segment in between.
                // Discard must not have UNMAP; write-zeroes allows only UNMAP (spec 5.2.6.2).
                if (zeroes ? (flags & ~1) != 0 : flags != 0) return S_UNSUPP;
                if (sectors > MAX_DISCARD_SECTORS) return S_IOERR;
                if (!BlockRequest.rangeInside(sector, sectors, capacitySectors)) return S_IOERR;
                if (pass == 0) {
                    continue;
                }
                if (zeroes) {
                    backend.writeZeroes(sector * SECTOR_SIZE_BYTES, sectors * SECTOR_SIZE_BYTES);
                } else {
                    backend.discard(sector * SECTOR_SIZE_BYTES, sectors * SECTOR_SIZE_BYTES);
                }
            }
        }
        return S_OK;
    }

    /** Closes the backend. */
    @Override
    public void close() {
        try {
            backend.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing " + backend.describe(), e);
        }
    }

    @Override
    public String toString() {
        return "VirtioBlock[" + backend.describe() + ", " + capacitySectors + " sectors]";
    }
}
