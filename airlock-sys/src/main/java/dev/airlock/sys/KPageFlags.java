package dev.airlock.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads {@code /proc/kpageflags}: one native-endian 64-bit set of flags per host frame, the flags
 * of frame {@code pfn} at file offset {@code pfn * 8} (Linux's
 * Documentation/admin-guide/mm/pagemap.rst, proc_kpageflags(5), uapi kernel-page-flags.h).
 * Readable only by root. Frame numbers come from {@link PageMap}.
 *
 * <p>Not thread safe; like {@link PageMap}, an interrupt fails one read and the next reopens.
 */
public final class KPageFlags implements AutoCloseable {
    public static final Path FILE = Path.of("/proc/kpageflags");
    static final int BATCH_ENTRIES = 512;

    /** Bit numbers of the flags, stable kernel ABI. */
    public static final int LOCKED = 0, ERROR = 1, REFERENCED = 2, UPTODATE = 3, DIRTY = 4, LRU = 5, ACTIVE = 6,
            SLAB = 7, WRITEBACK = 8, RECLAIM = 9, BUDDY = 10, MMAP = 11, ANON = 12, SWAPCACHE = 13, SWAPBACKED = 14,
            COMPOUND_HEAD = 15, COMPOUND_TAIL = 16, HUGE = 17, UNEVICTABLE = 18, HWPOISON = 19, NOPAGE = 20,
            KSM = 21, THP = 22, OFFLINE = 23, ZERO_PAGE = 24, IDLE = 25, PGTABLE = 26;
    private static final String[] NAMES = {
            "LOCKED", "ERROR", "REFERENCED", "UPTODATE", "DIRTY", "LRU", "ACTIVE", "SLAB", "WRITEBACK", "RECLAIM",
            "BUDDY", "MMAP", "ANON", "SWAPCACHE", "SWAPBACKED", "COMPOUND_HEAD", "COMPOUND_TAIL", "HUGE",
            "UNEVICTABLE", "HWPOISON", "NOPAGE", "KSM", "THP", "OFFLINE", "ZERO_PAGE", "IDLE", "PGTABLE"};

    private final Path path;
    private final ByteBuffer buffer;
    private final LongBuffer flags;
    private FileChannel channel;
    private boolean closed;

    private KPageFlags(Path path) {
        this.path = path;
        this.buffer = ByteBuffer.allocateDirect(BATCH_ENTRIES * Long.BYTES).order(ByteOrder.nativeOrder());
        this.flags = buffer.asLongBuffer();
        this.channel = openChannel();
    }

    /** Opens {@code /proc/kpageflags}; fails with a message saying why (usually: not root). */
    public static KPageFlags open() {
        return new KPageFlags(FILE);
    }

    /** Opens {@code /proc/kpageflags} when this process may read it; empty otherwise (not root, no such file). */
    public static Optional<KPageFlags> openIfReadable() {
        if (!Files.isReadable(FILE)) return Optional.empty();
        try {
            return Optional.of(open());
        } catch (UncheckedIOException e) {
            return Optional.empty();
        }
    }

    public static boolean has(long flags, int bit) {
        return (flags >>> bit & 1) != 0;
    }

    /** The flags of frame {@code pfn}. */
    public long flagsOf(long pfn) {
        fill(pfn, 1);
        return flags.get(0);
    }

    /**
     * The flags of {@code pfns[0, count)} into {@code out}; a run of consecutive frame numbers
     * costs one read, so page-cache frames of one large folio come together.
     */
    public void flagsOf(long[] pfns, int count, long[] out) {
        Objects.checkFromIndexSize(0, count, pfns.length);
        Objects.checkFromIndexSize(0, count, out.length);
        for (int i = 0; i < count; ) {
            int run = 1;
            while (i + run < count && run < BATCH_ENTRIES && pfns[i + run] == pfns[i] + run) run++;
            fill(pfns[i], run);
            flags.get(0, out, i, run);
            i += run;
        }
    }

    /** The names of the set flags, such as {@code ANON|KSM|LRU}, for messages and tests. */
    public static String describe(long flags) {
        StringBuilder s = new StringBuilder();
        for (int bit = 0; bit < 64; bit++) {
            if (!has(flags, bit)) continue;
            if (!s.isEmpty()) s.append('|');
            s.append(bit < NAMES.length ? NAMES[bit] : "bit" + bit);
        }
        return s.isEmpty() ? "none" : s.toString();
    }

    private void fill(long pfn, int count) {
        if (closed) throw new IllegalStateException(path + " reader is closed");
        if (pfn < 0 || pfn > Long.MAX_VALUE / Long.BYTES - count) {
            throw new IllegalArgumentException("no frame number 0x" + Long.toHexString(pfn));
        }
        long position = pfn * Long.BYTES;
        buffer.clear().limit(count * Long.BYTES);
        try {
            if (channel == null) channel = openChannel();
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) <= 0) {
                    throw new IOException("it ended after " + buffer.position() + " bytes; the host has no such frame");
                }
            }
        } catch (ClosedByInterruptException e) {
            channel = null;
            throw new UncheckedIOException("reading " + path + " was interrupted", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + " for frames 0x" + Long.toHexString(pfn) + "+"
                    + count + ": " + e.getMessage(), e);
        }
    }

    private FileChannel openChannel() {
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + "): reading frame flags needs root and Linux with CONFIG_PROC_PAGE_MONITOR", e);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (channel != null) channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + path, e);
        } finally {
            channel = null;
        }
    }
}
