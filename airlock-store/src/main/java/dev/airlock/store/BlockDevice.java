package dev.airlock.store;

import java.nio.ByteBuffer;

/**
 * A virtual disk of 4 KiB blocks, as the hypervisor's virtio-blk device will use it. Blocks never written,
 * trimmed or zeroed read as zeros. Writes, trims and zeroing return only once durable; concurrent callers
 * share one sync (group commit).
 */
public interface BlockDevice {
    int BLOCK_SIZE_BYTES = 4096;

    long sizeBytes();

    default long blockCount() {
        return sizeBytes() / BLOCK_SIZE_BYTES;
    }

    boolean readOnly();

    /** Reads {@code dst.remaining() / 4096} consecutive blocks starting at {@code blockIndex}. */
    void read(long blockIndex, ByteBuffer dst);

    default void read(long blockIndex, byte[] dst) {
        read(blockIndex, ByteBuffer.wrap(dst));
    }

    /** Writes {@code src.remaining() / 4096} consecutive blocks; returns when they are durable. */
    void write(long blockIndex, ByteBuffer src);

    default void write(long blockIndex, byte[] src) {
        write(blockIndex, ByteBuffer.wrap(src));
    }

    /** Discards blocks; they read as zeros afterwards. */
    void trim(long firstBlock, long blockCount);

    /** Makes blocks read as zeros (same effect as trim, logged as an explicit zeroing). */
    void writeZeroes(long firstBlock, long blockCount);

    /** Returns when every write that started before this call is durable. */
    void flush();
}
