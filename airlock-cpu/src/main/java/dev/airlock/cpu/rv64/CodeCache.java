package dev.airlock.cpu.rv64;

import java.util.Arrays;

/**
 * Decoded instructions of one VM, per guest-physical RAM page, shared by its harts.
 *
 * <p>Each page holds one entry per 2-byte slot, decoded lazily on first execution. A page that holds
 * decoded code loses write permission in every hart's soft TLB, so the first store to it takes the
 * slow path, which drops the page here ({@link #invalidate}); stores after that run at full speed
 * until the page is executed again. That is why {@code fence.i} needs no work.
 *
 * <p>A dropped page's array is zeroed and marked dead in its last element, so a hart still executing
 * from it re-decodes through the cache instead of using stale code.
 */
public final class CodeCache {
    static final int SLOTS = 2048;
    /**
     * Head counters per code page, shared by slots equal modulo this: heads that share one are only
     * translated sooner, never later, and a page's counters take 512 bytes instead of 4 KiB (idle
     * clones run a few hundred code pages each).
     */
    static final int HEAT_SLOTS = 256;
    static final int DEAD = SLOTS;

    private final long ramHvaBase;
    private final long ramBaseGpa;
    /**
     * Per-page tables are two-level, {@value #CHUNK_PAGES} pages (2 MiB of RAM) per chunk, made when
     * code first runs there: a clone that runs a few megabytes of kernel code should not pay for
     * three references per page of its whole RAM (768 KiB for 256 MiB).
     */
    static final int CHUNK_SHIFT = 9, CHUNK_PAGES = 1 << CHUNK_SHIFT, CHUNK_MASK = CHUNK_PAGES - 1;

    private final long[][][] pages;
    /** Translated blocks per page, by slot, made when a page gets its first block; dropped with the page. */
    private final Block[][][] blocks;
    /**
     * How often each block head was entered through the interpreter, per page, by slot (saturating at
     * 0xffff); made on the page's first counted entry, dropped with the page. Exact per head, unlike a
     * hashed table, where two heads sharing an entry keep resetting each other's count and a loop can
     * stay interpreted forever. Harts share it and race on it: a lost count only delays a translation.
     */
    private final char[][][] heat;
    private final int pageCount;
    private volatile Hart[] harts = new Hart[0];
    private final dev.airlock.memory.GuestMemory ram;
    /**
     * Decoded pages shared by every clone of this RAM's template, or null for RAM of its own. A clone
     * uses them for every page whose template frame it has not written (GuestMemory#templateFrameIntact):
     * no table of its own, no per-page work when it first runs a page.
     */
    private final SharedPages shared;
    private long invalidations;
    private final int maxBlocks;
    private int liveBlocks;
    private long blocksTranslated, blockFlushes, translateNanos, firstTranslateNanos;

    public CodeCache(dev.airlock.memory.GuestMemory ram) {
        this.ram = ram;
        this.shared = ram.template() == null || !SHARE_TEMPLATE_CODE ? null
                : SHARED.computeIfAbsent(ram.template(), t -> new SharedPages((int) (t.sizeBytes() >>> 12), MAX_BLOCKS));
        this.ramHvaBase = ram.hvaOf(ram.baseGpa());
        this.ramBaseGpa = ram.baseGpa();
        this.pageCount = (int) (ram.sizeBytes() >>> 12);
        int chunks = (pageCount + CHUNK_PAGES - 1) >>> CHUNK_SHIFT;
        this.pages = new long[chunks][][];
        this.blocks = new Block[chunks][][];
        this.heat = new char[chunks][][];
        this.maxBlocks = MAX_BLOCKS;
        if (Boolean.getBoolean("airlock.cpu.jitStats")) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.println("airlock: translator: " + stats())));
        }
    }

    /** Live translated blocks per VM, and per template for those its clones share, before all are dropped. */
    static final int MAX_BLOCKS = Integer.getInteger("airlock.cpu.jitMaxBlocks", 20_000);
    /** {@code -Dairlock.cpu.shareTemplateCode=false} gives every clone its own decoded copy of the template's code. */
    static final boolean SHARE_TEMPLATE_CODE = !"false".equals(System.getProperty("airlock.cpu.shareTemplateCode"));
    /** Weak: a template's decoded pages go once no VM's RAM (hence no CodeCache) refers to its image. */
    private static final java.util.Map<dev.airlock.memory.TemplateImage, SharedPages> SHARED =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * Decoded code of one template's pages, with their translated blocks and head counts, shared by all
     * its clones while a clone's page is still the template's frame: a thousand clones decode and
     * translate its kernel once, not a thousand times, and heads get hot from all clones' runs. Decoding
     * a slot is a pure function of the page's bytes (instructions that cross into the next page are never
     * cached), and so is a block (position independent, given the hart it runs on), so harts of several
     * VMs may fill slots concurrently: they write the same value. A shared page is never zeroed or marked
     * dead: a clone that writes the page only lets go of it.
     */
    static final class SharedPages {
        private final long[][][] pages;
        private final Block[][][] blocks;
        private final char[][][] heat;
        private final int maxBlocks;
        private int liveBlocks;

        SharedPages(int pageCount, int maxBlocks) {
            int chunks = (pageCount + CHUNK_PAGES - 1) >>> CHUNK_SHIFT;
            pages = new long[chunks][][];
            blocks = new Block[chunks][][];
            heat = new char[chunks][][];
            this.maxBlocks = maxBlocks;
        }

        /** The page's decoded code, made with its block table on first use. */
        synchronized long[] page(int gfn) {
            int c = gfn >>> CHUNK_SHIFT, i = gfn & CHUNK_MASK;
            if (pages[c] == null) {
                pages[c] = new long[CHUNK_PAGES][];
                blocks[c] = new Block[CHUNK_PAGES][];
            }
            long[] p = pages[c][i];
            if (p == null) {
                p = pages[c][i] = new long[SLOTS + 1];
                blocks[c][i] = new Block[SLOTS];
            }
            return p;
        }

        /**
         * The block table of a page, or null if no clone ran it yet. Unsynchronized: the caller's thread
         * got the page through {@link #page} first, which published the table with it.
         */
        Block[] blocks(int gfn) {
            Block[][] chunk = blocks[gfn >>> CHUNK_SHIFT];
            return chunk == null ? null : chunk[gfn & CHUNK_MASK];
        }

        boolean owns(int gfn, long[] p) {
            long[][] chunk = pages[gfn >>> CHUNK_SHIFT];
            return chunk != null && chunk[gfn & CHUNK_MASK] == p;
        }

        /** Whether some clone decoded code from this page (so harts may be running it). */
        synchronized boolean hasPage(int gfn) {
            long[][] chunk = pages[gfn >>> CHUNK_SHIFT];
            return chunk != null && chunk[gfn & CHUNK_MASK] != null;
        }

        /** Decoded pages whose frame {@code intact} says a clone still maps. */
        synchronized long countPages(java.util.function.IntPredicate intact) {
            long n = 0;
            for (int c = 0; c < pages.length; c++) {
                if (pages[c] == null) continue;
                for (int i = 0; i < CHUNK_PAGES; i++) if (pages[c][i] != null && intact.test((c << CHUNK_SHIFT) | i)) n++;
            }
            return n;
        }

        /** The page's head counts, made on first use; racing clones lose counts, no more. */
        char[] heat(int gfn) {
            char[][] chunk = heat[gfn >>> CHUNK_SHIFT];
            if (chunk == null) chunk = heat[gfn >>> CHUNK_SHIFT] = new char[CHUNK_PAGES][];
            char[] h = chunk[gfn & CHUNK_MASK];
            if (h == null) chunk[gfn & CHUNK_MASK] = h = new char[HEAT_SLOTS];
            return h;
        }

        /** Puts {@code block} in the page's table; at the cap on live blocks, empties every table first. */
        synchronized Block[] install(int gfn, int slot, Block block) {
            if (block != Block.NONE && liveBlocks >= maxBlocks) {
                for (Block[][] chunk : blocks) {
                    if (chunk == null) continue;
                    for (Block[] table : chunk) if (table != null) Arrays.fill(table, null); // harts go back to the cache
                }
                liveBlocks = 0;
            }
            Block[] table = blocks(gfn);
            Block replaced = table[slot];
            if (replaced != null && replaced != Block.NONE) liveBlocks--;
            if (block != Block.NONE) liveBlocks++;
            table[slot] = block;
            return table;
        }

    }

    /**
     * Bytes of Java arrays this VM's code cache holds on its own: chunk tables, decoded pages, block
     * tables and head counts (a clone's template's are counted once, not per clone).
     * Array headers are taken as 16 bytes and references as 4 (compressed oops); the blocks' classes
     * are not counted.
     */
    public synchronized long retainedBytes() {
        long bytes = 0;
        for (int c = 0; c < pages.length; c++) {
            if (pages[c] != null) {
                bytes += 16 + 4L * CHUNK_PAGES;
                for (int i = 0; i < CHUNK_PAGES; i++) {
                    long[] p = pages[c][i];
                    if (p != null) bytes += 16 + 8L * p.length;
                }
            }
            if (blocks[c] != null) {
                bytes += 16 + 4L * CHUNK_PAGES;
                for (int i = 0; i < CHUNK_PAGES; i++) {
                    Block[] t = blocks[c][i];
                    if (t != null) bytes += 16 + 4L * t.length;
                }
            }
            if (heat[c] != null) {
                bytes += 16 + 4L * CHUNK_PAGES;
                for (char[] h : heat[c]) if (h != null) bytes += 16 + 2L * h.length;
            }
        }
        return bytes;
    }

    /** The template's shared decoded pages this VM may run now: those whose frame it has not written. */
    public long sharedPagesInUse() {
        return shared == null ? 0 : shared.countPages(ram::templateFrameIntact);
    }

    /** The translator's counters, for measurements. */
    public synchronized String stats() {
        long run = 0, inBlocks = 0, executed = 0;
        for (Hart h : harts) {
            run += h.blocksRun();
            inBlocks += h.blockInstructions();
            executed += h.instret();
        }
        int decoded = 0;
        for (long[][] chunk : pages) {
            if (chunk == null) continue;
            for (long[] p : chunk) if (p != null) decoded++;
        }
        return String.format("decoded_pages=%d (template's in use %d) blocks_translated=%d live=%d flushes=%d translate_ms=%d (first %d) blocks_run=%d "
                        + "instructions_in_blocks=%d of %d (%.1f%%), %.1f per block, invalidations=%d failures=%d",
                decoded, sharedPagesInUse(), blocksTranslated, liveBlocks, blockFlushes, translateNanos / 1_000_000, firstTranslateNanos / 1_000_000, run, inBlocks, executed,
                100.0 * inBlocks / Math.max(1, executed), (double) inBlocks / Math.max(1, run), invalidations, BlockTranslator.failures);
    }

    /** The translated blocks of the RAM page at {@code hva}, or null while it has none. */
    Block[] blocks(long hva) {
        int gfn = (int) ((hva - ramHvaBase) >>> 12);
        Block[] own = blocksOf(gfn);
        if (own != null || pageOf(gfn) != null || !intact(gfn)) return own;
        return shared.blocks(gfn);
    }

    /** Whether this clone still maps the template's frame at {@code gfn}, so the template's decoded code is valid here. */
    private boolean intact(int gfn) {
        return shared != null && ram.templateFrameIntact(gfn);
    }

    private long[] pageOf(int gfn) {
        long[][] chunk = pages[gfn >>> CHUNK_SHIFT];
        return chunk == null ? null : chunk[gfn & CHUNK_MASK];
    }

    private Block[] blocksOf(int gfn) {
        Block[][] chunk = blocks[gfn >>> CHUNK_SHIFT];
        return chunk == null ? null : chunk[gfn & CHUNK_MASK];
    }

    /** Sets a page's decoded code; under this object's lock. */
    private void setPage(int gfn, long[] p) {
        long[][] chunk = pages[gfn >>> CHUNK_SHIFT];
        if (chunk == null) {
            if (p == null) return;
            chunk = pages[gfn >>> CHUNK_SHIFT] = new long[CHUNK_PAGES][];
        }
        chunk[gfn & CHUNK_MASK] = p;
    }

    /** Sets a page's block table; under this object's lock. */
    private void setBlocks(int gfn, Block[] table) {
        Block[][] chunk = blocks[gfn >>> CHUNK_SHIFT];
        if (chunk == null) {
            if (table == null) return;
            chunk = blocks[gfn >>> CHUNK_SHIFT] = new Block[CHUNK_PAGES][];
        }
        chunk[gfn & CHUNK_MASK] = table;
    }

    /** The head entry counts of the RAM page at {@code hva}, by slot; made on first use. */
    char[] heat(long hva) {
        int gfn = (int) ((hva - ramHvaBase) >>> 12);
        if (pageOf(gfn) == null && intact(gfn)) return shared.heat(gfn);
        char[][] chunk = heat[gfn >>> CHUNK_SHIFT];
        if (chunk == null) chunk = heat[gfn >>> CHUNK_SHIFT] = new char[CHUNK_PAGES][]; // a race loses counts, no more
        char[] h = chunk[gfn & CHUNK_MASK];
        if (h == null) {
            h = new char[HEAT_SLOTS];
            chunk[gfn & CHUNK_MASK] = h;
        }
        return h;
    }

    /**
     * Installs {@code block} for {@code slot} of the page at {@code pageHva}, if that page still holds
     * the decoded code {@code ops} it was translated from. Returns the page's block table, or null if the
     * page was dropped meanwhile. At the cap on live blocks, all blocks are dropped first: their hidden
     * classes are unloaded once no hart runs them.
     */
    synchronized Block[] install(long pageHva, long[] ops, int slot, Block block, long translateNanos) {
        this.translateNanos += translateNanos;
        if (firstTranslateNanos == 0) firstTranslateNanos = translateNanos;
        int gfn = (int) ((pageHva - ramHvaBase) >>> 12);
        long[] own = pageOf(gfn);
        if (own == null && shared != null && shared.owns(gfn, ops) && intact(gfn)) {
            if (block != Block.NONE) blocksTranslated++;
            return shared.install(gfn, slot, block);
        }
        if (own != ops) return null;
        if (block != Block.NONE) blocksTranslated++;
        if (block != Block.NONE) {
            if (liveBlocks >= maxBlocks) flushBlocks();
            liveBlocks++;
        }
        Block[] table = blocksOf(gfn);
        if (table == null) {
            table = new Block[SLOTS];
            setBlocks(gfn, table);
        }
        Block replaced = table[slot];
        if (replaced != null && replaced != Block.NONE) liveBlocks--;
        table[slot] = block;
        return table;
    }

    private void flushBlocks() {
        for (int gfn = 0; gfn < pageCount; gfn++) {
            if (blocksOf(gfn) != null) dropBlocks(gfn); // a clone's template's blocks are capped apart
        }
        liveBlocks = 0;
        blockFlushes++;
    }

    private void dropBlocks(int gfn) {
        Block[] table = blocksOf(gfn);
        if (table == null) return;
        setBlocks(gfn, null);
        for (int i = 0; i < SLOTS; i++) {
            if (table[i] != null && table[i] != Block.NONE) liveBlocks--;
            table[i] = null; // a hart still holding the table finds no block and goes back to the cache
        }
    }

    public synchronized long blocksTranslated() { return blocksTranslated; }

    public synchronized int liveBlocks() { return liveBlocks; }

    public synchronized long blockFlushes() { return blockFlushes; }

    synchronized void attach(Hart hart) {
        Hart[] next = Arrays.copyOf(harts, harts.length + 1);
        next[harts.length] = hart;
        harts = next;
    }

    /**
     * The decoded page backing host address {@code hva} (RAM). In a clone, a page whose template frame
     * it has not written is the template's shared one: no hart of this clone can hold a write mapping
     * for it, since mapping a page for writing marks it written first (see {@link #written}). Any
     * other page is this VM's own, registered as code here: harts drop their write mappings of it, so
     * the next store to it takes the slow path and drops the decoded code.
     */
    long[] page(long hva) {
        int gfn = (int) ((hva - ramHvaBase) >>> 12);
        long[] p = pageOf(gfn);
        if (p != null) return p;
        if (intact(gfn)) return shared.page(gfn);
        synchronized (this) {
            p = pageOf(gfn);
            if (p == null) {
                p = new long[SLOTS + 1];
                setPage(gfn, p);
                for (Hart h : harts) h.revokeWrite(hva & ~0xfffL);
            }
            return p;
        }
    }

    /**
     * A hart is about to write the RAM page at {@code hva}: it is mapping it for writing, or setting
     * a page-table entry's accessed and dirty bits there. Marks the page written in a clone's RAM,
     * and drops any code decoded from it: this VM's own copy, or its use of the template's (its harts
     * look the page up again, the storing hart at once, the others at their next poll or fence.i).
     * Returns whether the page held code this VM may have run.
     */
    boolean written(long hva) {
        int gfn = (int) ((hva - ramHvaBase) >>> 12);
        if (ram.noteWritten(ramBaseGpa + ((long) gfn << 12), 1) && shared != null && shared.hasPage(gfn)) {
            synchronized (this) {
                for (Hart h : harts) h.forgetCodePage();
                invalidations++;
            }
            return true;
        }
        if (pageOf(gfn) == null) return false;
        invalidate(hva);
        return true;
    }

    /** Drops this VM's own decoded code of the page at {@code hva}, after a store to it. */
    void invalidate(long hva) {
        int gfn = (int) ((hva - ramHvaBase) >>> 12);
        synchronized (this) {
            long[] p = pageOf(gfn);
            if (p == null) return;
            setPage(gfn, null);
            p[DEAD] = 1; // first, so a hart that finds a zeroed slot goes back to the cache
            Arrays.fill(p, 0, SLOTS, 0);
            dropBlocks(gfn);
            char[][] heatChunk = heat[gfn >>> CHUNK_SHIFT];
            if (heatChunk != null) heatChunk[gfn & CHUNK_MASK] = null; // new code starts cold
            invalidations++;
        }
    }

    /** Drops decoded code in {@code [gpa, gpa + lengthBytes)} after a device wrote there (DMA), which no hart store saw. */
    public void invalidateRange(long gpa, long lengthBytes) {
        if (lengthBytes <= 0) return;
        long first = Math.max(0, (gpa - ramBaseGpa) >> 12);
        long last = Math.min(pageCount - 1L, (gpa + lengthBytes - 1 - ramBaseGpa) >> 12);
        if (shared != null) {
            for (long gfn = first; gfn <= last; gfn++) written(ramHvaBase + (gfn << 12));
            return;
        }
        ram.noteWritten(gpa, lengthBytes);
        for (long gfn = first; gfn <= last; gfn++) {
            if (pages[(int) (gfn >>> CHUNK_SHIFT)] == null) {
                gfn |= CHUNK_MASK; // no code anywhere in this chunk
                continue;
            }
            if (pageOf((int) gfn) != null) invalidate(ramHvaBase + (gfn << 12));
        }
    }

    public synchronized long invalidations() { return invalidations; }
}
