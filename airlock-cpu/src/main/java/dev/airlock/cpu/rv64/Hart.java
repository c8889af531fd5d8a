package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Csr.*;
import static dev.airlock.memory.HostMemory.ALL;
import static dev.airlock.memory.HostMemory.I16;
import static dev.airlock.memory.HostMemory.I32;
import static dev.airlock.memory.HostMemory.I64;
import static dev.airlock.memory.HostMemory.I8;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.cpu.TimeBase;
import dev.airlock.memory.GuestMemory;
import dev.airlock.memory.HostMemory;
import dev.airlock.memory.MmioHandler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One RV64GC hart: its architectural state and the reference interpreter.
 *
 * <p>{@link #run} executes until a slice budget ends, the hart waits (WFI), stops, or the machine
 * halts. It runs on whichever worker thread the scheduler gives it; only device interrupt lines and
 * remote TLB flushes reach in from other threads. Guest-caused faults unwind with one preallocated
 * {@link Trap} and become guest traps; nothing guest-controlled escapes as a Java exception.
 */
public final class Hart implements HartInterrupts {
    public static final int PRIV_U = 0, PRIV_S = 1, PRIV_M = 3;

    /** Why {@link #run} returned. */
    public static final int EXIT_BUDGET = 0, EXIT_WFI = 1, EXIT_STOPPED = 2, EXIT_HALT = 3;

    /** HSM states, as SBI reports them. */
    public static final int HSM_STARTED = 0, HSM_STOPPED = 1;

    private static final int POLL_INTERVAL = 1024;
    // Package-private: translated blocks repeat the TLB lookup of load64 and friends inline.
    static final int TLB_BITS = 8, TLB_SIZE = 1 << TLB_BITS, TLB_MASK = TLB_SIZE - 1;
    static final long PAGE_MASK = ~0xfffL;
    private static final int ACCESS_READ = 0, ACCESS_WRITE = 1, ACCESS_EXEC = 2;

    private static final VarHandle MIP_HANDLE;
    private static final VarHandle ATOMIC32 = HostMemory.I32_ALIGNED.varHandle();
    private static final VarHandle ATOMIC64 = HostMemory.I64_ALIGNED.varHandle();

    static {
        try {
            MIP_HANDLE = MethodHandles.lookup().findVarHandle(Hart.class, "mip", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int hartId;
    final GuestMemory ram;
    final CodeCache code;
    final MmioHandler mmio;
    final TimeBase time;
    final Platform platform;
    /** When true, S-mode ECALLs are SBI calls served by the hypervisor and there is no M-mode firmware. */
    final boolean sbiInHypervisor;

    public final long[] x = new long[32];
    public final long[] f = new long[32];
    public long pc;
    int priv = PRIV_M;
    final Fpu fpu = new Fpu();
    int frm;

    long mstatus = (2L << 32) | (2L << 34); // UXL = SXL = 64-bit
    long medeleg, mideleg, mie, mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg;
    long stvec, sscratch, sepc, scause, stval, scounteren, senvcfg, satp;
    volatile long mip;
    volatile long mtimecmp = Long.MAX_VALUE;
    volatile long stimecmp = Long.MAX_VALUE;
    long instret;

    long reservationAddr = -1;
    long reservationValue;

    // Soft TLBs, direct mapped, one per access kind. A tag is the virtual page | the privilege context,
    // so privilege changes and SUM/MXR toggles need no flush. hva = vaddr + delta.
    final long[] tlbRTag = new long[TLB_SIZE], tlbRDelta = new long[TLB_SIZE];
    final long[] tlbWTag = new long[TLB_SIZE], tlbWDelta = new long[TLB_SIZE];
    final long[] tlbXTag = new long[TLB_SIZE], tlbXDelta = new long[TLB_SIZE];
    /** Entries whose leaf PTE is global (G): they hold in every address space, so an ASID switch keeps them. */
    private final boolean[] tlbRGlobal = new boolean[TLB_SIZE], tlbWGlobal = new boolean[TLB_SIZE], tlbXGlobal = new boolean[TLB_SIZE];

    // ASIDs (satp holds 16 bits, so Linux's ASID allocator runs and stops flushing the TLB at every
    // context switch). The context bits of a tag name one of ASID_SLOTS slots, each bound to one ASID:
    // a process's entries survive while other processes run, and an ASID switch only retags the global
    // (kernel) entries into the new slot. A slot taken for another ASID first drops its entries.
    static final int ASID_SLOTS = 16, CTX_SLOT_SHIFT = 4;
    /** {@code -Dairlock.cpu.asids=false}: satp keeps no ASID bits (as before), so Linux flushes at every switch. */
    private static final long SATP_ASID_BITS = "false".equals(System.getProperty("airlock.cpu.asids")) ? 0 : 0xffffL << 44;
    private static final long CTX_SLOT_MASK = (long) (ASID_SLOTS - 1) << CTX_SLOT_SHIFT;
    private final int[] slotAsid = newSlotTable();
    private int asidSlot, nextVictimSlot;
    /** The G bit of the leaf PTE the last {@link #translate} walk ended at (false without paging). */
    private boolean walkGlobal;
    /**
     * The decoded code of each fetch entry's page, or null until looked up ({@link #codeOfEntry}): a
     * block that runs on into another page checks it on every such edge, and CodeCache.page costs
     * several dependent loads. Reset when the entry is refilled; an array a store dropped since is marked
     * dead; a shared template page this VM let go of is forgotten at the next poll (forgetCodePage),
     * before which the hart's running block ends. So fence.i has nothing to do here.
     */
    private final long[][] tlbXCode = new long[TLB_SIZE][];
    private volatile boolean codeForgotten;
    int fetchCtx, dataCtx, dataPriv;

    // The decoded page pc is in: its key is the virtual page | fetchCtx, so a privilege change misses.
    private long curPageKey = -1;
    private long[] curOps;
    private long curPageHva;
    /** The translated blocks of the current code page, by slot; null while it has none. */
    private Block[] curBlocks;
    /** The head entry counts of the current code page, by slot; null until the translated loop needs them. */
    private char[] curHeat;

    // The block translator (see BlockTranslator): on unless -Dairlock.cpu.jit=false. Heads run through
    // the interpreter until they have been reached more than jitThreshold times, counted per head in
    // the code page's heat array (CodeCache.heat).
    boolean jit = JIT_DEFAULT;
    int jitThreshold = JIT_THRESHOLD;
    /**
     * Instructions a block retires (counting each entry's first before it runs) before it is translated
     * again with its loads and stores inlined (1: at its first entry). Counted in instructions, not
     * entries: a block that holds a whole loop is entered once per slice however hot it is. 10M: a
     * 64 MiB sha256sum finished about 0.6 s sooner than with 50M; 2M made boots slower (more C2 work).
     */
    long jitHotInstructions = JIT_HOT_INSTRUCTIONS;
    /** Translate on a background thread (the hart interprets the head meanwhile) instead of on the hart's own. */
    boolean jitAsync = JIT_ASYNC;
    private static final boolean JIT_ASYNC = Boolean.parseBoolean(System.getProperty("airlock.cpu.jitAsync", "true"));
    private static final long JIT_HOT_INSTRUCTIONS = Long.getLong("airlock.cpu.jitHotInstructions", 10_000_000);
    private static final boolean JIT_DEFAULT = Boolean.parseBoolean(System.getProperty("airlock.cpu.jit", "true"));
    private static final int JIT_THRESHOLD = Integer.getInteger("airlock.cpu.jitThreshold", 20_000);
    /** Set by a store that dropped decoded code; a translated block ends after such a store. */
    boolean codeWritten;
    /** Instructions a translated block retired before the one that trapped. */
    int blockRetired;
    private long blocksRun, blockInstructions, pageWalks;

    private final Trap trap = new Trap();
    private int rawInsn;
    private int exitReason;
    volatile boolean pollNow;
    volatile boolean remoteFlush;
    volatile int hsmState = HSM_STOPPED;

    /** @param code the VM's decoded-instruction cache, shared by all its harts */
    public Hart(int hartId, GuestMemory ram, CodeCache code, MmioHandler mmio, TimeBase time, Platform platform,
                boolean sbiInHypervisor) {
        this.hartId = hartId;
        this.ram = ram;
        this.code = code;
        this.mmio = mmio;
        this.time = time;
        this.platform = platform;
        this.sbiInHypervisor = sbiInHypervisor;
        resetAsidSlots();
        code.attach(this);
        GuestProfiler.register(this);
    }

    public int hartId() { return hartId; }

    public int privilege() { return priv; }

    public long instret() { return instret; }

    /** Bytes of the arrays this hart holds (registers and its soft TLB), for a VM's accounting. */
    public long retainedBytes() {
        return 2 * (16 + 8L * x.length) + 6 * (16 + 8L * TLB_SIZE) + (16 + 4L * TLB_SIZE) + 3 * (16 + TLB_SIZE)
                + (16 + 4L * ASID_SLOTS);
    }

    public int hsmState() { return hsmState; }

    /** Puts the hart at {@code entryPc} in the given mode with a0/a1 set, as a boot loader or SBI HSM start does. */
    public void reset(long entryPc, int privilege, long a0, long a1) {
        java.util.Arrays.fill(x, 0);
        pc = entryPc;
        priv = privilege;
        x[10] = a0;
        x[11] = a1;
        satp = 0;
        mstatus &= ~(MSTATUS_SIE | MSTATUS_MIE);
        if (sbiInHypervisor) {
            // The hypervisor plays the M-mode firmware: delegate everything S-mode handles, enable Sstc.
            medeleg = 0xb1ffL & ~(1L << Trap.ECALL_S);
            mideleg = S_INTERRUPTS;
            mcounteren = 7;
            // As OpenSBI does: user mode may read cycle, time and instret until the kernel says
            // otherwise. Linux writes scounteren only from its SBI PMU driver, so without this the
            // vDSO's rdtime (clock_gettime) is an illegal instruction.
            scounteren = 7;
            menvcfg |= MENVCFG_STCE;
            mstatus |= 1L << MSTATUS_FS_SHIFT; // FP usable from the start, as OpenSBI leaves it
        }
        reservationAddr = -1;
        resetAsidSlots();
        hsmState = HSM_STARTED;
    }

    // ------------------------------------------------------------------ the run loop

    /**
     * Runs at most about {@code maxInstructions} instructions. Returns one of the EXIT_ codes.
     */
    public int run(long maxInstructions) {
        if (jit && !referenceOnly) return runTranslated(maxInstructions);
        exitReason = -1;
        long executed = 0;
        while (true) {
            poll();
            if (exitReason >= 0) return exitReason;
            int n = POLL_INTERVAL;
            try {
                while (n > 0 && !pollNow) n -= interpretToNextHead(n);
            } catch (Trap t) {
                n -= blockRetired;
                blockRetired = 0;
                enterTrap(t.cause, t.tval);
                executed++; // a guest stuck in a trap loop must still use up its slice
            }
            int done = POLL_INTERVAL - n;
            instret += done;
            executed += done;
            if (exitReason >= 0) return exitReason;
            if (executed >= maxInstructions) return EXIT_BUDGET;
        }
    }

    /**
     * {@link #run} with translated blocks: at each block head (a jump target, or where a block left
     * off) run its block if it has one; otherwise count the head and interpret up to the next jump.
     */
    private int runTranslated(long maxInstructions) {
        exitReason = -1;
        long executed = 0;
        while (true) {
            poll();
            if (exitReason >= 0) return exitReason;
            int n = POLL_INTERVAL;
            try {
                while (n > 0 && !pollNow) {
                    long pc = this.pc;
                    if (((pc & PAGE_MASK) | fetchCtx) != curPageKey || curOps[CodeCache.DEAD] != 0) enterPage(pc);
                    int slot = (int) (pc >>> 1) & (CodeCache.SLOTS - 1);
                    Block[] blocks = curBlocks;
                    Block b = blocks == null ? null : blocks[slot];
                    if (b == null && isHot(slot)) b = translate(pc, false);
                    if (b != null && b != Block.NONE) {
                        if (b.retired + 1 >= jitHotInstructions) {
                            b.retired = Long.MIN_VALUE; // asked once
                            Block hot = translate(pc, true);
                            if (hot != null) b = hot;
                        }
                        codeWritten = false;
                        int retired;
                        try {
                            retired = outOfLineEnter(b, pc, n);
                        } catch (Trap t) {
                            blockInstructions += blockRetired; // for the counters: a block may end in a trap on every run
                            throw t;
                        }
                        n -= retired;
                        // Not once it was translated again: clones share blocks, and a write to the hottest
                        // ones from both cores on every run would bounce their cache line between them.
                        if (b.retired >= 0) b.retired += retired;
                        blocksRun++;
                        blockInstructions += retired;
                        continue;
                    }
                    n -= interpretToNextHead(n);
                }
            } catch (Trap t) {
                n -= blockRetired;
                blockRetired = 0;
                enterTrap(t.cause, t.tval);
                executed++;
            }
            int done = POLL_INTERVAL - n;
            instret += done;
            executed += done;
            if (exitReason >= 0) return exitReason;
            if (executed >= maxInstructions) return EXIT_BUDGET;
        }
    }

    /**
     * Interprets up to the next control transfer or page boundary (the next block head), at most
     * {@code budget} instructions (at least one); returns how many retired. Blocks never cross a page,
     * so code that flows on into the next page needs a head there, or it stays interpreted (as after
     * an instruction that straddles two pages, which no block can hold). Kept apart from the dispatch
     * loop so HotSpot compiles the interpreter once, and recompiling the small dispatch loop (as new
     * block classes show up at its call site) stays cheap.
     *
     * <p>The fast path: one predecoded instruction at a time (see {@link Decoder} for the layout),
     * with pc in a local and the code page looked up once, since nothing but a jump, a page boundary,
     * a generic instruction or a poll request can change either. pc is written back before anything
     * that reads it (a generic instruction, decoding) and when a load or store traps.
     */
    private int interpretToNextHead(int budget) {
        long pc = this.pc;
        long[] ops = ((pc & PAGE_MASK) | fetchCtx) == curPageKey ? curOps : enterPage(pc);
        final long[] x = this.x;
        int done = 0;
        try {
            while (true) {
                int slot = (int) (pc >>> 1) & (CodeCache.SLOTS - 1);
                long d = ops[slot];
                if (d == 0) { // not decoded yet, or the page was dropped (decode looks it up again)
                    this.pc = pc;
                    d = decode(pc, ops, slot);
                    ops = curOps;
                }
                int rd = (int) (d >>> 8) & 31, rs1 = (int) (d >>> 13) & 31, rs2 = (int) (d >>> 18) & 31;
                int imm = (int) (d >>> 32);
                long next = pc + ((d & Decoder.COMPRESSED) != 0 ? 2 : 4);
                switch ((int) d & 0x7f) {
                    case Decoder.NOP -> { }
                    case Decoder.LUI -> x[rd] = imm;
                    case Decoder.AUIPC -> x[rd] = pc + imm;
                    case Decoder.JAL -> { if (rd != 0) x[rd] = next; this.pc = pc + imm; return done + 1; }
                    case Decoder.JALR -> { long t = (x[rs1] + imm) & ~1L; if (rd != 0) x[rd] = next; this.pc = t; return done + 1; }
                    case Decoder.BEQ -> { if (x[rs1] == x[rs2]) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.BNE -> { if (x[rs1] != x[rs2]) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.BLT -> { if (x[rs1] < x[rs2]) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.BGE -> { if (x[rs1] >= x[rs2]) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.BLTU -> { if (Long.compareUnsigned(x[rs1], x[rs2]) < 0) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.BGEU -> { if (Long.compareUnsigned(x[rs1], x[rs2]) >= 0) { this.pc = pc + imm; return done + 1; } }
                    case Decoder.LB -> setX(rd, (byte) load8(x[rs1] + imm));
                    case Decoder.LH -> setX(rd, (short) load16(x[rs1] + imm));
                    case Decoder.LW -> setX(rd, (int) load32(x[rs1] + imm));
                    case Decoder.LD -> setX(rd, load64(x[rs1] + imm));
                    case Decoder.LBU -> setX(rd, load8(x[rs1] + imm) & 0xff);
                    case Decoder.LHU -> setX(rd, load16(x[rs1] + imm) & 0xffff);
                    case Decoder.LWU -> setX(rd, load32(x[rs1] + imm) & 0xffffffffL);
                    case Decoder.SB -> store8(x[rs1] + imm, x[rs2]);
                    case Decoder.SH -> store16(x[rs1] + imm, x[rs2]);
                    case Decoder.SW -> store32(x[rs1] + imm, x[rs2]);
                    case Decoder.SD -> store64(x[rs1] + imm, x[rs2]);
                    case Decoder.ADDI -> x[rd] = x[rs1] + imm;
                    case Decoder.SLTI -> x[rd] = x[rs1] < imm ? 1 : 0;
                    case Decoder.SLTIU -> x[rd] = Long.compareUnsigned(x[rs1], imm) < 0 ? 1 : 0;
                    case Decoder.XORI -> x[rd] = x[rs1] ^ imm;
                    case Decoder.ORI -> x[rd] = x[rs1] | imm;
                    case Decoder.ANDI -> x[rd] = x[rs1] & imm;
                    case Decoder.SLLI -> x[rd] = x[rs1] << imm;
                    case Decoder.SRLI -> x[rd] = x[rs1] >>> imm;
                    case Decoder.SRAI -> x[rd] = x[rs1] >> imm;
                    case Decoder.ADDIW -> x[rd] = (int) x[rs1] + imm;
                    case Decoder.SLLIW -> x[rd] = (int) x[rs1] << imm;
                    case Decoder.SRLIW -> x[rd] = (int) x[rs1] >>> imm;
                    case Decoder.SRAIW -> x[rd] = (int) x[rs1] >> imm;
                    case Decoder.ADD -> x[rd] = x[rs1] + x[rs2];
                    case Decoder.SUB -> x[rd] = x[rs1] - x[rs2];
                    case Decoder.SLL -> x[rd] = x[rs1] << x[rs2];
                    case Decoder.SLT -> x[rd] = x[rs1] < x[rs2] ? 1 : 0;
                    case Decoder.SLTU -> x[rd] = Long.compareUnsigned(x[rs1], x[rs2]) < 0 ? 1 : 0;
                    case Decoder.XOR -> x[rd] = x[rs1] ^ x[rs2];
                    case Decoder.SRL -> x[rd] = x[rs1] >>> x[rs2];
                    case Decoder.SRA -> x[rd] = x[rs1] >> x[rs2];
                    case Decoder.OR -> x[rd] = x[rs1] | x[rs2];
                    case Decoder.AND -> x[rd] = x[rs1] & x[rs2];
                    case Decoder.ADDW -> x[rd] = (int) x[rs1] + (int) x[rs2];
                    case Decoder.SUBW -> x[rd] = (int) x[rs1] - (int) x[rs2];
                    case Decoder.SLLW -> x[rd] = (int) x[rs1] << (int) x[rs2];
                    case Decoder.SRLW -> x[rd] = (int) x[rs1] >>> (int) x[rs2];
                    case Decoder.SRAW -> x[rd] = (int) x[rs1] >> (int) x[rs2];
                    case Decoder.MUL, Decoder.MULH, Decoder.MULHSU, Decoder.MULHU, Decoder.DIV, Decoder.DIVU, Decoder.REM,
                         Decoder.REMU -> x[rd] = mulDiv(((int) d & 0x7f) - Decoder.MUL, x[rs1], x[rs2]);
                    case Decoder.MULW -> x[rd] = (int) x[rs1] * (int) x[rs2];
                    case Decoder.DIVW, Decoder.DIVUW, Decoder.REMW, Decoder.REMUW -> x[rd] = divW((int) d & 0x7f, (int) x[rs1], (int) x[rs2]);
                    default -> { // GENERIC: the reference interpreter, which reads and sets pc itself and may change anything
                        this.pc = pc;
                        execGeneric(d);
                        done++;
                        long after = this.pc;
                        if (after != next || ((after & PAGE_MASK) | fetchCtx) != curPageKey || done >= budget || pollNow) return done;
                        pc = after;
                        continue;
                    }
                }
                done++;
                if (((next ^ pc) & PAGE_MASK) != 0 || done >= budget || pollNow) {
                    this.pc = next;
                    return done;
                }
                pc = next;
            }
        } catch (Trap t) {
            this.pc = pc; // the instruction that trapped
            blockRetired = done;
            throw t;
        }
    }

    /** Counts an interpreted entry to the head at {@code slot} of the current page; true once it is hot. */
    private boolean isHot(int slot) {
        char[] heat = curHeat;
        if (heat == null) curHeat = heat = code.heat(curPageHva);
        int i = slot & (CodeCache.HEAT_SLOTS - 1);
        int count = heat[i];
        if (count < 0xffff) heat[i] = (char) (count + 1);
        return count >= Math.min(jitThreshold, 0xfffe);
    }

    /** Translates the block at {@code pc} (in the current code page) and installs it in the page's table. */
    private Block translate(long pc, boolean inlineMemory) {
        long[] ops = curOps;
        if (jitAsync) {
            // NONE marks the head as requested; the translator thread installs the block over it.
            if (!inlineMemory) {
                Block[] table = code.install(curPageHva, ops, (int) (pc >>> 1) & (CodeCache.SLOTS - 1), Block.NONE, 0);
                if (table != null) curBlocks = table;
            }
            BlockTranslator.requestInBackground(code, curPageHva, ops, new CodeSource(), (int) (pc & 0xfff), inlineMemory);
            return null;
        }
        long t0 = System.nanoTime();
        Block b = BlockTranslator.translate(new CodeSource(), (int) (pc & 0xfff), inlineMemory);
        if (inlineMemory) {
            if (b == Block.NONE) return null; // keep the block that runs now
            b.retired = Long.MIN_VALUE;       // translated for the last time
        }
        Block[] table = code.install(curPageHva, ops, (int) (pc >>> 1) & (CodeCache.SLOTS - 1), b,
                System.nanoTime() - t0);
        if (table != null) curBlocks = table;
        return b;
    }

    /** Blocks entered and the instructions they retired, for measurements. */
    public long blocksRun() { return blocksRun; }

    /** Page-table walks this hart made (soft TLB misses, and accesses no entry holds), for measurements. */
    public long pageWalks() { return pageWalks; }

    public long blockInstructions() { return blockInstructions; }

    /** Executes one instruction, or takes one trap or interrupt; for tests and debuggers. */
    void singleStep() {
        exitReason = -1;
        if (pollNow) {
            long before = pc;
            poll();
            if (pc != before) return;
        }
        try {
            instret += interpretToNextHead(1);
        } catch (Trap t) {
            blockRetired = 0;
            enterTrap(t.cause, t.tval);
        }
    }

    /** Asks the hart to leave {@link #run} at its next poll with {@link #EXIT_HALT}. */
    public void requestHalt() {
        halted = true;
        pollNow = true;
    }

    private volatile boolean halted;

    private void poll() {
        pollNow = false;
        curPageKey = -1; // re-check the code page at least every poll (covers remote fence.i)
        if (codeForgotten) {
            codeForgotten = false;
            java.util.Arrays.fill(tlbXCode, null);
        }
        if (halted) {
            exitReason = EXIT_HALT;
            return;
        }
        if (remoteFlush) {
            remoteFlush = false;
            flushTlb();
        }
        updateTimerInterrupts(time.ticks());
        checkInterrupts();
    }

    // Timer compares are unsigned: software writes all ones to mean "no timer".
    private void updateTimerInterrupts(long now) {
        if (Long.compareUnsigned(now, mtimecmp) >= 0) setMip(MIP_MTIP); else clearMip(MIP_MTIP);
        if (stipFromStimecmp()) {
            if (Long.compareUnsigned(now, stimecmp) >= 0) setMip(MIP_STIP); else clearMip(MIP_STIP);
        }
    }

    private boolean stipFromStimecmp() {
        return sbiInHypervisor || (menvcfg & MENVCFG_STCE) != 0;
    }

    /** The earliest timer deadline that could wake this hart from WFI, in ticks, or Long.MAX_VALUE. */
    public long nextTimerDeadline() {
        long d = Long.MAX_VALUE; // also "none": a deadline past 2^63 ticks (29,000 years) never comes
        if ((mie & MIP_MTIP) != 0 && Long.compareUnsigned(mtimecmp, d) < 0) d = mtimecmp;
        if ((mie & MIP_STIP) != 0 && stipFromStimecmp() && Long.compareUnsigned(stimecmp, d) < 0) d = stimecmp;
        return d;
    }

    /** Whether an interrupt is pending and enabled in mie, which is what ends WFI. */
    public boolean wakeupPending() {
        updateTimerInterrupts(time.ticks());
        return (mip & mie) != 0 || halted;
    }

    private void checkInterrupts() {
        long pending = mip & mie;
        if (pending == 0) return;
        long m = pending & ~mideleg;
        if (m != 0 && (priv < PRIV_M || (mstatus & MSTATUS_MIE) != 0)) {
            enterTrap(Long.MIN_VALUE | highestPriority(m), 0);
            return;
        }
        long s = pending & mideleg;
        if (s != 0 && (priv < PRIV_S || (priv == PRIV_S && (mstatus & MSTATUS_SIE) != 0))) {
            enterTrap(Long.MIN_VALUE | highestPriority(s), 0);
        }
    }

    private static int highestPriority(long bits) {
        if ((bits & MIP_MEIP) != 0) return IRQ_M_EXT;
        if ((bits & MIP_MSIP) != 0) return IRQ_M_SOFT;
        if ((bits & MIP_MTIP) != 0) return IRQ_M_TIMER;
        if ((bits & MIP_SEIP) != 0) return IRQ_S_EXT;
        if ((bits & MIP_SSIP) != 0) return IRQ_S_SOFT;
        return IRQ_S_TIMER;
    }

    void setMip(long bits) {
        if ((mip & bits) != bits) MIP_HANDLE.getAndBitwiseOr(this, bits);
    }

    void clearMip(long bits) {
        if ((mip & bits) != 0) MIP_HANDLE.getAndBitwiseAnd(this, ~bits);
    }

    // ------------------------------------------------------------------ HartInterrupts (any thread)

    @Override
    public void setInterruptLine(int irq, boolean level) {
        long bit = 1L << irq;
        if (level) {
            setMip(bit);
            pollNow = true;
            platform.wake(this);
        } else {
            clearMip(bit);
        }
    }

    @Override
    public void setMtimecmp(long ticks) {
        mtimecmp = ticks;
        pollNow = true;
        platform.wake(this);
    }

    @Override
    public long mtimecmp() { return mtimecmp; }

    /** Sets the supervisor timer (SBI set_timer or a stimecmp write) and clears a stale STIP. */
    void setStimecmp(long ticks) {
        stimecmp = ticks;
        if (Long.compareUnsigned(time.ticks(), ticks) < 0) clearMip(MIP_STIP);
        pollNow = true;
    }

    /** Another hart's sfence: drop all translations at this hart's next instruction boundary. */
    public void requestRemoteFlush() {
        remoteFlush = true;
        pollNow = true;
    }

    // ------------------------------------------------------------------ traps

    void enterTrap(long cause, long tval) {
        boolean interrupt = cause < 0;
        int code = (int) cause & 63;
        long deleg = interrupt ? mideleg : medeleg;
        if (priv <= PRIV_S && ((deleg >>> code) & 1) != 0) {
            scause = cause;
            sepc = pc;
            stval = tval;
            long s = mstatus;
            s = (s & ~MSTATUS_SPIE) | ((s & MSTATUS_SIE) << 4);
            s = (s & ~(MSTATUS_SIE | MSTATUS_SPP)) | ((long) priv << 8);
            mstatus = s;
            priv = PRIV_S;
            pc = (stvec & ~3L) + ((stvec & 1) != 0 && interrupt ? 4L * code : 0);
        } else {
            mcause = cause;
            mepc = pc;
            mtval = tval;
            long s = mstatus;
            s = (s & ~MSTATUS_MPIE) | ((s & MSTATUS_MIE) << 4);
            s = (s & ~(MSTATUS_MIE | MSTATUS_MPP)) | ((long) priv << MSTATUS_MPP_SHIFT);
            mstatus = s;
            priv = PRIV_M;
            pc = (mtvec & ~3L) + ((mtvec & 1) != 0 && interrupt ? 4L * code : 0);
        }
        updateCtx();
    }

    private Trap fault(int cause, long tval) {
        return trap.set(cause, tval);
    }

    private Trap illegal() {
        return trap.set(Trap.ILLEGAL_INSN, rawInsn & 0xffffffffL);
    }

    // ------------------------------------------------------------------ fetch and dispatch

    /** Runs every instruction through {@link #execute} (the reference interpreter); for differential tests. */
    boolean referenceOnly = Boolean.getBoolean("airlock.cpu.referenceOnly");

    private static int divW(int op, int a, int b) {
        return switch (op) {
            case Decoder.DIVW -> b == 0 ? -1 : a / b;
            case Decoder.DIVUW -> b == 0 ? -1 : Integer.divideUnsigned(a, b);
            case Decoder.REMW -> b == 0 ? a : a % b;
            default -> b == 0 ? a : Integer.remainderUnsigned(a, b);
        };
    }

    private long[] enterPage(long pc) {
        int idx = (int) (pc >>> 12) & TLB_MASK;
        long hva = tlbXTag[idx] == ((pc & PAGE_MASK) | fetchCtx) ? pc + tlbXDelta[idx] : fetchSlow(pc);
        curPageHva = hva & PAGE_MASK;
        curOps = codeOfEntry(idx, hva);
        curBlocks = code.blocks(hva);
        curHeat = null;
        curPageKey = (pc & PAGE_MASK) | fetchCtx;
        return curOps;
    }

    /**
     * The current code page and a few others (by virtual page, relative to it), for the block translator,
     * which reads them on the hart's thread. Instructions are decoded on first use, as the interpreter would.
     */
    private final class CodeSource implements BlockTranslator.Source {
        private final long vpage = curPageKey & PAGE_MASK;
        private final int[] pageNumbers = new int[BlockTranslator.MAX_PAGES];
        private final long[][] codes = new long[BlockTranslator.MAX_PAGES][];
        private final long[] hvas = new long[BlockTranslator.MAX_PAGES];
        private int pages = 1;

        CodeSource() {
            codes[0] = curOps;
            hvas[0] = curPageHva;
        }

        @Override
        public long decodedAt(int offset) {
            int i = indexOf(offset >> 12);
            if (i < 0) {
                if (pages == BlockTranslator.MAX_PAGES) return 0;
                // Only a page the fetch TLB holds now: looking one up could fault or set its accessed bit.
                long page = vpage + ((long) (offset >> 12) << 12);
                int idx = (int) (page >>> 12) & TLB_MASK;
                if (tlbXTag[idx] != (page | fetchCtx)) return 0;
                i = pages++;
                pageNumbers[i] = offset >> 12;
                hvas[i] = page + tlbXDelta[idx];
                codes[i] = codeOfEntry(idx, hvas[i]);
            }
            return decode(codes[i], hvas[i], offset & 0xfff);
        }

        @Override
        public long[] pageCode(int page) { return codes[indexOf(page)]; }

        private int indexOf(int page) {
            if (page == 0) return 0;
            for (int i = 1; i < pages; i++) if (pageNumbers[i] == page) return i;
            return -1;
        }

        /** The op at {@code offset} of a decoded page, decoding it if new; 0 for a 4-byte instruction across its end. */
        private static long decode(long[] ops, long pageHva, int offset) {
            int slot = offset >>> 1;
            long d = ops[slot];
            if (d != 0) return d;
            long hva = pageHva + offset;
            int lo = ALL.get(I16, hva) & 0xffff;
            if ((lo & 3) != 3) {
                d = Decoder.decode(Rvc.expand(lo), lo);
            } else if (offset == 0xffe) {
                return 0;
            } else {
                d = Decoder.decode(ALL.get(I32, hva), -1);
            }
            ops[slot] = d;
            return d;
        }
    }

    /**
     * Whether the virtual page {@code page} pages on from the one {@code pc} is in maps, for fetch in the
     * current mode, to the RAM page whose decoded code is {@code ops}; a translated block checks it before
     * it runs on there.
     */
    boolean codePageIs(long pc, int page, long[] ops) {
        long vpage = (pc & PAGE_MASK) + ((long) page << 12);
        int idx = (int) (vpage >>> 12) & TLB_MASK;
        return tlbXTag[idx] == (vpage | fetchCtx) && codeOfEntry(idx, vpage + tlbXDelta[idx]) == ops;
    }

    /** The decoded code of the page at {@code hva}, which fetch TLB entry {@code idx} maps now (the caller checked its tag). */
    private long[] codeOfEntry(int idx, long hva) {
        long[] ops = tlbXCode[idx];
        if (ops == null || ops[CodeCache.DEAD] != 0) tlbXCode[idx] = ops = code.page(hva);
        return ops;
    }

    // Loads and stores for translated blocks that keep them as calls. The launcher tells HotSpot not to
    // inline these (-XX:CompileCommand=dontinline,dev.airlock.cpu.rv64.Hart::outOfLine*): inlining the
    // memory path into every block makes C2 take several times longer per block, which a boot, with
    // hundreds of warm blocks, pays for in compile threads fighting the hart for the CPU.
    long outOfLineLoad8(long va) { return load8(va); }
    long outOfLineLoad16(long va) { return load16(va); }
    long outOfLineLoad32(long va) { return load32(va); }
    long outOfLineLoad64(long va) { return load64(va); }
    void outOfLineStore8(long va, long v) { store8(va, v); }
    void outOfLineStore16(long va, long v) { store16(va, v); }
    void outOfLineStore32(long va, long v) { store32(va, v); }
    void outOfLineStore64(long va, long v) { store64(va, v); }

    /**
     * Runs a block, from the dispatch loop. Out of line (the same launcher option) so that C2's guess at
     * the block classes this call sees, wrong each time a new block class shows up, costs a recompile
     * of this small method rather than of the whole dispatch loop (which had 5 to 9 C2 compiles a boot).
     */
    private int outOfLineEnter(Block b, long pc, int budget) { return b.run(this, pc, budget); }

    /** A generic instruction inside a translated block, through the reference interpreter; pc is set. */
    void execGeneric(long d) {
        boolean compressed = (d & Decoder.COMPRESSED) != 0;
        int insn = (int) (d >>> 32);
        rawInsn = compressed ? (int) (d >>> 8) & 0xffff : insn;
        execute(insn, compressed ? 2 : 4);
    }

    private long decode(long pc, long[] ops, int slot) {
        if (ops[CodeCache.DEAD] != 0) { // a store dropped this page: look it up again
            ops = enterPage(pc);
            if (ops[slot] != 0) return ops[slot];
        }
        long hva = curPageHva + (pc & 0xfff);
        int lo = ALL.get(I16, hva) & 0xffff;
        long d;
        if ((lo & 3) != 3) {
            int expanded = Rvc.expand(lo);
            d = referenceOnly ? Decoder.pack(Decoder.GENERIC, 0, 0, 0, expanded) | Decoder.COMPRESSED | ((long) lo << 8)
                    : Decoder.decode(expanded, lo);
        } else if ((pc & 0xfff) == 0xffe) {
            // The upper half lives on the next page, which stores there would not invalidate: never cache it.
            long next = pc + 2;
            int nidx = (int) (next >>> 12) & TLB_MASK;
            long nhva = tlbXTag[nidx] == ((next & PAGE_MASK) | fetchCtx) ? next + tlbXDelta[nidx] : fetchSlow(next);
            return Decoder.pack(Decoder.GENERIC, 0, 0, 0, ((ALL.get(I16, nhva) & 0xffff) << 16) | lo);
        } else {
            int insn = ALL.get(I32, hva);
            d = referenceOnly ? Decoder.pack(Decoder.GENERIC, 0, 0, 0, insn) : Decoder.decode(insn, -1);
        }
        ops[slot] = d;
        return d;
    }

    /** Makes the hart look its code page up again before its next instruction dispatch, and poll soon (any thread). */
    void forgetCodePage() {
        curPageKey = -1;
        codeForgotten = true;
        pollNow = true;
    }

    /** Drops this hart's write permission for a RAM page that now holds decoded code (any thread). */
    void revokeWrite(long pageHva) {
        for (int i = 0; i < TLB_SIZE; i++) {
            long tag = tlbWTag[i];
            if (tag != -1 && (tag & PAGE_MASK) + tlbWDelta[i] == pageHva) tlbWTag[i] = -1;
        }
    }

    private long fetchSlow(long vaddr) {
        long gpa = translate(vaddr, ACCESS_EXEC, priv);
        long hva = ram.hvaOf(gpa);
        if (hva < 0) throw fault(Trap.INSN_ACCESS, vaddr);
        int idx = (int) (vaddr >>> 12) & TLB_MASK;
        tlbXTag[idx] = (vaddr & PAGE_MASK) | fetchCtx;
        tlbXGlobal[idx] = walkGlobal;
        tlbXDelta[idx] = (hva & PAGE_MASK) - (vaddr & PAGE_MASK);
        tlbXCode[idx] = null;
        return hva;
    }

    private void execute(int insn, int len) {
        switch (insn & 0x7f) {
            case 0x37 -> { setX((insn >>> 7) & 31, insn & 0xfffff000); pc += len; }              // LUI
            case 0x17 -> { setX((insn >>> 7) & 31, pc + (insn & 0xfffff000)); pc += len; }       // AUIPC
            case 0x6F -> {                                                                       // JAL
                int imm = ((insn >> 31) << 20) | (insn & 0xff000) | ((insn >>> 9) & 0x800) | ((insn >>> 20) & 0x7fe);
                long target = pc + imm;
                setX((insn >>> 7) & 31, pc + len);
                pc = target;
            }
            case 0x67 -> {                                                                       // JALR
                if (((insn >>> 12) & 7) != 0) throw illegal();
                long target = (x[(insn >>> 15) & 31] + (insn >> 20)) & ~1L;
                setX((insn >>> 7) & 31, pc + len);
                pc = target;
            }
            case 0x63 -> branch(insn, len);
            case 0x03 -> load(insn, len);
            case 0x23 -> store(insn, len);
            case 0x13 -> opImm(insn, len);
            case 0x1B -> opImm32(insn, len);
            case 0x33 -> op(insn, len);
            case 0x3B -> op32(insn, len);
            case 0x0F -> miscMem(insn, len);
            case 0x73 -> system(insn, len);
            case 0x2F -> amo(insn, len);
            case 0x07 -> loadFp(insn, len);
            case 0x27 -> storeFp(insn, len);
            case 0x43, 0x47, 0x4B, 0x4F -> { requireFs(); FpExec.fma(this, insn); pc += len; }
            case 0x53 -> { requireFs(); FpExec.op(this, insn); pc += len; }
            default -> throw illegal();
        }
    }

    private void setX(int rd, long value) {
        if (rd != 0) x[rd] = value;
    }

    private void branch(int insn, int len) {
        long a = x[(insn >>> 15) & 31], b = x[(insn >>> 20) & 31];
        boolean taken = switch ((insn >>> 12) & 7) {
            case 0 -> a == b;
            case 1 -> a != b;
            case 4 -> a < b;
            case 5 -> a >= b;
            case 6 -> Long.compareUnsigned(a, b) < 0;
            case 7 -> Long.compareUnsigned(a, b) >= 0;
            default -> throw illegal();
        };
        if (taken) {
            int imm = ((insn >> 31) << 12) | ((insn << 4) & 0x800) | ((insn >>> 20) & 0x7e0) | ((insn >>> 7) & 0x1e);
            pc += imm;
        } else {
            pc += len;
        }
    }

    private void load(int insn, int len) {
        long va = x[(insn >>> 15) & 31] + (insn >> 20);
        long v = switch ((insn >>> 12) & 7) {
            case 0 -> (byte) load8(va);
            case 1 -> (short) load16(va);
            case 2 -> (int) load32(va);
            case 3 -> load64(va);
            case 4 -> load8(va) & 0xff;
            case 5 -> load16(va) & 0xffff;
            case 6 -> load32(va) & 0xffffffffL;
            default -> throw illegal();
        };
        setX((insn >>> 7) & 31, v);
        pc += len;
    }

    private void store(int insn, int len) {
        long va = x[(insn >>> 15) & 31] + (((insn >> 25) << 5) | ((insn >>> 7) & 31));
        long v = x[(insn >>> 20) & 31];
        switch ((insn >>> 12) & 7) {
            case 0 -> store8(va, v);
            case 1 -> store16(va, v);
            case 2 -> store32(va, v);
            case 3 -> store64(va, v);
            default -> throw illegal();
        }
        pc += len;
    }

    private void opImm(int insn, int len) {
        long a = x[(insn >>> 15) & 31];
        int imm = insn >> 20;
        long v = switch ((insn >>> 12) & 7) {
            case 0 -> a + imm;
            case 1 -> { if ((imm >>> 6) != 0) throw illegal(); yield a << imm; }
            case 2 -> a < imm ? 1 : 0;
            case 3 -> Long.compareUnsigned(a, imm) < 0 ? 1 : 0;
            case 4 -> a ^ imm;
            case 5 -> switch ((imm >>> 6) & 0x3f) {
                case 0 -> a >>> imm;
                case 0x10 -> a >> imm;
                default -> throw illegal();
            };
            case 6 -> a | imm;
            default -> a & imm;
        };
        setX((insn >>> 7) & 31, v);
        pc += len;
    }

    private void opImm32(int insn, int len) {
        int a = (int) x[(insn >>> 15) & 31];
        int imm = insn >> 20;
        int shamt = imm & 31;
        int v = switch ((insn >>> 12) & 7) {
            case 0 -> a + imm;
            case 1 -> { if ((imm >>> 5) != 0) throw illegal(); yield a << shamt; }
            case 5 -> switch ((imm >>> 5) & 0x7f) {
                case 0 -> a >>> shamt;
                case 0x20 -> a >> shamt;
                default -> throw illegal();
            };
            default -> throw illegal();
        };
        setX((insn >>> 7) & 31, v);
        pc += len;
    }

    private void op(int insn, int len) {
        long a = x[(insn >>> 15) & 31], b = x[(insn >>> 20) & 31];
        int f3 = (insn >>> 12) & 7;
        long v = switch (insn >>> 25) {
            case 0 -> switch (f3) {
                case 0 -> a + b;
                case 1 -> a << b;
                case 2 -> a < b ? 1 : 0;
                case 3 -> Long.compareUnsigned(a, b) < 0 ? 1 : 0;
                case 4 -> a ^ b;
                case 5 -> a >>> b;
                case 6 -> a | b;
                default -> a & b;
            };
            case 0x20 -> switch (f3) {
                case 0 -> a - b;
                case 5 -> a >> b;
                default -> throw illegal();
            };
            case 1 -> mulDiv(f3, a, b);
            default -> throw illegal();
        };
        setX((insn >>> 7) & 31, v);
        pc += len;
    }

    private static long mulDiv(int f3, long a, long b) {
        return switch (f3) {
            case 0 -> a * b;
            case 1 -> Math.multiplyHigh(a, b);
            case 2 -> Math.multiplyHigh(a, b) + ((b >> 63) & a); // MULHSU: b unsigned adds a * 2^64 when b < 0
            case 3 -> Math.unsignedMultiplyHigh(a, b);
            case 4 -> b == 0 ? -1 : a / b;       // Java's MIN / -1 is MIN, as RISC-V wants
            case 5 -> b == 0 ? -1 : Long.divideUnsigned(a, b);
            case 6 -> b == 0 ? a : a % b;
            default -> b == 0 ? a : Long.remainderUnsigned(a, b);
        };
    }

    private void op32(int insn, int len) {
        int a = (int) x[(insn >>> 15) & 31], b = (int) x[(insn >>> 20) & 31];
        int f3 = (insn >>> 12) & 7;
        int v = switch (insn >>> 25) {
            case 0 -> switch (f3) {
                case 0 -> a + b;
                case 1 -> a << b;
                case 5 -> a >>> b;
                default -> throw illegal();
            };
            case 0x20 -> switch (f3) {
                case 0 -> a - b;
                case 5 -> a >> b;
                default -> throw illegal();
            };
            case 1 -> switch (f3) {
                case 0 -> a * b;
                case 4 -> b == 0 ? -1 : a / b;
                case 5 -> b == 0 ? -1 : Integer.divideUnsigned(a, b);
                case 6 -> b == 0 ? a : a % b;
                case 7 -> b == 0 ? a : Integer.remainderUnsigned(a, b);
                default -> throw illegal();
            };
            default -> throw illegal();
        };
        setX((insn >>> 7) & 31, v);
        pc += len;
    }

    private void miscMem(int insn, int len) {
        switch ((insn >>> 12) & 7) {
            case 0 -> VarHandle.fullFence(); // FENCE (and FENCE.TSO, PAUSE)
            case 1 -> curPageKey = -1;       // FENCE.I: stores already dropped stale code; re-check the page
            default -> throw illegal();
        }
        pc += len;
    }

    // ------------------------------------------------------------------ SYSTEM

    private void system(int insn, int len) {
        int f3 = (insn >>> 12) & 7;
        if (f3 == 0) {
            systemPrivileged(insn, len);
            return;
        }
        if (f3 == 4) throw illegal();
        int csr = insn >>> 20;
        int rd = (insn >>> 7) & 31;
        int rs1 = (insn >>> 15) & 31;
        long operand = (f3 & 4) != 0 ? rs1 : x[rs1];
        boolean writes = (f3 & 3) == 1 || rs1 != 0;
        if ((csr >>> 8 & 3) > priv) throw illegal();
        if (writes && (csr >>> 10) == 3) throw illegal();
        long old = (f3 & 3) == 1 && rd == 0 ? 0 : readCsr(csr);
        if (writes) {
            long v = switch (f3 & 3) {
                case 1 -> operand;
                case 2 -> old | operand;
                default -> old & ~operand;
            };
            writeCsr(csr, v);
        }
        setX(rd, old);
        pc += len;
    }

    private void systemPrivileged(int insn, int len) {
        switch (insn) {
            case 0x00000073 -> { // ECALL
                if (priv == PRIV_S && sbiInHypervisor) {
                    Sbi.call(this);
                    pc += len;
                    return;
                }
                throw fault(Trap.ECALL_U + priv, 0);
            }
            case 0x00100073 -> throw fault(Trap.BREAKPOINT, pc);
            case 0x30200073 -> { // MRET
                if (priv < PRIV_M) throw illegal();
                long s = mstatus;
                int mpp = (int) ((s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT);
                s = (s & ~MSTATUS_MIE) | ((s & MSTATUS_MPIE) >>> 4);
                s |= MSTATUS_MPIE;
                s &= ~MSTATUS_MPP;
                if (mpp != PRIV_M) s &= ~MSTATUS_MPRV;
                mstatus = s;
                priv = mpp;
                pc = mepc;
                updateCtx();
                pollNow = true;
            }
            case 0x10200073 -> { // SRET
                if (priv < PRIV_S || (priv == PRIV_S && (mstatus & MSTATUS_TSR) != 0)) throw illegal();
                long s = mstatus;
                int spp = (int) ((s & MSTATUS_SPP) >>> 8);
                s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) >>> 4);
                s |= MSTATUS_SPIE;
                s &= ~(MSTATUS_SPP | MSTATUS_MPRV);
                mstatus = s;
                priv = spp;
                pc = sepc;
                updateCtx();
                pollNow = true;
            }
            case 0x10500073 -> { // WFI
                if (priv == PRIV_U || (priv == PRIV_S && (mstatus & MSTATUS_TW) != 0)) throw illegal();
                pc += len;
                if (!wakeupPending()) exitReason = EXIT_WFI;
                pollNow = true;
            }
            default -> {
                if ((insn >>> 25) == 0x09 && ((insn >>> 7) & 31) == 0) { // SFENCE.VMA
                    if (priv == PRIV_U || (priv == PRIV_S && (mstatus & MSTATUS_TVM) != 0)) throw illegal();
                    int rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
                    if (rs1 != 0) {
                        flushTlbPage(x[rs1]); // that page in every address space: more than asked, never less
                    } else if (rs2 == 0) {
                        flushTlb();
                    } else {
                        // One address space's entries but not the global ones (Linux, on reusing an ASID).
                        int asid = (int) x[rs2] & 0xffff;
                        for (int i = 0; i < ASID_SLOTS; i++) if (slotAsid[i] == asid) dropSlot(i, true);
                    }
                    pc += len;
                    return;
                }
                throw illegal();
            }
        }
    }

    /** Leaves run() at the next boundary with the given reason (used by SBI HSM stop and reset). */
    void exit(int reason) {
        exitReason = reason;
        pollNow = true;
    }

    private void requireFs() {
        if ((mstatus & MSTATUS_FS) == 0) throw illegal();
    }

    void markFsDirty() {
        mstatus |= MSTATUS_FS | MSTATUS_SD;
    }

    long readCsr(int csr) {
        return switch (csr) {
            case FFLAGS -> { requireFs(); yield fpu.fflags; }
            case FRM -> { requireFs(); yield frm; }
            case FCSR -> { requireFs(); yield (frm << 5) | fpu.fflags; }
            case CYCLE, INSTRET -> { checkCounter(csr & 0x1f); yield instret; }
            case TIME -> { checkCounter(1); yield time.ticks(); }
            case SSTATUS -> sstatus();
            case SIE -> mie & mideleg;
            case STVEC -> stvec;
            case SCOUNTEREN -> scounteren;
            case SENVCFG -> senvcfg;
            case SSCRATCH -> sscratch;
            case SEPC -> sepc;
            case SCAUSE -> scause;
            case STVAL -> stval;
            case SIP -> mip & mideleg;
            case STIMECMP -> { checkStimecmp(); yield stimecmp; }
            case SATP -> {
                if (priv == PRIV_S && (mstatus & MSTATUS_TVM) != 0) throw illegal();
                yield satp;
            }
            case MVENDORID, MARCHID, MIMPID, MCONFIGPTR -> 0;
            case MHARTID -> hartId;
            case MSTATUS -> mstatusRead();
            case MISA -> MISA_RV64GC;
            case MEDELEG -> medeleg;
            case MIDELEG -> mideleg;
            case MIE -> mie;
            case MTVEC -> mtvec;
            case MCOUNTEREN -> mcounteren;
            case MENVCFG -> menvcfg;
            case MSCRATCH -> mscratch;
            case MEPC -> mepc;
            case MCAUSE -> mcause;
            case MTVAL -> mtval;
            case MIP -> mip;
            case MCYCLE, MINSTRET -> instret;
            case MCOUNTINHIBIT, TSELECT -> 0;
            case TDATA1 -> 0;
            default -> {
                if (csr >= PMPCFG0 && csr < PMPADDR0 + 64) yield 0;              // no PMP: reads as zero
                if ((csr >= 0xB03 && csr <= 0xB1F) || (csr >= 0x323 && csr <= 0x33F)) yield 0; // hpm counters
                if (csr >= 0xC03 && csr <= 0xC1F) { checkCounter(csr & 0x1f); yield 0; }
                throw illegal();
            }
        };
    }

    private void checkCounter(int bit) {
        if (priv < PRIV_M && ((mcounteren >>> bit) & 1) == 0) throw illegal();
        if (priv == PRIV_U && ((scounteren >>> bit) & 1) == 0) throw illegal();
    }

    private void checkStimecmp() {
        if (priv < PRIV_M && (menvcfg & MENVCFG_STCE) == 0) throw illegal();
    }

    private long mstatusRead() {
        long s = mstatus & ~MSTATUS_SD;
        if ((s & MSTATUS_FS) == MSTATUS_FS) s |= MSTATUS_SD;
        return s;
    }

    private long sstatus() {
        return mstatusRead() & SSTATUS_MASK;
    }

    void writeCsr(int csr, long v) {
        switch (csr) {
            case FFLAGS -> { requireFs(); fpu.fflags = (int) v & 0x1f; markFsDirty(); }
            case FRM -> { requireFs(); frm = (int) v & 7; markFsDirty(); }
            case FCSR -> { requireFs(); frm = (int) (v >>> 5) & 7; fpu.fflags = (int) v & 0x1f; markFsDirty(); }
            case SSTATUS -> setMstatus((mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK));
            case SIE -> { mie = (mie & ~mideleg) | (v & mideleg); pollNow = true; }
            case STVEC -> stvec = v & ~2L;
            case SCOUNTEREN -> scounteren = v & 0xffffffffL;
            case SENVCFG -> senvcfg = v & 1; // FIOM only
            case SSCRATCH -> sscratch = v;
            case SEPC -> sepc = v & ~1L;
            case SCAUSE -> scause = v;
            case STVAL -> stval = v;
            case SIP -> { long m = mideleg & MIP_SSIP; if ((v & m) != 0) setMip(m); else clearMip(m); pollNow = true; }
            case STIMECMP -> { checkStimecmp(); setStimecmp(v); }
            case SATP -> {
                if (priv == PRIV_S && (mstatus & MSTATUS_TVM) != 0) throw illegal();
                long mode = v >>> 60;
                // WARL: a write naming an unsupported mode changes nothing, which is how Linux probes Sv57/Sv48.
                if (mode == 0 || mode == 8 || mode == 9) {
                    long old = satp;
                    satp = v & ((0xfL << 60) | SATP_ASID_BITS | 0xfff_ffff_ffffL);
                    if (satp == old) {
                        // nothing changed
                    } else if ((old >>> 60) == mode && ((old ^ satp) & SATP_ASID_BITS) != 0) {
                        switchAsid(satpAsid()); // a context switch: entries stay, tagged by ASID
                    } else {
                        // Another mode, or new tables under the same ASID: no stale entry is worth the
                        // risk, though the spec leaves that to the guest's sfence.vma.
                        resetAsidSlots();
                    }
                }
            }
            case MSTATUS -> setMstatus(v);
            case MISA -> { }
            case MEDELEG -> medeleg = v & 0xb3ffL & ~(1L << Trap.ECALL_M);
            case MIDELEG -> { mideleg = v & S_INTERRUPTS; pollNow = true; }
            case MIE -> { mie = v & (S_INTERRUPTS | M_INTERRUPTS); pollNow = true; }
            case MTVEC -> mtvec = v & ~2L;
            case MCOUNTEREN -> mcounteren = v & 0xffffffffL;
            case MENVCFG -> menvcfg = v & (MENVCFG_STCE | 1);
            case MSCRATCH -> mscratch = v;
            case MEPC -> mepc = v & ~1L;
            case MCAUSE -> mcause = v;
            case MTVAL -> mtval = v;
            case MIP -> {
                long writable = MIP_SSIP | MIP_SEIP | (stipFromStimecmp() ? 0 : MIP_STIP);
                long cur = mip;
                long next = (cur & ~writable) | (v & writable);
                MIP_HANDLE.getAndBitwiseOr(this, next & writable);
                MIP_HANDLE.getAndBitwiseAnd(this, ~(writable & ~next));
                pollNow = true;
            }
            case MCYCLE, MINSTRET -> instret = v;
            case MCOUNTINHIBIT, TSELECT, TDATA1 -> { }
            default -> {
                if (csr >= PMPCFG0 && csr < PMPADDR0 + 64) return;
                if ((csr >= 0xB03 && csr <= 0xB1F) || (csr >= 0x323 && csr <= 0x33F)) return;
                throw illegal();
            }
        }
    }

    private void setMstatus(long v) {
        long s = (mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
        if (((s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT) == 2) s &= ~MSTATUS_MPP; // MPP is WARL: 2 is reserved
        mstatus = s;
        updateCtx();
        pollNow = true;
    }

    // ------------------------------------------------------------------ address translation

    void updateCtx() {
        fetchCtx = priv | asidSlot << CTX_SLOT_SHIFT;
        dataPriv = priv == PRIV_M && (mstatus & MSTATUS_MPRV) != 0
                ? (int) ((mstatus & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT) : priv;
        dataCtx = dataPriv | (int) ((mstatus >>> 18) & 3) << 2 | asidSlot << CTX_SLOT_SHIFT; // SUM, MXR
    }

    public void flushTlb() {
        curPageKey = -1;
        java.util.Arrays.fill(tlbRTag, -1);
        java.util.Arrays.fill(tlbWTag, -1);
        java.util.Arrays.fill(tlbXTag, -1);
    }

    private int satpAsid() {
        return (int) (satp >>> 44) & 0xffff;
    }

    private static int[] newSlotTable() {
        int[] t = new int[ASID_SLOTS];
        java.util.Arrays.fill(t, -1);
        return t;
    }

    /**
     * Drops every TLB entry and binds the slots afresh, slot 0 to the ASID in satp: after a reset, a
     * restore, or a change of translation mode. Together, so no entry outlives its slot's binding.
     */
    void resetAsidSlots() {
        flushTlb();
        java.util.Arrays.fill(slotAsid, -1);
        asidSlot = 0;
        nextVictimSlot = 1;
        slotAsid[0] = satpAsid();
        updateCtx();
    }

    /** Makes {@code asid} the current address space: its slot's entries come back, global ones move along. */
    private void switchAsid(int asid) {
        int slot = -1;
        for (int i = 0; i < ASID_SLOTS; i++) if (slotAsid[i] == asid) { slot = i; break; }
        if (slot < 0) {
            for (int i = 0; i < ASID_SLOTS && slot < 0; i++) if (slotAsid[i] < 0) slot = i;
            if (slot < 0) {
                slot = nextVictimSlot;
                nextVictimSlot = (nextVictimSlot + 1) % ASID_SLOTS;
                if (slot == asidSlot) { slot = nextVictimSlot; nextVictimSlot = (nextVictimSlot + 1) % ASID_SLOTS; }
            }
            dropSlot(slot, false);
            slotAsid[slot] = asid;
        }
        if (slot == asidSlot) return;
        long to = (long) slot << CTX_SLOT_SHIFT;
        retagGlobal(tlbRTag, tlbRGlobal, to);
        retagGlobal(tlbWTag, tlbWGlobal, to);
        retagGlobal(tlbXTag, tlbXGlobal, to);
        asidSlot = slot;
        updateCtx();
        curPageKey = -1;
    }

    private static void retagGlobal(long[] tags, boolean[] global, long slotBits) {
        for (int i = 0; i < TLB_SIZE; i++) {
            if (global[i] && tags[i] != -1) tags[i] = (tags[i] & ~CTX_SLOT_MASK) | slotBits;
        }
    }

    /** Drops the entries of {@code slot}: all of them, or only those not global. */
    private void dropSlot(int slot, boolean keepGlobal) {
        long bits = (long) slot << CTX_SLOT_SHIFT;
        dropSlot(tlbRTag, tlbRGlobal, bits, keepGlobal);
        dropSlot(tlbWTag, tlbWGlobal, bits, keepGlobal);
        dropSlot(tlbXTag, tlbXGlobal, bits, keepGlobal);
        curPageKey = -1;
    }

    private static void dropSlot(long[] tags, boolean[] global, long slotBits, boolean keepGlobal) {
        for (int i = 0; i < TLB_SIZE; i++) {
            if (tags[i] != -1 && (tags[i] & CTX_SLOT_MASK) == slotBits && !(keepGlobal && global[i])) tags[i] = -1;
        }
    }

    void flushTlbPage(long vaddr) {
        curPageKey = -1;
        int idx = (int) (vaddr >>> 12) & TLB_MASK;
        tlbRTag[idx] = -1;
        tlbWTag[idx] = -1;
        tlbXTag[idx] = -1;
    }

    /** Translates a virtual address for an access by privilege {@code effPriv}; throws a guest fault. */
    long translate(long vaddr, int access, int effPriv) {
        long mode = satp >>> 60;
        walkGlobal = false;
        if (effPriv == PRIV_M || mode == 0) return vaddr;
        pageWalks++;
        int levels = mode == 8 ? 3 : 4;
        int vaBits = 12 + 9 * levels;
        if ((vaddr << (64 - vaBits)) >> (64 - vaBits) != vaddr) throw pageFault(vaddr, access);
        long table = (satp & 0xfff_ffff_ffffL) << 12;
        for (int level = levels - 1; level >= 0; level--) {
            long pteGpa = table + ((vaddr >>> (12 + 9 * level)) & 0x1ff) * 8;
            long pteHva = ram.hvaOf(pteGpa);
            if (pteHva < 0) throw fault(accessFaultCause(access), vaddr);
            long pte = (long) ATOMIC64.getVolatile(ALL, pteHva);
            if ((pte & 1) == 0 || (pte & 6) == 4 || (pte >>> 54) != 0) throw pageFault(vaddr, access);
            long ppn = (pte >>> 10) & 0xfff_ffff_ffffL;
            if ((pte & 0xa) == 0) { // pointer to the next level
                if (level == 0 || (pte & 0xd0) != 0) throw pageFault(vaddr, access);
                table = ppn << 12;
                continue;
            }
            if (!permitted(pte, access, effPriv)) throw pageFault(vaddr, access);
            long levelMask = (1L << (9 * level)) - 1;
            if ((ppn & levelMask) != 0) throw pageFault(vaddr, access); // misaligned superpage
            long want = 0x40 | (access == ACCESS_WRITE ? 0x80 : 0); // A, and D for writes
            if ((pte & want) != want) {
                // Hardware A/D update; a racing change by another hart means we walk again.
                if (!ATOMIC64.compareAndSet(ALL, pteHva, pte, pte | want)) return translate(vaddr, access, effPriv);
                if (code.written(pteHva)) codeWritten = true; // a clone's page-table page is its own now
            }
            walkGlobal = (pte & 0x20) != 0;
            return ((ppn & ~levelMask) << 12) | (vaddr & ((levelMask << 12) | 0xfff));
        }
        throw pageFault(vaddr, access);
    }

    private boolean permitted(long pte, int access, int effPriv) {
        boolean user = (pte & 0x10) != 0;
        if (effPriv == PRIV_U && !user) return false;
        if (effPriv == PRIV_S && user && (access == ACCESS_EXEC || (mstatus & MSTATUS_SUM) == 0)) return false;
        return switch (access) {
            case ACCESS_READ -> (pte & 2) != 0 || ((mstatus & MSTATUS_MXR) != 0 && (pte & 8) != 0);
            case ACCESS_WRITE -> (pte & 4) != 0;
            default -> (pte & 8) != 0;
        };
    }

    private Trap pageFault(long vaddr, int access) {
        int cause = switch (access) {
            case ACCESS_READ -> Trap.LOAD_PAGE_FAULT;
            case ACCESS_WRITE -> Trap.STORE_PAGE_FAULT;
            default -> Trap.INSN_PAGE_FAULT;
        };
        return fault(cause, vaddr);
    }

    private static int accessFaultCause(int access) {
        return switch (access) {
            case ACCESS_READ -> Trap.LOAD_ACCESS;
            case ACCESS_WRITE -> Trap.STORE_ACCESS;
            default -> Trap.INSN_ACCESS;
        };
    }

    // ------------------------------------------------------------------ loads and stores

    long load8(long va) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbRTag[idx] == ((va & PAGE_MASK) | dataCtx)) return ALL.get(I8, va + tlbRDelta[idx]);
        return loadSlow(va, 1);
    }

    long load16(long va) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbRTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xffe) {
            return ALL.get(I16, va + tlbRDelta[idx]);
        }
        return loadSlow(va, 2);
    }

    long load32(long va) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbRTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xffc) {
            return ALL.get(I32, va + tlbRDelta[idx]);
        }
        return loadSlow(va, 4);
    }

    long load64(long va) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbRTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xff8) {
            return ALL.get(I64, va + tlbRDelta[idx]);
        }
        return loadSlow(va, 8);
    }

    void store8(long va, long v) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbWTag[idx] == ((va & PAGE_MASK) | dataCtx)) ALL.set(I8, va + tlbWDelta[idx], (byte) v);
        else storeSlow(va, 1, v);
    }

    void store16(long va, long v) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbWTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xffe) {
            ALL.set(I16, va + tlbWDelta[idx], (short) v);
        } else {
            storeSlow(va, 2, v);
        }
    }

    void store32(long va, long v) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbWTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xffc) {
            ALL.set(I32, va + tlbWDelta[idx], (int) v);
        } else {
            storeSlow(va, 4, v);
        }
    }

    void store64(long va, long v) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        if (tlbWTag[idx] == ((va & PAGE_MASK) | dataCtx) && (va & 0xfff) <= 0xff8) {
            ALL.set(I64, va + tlbWDelta[idx], v);
        } else {
            storeSlow(va, 8, v);
        }
    }

    private long loadSlow(long va, int size) {
        if ((va & 0xfff) > 0x1000 - size) { // misaligned across a page: byte by byte, low byte first
            long v = 0;
            for (int i = 0; i < size; i++) v |= (load8(va + i) & 0xff) << (8 * i);
            return v;
        }
        long gpa = translate(va, ACCESS_READ, dataPriv);
        long hva = ram.hvaOf(gpa);
        if (hva >= 0) {
            fillDataEntry(tlbRTag, tlbRDelta, tlbRGlobal, va, hva);
            return switch (size) {
                case 1 -> ALL.get(I8, hva);
                case 2 -> ALL.get(I16, hva);
                case 4 -> ALL.get(I32, hva);
                default -> ALL.get(I64, hva);
            };
        }
        if (!mmio.isMapped(gpa)) throw fault(Trap.LOAD_ACCESS, va);
        return mmio.read(gpa, size);
    }

    /** Fills the read or write TLB entry of {@code va} from the walk just done, which found {@code hva}. */
    private void fillDataEntry(long[] tags, long[] deltas, boolean[] global, long va, long hva) {
        int idx = (int) (va >>> 12) & TLB_MASK;
        tags[idx] = (va & PAGE_MASK) | dataCtx;
        deltas[idx] = (hva & PAGE_MASK) - (va & PAGE_MASK);
        global[idx] = walkGlobal;
    }

    private void storeSlow(long va, int size, long v) {
        if ((va & 0xfff) > 0x1000 - size) {
            // Translate both pages before writing anything, so a fault leaves memory untouched.
            translate(va, ACCESS_WRITE, dataPriv);
            translate(va + size - 1, ACCESS_WRITE, dataPriv);
            for (int i = 0; i < size; i++) store8(va + i, v >>> (8 * i));
            return;
        }
        long gpa = translate(va, ACCESS_WRITE, dataPriv);
        long hva = ram.hvaOf(gpa);
        if (hva >= 0) {
            fillDataEntry(tlbWTag, tlbWDelta, tlbWGlobal, va, hva);
            switch (size) {
                case 1 -> ALL.set(I8, hva, (byte) v);
                case 2 -> ALL.set(I16, hva, (short) v);
                case 4 -> ALL.set(I32, hva, (int) v);
                default -> ALL.set(I64, hva, v);
            }
            // After the TLB fill, so a page registered as code meanwhile has revoked that entry already.
            if (code.written(hva)) codeWritten = true;
            return;
        }
        if (!mmio.isMapped(gpa)) throw fault(Trap.STORE_ACCESS, va);
        mmio.write(gpa, size, v);
    }

    /** The host address for an atomic access: RAM only, naturally aligned, writable. */
    private long atomicHva(long va, int size, int access) {
        if ((va & (size - 1)) != 0) {
            throw fault(access == ACCESS_READ ? Trap.LOAD_MISALIGNED : Trap.STORE_MISALIGNED, va);
        }
        // Through the soft TLB like loads and stores: a kernel takes locks and bumps counters with these
        // all the time, and walking for each was nearly half of a fresh clone's page walks.
        int idx = (int) (va >>> 12) & TLB_MASK;
        long key = (va & PAGE_MASK) | dataCtx;
        if (access == ACCESS_WRITE ? tlbWTag[idx] == key : tlbRTag[idx] == key) {
            return va + (access == ACCESS_WRITE ? tlbWDelta[idx] : tlbRDelta[idx]);
        }
        long gpa = translate(va, access, dataPriv);
        long hva = ram.hvaOf(gpa);
        if (hva < 0) throw fault(access == ACCESS_READ ? Trap.LOAD_ACCESS : Trap.STORE_ACCESS, va);
        if (access == ACCESS_WRITE) {
            fillDataEntry(tlbWTag, tlbWDelta, tlbWGlobal, va, hva);
            if (code.written(hva)) codeWritten = true; // after the TLB fill, as in storeSlow
        } else {
            fillDataEntry(tlbRTag, tlbRDelta, tlbRGlobal, va, hva);
        }
        return hva;
    }

    // ------------------------------------------------------------------ A extension

    private void amo(int insn, int len) {
        int f3 = (insn >>> 12) & 7;
        if (f3 != 2 && f3 != 3) throw illegal();
        boolean dword = f3 == 3;
        int rd = (insn >>> 7) & 31;
        long va = x[(insn >>> 15) & 31];
        long src = x[(insn >>> 20) & 31];
        int funct5 = insn >>> 27;
        long result;
        if (funct5 == 0x02) { // LR
            if (((insn >>> 20) & 31) != 0) throw illegal();
            long hva = atomicHva(va, dword ? 8 : 4, ACCESS_READ);
            result = dword ? (long) ATOMIC64.getVolatile(ALL, hva) : (int) ATOMIC32.getVolatile(ALL, hva);
            reservationAddr = va;
            reservationValue = result;
        } else if (funct5 == 0x03) { // SC: succeeds if memory still holds what LR saw
            long hva = atomicHva(va, dword ? 8 : 4, ACCESS_WRITE);
            boolean ok = reservationAddr == va && (dword
                    ? ATOMIC64.compareAndSet(ALL, hva, reservationValue, src)
                    : ATOMIC32.compareAndSet(ALL, hva, (int) reservationValue, (int) src));
            reservationAddr = -1;
            result = ok ? 0 : 1;
        } else {
            long hva = atomicHva(va, dword ? 8 : 4, ACCESS_WRITE);
            result = dword ? amo64(funct5, hva, src) : amo32(funct5, hva, (int) src);
        }
        setX(rd, result);
        pc += len;
    }

    private long amo64(int funct5, long hva, long src) {
        return switch (funct5) {
            case 0x01 -> (long) ATOMIC64.getAndSet(ALL, hva, src);
            case 0x00 -> (long) ATOMIC64.getAndAdd(ALL, hva, src);
            case 0x04 -> (long) ATOMIC64.getAndBitwiseXor(ALL, hva, src);
            case 0x0C -> (long) ATOMIC64.getAndBitwiseAnd(ALL, hva, src);
            case 0x08 -> (long) ATOMIC64.getAndBitwiseOr(ALL, hva, src);
            case 0x10, 0x14, 0x18, 0x1C -> {
                long old;
                do {
                    old = (long) ATOMIC64.getVolatile(ALL, hva);
                } while (!ATOMIC64.compareAndSet(ALL, hva, old, minMax(funct5, old, src)));
                yield old;
            }
            default -> throw illegal();
        };
    }

    private long amo32(int funct5, long hva, int src) {
        return switch (funct5) {
            case 0x01 -> (int) ATOMIC32.getAndSet(ALL, hva, src);
            case 0x00 -> (int) ATOMIC32.getAndAdd(ALL, hva, src);
            case 0x04 -> (int) ATOMIC32.getAndBitwiseXor(ALL, hva, src);
            case 0x0C -> (int) ATOMIC32.getAndBitwiseAnd(ALL, hva, src);
            case 0x08 -> (int) ATOMIC32.getAndBitwiseOr(ALL, hva, src);
            case 0x10, 0x14, 0x18, 0x1C -> {
                int old;
                do {
                    old = (int) ATOMIC32.getVolatile(ALL, hva);
                } while (!ATOMIC32.compareAndSet(ALL, hva, old, (int) minMax(funct5, old, src)));
                yield old;
            }
            default -> throw illegal();
        };
    }

    private static long minMax(int funct5, long a, long b) {
        return switch (funct5) {
            case 0x10 -> Math.min(a, b);
            case 0x14 -> Math.max(a, b);
            case 0x18 -> Long.compareUnsigned(a, b) < 0 ? a : b;
            default -> Long.compareUnsigned(a, b) > 0 ? a : b;
        };
    }

    // ------------------------------------------------------------------ FP loads and stores

    private void loadFp(int insn, int len) {
        requireFs();
        long va = x[(insn >>> 15) & 31] + (insn >> 20);
        int rd = (insn >>> 7) & 31;
        switch ((insn >>> 12) & 7) {
            case 2 -> f[rd] = 0xffffffff00000000L | (load32(va) & 0xffffffffL); // NaN-boxed single
            case 3 -> f[rd] = load64(va);
            default -> throw illegal();
        }
        markFsDirty();
        pc += len;
    }

    private void storeFp(int insn, int len) {
        requireFs();
        long va = x[(insn >>> 15) & 31] + (((insn >> 25) << 5) | ((insn >>> 7) & 31));
        long v = f[(insn >>> 20) & 31];
        switch ((insn >>> 12) & 7) {
            case 2 -> store32(va, v);
            case 3 -> store64(va, v);
            default -> throw illegal();
        }
        pc += len;
    }

    /** The rounding mode an FP instruction asks for, resolved against frm; an invalid one is illegal. */
    int roundingMode(int insn) {
        int rm = (insn >>> 12) & 7;
        if (rm == 7) rm = frm;
        if (rm > 4) throw illegal();
        return rm;
    }

    Trap illegalInstruction() {
        return illegal();
    }

    /** Reads guest-physical memory for the hypervisor's own use (SBI); -1 when not RAM. */
    long hvaOfGpa(long gpa) {
        return ram.hvaOf(gpa);
    }

    @Override
    public String toString() {
        return "hart " + hartId + " pc=0x" + Long.toHexString(pc) + " priv=" + priv;
    }
}
