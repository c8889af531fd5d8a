package dev.airlock.cpu.rv64;

import static dev.airlock.memory.HostMemory.ALL;
import static dev.airlock.memory.HostMemory.I16;
import static dev.airlock.memory.HostMemory.I32;
import static dev.airlock.memory.HostMemory.I64;
import static dev.airlock.memory.HostMemory.I8;

/**
 * A run of guest instructions translated to JVM bytecode ({@link BlockTranslator}); each block is the
 * one instance of its own hidden class, so HotSpot compiles it like any hot method and unloads it
 * once its page's code is dropped.
 *
 * <p>A block belongs to the guest-physical page of its head, and may run on into a few other pages
 * (the next one, a callee's), checking that mapping each time. It is position independent: every pc it computes
 * is relative to the virtual pc it was entered at, so a page mapped at several virtual addresses shares
 * its blocks.
 */
abstract class Block {
    /** Stands in a page's block table for a head that does not translate, so it is not tried again. */
    static final Block NONE = new Block() {
        @Override int run(Hart h, long pc, int budget) { throw new IllegalStateException("NONE is never run"); }
    };

    /**
     * Runs the block from its first instruction, at virtual address {@code pc}. Returns the number of
     * instructions retired, with {@code h.pc} at the next one. A block that jumps back to its start loops
     * inside while fewer than {@code budget} instructions have retired and no poll is due. On a guest
     * trap it leaves {@code h.pc} at the faulting instruction and the number retired before it in
     * {@code h.blockRetired}, and rethrows.
     */
    abstract int run(Hart h, long pc, int budget);

    /**
     * The decoded code of the other pages the block holds code of (see BlockTranslator.Run#pages). Before
     * it goes on into one, the block checks that its virtual page still maps to that code
     * ({@link Hart#codePageIs}), and leaves otherwise.
     */
    long[][] pages;

    /**
     * Instructions this block retired (Long.MIN_VALUE once it was translated again); at a threshold
     * ({@code Hart.jitHotInstructions}) it is translated again with inlined memory access.
     */
    long retired;

    // Small helpers the generated code calls; HotSpot inlines them.

    // Host memory at a host virtual address the block's inline TLB lookup found (see Hart.load64):
    // ALL is a static final segment over the whole address space, so the access compiles to a plain move.

    static long ram8(long hva) { return ALL.get(I8, hva); }

    static long ram16(long hva) { return ALL.get(I16, hva); }

    static long ram32(long hva) { return ALL.get(I32, hva); }

    static long ram64(long hva) { return ALL.get(I64, hva); }

    static void ramStore8(long hva, long v) { ALL.set(I8, hva, (byte) v); }

    static void ramStore16(long hva, long v) { ALL.set(I16, hva, (short) v); }

    static void ramStore32(long hva, long v) { ALL.set(I32, hva, (int) v); }

    static void ramStore64(long hva, long v) { ALL.set(I64, hva, v); }

    static long slt(long a, long b) { return a < b ? 1 : 0; }

    static long sltu(long a, long b) { return Long.compareUnsigned(a, b) < 0 ? 1 : 0; }

    static long mulhsu(long a, long b) { return Math.multiplyHigh(a, b) + ((b >> 63) & a); }

    static long div(long a, long b) { return b == 0 ? -1 : a / b; }

    static long divu(long a, long b) { return b == 0 ? -1 : Long.divideUnsigned(a, b); }

    static long rem(long a, long b) { return b == 0 ? a : a % b; }

    static long remu(long a, long b) { return b == 0 ? a : Long.remainderUnsigned(a, b); }

    static long divw(long a, long b) { int x = (int) a, y = (int) b; return y == 0 ? -1 : x / y; }

    static long divuw(long a, long b) { int x = (int) a, y = (int) b; return y == 0 ? -1 : Integer.divideUnsigned(x, y); }

    static long remw(long a, long b) { int x = (int) a, y = (int) b; return y == 0 ? x : x % y; }

    static long remuw(long a, long b) { int x = (int) a, y = (int) b; return y == 0 ? x : Integer.remainderUnsigned(x, y); }
}
