package dev.airlock.vmm.devices.plic;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.IrqLine;
import java.util.Arrays;
import java.util.Objects;

/**
 * A SiFive-compatible platform-level interrupt controller ({@code "sifive,plic-1.0.0"}) with
 * level-triggered sources 1..{@value #MAX_SOURCE_ID} and two contexts per hart: context 2h is hart
 * h's M mode (drives MEIP), context 2h+1 its S mode (drives SEIP).
 *
 * <pre>
 *  0x000000 + 4*source         priority (0 = never, 1..7)
 *  0x001000 + 4*word           pending bits, read-only
 *  0x002000 + 0x80*ctx + 4*w   enable bits of a context
 *  0x200000 + 0x1000*ctx       priority threshold of a context
 *  0x200004 + 0x1000*ctx       claim (read) / complete (write)
 * </pre>
 *
 * <p>A source is pending while its line is high and it is not claimed; a claim takes it out of
 * service until the same id is completed, and if its line is still high it is pending again then.
 * Only naturally aligned 32-bit accesses are honoured, as the PLIC specification allows; others read 0.
 *
 * <p>Thread-safe: devices drive lines from I/O threads while harts access the registers. Every change
 * recomputes each context's output and tells the hart when it changes, under the PLIC's lock so that
 * line updates reach harts in order.
 */
public final class Plic implements BusDevice {
    public static final long SIZE_BYTES = 0x60_0000;
    /** Interrupt ids 1..95 are sources; 0 means "none" in the claim register. This is the DT's riscv,ndev. */
    public static final int MAX_SOURCE_ID = 95;
    /** Priority and threshold registers are 3 bits wide; threshold 7 masks everything. */
    public static final int MAX_PRIORITY = 7;
    /** The register map leaves room for 1024 threshold/claim blocks, 2 per hart. */
    public static final int MAX_HARTS = 512;

    static final long PRIORITY_BASE = 0x0;
    static final long PENDING_BASE = 0x1000;
    static final long ENABLE_BASE = 0x2000;
    static final long ENABLE_STRIDE = 0x80;
    static final long CONTEXT_BASE = 0x20_0000;
    static final long CONTEXT_STRIDE = 0x1000;
    static final long CONTEXT_THRESHOLD = 0x0;
    static final long CONTEXT_CLAIM = 0x4;

    private static final int WORDS = (MAX_SOURCE_ID + 1 + 31) / 32;

    private final Object lock = new Object();
    private final HartInterrupts[] harts;
    private final int contexts;
    private final IrqLine[] sourceLines;

    private final int[] priority = new int[MAX_SOURCE_ID + 1];
    /** Input line levels, one bit per source; inputs survive a reset because the devices still drive them. */
    private final int[] level = new int[WORDS];
    /** Claimed and not yet completed. */
    private final int[] inService = new int[WORDS];
    /** {@code enable[ctx * WORDS + word]}. */
    private final int[] enable;
    private final int[] threshold;
    private final boolean[] output;

    private long ignoredAccesses;

    /** @param harts one entry per hart, by hart id */
    public Plic(HartInterrupts[] harts) {
        Objects.requireNonNull(harts, "harts");
        if (harts.length < 1 || harts.length > MAX_HARTS) {
            throw new IllegalArgumentException("PLIC supports 1.." + MAX_HARTS + " harts, got " + harts.length);
        }
        this.harts = harts.clone();
        for (int h = 0; h < harts.length; h++) {
            Objects.requireNonNull(this.harts[h], "harts[" + h + "]");
        }
        this.contexts = 2 * harts.length;
        this.enable = new int[contexts * WORDS];
        this.threshold = new int[contexts];
        this.output = new boolean[contexts];
        // Lines are made as devices ask for them: a machine wires a dozen of the 95.
        this.sourceLines = new IrqLine[MAX_SOURCE_ID + 1];
    }

    /**
     * The guest-programmed state (priorities, enables, thresholds, claimed sources), for a snapshot.
     * Input levels are not in it: the restored devices drive their lines again.
     */
    public byte[] saveState() {
        synchronized (lock) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * (2 + priority.length + inService.length + enable.length
                    + threshold.length)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.putInt(contexts).putInt(MAX_SOURCE_ID);
            for (int v : priority) b.putInt(v);
            for (int v : inService) b.putInt(v);
            for (int v : enable) b.putInt(v);
            for (int v : threshold) b.putInt(v);
            return b.array();
        }
    }

    /** Puts back what {@link #saveState} saved, on a PLIC with as many harts, and updates the harts' lines. */
    public void restoreState(java.nio.ByteBuffer b) {
        synchronized (lock) {
            int savedContexts = b.getInt(), savedSources = b.getInt();
            if (savedContexts != contexts || savedSources != MAX_SOURCE_ID) {
                throw new IllegalArgumentException("PLIC state for " + savedContexts + " contexts and " + savedSources
                        + " sources does not fit this PLIC (" + contexts + ", " + MAX_SOURCE_ID + ")");
            }
            for (int i = 0; i < priority.length; i++) priority[i] = Math.clamp(b.getInt(), 0, MAX_PRIORITY);
            for (int i = 0; i < inService.length; i++) inService[i] = b.getInt();
            for (int i = 0; i < enable.length; i++) enable[i] = b.getInt();
            for (int i = 0; i < threshold.length; i++) threshold[i] = Math.clamp(b.getInt(), 0, MAX_PRIORITY);
            updateOutputs(true);
        }
    }

    /** The wire into source {@code n} (1..95), for a device to drive. */
    public IrqLine source(int n) {
        checkSource(n);
        synchronized (sourceLines) {
            IrqLine line = sourceLines[n];
            if (line == null) sourceLines[n] = line = new SourceLine(this, n);
            return line;
        }
    }

    /** Drives source {@code n}'s level-triggered input. */
    public void setSourceLevel(int n, boolean high) {
        checkSource(n);
        int bit = 1 << (n & 31);
        synchronized (lock) {
            int old = level[n >>> 5];
            int now = high ? old | bit : old & ~bit;
            if (now != old) {
                level[n >>> 5] = now;
                updateOutputs(false);
            }
        }
    }

    public int contextCount() {
        return contexts;
    }

    /** Accesses that were not aligned 32-bit ones, or hit no register. */
    public long ignoredAccesses() {
        synchronized (lock) {
            return ignoredAccesses;
        }
    }

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        synchronized (lock) {
            if (sizeBytes != 4 || (offsetBytes & 3) != 0 || offsetBytes < 0) {
                ignoredAccesses++;
                return 0;
            }
            if (offsetBytes < PENDING_BASE) {
                int src = (int) (offsetBytes >>> 2);
                return src <= MAX_SOURCE_ID ? priority[src] : 0;
            }
            if (offsetBytes < ENABLE_BASE) {
                int word = (int) ((offsetBytes - PENDING_BASE) >>> 2);
                return word < WORDS ? Integer.toUnsignedLong(level[word] & ~inService[word]) : 0;
            }
            if (offsetBytes < CONTEXT_BASE) {
                int ctx = (int) ((offsetBytes - ENABLE_BASE) / ENABLE_STRIDE);
                int word = (int) ((offsetBytes - ENABLE_BASE) % ENABLE_STRIDE) >>> 2;
                return ctx < contexts && word < WORDS ? Integer.toUnsignedLong(enable[ctx * WORDS + word]) : 0;
            }
            if (offsetBytes < SIZE_BYTES) {
                int ctx = (int) ((offsetBytes - CONTEXT_BASE) / CONTEXT_STRIDE);
                long reg = (offsetBytes - CONTEXT_BASE) % CONTEXT_STRIDE;
                if (ctx < contexts) {
                    if (reg == CONTEXT_THRESHOLD) {
                        return threshold[ctx];
                    }
                    if (reg == CONTEXT_CLAIM) {
                        return claim(ctx);
                    }
                }
            }
            return 0;
        }
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        int v = (int) value;
        synchronized (lock) {
            if (sizeBytes != 4 || (offsetBytes & 3) != 0 || offsetBytes < 0) {
                ignoredAccesses++;
                return;
            }
            if (offsetBytes < PENDING_BASE) {
                int src = (int) (offsetBytes >>> 2);
                if (src >= 1 && src <= MAX_SOURCE_ID) {
                    priority[src] = v & MAX_PRIORITY; // WARL: only the implemented bits stick
                    updateOutputs(false);
                }
            } else if (offsetBytes < ENABLE_BASE) {
                // pending bits are read-only
            } else if (offsetBytes < CONTEXT_BASE) {
                int ctx = (int) ((offsetBytes - ENABLE_BASE) / ENABLE_STRIDE);
                int word = (int) ((offsetBytes - ENABLE_BASE) % ENABLE_STRIDE) >>> 2;
                if (ctx < contexts && word < WORDS) {
                    enable[ctx * WORDS + word] = v & implementedBits(word);
                    updateOutputs(false);
                }
            } else if (offsetBytes < SIZE_BYTES) {
                int ctx = (int) ((offsetBytes - CONTEXT_BASE) / CONTEXT_STRIDE);
                long reg = (offsetBytes - CONTEXT_BASE) % CONTEXT_STRIDE;
                if (ctx < contexts) {
                    if (reg == CONTEXT_THRESHOLD) {
                        threshold[ctx] = v & MAX_PRIORITY;
                        updateOutputs(false);
                    } else if (reg == CONTEXT_CLAIM) {
                        complete(ctx, v);
                    }
                }
            }
        }
    }

    @Override
    public void reset() {
        synchronized (lock) {
            Arrays.fill(priority, 0);
            Arrays.fill(inService, 0);
            Arrays.fill(enable, 0);
            Arrays.fill(threshold, 0);
            updateOutputs(true);
        }
    }

    // ---- under lock ----

    /** Source 0 does not exist, nor do ids above {@link #MAX_SOURCE_ID}. */
    private static int implementedBits(int word) {
        int bits = -1;
        if (word == 0) {
            bits &= ~1;
        }
        int lastId = (word << 5) + 31;
        if (lastId > MAX_SOURCE_ID) {
            bits &= (int) ((1L << (MAX_SOURCE_ID + 1 - (word << 5))) - 1);
        }
        return bits;
    }

    /** The best source for {@code ctx}: pending, enabled, priority above threshold; lowest id wins a tie. */
    private int bestSource(int ctx) {
        int best = 0;
        int bestPriority = threshold[ctx];
        for (int w = 0; w < WORDS; w++) {
            int bits = level[w] & ~inService[w] & enable[ctx * WORDS + w];
            while (bits != 0) {
                int src = (w << 5) + Integer.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                if (priority[src] > bestPriority) {
                    best = src;
                    bestPriority = priority[src];
                }
            }
        }
        return best;
    }

    private int claim(int ctx) {
        int src = bestSource(ctx);
        if (src != 0) {
            inService[src >>> 5] |= 1 << (src & 31);
            updateOutputs(false);
        }
        return src;
    }

    private void complete(int ctx, int src) {
        if (src < 1 || src > MAX_SOURCE_ID) {
            return;
        }
        int bit = 1 << (src & 31);
        // The specification ignores completions of sources not enabled for the completing context.
        if ((enable[ctx * WORDS + (src >>> 5)] & bit) == 0 || (inService[src >>> 5] & bit) == 0) {
            return;
        }
        inService[src >>> 5] &= ~bit;
        updateOutputs(false); // a line still high is pending again
    }

    private void updateOutputs(boolean force) {
        for (int ctx = 0; ctx < contexts; ctx++) {
            boolean eip = bestSource(ctx) != 0;
            if (force || eip != output[ctx]) {
                output[ctx] = eip;
                harts[ctx >>> 1].setInterruptLine(
                        (ctx & 1) == 0 ? HartInterrupts.IRQ_M_EXT : HartInterrupts.IRQ_S_EXT, eip);
            }
        }
    }

    private static void checkSource(int n) {
        if (n < 1 || n > MAX_SOURCE_ID) {
            throw new IllegalArgumentException("PLIC source ids are 1.." + MAX_SOURCE_ID + ", got " + n);
        }
    }

    /** A named class rather than a lambda so that each line is created once, at construction. */
    private static final class SourceLine implements IrqLine {
        private final Plic plic;
        private final int source;

        SourceLine(Plic plic, int source) {
            this.plic = plic;
            this.source = source;
        }

        @Override
        public void set(boolean level) {
            plic.setSourceLevel(source, level);
        }
    }
}
