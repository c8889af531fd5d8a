package dev.airlock.cli;

import dev.airlock.store.BlockDevice;
import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageStore;
import dev.airlock.store.StoreOptions;
import dev.airlock.store.io.RealFileSystem;
import dev.airlock.store.io.UnsyncedFileSystem;
import dev.airlock.vmm.virtio.blk.BlockBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Serves a virtio-blk disk from a store image ({@code --disk store:NAME}). virtio-blk addresses
 * 512-byte sectors and the store 4 KiB blocks, so partial blocks are read-modify-written. One device
 * thread drives a backend, so the scratch block needs no lock.
 */
final class StoreBlockBackend implements BlockBackend {
    private static final int BLOCK = BlockDevice.BLOCK_SIZE_BYTES;

    private final ImageStore store;
    private final DiskImage image;
    private final String name;
    private final boolean readOnly;
    /** A clone's own image, made from a template's snapshot when the disk was opened and deleted when it closes. */
    private final boolean disposable;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(BLOCK);

    private StoreBlockBackend(ImageStore store, DiskImage image, String name, boolean readOnly, boolean disposable) {
        this.store = store;
        this.image = image;
        this.name = name;
        this.readOnly = readOnly || image.readOnly();
        this.disposable = disposable;
    }

    /** The store directory: -Dairlock.store, else $AIRLOCK_STORE, else ~/.local/share/airlock/store. */
    static Path defaultRoot() {
        String env = System.getProperty("airlock.store", System.getenv("AIRLOCK_STORE"));
        return env != null && !env.isEmpty() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".local", "share", "airlock", "store");
    }

    static StoreBlockBackend open(Path root, String name, boolean readOnly) {
        ImageStore store = ImageStore.open(root);
        try {
            return new StoreBlockBackend(store, store.image(name), name, readOnly, false);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * A writable disk of its own for one VM: a new store image whose unwritten blocks read through to
     * {@code image} at {@code snapshot} (a template's disk as it was saved), named
     * {@code IMAGE-vm-XXXXXXXX} and deleted when the disk closes. Making one writes a manifest, no data;
     * its writes and flushes are not synced to the host's disk (see {@link UnsyncedFileSystem}).
     */
    static StoreBlockBackend openDisposableClone(Path root, String image, String snapshot) {
        // Without syncs: the clone's image is gone when the VM is, so there is nothing to keep across a crash.
        ImageStore store = ImageStore.open(root, StoreOptions.defaults().withFileSystem(new UnsyncedFileSystem(RealFileSystem.INSTANCE)));
        try {
            String name;
            do {
                name = image.substring(0, Math.min(image.length(), 52)) + "-vm-" + String.format("%08x", java.util.concurrent.ThreadLocalRandom.current().nextInt());
            } while (store.exists(name));
            return new StoreBlockBackend(store, store.clone(image, snapshot, name), name, false, true);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    @Override public long sizeBytes() { return image.sizeBytes(); }

    @Override public boolean readOnly() { return readOnly; }

    @Override
    public void read(long offsetBytes, MemorySegment dst) {
        walk(offsetBytes, dst.byteSize(), (block, inBlock, pos, bytes) -> {
            if (inBlock == 0 && bytes % BLOCK == 0) {
                image.read(block, dst.asSlice(pos, bytes).asByteBuffer());
            } else {
                readScratch(block);
                MemorySegment.copy(MemorySegment.ofBuffer(scratch), inBlock, dst, pos, bytes);
            }
        });
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) {
        walk(offsetBytes, src.byteSize(), (block, inBlock, pos, bytes) -> {
            if (inBlock == 0 && bytes % BLOCK == 0) {
                image.write(block, src.asSlice(pos, bytes).asByteBuffer());
            } else { // read-modify-write of a partial block
                readScratch(block);
                MemorySegment.copy(src, pos, MemorySegment.ofBuffer(scratch), inBlock, bytes);
                scratch.clear();
                image.write(block, scratch);
            }
        });
    }

    /** One piece of a byte range: whole blocks from {@code block} (inBlock 0, bytes a multiple of a block), or part of one. */
    private interface Piece {
        void apply(long block, int inBlock, long pos, long bytes);
    }

    /** Splits {@code [offsetBytes, offsetBytes + lengthBytes)} into a partial head, whole blocks, and a partial tail. */
    private static void walk(long offsetBytes, long lengthBytes, Piece piece) {
        long pos = 0;
        while (pos < lengthBytes) {
            long abs = offsetBytes + pos;
            int inBlock = (int) (abs % BLOCK);
            long bytes = inBlock == 0 && lengthBytes - pos >= BLOCK
                    ? (lengthBytes - pos) / BLOCK * BLOCK
                    : Math.min(BLOCK - inBlock, lengthBytes - pos);
            piece.apply(abs / BLOCK, inBlock, pos, bytes);
            pos += bytes;
        }
    }

    private void readScratch(long block) {
        scratch.clear();
        image.read(block, scratch);
        scratch.clear();
    }

    @Override public void flush() { image.flush(); }

    /** Whole blocks inside the range are trimmed; partial ones are left alone, which discard allows. */
    @Override
    public void discard(long offsetBytes, long lengthBytes) {
        long first = (offsetBytes + BLOCK - 1) / BLOCK, end = (offsetBytes + lengthBytes) / BLOCK;
        if (end > first) image.trim(first, end - first);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) {
        long first = (offsetBytes + BLOCK - 1) / BLOCK, end = (offsetBytes + lengthBytes) / BLOCK;
        if (end <= first) { // all within one block
            write(offsetBytes, MemorySegment.ofArray(new byte[(int) lengthBytes]));
            return;
        }
        long head = first * BLOCK - offsetBytes, tail = offsetBytes + lengthBytes - end * BLOCK;
        if (head > 0) write(offsetBytes, MemorySegment.ofArray(new byte[(int) head]));
        image.writeZeroes(first, end - first);
        if (tail > 0) write(end * BLOCK, MemorySegment.ofArray(new byte[(int) tail]));
    }

    @Override public String describe() { return "store image " + name; }

    @Override
    public void close() throws IOException {
        try {
            if (disposable) store.delete(name);
        } finally {
            store.close();
        }
    }
}
