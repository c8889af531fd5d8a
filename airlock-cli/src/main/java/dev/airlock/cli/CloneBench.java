package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.AgentUnreachableException;
import dev.airlock.guest.agent.VsockConnector;
import dev.airlock.memory.FrameAccounting;
import dev.airlock.memory.GuestMemory;
import dev.airlock.memory.HostFrameTally;
import dev.airlock.memory.HostFrameTotals;
import dev.airlock.memory.ProcessMemory;
import dev.airlock.vmm.Vm;
import dev.airlock.cpu.rv64.Hart;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code airlock bench-clone TEMPLATE [N]}: what scripts/bench-clone.sh measures, in one JVM.
 * <ol>
 *   <li>Latency, over N clones made and closed one after another (after a warm-up): clone → the first
 *       hart's first slice ({@link Vm#firstSliceNanos}), with where {@link MicroVm#clone} spent its
 *       time, and clone → the agent's answer to {@code true} over the clone's vsock socket.</li>
 *   <li>Density: idle clones (started, no command) are added until the host memory they cost, by
 *       {@link FrameAccounting} plus the JVM's own memory, reaches a budget, or a count limit; then
 *       a sample of their agents is asked to run {@code true}, to show they still run.</li>
 * </ol>
 */
final class CloneBench {
    static final String USAGE = """
            usage: airlock bench-clone TEMPLATE [N] [--warmup N] [--budget-mib MiB] [--max-clones N]
                                       [--check-every N] [--no-latency] [--no-density] [--pool K]
              N (default 1000) clones made and closed one after another, after --warmup (default 20) more;
              with --pool K, N more taken from a pool that keeps K clones made ahead (ClonePool);
              then idle clones until --budget-mib (default 4096) of host memory or --max-clones (default 1000).""";

    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(60);

    private CloneBench() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length < 1 || args[0].startsWith("-")) throw new UsageException("bench-clone needs a template name");
        String templateName = args[0];
        int rounds = 1000, warmup = 20, maxClones = 1000, checkEvery = 100, poolSize = 0;
        long budgetBytes = 4096L << 20;
        boolean latency = true, density = true;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--warmup" -> warmup = intValue(args, ++i);
                case "--budget-mib" -> budgetBytes = (long) intValue(args, ++i) << 20;
                case "--max-clones" -> maxClones = intValue(args, ++i);
                case "--check-every" -> checkEvery = Math.max(1, intValue(args, ++i));
                case "--no-latency" -> latency = false;
                case "--no-density" -> density = false;
                case "--pool" -> poolSize = intValue(args, ++i);
                default -> {
                    if (args[i].startsWith("-") || i != 1) throw new UsageException("unknown argument " + args[i]);
                    rounds = intValue(args, i);
                }
            }
        }
        Templates.Template template;
        try {
            template = Templates.fromEnvironment().open(templateName);
        } catch (IOException e) {
            err.println("airlock: " + TemplateCommand.message(e));
            return ExitCodes.USAGE;
        }
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        var image = template.snapshot().image();
        out.printf("template %s: %d MiB, %d CPU, %.1f MiB of data in %d runs (one mapping each per clone); load %s%n",
                templateName, template.snapshot().memoryBytes() >> 20, template.snapshot().cpus(),
                image.dataPages() / 256.0, image.runCount(), load());
        try (HartPool pool = HartPool.perCore();
             DeviceEventLoop devices = DeviceEventLoop.start(1, "airlock-virtio")) {
            out.printf("hart pool: %d threads; device loop: %d thread%n", pool.threads(), devices.threads());
            if (latency) latency(template, runtime, pool, devices, rounds, warmup, null, out);
            if (latency && poolSize > 0) {
                try (ClonePool clonePool = ClonePool.start(template, poolSize, runtime, pool, devices)) {
                    latency(template, runtime, pool, devices, rounds, warmup, clonePool, out);
                }
            }
            if (density) density(template, runtime, pool, devices, budgetBytes, maxClones, checkEvery, out, err);
            return 0;
        } catch (IOException e) {
            err.println("airlock: bench-clone " + templateName + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
    }

    /** The whole number at {@code args[i]}, named after the flag before it (the run options' parser). */
    private static int intValue(String[] args, int i) throws UsageException {
        String flag = i > 1 ? args[i - 1] : "ROUNDS";
        return (int) RunCommand.number(flag, RunCommand.value(args, i, flag), 0, Integer.MAX_VALUE);
    }

    // ---------------------------------------------------------------- latency

    /** Figures of one clone, in ns from the start of {@link MicroVm#clone}. */
    private static final String[] LATENCY_FIGURES = {
            "clone_to_first_insn", "clone_to_agent_true",
            "  template in use (lock)", "  map+build (Vm.forSnapshot)", "  attach devices", "  restore+newGeneration",
            "  clone() return", "  (clone() on-CPU time of its thread)", "  start() call", "  start() called -> first slice",
            "start() called -> vsock socket bound", "  first slice -> vsock CONNECT ok", "  agent HELLO", "  agent run(true)", "then run(true) again",
            "close()", "guest kinsns: to CONNECT ok", "guest kinsns: agent HELLO", "guest kinsns: agent run(true)",
            "hart busy: to CONNECT ok", "hart busy: agent HELLO", "hart busy: agent run(true)",
            "guest kinsns in blocks: agent run(true)", "guest page walks (k): to run(true) done"};

    /** The same figures for a clone taken from a {@link ClonePool}: its making (the phases) happened ahead of time. */
    private static final String[] POOLED_FIGURES = LATENCY_FIGURES.clone();
    static {
        POOLED_FIGURES[2] = "  take() from the pool";
        POOLED_FIGURES[3] = "  (made ahead: map+build)";
        POOLED_FIGURES[4] = "  (made ahead: attach devices)";
        POOLED_FIGURES[5] = "  (made ahead: restore+newGen)";
        POOLED_FIGURES[6] = "  take() return";
        POOLED_FIGURES[7] = "  (take() on-CPU time of its thread)";
    }

    /** Clone after clone, made on the spot, or taken from {@code clonePool} if it is not null. */
    private static void latency(Templates.Template template, RuntimeDir runtime, HartPool pool, DeviceEventLoop devices,
                                int rounds, int warmup, ClonePool clonePool, PrintStream out)
            throws IOException, AgentException, InterruptedException {
        List<long[]> rows = new ArrayList<>();
        int failures = 0;
        String base = (clonePool == null ? "bench-" : "pooled-bench-") + ProcessHandle.current().pid() + "-";
        long cpu0 = processCpuNanos(), wall0 = System.nanoTime();
        for (int i = -warmup; i < rounds; i++) {
            long cpuBefore = THREADS.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            if (clonePool != null) {
                // Give the pool's thread its turn: one clone is made ahead while the last one answers its agent.
                while (clonePool.ready() == 0) Thread.sleep(1);
                cpuBefore = THREADS.getCurrentThreadCpuTime();
                t0 = System.nanoTime();
            }
            MicroVm m = clonePool != null ? clonePool.take(base + (i + warmup), OutputStream.nullOutputStream())
                    : MicroVm.clone(template, base + (i + warmup), runtime, pool, devices, OutputStream.nullOutputStream());
            long cloned = System.nanoTime();
            // On-CPU time too: on a loaded host the wall time also counts waiting for a core.
            long cloneCpu = THREADS.getCurrentThreadCpuTime() - cpuBefore;
            long started, bound, vsockOk, connected, answered, again, closing, firstSlice;
            long iConnect, iHello, iTrue, i0 = instructions(List.of(m)), bConnect, bHello, bTrue, kHello, kTrue, walks;
            try {
                m.start();
                started = System.nanoTime();
                m.awaitVsockSocket();
                bound = System.nanoTime();
                // MicroVm.connectAgent (AgentClient.awaitVsock) in its two steps, to time them apart.
                SocketChannel channel = awaitVsock(m);
                vsockOk = System.nanoTime();
                iConnect = instructions(List.of(m));
                bConnect = m.vm().hartRunNanos();
                try (AgentClient agent = AgentClient.open(channel, m.name(), AgentClient.DEFAULT_TIMEOUT)) {
                    connected = System.nanoTime();
                    iHello = instructions(List.of(m));
                    bHello = m.vm().hartRunNanos();
                    kHello = perHart(m, Hart::blockInstructions);
                    int exit = agent.run("true").exitCode();
                    answered = System.nanoTime();
                    iTrue = instructions(List.of(m));
                    bTrue = m.vm().hartRunNanos();
                    kTrue = perHart(m, Hart::blockInstructions);
                    walks = perHart(m, Hart::pageWalks);
                    if (exit != 0) throw new AgentException("'true' exited with " + exit + " in clone " + m.name());
                    long t = System.nanoTime();
                    agent.run("true");
                    again = System.nanoTime() - t;
                }
                firstSlice = m.vm().firstSliceNanos();
            } catch (IOException e) { // an AgentException, or the vsock socket could not be bound
                // Count it and say what the clone was doing, then go on: one stuck clone should not hide the rest.
                out.println("clone " + m.name() + " failed: " + e.getMessage() + "; " + diagnose(m));
                if (++failures > Math.max(3, rounds / 20)) throw e;
                continue;
            } finally {
                closing = System.nanoTime();
                m.close();
            }
            long closed = System.nanoTime();
            if (i < 0) continue;
            MicroVm.ClonePhases p = m.clonePhases();
            boolean pooled = clonePool != null;
            long[] v = {firstSlice - t0, answered - t0,
                    pooled ? cloned - t0 : p.lockedNanos() - t0, p.mappedNanos() - p.lockedNanos(), p.attachedNanos() - p.mappedNanos(),
                    p.restoredNanos() - p.attachedNanos(), pooled ? 0 : cloned - p.restoredNanos(), cloneCpu, started - cloned,
                    firstSlice - cloned, bound - cloned, vsockOk - firstSlice, connected - vsockOk, answered - connected, again,
                    closed - closing, iConnect - i0, iHello - iConnect, iTrue - iHello,
                    bConnect, bHello - bConnect, bTrue - bHello, kTrue - kHello, walks};
            rows.add(v);
        }
        long[][] ns = new long[LATENCY_FIGURES.length][rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            for (int f = 0; f < LATENCY_FIGURES.length; f++) ns[f][r] = rows.get(r)[f];
        }
        double cpuShare = (processCpuNanos() - cpu0) / (double) (System.nanoTime() - wall0);
        out.printf("%n%s: %d clones %s, started, asked to run 'true' and closed one after another (after %d warm-up); "
                + "%d failed and are not in the figures; process used %.2f cores meanwhile; load %s%n",
                clonePool == null ? "LATENCY" : "POOLED LATENCY", rows.size(),
                clonePool == null ? "made" : "taken from a pool of clones made ahead (ClonePool)", warmup, failures, cpuShare, load());
        String[] names = clonePool == null ? LATENCY_FIGURES : POOLED_FIGURES;
        out.printf("%-34s %10s %10s %10s %10s %10s%n", "figure (µs)", "p50", "p90", "p99", "max", "mean");
        for (int f = 0; f < LATENCY_FIGURES.length; f++) {
            long[] s = ns[f].clone();
            Arrays.sort(s);
            out.printf("%-34s %10.1f %10.1f %10.1f %10.1f %10.1f%n", names[f], pct(s, 50) / 1e3, pct(s, 90) / 1e3,
                    pct(s, 99) / 1e3, s[s.length - 1] / 1e3, Arrays.stream(s).average().orElse(0) / 1e3);
        }
        out.printf("vsock CONNECT refused and retried after 20 ms (as AgentClient.awaitVsock does): %d times in %d clones%n",
                connectRetries, rounds + warmup);
        if (clonePool == null) mappingOnly(template, rounds, out);
    }

    private static int connectRetries;
    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Whether a clone whose agent did not answer still runs: its harts' progress over a second. */
    private static String diagnose(MicroVm m) {
        var vm = m.vm();
        StringBuilder b = new StringBuilder("ended=" + vm.hasEnded() + ", first slice " + (vm.firstSliceNanos() != 0 ? "ran" : "never ran"));
        try {
            for (int i = 0; i < vm.hartCount(); i++) {
                var h = vm.hart(i);
                long before = h.instret();
                Thread.sleep(1000);
                b.append(String.format(", hart %d: hsm %d, pc 0x%x, %d instructions in the next second, wakeup pending %s, "
                                + "next timer in %d ticks", i, h.hsmState(), h.pc, h.instret() - before, h.wakeupPending(),
                        h.nextTimerDeadline() == Long.MAX_VALUE ? -1 : h.nextTimerDeadline()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return b.toString();
    }

    /** What {@link AgentClient#awaitVsock} does (retry every 20 ms while refused), counting the retries. */
    private static SocketChannel awaitVsock(MicroVm m) throws IOException, InterruptedException {
        Path socket = m.awaitVsockSocket();
        long deadline = System.nanoTime() + AGENT_TIMEOUT.toNanos();
        while (true) {
            try {
                return VsockConnector.connect(socket, AgentClient.AGENT_VSOCK_PORT, AgentClient.DEFAULT_TIMEOUT);
            } catch (AgentUnreachableException e) {
                if (m.vm().hasEnded() || System.nanoTime() - deadline > 0) throw e;
                connectRetries++;
                Thread.sleep(20);
            }
        }
    }

    /** How much of Vm.forSnapshot is mapping the RAM (reserve, anonymous, one file mapping per data run). */
    private static void mappingOnly(Templates.Template template, int rounds, PrintStream out) throws IOException {
        long[] map = new long[rounds], unmap = new long[rounds];
        for (int i = -20; i < rounds; i++) {
            long t0 = System.nanoTime();
            GuestMemory ram = template.snapshot().mapMemory(Vm.RAM_BASE);
            long t1 = System.nanoTime();
            ram.close();
            long t2 = System.nanoTime();
            if (i >= 0) {
                map[i] = t1 - t0;
                unmap[i] = t2 - t1;
            }
        }
        Arrays.sort(map);
        Arrays.sort(unmap);
        out.printf("%-34s %10.1f %10.1f %10.1f %10.1f%n", "  of which RAM mmap alone", pct(map, 50) / 1e3,
                pct(map, 90) / 1e3, pct(map, 99) / 1e3, map[rounds - 1] / 1e3);
        out.printf("%-34s %10.1f %10.1f %10.1f %10.1f%n", "  (RAM munmap, untouched)", pct(unmap, 50) / 1e3,
                pct(unmap, 90) / 1e3, pct(unmap, 99) / 1e3, unmap[rounds - 1] / 1e3);
    }

    private static long pct(long[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    // ---------------------------------------------------------------- density

    /** What the process holds at one point of the density run. */
    private record Usage(int clones, HostFrameTotals frames, long heapUsedBytes, long nonHeapUsedBytes,
                         long pageTableBytes, ProcessMemory process, int threads, int fds, int mappings,
                         double cores, double guestInsnPerSecond) {
        /**
         * Budgeted: private, distinct template and distinct KSM-merged frames, the Java heap after a GC, the JVM's
         * non-heap, page tables.
         */
        long budgetBytes() {
            return (frames.privateFrames() + frames.templateFrames() + frames.sharedFrames()) * frames.pageSizeBytes() + heapUsedBytes
                    + nonHeapUsedBytes + pageTableBytes;
        }
    }

    private static void density(Templates.Template template, RuntimeDir runtime, HartPool pool, DeviceEventLoop devices,
                                long budgetBytes, int maxClones, int checkEvery, PrintStream out, PrintStream err)
            throws InterruptedException {
        out.printf("%nDENSITY: idle clones until %d MiB by the accounting or %d clones; ulimit -n %s, vm.max_map_count %s; load %s%n",
                budgetBytes >> 20, maxClones, fdLimit(), readTrimmed(Path.of("/proc/sys/vm/max_map_count")), load());
        List<MicroVm> clones = new ArrayList<>();
        String base = "idle-" + ProcessHandle.current().pid() + "-";
        String limit = "the count limit (--max-clones " + maxClones + ")";
        try (FrameAccounting accounting = FrameAccounting.open()) {
            out.printf("frame numbers visible: %s%n", accounting.pfnsVisible());
            HostFrameTally tally = new HostFrameTally();
            Usage baseline = measure(clones, accounting, tally);
            out.printf("%7s %9s %9s %9s %9s %9s %9s %9s %9s %9s %7s %6s %6s %6s %7s %13s%n", "clones", "budgetMi", "privMi",
                    "tmplMi", "heapMi", "nonHpMi", "ptMi", "rssMi", "pssMi", "KiB/clone", "cores", "thrds", "fds", "maps",
                    "make_ms", "kinsn/s/clone");
            print(out, baseline, baseline, 0);
            Usage last = baseline;
            long makeNanos = 0;
            int made = 0;
            while (clones.size() < maxClones) {
                long t = System.nanoTime();
                try {
                    MicroVm m = MicroVm.clone(template, base + clones.size(), runtime, pool, devices,
                            OutputStream.nullOutputStream());
                    clones.add(m);
                    m.start();
                } catch (IOException | RuntimeException | OutOfMemoryError e) {
                    limit = "clone " + (clones.size() + 1) + " failed: " + e;
                    break;
                }
                makeNanos += System.nanoTime() - t;
                made++;
                int n = clones.size();
                if (n == 1 || n == 10 || n % checkEvery == 0 || n == maxClones) {
                    Thread.sleep(2000); // let the newest clones settle into idle
                    last = measure(clones, accounting, tally);
                    print(out, last, baseline, makeNanos / 1e6 / made);
                    makeNanos = 0;
                    made = 0;
                    if (last.budgetBytes() - baseline.budgetBytes() >= budgetBytes) {
                        limit = "the memory budget (" + (budgetBytes >> 20) + " MiB)";
                        break;
                    }
                }
            }
            if (clones.size() != last.clones()) {
                last = measure(clones, accounting, tally);
                print(out, last, baseline, 0);
            }
            int n = clones.size();
            out.printf("stopped by %s at %d clones%n", limit, n);
            if (n > 0) report(clones, last, baseline, accounting, tally, template.snapshot().image().file(), out);
        } finally {
            for (MicroVm m : clones) m.close();
        }
    }

    /**
     * What the idle clones' private pages hold: all zeros, the template's own bytes again (a write that
     * changed nothing in the end), or content another clone's private page holds too (what merging
     * identical pages across the clones would give back).
     */
    private static void contentScan(List<MicroVm> clones, FrameAccounting accounting, Path templateFile, PrintStream out) {
        long t0 = System.nanoTime();
        java.util.Map<Long, Integer> byContent = new java.util.HashMap<>();
        java.util.Map<Long, Integer> byGfn = new java.util.HashMap<>();
        long total = 0, zero = 0, sameAsTemplate = 0;
        byte[] mine = new byte[4096];
        // The template's bytes of a guest page are the same for every clone: read each once.
        java.util.Map<Long, byte[]> templatePages = new java.util.HashMap<>();
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(templateFile)) {
            for (MicroVm m : clones) {
                var ram = m.vm().memory();
                long pages = ram.sizeBytes() >>> 12;
                for (long i = 0; i < pages; i++) {
                    long hva = ram.hvaOf(ram.baseGpa() + (i << 12));
                    if (accounting.kindOf(hva) != dev.airlock.memory.FrameKind.PRIVATE) continue;
                    total++;
                    java.lang.foreign.MemorySegment.copy(ram.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, i << 12,
                            mine, 0, 4096);
                    long h = 1469598103934665603L;
                    boolean allZero = true;
                    for (byte b : mine) {
                        h = (h ^ b) * 1099511628211L;
                        allZero &= b == 0;
                    }
                    if (allZero) zero++;
                    byte[] theirs = templatePages.get(i);
                    if (theirs == null) templatePages.put(i, theirs = templatePage(file, i));
                    if (java.util.Arrays.equals(mine, theirs)) sameAsTemplate++;
                    byContent.merge(h, 1, Integer::sum);
                    byGfn.merge(i, 1, Integer::sum);
                }
            }
        } catch (IOException e) {
            out.println("content scan failed: " + e);
            return;
        }
        int n = clones.size();
        long inMany = byContent.values().stream().filter(c -> c > 1).mapToLong(c -> c).sum();
        out.printf("content of %d clones' private pages: %.1f per clone; all zeros %.1f; the template's bytes again %.1f; "
                        + "distinct contents %d (merging identical ones would keep %.1f per clone); content seen in 2+ clones: %d pages; "
                        + "pages private in every clone: %d; scan %.1f s%n",
                n, total / (double) n, zero / (double) n, sameAsTemplate / (double) n, byContent.size(),
                byContent.size() / (double) n, inMany, byGfn.values().stream().filter(c -> c == n).count(),
                (System.nanoTime() - t0) / 1e9);
        StringBuilder where = new StringBuilder("private pages by guest-physical MiB (pages over all scanned clones):");
        java.util.TreeMap<Long, Integer> mib = new java.util.TreeMap<>();
        byGfn.forEach((gfn, c) -> mib.merge(gfn >>> 8, c, Integer::sum));
        mib.forEach((m, c) -> where.append(' ').append(m).append(':').append(c));
        out.println(where);
    }

    /** Prints what the clones cost each, by the accounting, and returns that (template frames apart). */
    private static double perClone(String when, Usage last, Usage baseline, PrintStream out) {
        int n = last.clones();
        long page = last.frames().pageSizeBytes();
        double privPer = (last.frames().privateFrames() - baseline.frames().privateFrames()) * page / (double) n;
        double mergedPer = (last.frames().sharedFrames() - baseline.frames().sharedFrames()) * page / (double) n;
        double tmpl = last.frames().templateFrames() * page;
        double heapPer = (last.heapUsedBytes() - baseline.heapUsedBytes()) / (double) n;
        double nonHeapPer = (last.nonHeapUsedBytes() - baseline.nonHeapUsedBytes()) / (double) n;
        double ptPer = (last.pageTableBytes() - baseline.pageTableBytes()) / (double) n;
        double budgetPer = (last.budgetBytes() - baseline.budgetBytes() - tmpl) / n;
        out.printf("per clone %s (over %d, minus the empty process): private frames %.0f KiB, KSM-merged frames %.0f KiB, "
                        + "Java heap %.0f KiB, JVM non-heap %.0f KiB, page tables %.0f KiB -> %.0f KiB; plus %.1f MiB of template "
                        + "frames shared by all%n",
                when, n, privPer / 1024, mergedPer / 1024, heapPer / 1024, nonHeapPer / 1024, ptPer / 1024, budgetPer / 1024,
                tmpl / (1 << 20));
        return budgetPer;
    }

    /** Guest page {@code gfn} as the template's memory file holds it (a hole or the file's end reads as zeros). */
    private static byte[] templatePage(java.nio.channels.FileChannel file, long gfn) throws IOException {
        java.nio.ByteBuffer page = java.nio.ByteBuffer.allocate(4096);
        while (page.hasRemaining() && file.read(page, (gfn << 12) + page.position()) > 0) {
            // until the page is read or the file ends
        }
        return page.array();
    }

    private static void report(List<MicroVm> clones, Usage last, Usage baseline, FrameAccounting accounting,
                               HostFrameTally tally, Path templateFile, PrintStream out) throws InterruptedException {
        int n = clones.size();
        long page = last.frames().pageSizeBytes();
        double tmpl = last.frames().templateFrames() * page;
        double budgetPer = perClone("2 s after the last clone", last, baseline, out);
        double rssPer = (last.process().rssBytes() - baseline.process().rssBytes()) / (double) n;
        double pssPer = (last.process().pssBytes() - baseline.process().pssBytes()) / (double) n;
        out.printf("cross-check: RSS %.0f KiB/clone, PSS %.0f KiB/clone; threads +%d, fds +%d (%.1f/clone), mappings +%d (%.1f/clone)%n",
                rssPer / 1024, pssPer / 1024, last.threads() - baseline.threads(), last.fds() - baseline.fds(),
                (last.fds() - baseline.fds()) / (double) n, last.mappings() - baseline.mappings(),
                (last.mappings() - baseline.mappings()) / (double) n);
        // Settled: the newest clones' first seconds (decoding their code afresh) are over. Then again a
        // minute later, when HotSpot has compiled what the clones' shared blocks need (steady state).
        int cpus = Runtime.getRuntime().availableProcessors();
        long since = System.nanoTime();
        for (int after : new int[] {10, 60}) {
            long wait = since + after * 1_000_000_000L - System.nanoTime();
            if (wait > 0) Thread.sleep(wait / 1_000_000);
            long insn0 = instructions(clones), cpu0 = processCpuNanos(), wall0 = System.nanoTime(), ksm0 = ksmdTicks();
            java.util.Map<String, Long> threads0 = threadCpuTicks();
            Thread.sleep(5_000);
            double seconds = (System.nanoTime() - wall0) / 1e9;
            // ksmd works for the clones from outside the process: count it when it runs.
            double ksmd = ksm0 < 0 ? 0 : (ksmdTicks() - ksm0) / (double) CLOCK_TICKS / seconds;
            double cores = (processCpuNanos() - cpu0) / 1e9 / seconds + ksmd;
            double insnPerClone = (instructions(clones) - insn0) / seconds / n;
            out.printf("idle CPU, %d s after the last clone, over 5 s: %.3f cores for %d idle clones (%.2f ms of CPU per clone per "
                            + "second; the guests ran %.0f instructions per clone per second); at that rate %d cores keep %.0f idle "
                            + "clones; by thread: %s%s; load %s%n", after, cores, n, cores * 1000 / n, insnPerClone, cpus,
                    cpus * n / cores, threadShares(threads0, threadCpuTicks(), seconds),
                    ksm0 < 0 ? "" : String.format(", ksmd (the host's page merging, outside the process) %.3f", ksmd), load());
        }
        // Again once the guests have idled a minute (and KSM, when on, has had time to merge).
        perClone("a minute later", measure(clones, accounting, tally), baseline, out);
        double gib = 1L << 30;
        out.printf("clones_per_GiB %.0f (at %.0f KiB each, template frames amortised over %d); "
                        + "extrapolated to 24 GiB: %.0f clones (memory only; labelled extrapolation)%n",
                gib / (budgetPer + tmpl / n), (budgetPer + tmpl / n) / 1024, n, (24 * gib - tmpl) / budgetPer);
        histogram(n, out);
        // Before any agent runs a command there.
        contentScan(clones.subList(0, Math.min(n, 200)), accounting, templateFile, out);
        // Do they still run? Ask a sample of agents.
        int sample = Math.min(n, 20), ok = 0, ended = 0;
        long[] ms = new long[sample];
        for (int i = 0; i < sample; i++) {
            MicroVm m = clones.get((int) ((long) i * (n - 1) / Math.max(1, sample - 1)));
            if (m.vm().hasEnded()) ended++;
            long t = System.nanoTime();
            try (AgentClient agent = m.connectAgent(Duration.ofSeconds(30))) {
                if (agent.run("true").exitCode() == 0) ok++;
            } catch (AgentException e) {
                out.println("  clone " + m.name() + ": " + e.getMessage());
            }
            ms[i] = (System.nanoTime() - t) / 1_000_000;
        }
        int endedAll = 0;
        for (MicroVm m : clones) if (m.vm().hasEnded()) endedAll++;
        Arrays.sort(ms);
        out.printf("alive: %d of %d sampled agents ran 'true' (connect+run p50 %d ms, max %d ms); %d of %d clones had ended; load %s%n",
                ok, sample, pct(ms, 50), ms[sample - 1], endedAll, n, load());
    }

    /** The biggest classes on the heap, per clone: what a VM's Java objects are. */
    private static void histogram(int clones, PrintStream out) {
        try {
            var server = ManagementFactory.getPlatformMBeanServer();
            var name = new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand");
            String text = (String) server.invoke(name, "gcClassHistogram", new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
            out.printf("heap histogram, top classes (bytes per clone = total / %d, the empty process included):%n", clones);
            text.lines().skip(2).limit(14).forEach(l -> {
                String[] f = l.trim().split("\\s+");
                if (f.length >= 4) {
                    out.printf("  %-60s %10s instances %8.1f KiB/clone%n", f[3], f[1], Long.parseLong(f[2]) / 1024.0 / clones);
                }
            });
        } catch (Exception e) {
            out.println("heap histogram unavailable: " + e);
        }
    }

    private static Usage measure(List<MicroVm> clones, FrameAccounting accounting, HostFrameTally tally)
            throws InterruptedException {
        tally.clear();
        for (MicroVm m : clones) {
            GuestMemory ram = m.vm().memory();
            accounting.classify(ram.hvaOf(ram.baseGpa()), ram.sizeBytes(), tally);
        }
        HostFrameTotals frames = tally.totals();
        long insn0 = instructions(clones), cpu0 = processCpuNanos(), wall0 = System.nanoTime();
        Thread.sleep(3000);
        double seconds = (System.nanoTime() - wall0) / 1e9;
        double cores = (processCpuNanos() - cpu0) / 1e9 / seconds;
        double insnPerSecond = (instructions(clones) - insn0) / seconds;
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long nonHeap = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.NON_HEAP) nonHeap += p.getUsage().getUsed();
        }
        long pageTables = statusKiB("VmPTE") * 1024;
        return new Usage(clones.size(), frames, heap, nonHeap, pageTables, ProcessMemory.readSelf(),
                (int) statusKiB("Threads"), count(Path.of("/proc/self/fd")), lines(Path.of("/proc/self/maps")), cores, insnPerSecond);
    }

    /** A hart counter summed over the clone's harts. */
    private static long perHart(MicroVm m, java.util.function.ToLongFunction<Hart> counter) {
        long n = 0;
        for (int i = 0; i < m.vm().hartCount(); i++) n += counter.applyAsLong(m.vm().hart(i));
        return n;
    }

    private static long instructions(List<MicroVm> clones) {
        long n = 0;
        for (MicroVm m : clones) n += perHart(m, Hart::instret);
        return n;
    }

    private static void print(PrintStream out, Usage u, Usage base, double makeMs) {
        double mi = 1 << 20;
        long page = u.frames().pageSizeBytes() == 0 ? 4096 : u.frames().pageSizeBytes();
        long budget = u.budgetBytes() - base.budgetBytes();
        out.printf("%7d %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.0f %7.3f %6d %6d %6d %7.1f %13.1f  load %s%n", u.clones(),
                budget / mi, u.frames().privateFrames() * page / mi, u.frames().templateFrames() * page / mi,
                u.heapUsedBytes() / mi, u.nonHeapUsedBytes() / mi, u.pageTableBytes() / mi, u.process().rssBytes() / mi,
                u.process().pssBytes() / mi, u.clones() == 0 ? 0 : budget / 1024.0 / u.clones(), u.cores(), u.threads(),
                u.fds(), u.mappings(), makeMs, u.clones() == 0 ? 0 : u.guestInsnPerSecond() / 1e3 / u.clones(), load());
    }

    // ---------------------------------------------------------------- host figures

    static String load() {
        return readTrimmed(Path.of("/proc/loadavg")).replaceAll("^(\\S+ \\S+ \\S+).*", "$1");
    }

    /** Clock ticks per second in /proc's stat files (USER_HZ, 100 on Linux for x86 and arm). */
    private static final int CLOCK_TICKS = 100;

    /** ksmd's CPU time in clock ticks, or -1 if the host's KSM is off or ksmd cannot be found. */
    private static long ksmdTicks() {
        try {
            if (!Files.readString(Path.of("/sys/kernel/mm/ksm/run")).strip().equals("1")) return -1;
            try (var procs = Files.list(Path.of("/proc"))) {
                for (Path p : procs.filter(q -> q.getFileName().toString().matches("[0-9]+")).toList()) {
                    try {
                        if (!Files.readString(p.resolve("comm")).strip().equals("ksmd")) continue;
                        return cpuTicks(p.resolve("stat"));
                    } catch (IOException | RuntimeException e) {
                        // that process ended meanwhile
                    }
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    /** User plus system CPU time, in clock ticks, from a /proc stat file of a process or thread. */
    private static long cpuTicks(Path stat) throws IOException {
        String line = Files.readString(stat);
        String[] f = line.substring(line.lastIndexOf(')') + 2).split(" "); // the name in parentheses may hold spaces
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
    }

    /** CPU ticks per thread name (digits folded, so the hart workers add up), from /proc/self/task. */
    private static java.util.Map<String, Long> threadCpuTicks() {
        var ticks = new java.util.TreeMap<String, Long>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String name = Files.readString(t.resolve("comm")).trim().replaceAll("[0-9]+", "N");
                    ticks.merge(name, cpuTicks(t.resolve("stat")), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return ticks;
        }
        return ticks;
    }

    /** The busiest thread kinds over an interval, in cores. */
    private static String threadShares(java.util.Map<String, Long> before, java.util.Map<String, Long> after, double seconds) {
        long hz = 100; // USER_HZ on Linux
        return after.entrySet().stream()
                .map(e -> java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(5)
                .map(e -> String.format("%s %.3f", e.getKey(), e.getValue() / (double) hz / seconds))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String fdLimit() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) return l.substring(26).trim().replaceAll("\\s+", " ");
            }
        } catch (IOException ignored) {
            // not Linux: say so below
        }
        return "?";
    }

    private static long statusKiB(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(key + ":")) return Long.parseLong(l.substring(key.length() + 1).replace("kB", "").trim());
            }
        } catch (IOException | NumberFormatException ignored) {
            // reported as 0
        }
        return 0;
    }

    private static int count(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static int lines(Path file) {
        try (Stream<String> s = Files.lines(file)) {
            return (int) s.count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String readTrimmed(Path file) {
        try {
            return String.join(" ", Files.readAllLines(file)).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}
