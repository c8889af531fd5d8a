package dev.airlock.cpu.rv64;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static java.lang.constant.ConstantDescs.MTD_void;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates a run of decoded instructions ({@link Decoder}) of one guest page into a {@link Block}:
 * a hidden class whose {@code run} method does what the interpreter would, with the guest registers
 * the block uses held in JVM locals.
 *
 * <p>A block starts at a hot head and takes in what is reachable from it by fall-through, conditional
 * branches (both sides) and direct jumps (JAL; for a call, its return site too), in its page and up to
 * {@link #MAX_PAGES} - 1 others, up to {@link #MAX_INSTRUCTIONS}: so a loop runs inside one block even
 * when it straddles a page boundary, its head is not the block's, or it calls a function elsewhere.
 * Paths end at an indirect jump (JALR; a return whose target is a return site the block holds goes on
 * there), before an instruction that crosses a page, and after a generic instruction that may change
 * how code is fetched (CSR, system, fences); an edge to an instruction the block does not hold leaves
 * it. A backward edge checks the budget and polls; an edge into another page than the head's first
 * checks that it still maps to the code the block was translated from ({@link Hart#codePageIs}).
 * Generic instructions that do not end a path (floating point, atomics) run through the reference
 * interpreter as helpers, with the registers written back before and reloaded after.
 *
 * <p>Exceptions are precise: before each instruction that can trap, a local records how many
 * instructions retired since the last jump target and its offset, and the handler writes the registers
 * back and leaves pc and the retired count as the interpreter would. A store that dropped decoded code (self-modifying code) ends the block after
 * itself, so the next instruction is fetched afresh.
 */
final class BlockTranslator {
    private BlockTranslator() {}

    /** Translations that failed (a bug: the tests keep this at zero); their heads stay interpreted. */
    static volatile int failures;

    // Translation off the harts' threads: one daemon thread for the JVM, fed by a bounded queue. The
    // hart decodes the block's instructions itself (cheap), so this thread never reads guest memory,
    // which may be unmapped by the time it runs. A request whose page lost its decoded code meanwhile
    // is dropped when it is installed.
    private record Request(CodeCache code, long pageHva, long[] ops, Run run, boolean inlineMemory) {}

    private static final java.util.concurrent.BlockingQueue<Request> REQUESTS =
            new java.util.concurrent.ArrayBlockingQueue<>(4096);
    private static volatile Thread worker;

    /**
     * Asks the background thread to translate the block at {@code offset} of the page at {@code pageHva},
     * whose decoded code is {@code ops}. Returns false if there is nothing worth translating there.
     */
    static boolean requestInBackground(CodeCache code, long pageHva, long[] ops, Source source, int offset,
                                       boolean inlineMemory) {
        Run run = collect(source, offset, inlineMemory ? HOT_INSTRUCTIONS : WARM_INSTRUCTIONS);
        if (run == null) return false;
        if (worker == null) startWorker();
        REQUESTS.offer(new Request(code, pageHva, ops, run, inlineMemory)); // full: the head stays interpreted
        return true;
    }

    private static synchronized void startWorker() {
        if (worker != null) return;
        Thread t = new Thread(BlockTranslator::serve, "airlock-block-translator");
        t.setDaemon(true);
        t.start();
        worker = t;
    }

    private static void serve() {
        while (true) {
            Request r;
            try {
                r = REQUESTS.take();
            } catch (InterruptedException e) {
                return;
            }
            long t0 = System.nanoTime();
            Block b = build(r.run, r.inlineMemory);
            if (r.inlineMemory) {
                if (b == Block.NONE) continue; // keep the block that runs now
                b.retired = Long.MIN_VALUE;
            }
            r.code.install(r.pageHva, r.ops, r.run.startOffset >>> 1, b, System.nanoTime() - t0);
        }
    }

    /** The most instructions a block holds (AT's count field has room for 511); a hot block's cap is HOT_INSTRUCTIONS. */
    static final int MAX_INSTRUCTIONS = 256;
    /**
     * 128: on a quiet machine sha256sum's rounds ran 25% faster than with 48 in steady state (fewer
     * exits to the dispatch loop); 256 costs C2 more than it saves.
     */
    static final int HOT_INSTRUCTIONS = Integer.getInteger("airlock.cpu.jitHotBlockInstructions", 128);
    /**
     * The cap for a block's first translation (for C1): translating and compiling a block costs about
     * its size, and most blocks never get hot, so a boot pays for large first translations on the
     * threads it shares the CPU with. Hot blocks are translated again with the full cap.
     */
    static final int WARM_INSTRUCTIONS = Integer.getInteger("airlock.cpu.jitWarmInstructions", 48);
    /** Generic helpers per block: each writes back and reloads registers, so they bound the method's size. */
    static final int MAX_GENERIC = 8;

    private static final MethodHandles.Lookup LOOKUP = MethodHandles.lookup();
    // Class file version 49 needs no StackMapTable (the JVM infers types when it verifies), which saves
    // the ClassFile API its most expensive pass; translation runs on the hart's thread.
    private static final ClassFile CLASS_FILE = ClassFile.of(ClassFile.StackMapsOption.DROP_STACK_MAPS,
            ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.ofClassLoading(LOOKUP)));
    private static final MethodType CONSTRUCTOR = MethodType.methodType(void.class);

    private static final ClassDesc CD_HART = ClassDesc.of(Hart.class.getName());
    private static final ClassDesc CD_BLOCK = ClassDesc.of(Block.class.getName());
    private static final ClassDesc CD_TRAP = ClassDesc.of(Trap.class.getName());
    // Two names, so HotSpot can be told to give blocks C1 only and hot blocks C2 (see the launcher's
    // CompileCommand MaxNodeLimit for TranslatedBlock).
    private static final ClassDesc CD_GENERATED = ClassDesc.of(Block.class.getPackageName() + ".TranslatedBlock");
    private static final ClassDesc CD_GENERATED_HOT = ClassDesc.of(Block.class.getPackageName() + ".HotBlock");
    private static final ClassDesc CD_LONGS = CD_long.arrayType();
    private static final MethodTypeDesc MTD_RUN = MethodTypeDesc.of(CD_int, CD_HART, CD_long, CD_int);
    private static final MethodTypeDesc MTD_LOAD = MethodTypeDesc.of(CD_long, CD_long);
    private static final MethodTypeDesc MTD_STORE = MethodTypeDesc.of(CD_void, CD_long, CD_long);
    private static final MethodTypeDesc MTD_GENERIC = MethodTypeDesc.of(CD_void, CD_long);
    private static final MethodTypeDesc MTD_BINARY = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_COMPARE = MethodTypeDesc.of(CD_int, CD_long, CD_long);
    private static final MethodTypeDesc MTD_PAGE_CHECK = MethodTypeDesc.of(CD_boolean, CD_long, CD_int, CD_LONGS);
    /** AT holds the instructions since BASE above this shift and AT_BIAS + the offset from the block's start below. */
    private static final int AT_SHIFT = 22, AT_BIAS = 1 << 21;

    // Locals of run(): 0 this, 1 hart, 2-3 pc at entry, 4 budget, 5 x[], 6 "at" (instructions since BASE
    // << AT_SHIFT | AT_BIAS + the offset from the block's start of the instruction that may trap; the block
    // holds code before its start too), 7 retired count at exit, 8-9 next pc at exit, 10-11 scratch, 12 the
    // trap, 13 BASE: instructions retired before the stretch that runs now, 14.. guest registers, two slots
    // each; then, in blocks with loads or stores, the hart's data TLB arrays and context (read once: nothing that continues a block changes them) and
    // the scratch of an inline TLB lookup.
    private static final int HART = 1, PC = 2, BUDGET = 4, X = 5, AT = 6, COUNT = 7, NEXT = 8, TMP = 10, THROWN = 12,
            BASE = 13, REGS = 14, R_TAG = REGS + 64, R_DELTA = R_TAG + 1, W_TAG = R_TAG + 2, W_DELTA = R_TAG + 3,
            DATA_CTX = R_TAG + 4, VA = R_TAG + 6, TLB_INDEX = R_TAG + 8;

    /** Opcodes of generic instructions that leave fetch alone, so the block goes on after them. */
    private static boolean continuesAfterGeneric(int insn) {
        return switch (insn & 0x7f) {
            case 0x07, 0x27, 0x43, 0x47, 0x4B, 0x4F, 0x53, 0x2F -> true;
            default -> false;
        };
    }

    /** Where the instructions of one block come from: the hart's current code page. */
    interface Source {
        /**
         * The decoded op at {@code offsetBytes} from the start of the head's page (outside [0, 4096): in
         * another virtual page, {@code offsetBytes >> 12} pages on), or 0 if there is none to translate
         * there: the instruction crosses a page's end, its page is not mapped for fetch now, or the block
         * already spans {@link #MAX_PAGES} pages.
         */
        long decodedAt(int offsetBytes);

        /** The decoded code of page {@code page} (relative to the head's, not 0), which {@link #decodedAt} read. */
        long[] pageCode(int page);
    }

    /**
     * Translates the block at {@code startOffset} of a page, or returns {@link Block#NONE} when there is
     * nothing worth translating there. With {@code inlineMemory} its loads and stores look up the TLB
     * inline and access host memory directly, calling out of line only on a miss (for C2); without, they
     * are calls (for the bytecode interpreter and C1).
     */
    static Block translate(Source source, int startOffset, boolean inlineMemory) {
        Run run = collect(source, startOffset, inlineMemory ? HOT_INSTRUCTIONS : WARM_INSTRUCTIONS);
        return run == null ? Block.NONE : build(run, inlineMemory);
    }

    /**
     * The decoded instructions of one block, taken on the hart's thread, in ascending offset order
     * (relative to the start of the head's page); {@code pages} are the other virtual pages it holds
     * code of ({@code offset >> 12}), whose decoded code is {@code pageCode}.
     */
    record Run(long[] ops, int[] offsets, int n, int startOffset, int[] pages, long[][] pageCode) {}

    /** How far from its head's page a block may take in code: all a JAL reaches, and then some. */
    static final int REACH = 1 << 20;
    /** Pages a block may hold code of: each is checked when the block runs on into it. */
    static final int MAX_PAGES = 4;
    /** Return sites a return (JALR through ra or t0) compares its target with before it leaves the block. */
    static final int MAX_RETURN_SITES = 4;

    /**
     * The instructions the block at {@code startOffset} would hold, or null if there is nothing worth
     * translating. From the head it follows fall-through paths, both sides of conditional branches and
     * direct jumps (a call's return site too), into up to {@link #MAX_PAGES} pages, until
     * {@code limit} instructions (at most {@link #MAX_INSTRUCTIONS}); nearer paths first.
     */
    static Run collect(Source source, int startOffset, int limit) {
        limit = Math.max(1, Math.min(limit, MAX_INSTRUCTIONS));
        java.util.TreeMap<Integer, Long> byOffset = new java.util.TreeMap<>();
        int[] queue = new int[2 * limit + 1];
        int head = 0, tail = 0;
        queue[tail++] = startOffset;
        int n = 0, generic = 0;
        boolean headEndsWithGeneric = false;
        paths:
        while (head < tail && n < limit) {
            int offset = queue[head++];
            while (n < limit && offset >= -REACH && offset < REACH && !byOffset.containsKey(offset)) {
                long d = source.decodedAt(offset);
                if (d == 0) break;
                byOffset.put(offset, d);
                n++;
                int op = (int) d & 0x7f;
                int target = offset + (int) (d >>> 32);
                int next = offset + length(d);
                if (op == Decoder.JAL) {
                    queue[tail++] = target;
                    if (rd(d) != 0) queue[tail++] = next; // a call: where it returns to
                    break;
                }
                if (op == Decoder.JALR) {
                    if (rd(d) != 0) queue[tail++] = next;
                    break;
                }
                if (op == Decoder.GENERIC && !continuesAfterGeneric((int) (d >>> 32))) {
                    if (offset == startOffset) headEndsWithGeneric = true;
                    break;
                }
                if (op == Decoder.GENERIC && ++generic == MAX_GENERIC) break paths;
                if (op >= Decoder.BEQ && op <= Decoder.BGEU) queue[tail++] = target;
                offset = next;
            }
        }
        if (n == 0 || (n == 1 && headEndsWithGeneric)) return null;
        long[] ops = new long[n];
        int[] offsets = new int[n];
        int k = 0;
        java.util.TreeSet<Integer> pages = new java.util.TreeSet<>();
        for (var e : byOffset.entrySet()) {
            offsets[k] = e.getKey();
            ops[k++] = e.getValue();
            if (e.getKey() >> 12 != 0) pages.add(e.getKey() >> 12);
        }
        int[] pageNumbers = new int[pages.size()];
        long[][] pageCode = new long[pages.size()][];
        int i = 0;
        for (int page : pages) {
            pageNumbers[i] = page;
            pageCode[i++] = source.pageCode(page);
        }
        return new Run(ops, offsets, n, startOffset, pageNumbers, pageCode);
    }

    /** Generates, loads and instantiates the block's class; any thread. */
    static Block build(Run run, boolean inlineMemory) {
        try {
            byte[] bytes = generate(run.ops, run.offsets, run.n, run.startOffset, run.pages, inlineMemory);
            MethodHandles.Lookup hidden = LOOKUP.defineHiddenClass(bytes, true);
            Block b = (Block) hidden.findConstructor(hidden.lookupClass(), CONSTRUCTOR).invoke();
            b.pages = run.pageCode;
            return b;
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            // A translator bug must not stop the guest: the interpreter runs this head instead.
            failures++;
            return Block.NONE;
        }
    }

    static byte[] generate(long[] ops, int[] offsets, int n, int startOffset, int[] pages, boolean inlineMemory) {
        // Which guest registers the block touches: those live in locals, read once at entry.
        int used = 0, written = 0;
        for (int k = 0; k < n; k++) {
            long d = ops[k];
            int op = (int) d & 0x7f, rd = rd(d), rs1 = rs1(d), rs2 = rs2(d);
            switch (op) {
                case Decoder.NOP, Decoder.GENERIC -> { }
                case Decoder.LUI, Decoder.AUIPC, Decoder.JAL -> written |= 1 << rd;
                case Decoder.BEQ, Decoder.BNE, Decoder.BLT, Decoder.BGE, Decoder.BLTU, Decoder.BGEU,
                     Decoder.SB, Decoder.SH, Decoder.SW, Decoder.SD -> used |= (1 << rs1) | (1 << rs2);
                default -> { // JALR, loads, ALU: read rs1 (and rs2), write rd
                    used |= (1 << rs1) | (1 << rs2);
                    written |= 1 << rd;
                }
            }
        }
        written &= ~1;
        used = (used | written) & ~1;
        final int usedRegs = used, writtenRegs = written;
        return CLASS_FILE.build(inlineMemory ? CD_GENERATED_HOT : CD_GENERATED, cb -> {
            cb.withVersion(49, 0);
            cb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER);
            cb.withSuperclass(CD_BLOCK);
            cb.withMethodBody(INIT_NAME, MTD_void, 0, c -> c.aload(0).invokespecial(CD_BLOCK, INIT_NAME, MTD_void).return_());
            cb.withMethodBody("run", MTD_RUN, ClassFile.ACC_FINAL,
                    c -> new Emitter(c, usedRegs, writtenRegs, startOffset, pages, inlineMemory).body(ops, offsets, n));
        });
    }

    static int rd(long d) { return (int) (d >>> 8) & 31; }

    /** The decoded instruction's length in bytes. */
    static int length(long d) { return (d & Decoder.COMPRESSED) != 0 ? 2 : 4; }

    static int rs1(long d) { return (int) (d >>> 13) & 31; }

    static int rs2(long d) { return (int) (d >>> 18) & 31; }

    private static final class Emitter {
        final CodeBuilder c;
        final int used, written, startOffset;
        /**
         * Whether loads and stores look up the TLB inline and touch host memory directly (hot blocks, for C2),
         * or call Hart.outOfLineLoad64 and friends: the inline path goes through MemorySegment's VarHandle
         * chain, which is slow in the bytecode interpreter and costly for C1 while a block is still warm.
         */
        final boolean inlineMemory;
        final Label exit;
        final List<Runnable> stubs = new ArrayList<>();
        // The block's instructions in ascending offset order, a label at each, and which of them start
        // a stretch that BASE counts from (the head and every target of a jump or taken branch).
        long[] ops;
        int[] offsets;
        int n;
        Label[] labels;
        boolean[] leader;

        /** The other pages the block holds code of, relative to the head's; Block.pages has their decoded code. */
        final int[] pages;

        Emitter(CodeBuilder c, int used, int written, int startOffset, int[] pages, boolean inlineMemory) {
            this.c = c;
            this.pages = pages;
            this.inlineMemory = inlineMemory;
            this.used = used;
            this.written = written;
            this.startOffset = startOffset;
            this.exit = c.newLabel();
        }

        static int slot(int reg) { return REGS + 2 * reg; }

        void read(int reg) {
            if (reg == 0) c.lconst_0(); else c.lload(slot(reg));
        }

        /** Stores the long on the stack to x[rd]; a write to x0 is dropped. */
        void write(int rd) {
            if (rd == 0) c.pop2(); else c.lstore(slot(rd));
        }

        void constant(long v) { c.loadConstant(v); }

        void constant(int v) { c.loadConstant(v); }

        void writeBack() {
            for (int r = 1; r < 32; r++) {
                if ((written >>> r & 1) != 0) {
                    c.aload(X);
                    constant(r);
                    c.lload(slot(r));
                    c.lastore();
                }
            }
        }

        void reloadAll() {
            for (int r = 1; r < 32; r++) {
                if ((used >>> r & 1) != 0) {
                    c.aload(X);
                    constant(r);
                    c.laload();
                    c.lstore(slot(r));
                }
            }
        }

        /** Pushes the virtual address of the instruction at page offset {@code offset} (pc + delta). */
        void pcAt(long delta) {
            c.lload(PC);
            if (delta != 0) {
                constant(delta);
                c.ladd();
            }
        }

        /** The index of the instruction at {@code offset}, or -1 if the block does not hold it. */
        int indexOf(int offset) {
            int i = java.util.Arrays.binarySearch(offsets, 0, n, offset);
            return i >= 0 ? i : -1;
        }

        /**
         * Where control goes after instruction {@code from} to {@code offset}, having retired {@code count}
         * instructions since BASE: into the block if it holds that instruction (a backward edge first
         * checks the budget and polls, and an edge into the next page checks it is still what the block
         * was translated from), otherwise out of the block.
         */
        Label edge(int from, int offset, int count) {
            int to = indexOf(offset);
            if (to < 0) return exitTo(offset - startOffset, count);
            Label l = c.newLabel();
            stubs.add(() -> {
                c.labelBinding(l);
                c.iinc(BASE, count);
                Label leave = c.newLabel();
                if (needsPageCheck(offsets[from], offset)) {
                    pageCheck(offset >> 12);
                    c.ifeq(leave);
                }
                if (to <= from) {
                    // A loop: at most n instructions run before the next backward edge.
                    c.iload(BASE);
                    constant(n);
                    c.iadd().iload(BUDGET);
                    c.if_icmpgt(leave);
                    c.aload(HART).getfield(CD_HART, "pollNow", CD_boolean);
                    c.ifne(leave);
                }
                c.goto_(labels[to]);
                c.labelBinding(leave);
                pcAt(offset - startOffset);
                c.lstore(NEXT);
                c.iload(BASE).istore(COUNT);
                c.goto_(exit);
            });
            return l;
        }

        /**
         * Whether going from the instruction at {@code from} to the one at {@code to} enters another page
         * than the head's, which the block must check first (its own page is checked by the run loop).
         */
        static boolean needsPageCheck(int from, int to) {
            return to >> 12 != 0 && to >> 12 != from >> 12;
        }

        /** Pushes whether virtual page {@code page} (relative to the head's) still maps to the code the block was translated from. */
        void pageCheck(int page) {
            int i = java.util.Arrays.binarySearch(pages, page);
            c.aload(HART).lload(PC);
            constant(page);
            c.aload(0).getfield(CD_BLOCK, "pages", CD_LONGS.arrayType());
            constant(i);
            c.aaload();
            c.invokevirtual(CD_HART, "codePageIs", MTD_PAGE_CHECK);
        }

        /** An exit to pc + {@code delta} having retired {@code count} instructions since BASE. */
        Label exitTo(long delta, int count) {
            Label l = c.newLabel();
            stubs.add(() -> {
                c.labelBinding(l);
                pcAt(delta);
                c.lstore(NEXT);
                retired(count);
                c.istore(COUNT);
                c.goto_(exit);
            });
            return l;
        }

        /** Pushes the instructions retired: those BASE counts plus {@code count} since. */
        void retired(int count) {
            c.iload(BASE);
            constant(count);
            c.iadd();
        }

        /** Records, before an instruction that may trap, how many retired since BASE before it, and where it is. */
        void mayTrap(int count, int delta) {
            constant((count << AT_SHIFT) | (delta + AT_BIAS));
            c.istore(AT);
        }

        void body(long[] ops, int[] offsets, int n) {
            c.aload(HART).getfield(CD_HART, "x", CD_LONGS).astore(X);
            for (int r = 1; r < 32; r++) {
                if ((used >>> r & 1) != 0) {
                    c.aload(X);
                    constant(r);
                    c.laload();
                    c.lstore(slot(r));
                }
            }
            if (inlineMemory && hasMemoryAccess(ops, n)) {
                c.aload(HART).getfield(CD_HART, "tlbRTag", CD_LONGS).astore(R_TAG);
                c.aload(HART).getfield(CD_HART, "tlbRDelta", CD_LONGS).astore(R_DELTA);
                c.aload(HART).getfield(CD_HART, "tlbWTag", CD_LONGS).astore(W_TAG);
                c.aload(HART).getfield(CD_HART, "tlbWDelta", CD_LONGS).astore(W_DELTA);
                c.aload(HART).getfield(CD_HART, "dataCtx", CD_int).i2l().lstore(DATA_CTX);
                c.lconst_0().lstore(VA);
                c.iconst_0().istore(TLB_INDEX);
            }
            c.iconst_0().istore(AT);
            c.iconst_0().istore(COUNT);
            c.iconst_0().istore(BASE);
            c.lconst_0().lstore(NEXT);
            c.lconst_0().lstore(TMP);
            Label tryStart = c.newLabel(), tryEnd = c.newLabel(), handler = c.newLabel();
            this.ops = ops;
            this.offsets = offsets;
            this.n = n;
            labels = new Label[n];
            leader = new boolean[n];
            for (int k = 0; k < n; k++) labels[k] = c.newLabel();
            int headIndex = indexOf(startOffset);
            leader[headIndex] = true;
            for (int k = 0; k < n; k++) {
                int op = (int) ops[k] & 0x7f;
                if (op == Decoder.JAL || (op >= Decoder.BEQ && op <= Decoder.BGEU)) {
                    int to = indexOf(offsets[k] + (int) (ops[k] >>> 32));
                    if (to >= 0) leader[to] = true;
                }
                int to = indexOf(offsets[k] + length(ops[k]));
                if (to >= 0 && to != k + 1) leader[to] = true; // reached by a jump over what lies between
                if ((op == Decoder.JAL || op == Decoder.JALR) && rd(ops[k]) != 0 && to >= 0) leader[to] = true; // a return site
            }
            c.labelBinding(tryStart);
            if (headIndex != 0) c.goto_(labels[headIndex]);
            boolean fallsIn = false; // whether the previous instruction's bytecode runs on into this one
            int count = 0;           // instructions since BASE, up to this one
            for (int k = 0; k < n; k++) {
                if (leader[k]) {
                    if (fallsIn) c.iinc(BASE, count);
                    count = 0;
                }
                c.labelBinding(labels[k]);
                fallsIn = instruction(ops[k], k, offsets[k] - startOffset, count);
                count++;
                if (!fallsIn) continue;
                int next = offsets[k] + length(ops[k]);
                if (k + 1 < n && offsets[k + 1] == next) {
                    if (needsPageCheck(offsets[k], next)) { // on into the next page
                        pageCheck(next >> 12);
                        c.ifeq(exitTo(next - startOffset, count));
                    }
                    continue;
                }
                c.goto_(edge(k, next, count));
                fallsIn = false;
            }
            c.labelBinding(tryEnd);
            for (Runnable stub : stubs) stub.run();
            c.labelBinding(exit);
            writeBack();
            c.aload(HART).lload(NEXT).putfield(CD_HART, "pc", CD_long);
            c.iload(COUNT).ireturn();
            // A guest trap: registers back, pc at the faulting instruction, retired count for the run loop.
            c.labelBinding(handler);
            c.astore(THROWN);
            writeBack();
            c.aload(HART).iload(AT);
            constant(AT_SHIFT);
            c.iushr().iload(BASE).iadd().putfield(CD_HART, "blockRetired", CD_int);
            c.aload(HART).lload(PC).iload(AT);
            constant((1 << AT_SHIFT) - 1);
            c.iand();
            constant(AT_BIAS);
            c.isub().i2l().ladd().putfield(CD_HART, "pc", CD_long);
            c.aload(THROWN).athrow();
            c.exceptionCatch(tryStart, tryEnd, handler, CD_TRAP);
        }

        /**
         * Emits instruction {@code index}, {@code count} instructions after BASE; returns whether its bytecode
         * runs on to what follows it (false when every path left: a jump, an exit).
         */
        boolean instruction(long d, int index, int delta, int count) {
            int op = (int) d & 0x7f, rd = rd(d), rs1 = rs1(d), rs2 = rs2(d);
            int imm = (int) (d >>> 32);
            int len = length(d);
            switch (op) {
                case Decoder.NOP -> { }
                case Decoder.LUI -> { constant((long) imm); write(rd); }
                case Decoder.AUIPC -> { pcAt((long) delta + imm); write(rd); }
                case Decoder.JAL -> {
                    if (rd != 0) { pcAt(delta + len); write(rd); }
                    c.goto_(edge(index, startOffset + delta + imm, count + 1));
                    return false;
                }
                case Decoder.JALR -> {
                    read(rs1);
                    constant((long) imm);
                    c.ladd();
                    constant(~1L);
                    c.land().lstore(NEXT); // before rd is written, which may be rs1
                    if (rd != 0) { pcAt(delta + len); write(rd); }
                    if (rd == 0 && (rs1 == 1 || rs1 == 5)) returnToSites(index, count + 1);
                    retired(count + 1);
                    c.istore(COUNT);
                    c.goto_(exit);
                    return false;
                }
                case Decoder.BEQ, Decoder.BNE, Decoder.BLT, Decoder.BGE, Decoder.BLTU, Decoder.BGEU -> {
                    read(rs1);
                    read(rs2);
                    if (op == Decoder.BLTU || op == Decoder.BGEU) {
                        c.invokestatic(ClassDesc.of("java.lang.Long"), "compareUnsigned", MTD_COMPARE);
                    } else {
                        c.lcmp();
                    }
                    Label taken = edge(index, startOffset + delta + imm, count + 1);
                    switch (op) {
                        case Decoder.BEQ -> c.ifeq(taken);
                        case Decoder.BNE -> c.ifne(taken);
                        case Decoder.BLT, Decoder.BLTU -> c.iflt(taken);
                        default -> c.ifge(taken);
                    }
                }
                case Decoder.LB, Decoder.LH, Decoder.LW, Decoder.LD, Decoder.LBU, Decoder.LHU, Decoder.LWU -> {
                    mayTrap(count, delta);
                    int size = switch (op) {
                        case Decoder.LB, Decoder.LBU -> 1;
                        case Decoder.LH, Decoder.LHU -> 2;
                        case Decoder.LW, Decoder.LWU -> 4;
                        default -> 8;
                    };
                    if (!inlineMemory) {
                        c.aload(HART);
                        address(rs1, imm);
                        c.invokevirtual(CD_HART, "outOfLineLoad" + 8 * size, MTD_LOAD);
                        loadExtend(op);
                        write(rd);
                        return true;
                    }
                    // Hart.load64 and friends, with the TLB hit inline and the rest (fill, MMIO, faults) a call.
                    address(rs1, imm);
                    c.lstore(VA);
                    Label miss = c.newLabel(), done = c.newLabel();
                    tlbLookup(R_TAG, size, miss);
                    c.lload(VA).aload(R_DELTA).iload(TLB_INDEX).laload().ladd();
                    c.invokestatic(CD_BLOCK, "ram" + 8 * size, MTD_LOAD);
                    c.goto_(done);
                    c.labelBinding(miss);
                    c.aload(HART).lload(VA).invokevirtual(CD_HART, "outOfLineLoad" + 8 * size, MTD_LOAD);
                    c.labelBinding(done);
                    loadExtend(op);
                    write(rd);
                }
                case Decoder.SB, Decoder.SH, Decoder.SW, Decoder.SD -> {
                    mayTrap(count, delta);
                    int size = switch (op) {
                        case Decoder.SB -> 1;
                        case Decoder.SH -> 2;
                        case Decoder.SW -> 4;
                        default -> 8;
                    };
                    // A write TLB hit is never a code page (Hart.revokeWrite), so only a miss can drop code.
                    if (!inlineMemory) {
                        c.aload(HART);
                        address(rs1, imm);
                        read(rs2);
                        c.invokevirtual(CD_HART, "outOfLineStore" + 8 * size, MTD_STORE);
                        codeWrittenCheck(delta + len, count + 1);
                        return true;
                    }
                    address(rs1, imm);
                    c.lstore(VA);
                    Label miss = c.newLabel(), done = c.newLabel();
                    tlbLookup(W_TAG, size, miss);
                    c.lload(VA).aload(W_DELTA).iload(TLB_INDEX).laload().ladd();
                    read(rs2);
                    c.invokestatic(CD_BLOCK, "ramStore" + 8 * size, MTD_STORE);
                    c.goto_(done);
                    c.labelBinding(miss);
                    c.aload(HART).lload(VA);
                    read(rs2);
                    c.invokevirtual(CD_HART, "outOfLineStore" + 8 * size, MTD_STORE);
                    codeWrittenCheck(delta + len, count + 1);
                    c.labelBinding(done);
                }
                case Decoder.GENERIC -> {
                    mayTrap(count, delta);
                    writeBack();
                    c.aload(HART);
                    pcAt(delta);
                    c.putfield(CD_HART, "pc", CD_long);
                    c.aload(HART);
                    constant(d);
                    c.invokevirtual(CD_HART, "execGeneric", MTD_GENERIC);
                    if (!continuesAfterGeneric(imm)) { // it set pc itself; registers are already in x[]
                        retired(count + 1);
                        c.ireturn();
                        return false;
                    }
                    reloadAll();
                    codeWrittenCheck(delta + len, count + 1);
                }
                default -> alu(op, rd, rs1, rs2, imm);
            }
            return true;
        }

        /**
         * A return (its target in NEXT): if it goes back to a return site the block holds (the instruction
         * after a call in it), it goes on there instead of leaving the block.
         */
        void returnToSites(int from, int count) {
            int sites = 0;
            for (int k = 0; k < n && sites < MAX_RETURN_SITES; k++) {
                int op = (int) ops[k] & 0x7f;
                if ((op != Decoder.JAL && op != Decoder.JALR) || rd(ops[k]) == 0) continue;
                int site = offsets[k] + length(ops[k]);
                if (indexOf(site) < 0) continue;
                sites++;
                c.lload(NEXT);
                pcAt(site - startOffset);
                c.lcmp();
                c.ifeq(edge(from, site, count));
            }
        }

        /** Sign or zero extends the loaded value on the stack as the load {@code op} does. */
        void loadExtend(int op) {
            switch (op) {
                case Decoder.LB -> c.l2i().i2b().i2l();
                case Decoder.LH -> c.l2i().i2s().i2l();
                case Decoder.LW -> c.l2i().i2l();
                case Decoder.LBU -> { constant(0xffL); c.land(); }
                case Decoder.LHU -> { constant(0xffffL); c.land(); }
                case Decoder.LWU -> { constant(0xffffffffL); c.land(); }
                default -> { }
            }
        }

        static boolean hasMemoryAccess(long[] ops, int n) {
            for (int k = 0; k < n; k++) {
                switch ((int) ops[k] & 0x7f) {
                    case Decoder.LB, Decoder.LH, Decoder.LW, Decoder.LD, Decoder.LBU, Decoder.LHU, Decoder.LWU,
                         Decoder.SB, Decoder.SH, Decoder.SW, Decoder.SD -> { return true; }
                    default -> { }
                }
            }
            return false;
        }

        void address(int rs1, int imm) {
            read(rs1);
            if (imm != 0) {
                constant((long) imm);
                c.ladd();
            }
        }

        /**
         * Jumps to {@code miss} unless the TLB at {@code tags} holds the page of the address in VA for the
         * data context, with all {@code size} bytes inside it (as Hart.load64 checks); leaves the index in TLB_INDEX.
         */
        void tlbLookup(int tags, int size, Label miss) {
            c.lload(VA);
            constant(12);
            c.lushr().l2i();
            constant(Hart.TLB_MASK);
            c.iand().istore(TLB_INDEX);
            c.aload(tags).iload(TLB_INDEX).laload();
            c.lload(VA);
            constant(Hart.PAGE_MASK);
            c.land().lload(DATA_CTX).lor().lcmp();
            c.ifne(miss);
            if (size > 1) {
                c.lload(VA).l2i();
                constant(0xfff);
                c.iand();
                constant(0x1000 - size);
                c.if_icmpgt(miss);
            }
        }

        void codeWrittenCheck(int nextDelta, int count) {
            c.aload(HART).getfield(CD_HART, "codeWritten", CD_boolean);
            c.ifne(exitTo(nextDelta, count));
        }

        void alu(int op, int rd, int rs1, int rs2, int imm) {
            switch (op) {
                case Decoder.ADDI -> { read(rs1); constant((long) imm); c.ladd(); }
                case Decoder.SLTI -> { read(rs1); constant((long) imm); binary("slt"); }
                case Decoder.SLTIU -> { read(rs1); constant((long) imm); binary("sltu"); }
                case Decoder.XORI -> { read(rs1); constant((long) imm); c.lxor(); }
                case Decoder.ORI -> { read(rs1); constant((long) imm); c.lor(); }
                case Decoder.ANDI -> { read(rs1); constant((long) imm); c.land(); }
                case Decoder.SLLI -> { read(rs1); constant(imm); c.lshl(); }
                case Decoder.SRLI -> { read(rs1); constant(imm); c.lushr(); }
                case Decoder.SRAI -> { read(rs1); constant(imm); c.lshr(); }
                case Decoder.ADDIW -> { read(rs1); c.l2i(); constant(imm); c.iadd().i2l(); }
                case Decoder.SLLIW -> { read(rs1); c.l2i(); constant(imm); c.ishl().i2l(); }
                case Decoder.SRLIW -> { read(rs1); c.l2i(); constant(imm); c.iushr().i2l(); }
                case Decoder.SRAIW -> { read(rs1); c.l2i(); constant(imm); c.ishr().i2l(); }
                case Decoder.ADD -> { read(rs1); read(rs2); c.ladd(); }
                case Decoder.SUB -> { read(rs1); read(rs2); c.lsub(); }
                case Decoder.SLL -> { read(rs1); read(rs2); c.l2i().lshl(); }
                case Decoder.SLT -> { read(rs1); read(rs2); binary("slt"); }
                case Decoder.SLTU -> { read(rs1); read(rs2); binary("sltu"); }
                case Decoder.XOR -> { read(rs1); read(rs2); c.lxor(); }
                case Decoder.SRL -> { read(rs1); read(rs2); c.l2i().lushr(); }
                case Decoder.SRA -> { read(rs1); read(rs2); c.l2i().lshr(); }
                case Decoder.OR -> { read(rs1); read(rs2); c.lor(); }
                case Decoder.AND -> { read(rs1); read(rs2); c.land(); }
                case Decoder.ADDW -> { read(rs1); c.l2i(); read(rs2); c.l2i().iadd().i2l(); }
                case Decoder.SUBW -> { read(rs1); c.l2i(); read(rs2); c.l2i().isub().i2l(); }
                case Decoder.SLLW -> { read(rs1); c.l2i(); read(rs2); c.l2i().ishl().i2l(); }
                case Decoder.SRLW -> { read(rs1); c.l2i(); read(rs2); c.l2i().iushr().i2l(); }
                case Decoder.SRAW -> { read(rs1); c.l2i(); read(rs2); c.l2i().ishr().i2l(); }
                case Decoder.MUL -> { read(rs1); read(rs2); c.lmul(); }
                case Decoder.MULH -> { read(rs1); read(rs2); c.invokestatic(ClassDesc.of("java.lang.Math"), "multiplyHigh", MTD_BINARY); }
                case Decoder.MULHSU -> { read(rs1); read(rs2); binary("mulhsu"); }
                case Decoder.MULHU -> { read(rs1); read(rs2); c.invokestatic(ClassDesc.of("java.lang.Math"), "unsignedMultiplyHigh", MTD_BINARY); }
                case Decoder.DIV -> { read(rs1); read(rs2); binary("div"); }
                case Decoder.DIVU -> { read(rs1); read(rs2); binary("divu"); }
                case Decoder.REM -> { read(rs1); read(rs2); binary("rem"); }
                case Decoder.REMU -> { read(rs1); read(rs2); binary("remu"); }
                case Decoder.MULW -> { read(rs1); c.l2i(); read(rs2); c.l2i().imul().i2l(); }
                case Decoder.DIVW -> { read(rs1); read(rs2); binary("divw"); }
                case Decoder.DIVUW -> { read(rs1); read(rs2); binary("divuw"); }
                case Decoder.REMW -> { read(rs1); read(rs2); binary("remw"); }
                case Decoder.REMUW -> { read(rs1); read(rs2); binary("remuw"); }
                default -> throw new IllegalStateException("no translation for op " + op);
            }
            write(rd);
        }

        void binary(String helper) {
            c.invokestatic(CD_BLOCK, helper, MTD_BINARY);
        }
    }
}
