package dev.airlock.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Reads this process's {@code /proc/self/pagemap}: which host frame, if any, backs each page of a
 * host-virtual range ({@link PageMapEntry} decodes the entries). Entries are read in bulk, one
 * positional read per chunk of up to 65,536 pages into a reused direct buffer, so a 256 MiB range
 * costs one system call.
 *
 * <p>Only root (CAP_SYS_ADMIN) sees frame numbers; for anyone else the kernel reports them as 0
 * and {@link #pfnsVisible()} is false, while the present/file/exclusive bits remain true.
 *
 * <p>Not thread safe: one reader per accounting thread. An interrupt closes the underlying
 * channel (FileChannel's rule); the read that saw it fails and the next read reopens the file.
 */
public final class PageMap implements AutoCloseable {
    public static final Path SELF = Path.of("/proc/self/pagemap");
    static final int DEFAULT_CHUNK_ENTRIES = 1 << 16;

    private final Path path;
    private final int pageSizeBytes;
    private final int chunkEntries;
    private final ByteBuffer buffer;
    private final LongBuffer entries;
    private final boolean maskPfns;
    private final boolean pfnsVisible;
    private final long zeroPfn;
    private FileChannel channel;
    private boolean closed;

    private PageMap(Path path, boolean maskPfns, int chunkEntries) {
        if (chunkEntries <= 0) throw new IllegalArgumentException("chunk of " + chunkEntries + " entries");
        this.path = path;
        this.pageSizeBytes = Mman.pageSizeBytes();
        this.chunkEntries = chunkEntries;
        this.maskPfns = maskPfns;
        this.buffer = ByteBuffer.allocateDirect(chunkEntries * PageMapEntry.BYTES).order(ByteOrder.nativeOrder());
        this.entries = buffer.asLongBuffer();
        this.channel = openChannel();
        this.pfnsVisible = !maskPfns && probeWrittenPagePfn() != 0;
        this.zeroPfn = pfnsVisible ? probeZeroPfn() : -1;
    }

    /** Opens {@code /proc/self/pagemap}; fails with a message naming the file when it cannot be read. */
    public static PageMap openSelf() {
        return new PageMap(SELF, false, DEFAULT_CHUNK_ENTRIES);
    }

    /**
     * Opens {@code /proc/self/pagemap} but clears every frame number, as the kernel does for an
     * unprivileged reader: to see, and test, what accounting can still say without root.
     */
    public static PageMap openSelfWithoutPfns() {
        return new PageMap(SELF, true, DEFAULT_CHUNK_ENTRIES);
    }

    /** For tests of chunking: reads at most {@code chunkEntries} entries per system call. */
    static PageMap openSelf(int chunkEntries) {
        return new PageMap(SELF, false, chunkEntries);
    }

    /** The host page size the entries are in units of. */
    public int pageSizeBytes() { return pageSizeBytes; }

    /** Whether entries carry real frame numbers (root), rather than 0 (anyone else, or {@link #openSelfWithoutPfns}). */
    public boolean pfnsVisible() { return pfnsVisible; }

    /**
     * The frame number of the kernel's shared zero page, found at open by reading a fresh
     * anonymous page; -1 when frame numbers are hidden.
     */
    public long zeroPfn() { return zeroPfn; }

    /**
     * Reads the entries of the {@code count} pages starting at page-aligned {@code hva} into
     * {@code out[offset, offset + count)}. Unmapped pages read as 0 (not present).
     */
    public void read(long hva, long[] out, int offset, int count) {
        Objects.checkFromIndexSize(offset, count, out.length);
        checkRange(hva, count);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, chunkEntries);
            fill(hva + (long) done * pageSizeBytes, n);
            entries.get(0, out, offset + done, n);
            if (maskPfns) {
                for (int i = offset + done, end = i + n; i < end; i++) out[i] &= ~PageMapEntry.PFN_MASK;
            }
            done += n;
        }
    }

    /** The entry of the page holding page-aligned {@code hva}. */
    public long read(long hva) {
        checkRange(hva, 1);
        fill(hva, 1);
        long e = entries.get(0);
        return maskPfns ? e & ~PageMapEntry.PFN_MASK : e;
    }

    private void checkRange(long hva, long pages) {
        if (hva < 0 || (hva & (pageSizeBytes - 1)) != 0 || pages < 0
                || hva > Long.MAX_VALUE - pages * (long) pageSizeBytes) {
            throw new IllegalArgumentException("cannot read " + path + " for hva 0x" + Long.toHexString(hva) + " and "
                    + pages + " pages: the address must be a multiple of the " + pageSizeBytes + "-byte page");
        }
    }

    private void fill(long hva, int count) {
        if (closed) throw new IllegalStateException(path + " reader is closed");
        long position = PageMapEntry.fileOffset(hva, pageSizeBytes);
        buffer.clear().limit(count * PageMapEntry.BYTES);
        try {
            if (channel == null) channel = openChannel();
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, position + buffer.position());
                if (n <= 0) {
                    throw new IOException("it ended after " + buffer.position() + " bytes; the range is beyond the"
                            + " process's address space");
                }
            }
        } catch (ClosedByInterruptException e) {
            channel = null;
            throw new UncheckedIOException("reading " + path + " was interrupted", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + " at offset " + position + " (hva 0x"
                    + Long.toHexString(hva) + ", " + count + " pages): " + e.getMessage(), e);
        }
    }

    private FileChannel openChannel() {
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + "): per-page accounting needs Linux with CONFIG_PROC_PAGE_MONITOR"
                    + " and a readable /proc", e);
        }
    }

    /** The frame number seen for a page we have just written: 0 when the kernel hides frame numbers. */
    private long probeWrittenPagePfn() {
        MemorySegment own = MemorySegment.ofBuffer(buffer);
        own.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        long page = own.address() & -(long) pageSizeBytes;
        return PageMapEntry.pfn(read(page));
    }

    /** Reads one fresh anonymous page, which maps the shared zero page, and takes its frame number. */
    private long probeZeroPfn() {
        MemorySegment probe = Mman.mapAnonymous(pageSizeBytes);
        try {
            if (probe.get(ValueLayout.JAVA_BYTE, 0) != 0) throw new IllegalStateException("fresh anonymous page is not zero");
            long e = read(probe.address());
            boolean zeroPage = PageMapEntry.present(e) && !PageMapEntry.fileOrSharedAnon(e) && !PageMapEntry.exclusive(e);
            return zeroPage ? PageMapEntry.pfn(e) : -1;
        } finally {
            Mman.munmap(probe);
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

    // ---------------------------------------------------------------- single lookups

    private static FileChannel sharedChannel;
    private static final ByteBuffer SHARED_ENTRY = ByteBuffer.allocateDirect(PageMapEntry.BYTES).order(ByteOrder.nativeOrder());

    /**
     * This process's pagemap entry for the page at {@code hva}, read with one positional read on a
     * channel shared by the process; 0 (not present) if it cannot be read. Thread safe, for rare
     * single lookups (a hart asking whether a page it starts to run is still a template's), not ranges.
     */
    public static synchronized long selfEntry(long hva) {
        long offset = (hva / Mman.pageSizeBytes()) * PageMapEntry.BYTES;
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (sharedChannel == null || !sharedChannel.isOpen()) sharedChannel = FileChannel.open(SELF, StandardOpenOption.READ);
                SHARED_ENTRY.clear();
                while (SHARED_ENTRY.hasRemaining()) {
                    if (sharedChannel.read(SHARED_ENTRY, offset + SHARED_ENTRY.position()) < 0) return 0;
                }
                return SHARED_ENTRY.getLong(0);
            } catch (IOException e) {
                sharedChannel = null; // closed by an interrupt, say: reopen once, else answer "not present"
            }
        }
        return 0;
    }
}
